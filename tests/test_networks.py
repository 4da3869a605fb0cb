"""The adapters against a live sandbox over real HTTP: what each network
receives, how each error envelope is classified, and the per-network limits.
"""
import datetime
import socket

import pytest
import requests

from socialpub.networks import (
    LIMITS,
    NETWORKS,
    Content,
    ErrorKind,
    PublishError,
    Target,
    Unverifiable,
    get_adapter,
)
from socialpub.networks.base import Adapter, Timeouts
from socialpub.networks.facebook import FacebookAdapter
from socialpub.networks.graph import buc_retry_after, classify
from socialpub.networks.http import retry_after_header
from socialpub.networks.instagram import InstagramAdapter
from socialpub.networks.linkedin import LinkedInAdapter, escape_little
from socialpub.networks.transport import transport_error
from socialpub.sandbox import create_sandbox_app
from socialpub.sandbox.image import jpeg_bytes
from socialpub.sandbox.server import serve_in_thread

AUTHOR = "urn:li:organization:2414183"
#: The sandbox serves the images on loopback, which the LinkedIn download refuses unless allowed.
SANDBOX_NETWORKS = ("127.0.0.1/32",)
ACCOUNTS = {"facebook": "546349135390552", "instagram": "17841400008460056", "linkedin": AUTHOR,
            "whatsapp": "106540352242922"}


@pytest.fixture(scope="module")
def sandbox():
    handle = serve_in_thread(create_sandbox_app())
    yield handle
    handle.stop()


@pytest.fixture(autouse=True)
def clean(sandbox):
    requests.post(f"{sandbox.url}/_sandbox/reset", json={"latencies": True}, timeout=5).raise_for_status()


def target(sandbox, network, token="token-1", **extra):
    base = sandbox.url if network == "linkedin" else f"{sandbox.url}/v24.0"
    if network == "whatsapp":
        extra.setdefault("recipients", ("+16505551234",))
    return Target(network, ACCOUNTS[network], token, base, **extra)


def image_url(sandbox):
    return f"{sandbox.url}/_sandbox/image.jpg"


def configure(sandbox, body):
    requests.post(f"{sandbox.url}/_sandbox/config", json=body, timeout=5).raise_for_status()


def received(sandbox, network=None):
    params = {"network": network} if network else {}
    return requests.get(f"{sandbox.url}/_sandbox/received", params=params, timeout=5).json()


def all_requests(sandbox):
    return requests.get(f"{sandbox.url}/_sandbox/requests", params={"all": "1"}, timeout=5).json()


def publish_error(sandbox, network, content=None, **target_extra) -> PublishError:
    content = content or Content("Error test", image_url=image_url(sandbox))
    with pytest.raises(PublishError) as caught:
        get_adapter(network, outbound_allow=SANDBOX_NETWORKS).publish(
            target(sandbox, network, **target_extra), content)
    return caught.value


# -- what each network receives ----------------------------------------------------------------

def test_facebook_text_post_goes_to_the_feed_with_its_link(sandbox):
    content = Content("Spring sale starts today", link="https://shop.example.com/sale")
    published = get_adapter("facebook").publish(target(sandbox, "facebook"), content)
    assert published.external_id.startswith(ACCOUNTS["facebook"] + "_")
    assert published.url == f"https://www.facebook.com/{published.external_id}"
    [item] = received(sandbox)
    assert (item["item_id"], item["text"], item["link"], item["image"]) == \
        (published.external_id, "Spring sale starts today", "https://shop.example.com/sale", None)


def test_facebook_image_post_goes_to_photos_with_the_link_in_the_caption(sandbox):
    content = Content("New menu", image_url=image_url(sandbox), link="https://cafe.example.com")
    published = get_adapter("facebook").publish(target(sandbox, "facebook"), content)
    [item] = received(sandbox)
    assert item["item_id"] == published.external_id  # the post id, not the photo id
    assert item["text"] == "New menu\n\nhttps://cafe.example.com"
    assert item["image"] == image_url(sandbox)
    assert all_requests(sandbox)[0]["path"].endswith("/photos")


def test_instagram_publishes_the_image_through_a_finished_container(sandbox):
    content = Content("Morning light #photo", image_url=image_url(sandbox))
    published = get_adapter("instagram").publish(target(sandbox, "instagram"), content)
    [item] = received(sandbox)
    assert (item["item_id"], item["text"], item["image"]) == \
        (published.external_id, "Morning light #photo", image_url(sandbox))
    assert published.url is None
    paths = [r["path"].split("/")[-1] for r in all_requests(sandbox)]
    assert paths[0] == "media" and paths[-1] == "media_publish" and len(paths) == 3


def test_instagram_without_an_image_is_refused_by_limits_and_by_the_adapter(sandbox):
    content = Content("Text only")
    assert ("image_url", "an image is required") in LIMITS["instagram"].problems(content)
    error = publish_error(sandbox, "instagram", content)
    assert error.kind is ErrorKind.PERMANENT
    assert all_requests(sandbox) == []


def test_instagram_container_still_in_progress_is_transient_and_keeps_the_container_id(sandbox):
    configure(sandbox, {"instagram": {"container_status": "IN_PROGRESS"}})
    adapter = InstagramAdapter(poll_timeout=0.2, poll_interval=0.05)
    with pytest.raises(PublishError) as caught:
        adapter.publish(target(sandbox, "instagram"), Content("c", image_url=image_url(sandbox)))
    assert caught.value.kind is ErrorKind.TRANSIENT
    assert caught.value.container_id and "IN_PROGRESS" in caught.value.message
    polls = [r for r in all_requests(sandbox) if r["method"] == "GET"]
    assert len(polls) >= 2
    assert received(sandbox) == []


def test_instagram_container_in_error_is_permanent_and_names_the_status(sandbox):
    configure(sandbox, {"instagram": {"container_status": "ERROR"}})
    error = publish_error(sandbox, "instagram")
    assert error.kind is ErrorKind.PERMANENT and "ERROR" in error.message
    assert error.container_id


def test_instagram_published_container_is_not_published_again(sandbox):
    adapter, to = get_adapter("instagram"), target(sandbox, "instagram")
    container = adapter.create_container(to, Content("once", image_url=image_url(sandbox)))
    first = adapter.publish_container(to, container)
    again = adapter.publish_container(to, container)
    assert first.external_id != container and again.external_id == container
    assert len(received(sandbox)) == 1


def test_linkedin_post_escapes_little_text_and_returns_the_urn(sandbox):
    text = r"Launch (beta) #news @team [v2] {x} *bold* _u_ ~s~ <tag> a\b |pipe"
    published = get_adapter("linkedin").publish(target(sandbox, "linkedin"), Content(text))
    assert published.external_id.startswith("urn:li:share:")
    assert published.url == f"https://www.linkedin.com/feed/update/{published.external_id}"
    [item] = received(sandbox)
    # The sandbox cuts at an unescaped parenthesis, so equality proves the escaping.
    assert (item["item_id"], item["account_id"], item["text"]) == (published.external_id, AUTHOR, text)


def test_linkedin_image_post_uploads_the_downloaded_image_first(sandbox):
    content = Content("With picture", image_url=image_url(sandbox))
    get_adapter("linkedin", outbound_allow=SANDBOX_NETWORKS).publish(target(sandbox, "linkedin"), content)
    [item] = received(sandbox)
    assert item["image"].startswith("urn:li:image:")
    assert item["image_bytes"] == len(jpeg_bytes())


def test_linkedin_duplicate_422_is_a_permanent_error_naming_the_existing_post(sandbox):
    adapter, to = get_adapter("linkedin"), target(sandbox, "linkedin")
    first = adapter.publish(to, Content("Same words"))
    with pytest.raises(PublishError) as caught:
        adapter.publish(to, Content("Same words"))
    assert caught.value.kind is ErrorKind.PERMANENT and caught.value.http_status == 422
    assert caught.value.duplicate_of == first
    assert "change the text" in caught.value.message
    assert [r["status"] for r in all_requests(sandbox)] == [201, 422]
    assert len(received(sandbox)) == 1


def test_linkedin_sends_the_targets_api_version(sandbox):
    error = publish_error(sandbox, "linkedin", Content("v"), api_version="2026-01")
    assert (error.kind, error.http_status, error.code) == (ErrorKind.PERMANENT, 426, "NONEXISTENT_VERSION")


def test_linkedin_image_over_the_size_limit_is_refused_naming_the_image(sandbox):
    adapter = LinkedInAdapter(outbound_allow=SANDBOX_NETWORKS)
    adapter.max_image_bytes = 100
    with pytest.raises(PublishError) as caught:
        adapter.publish(target(sandbox, "linkedin"), Content("big", image_url=image_url(sandbox)))
    assert caught.value.kind is ErrorKind.PERMANENT and image_url(sandbox) in caught.value.message
    assert "more than the 100" in caught.value.message
    assert received(sandbox) == []


def test_whatsapp_sends_one_message_per_recipient(sandbox):
    to = target(sandbox, "whatsapp", recipients=("+16505551234", "+447700900123"))
    published = get_adapter("whatsapp").publish(to, Content("Table for two?", link="https://x.example"))
    items = received(sandbox)
    assert [i["to"] for i in items] == ["+16505551234", "+447700900123"]
    assert published.external_id == ",".join(i["item_id"] for i in items)
    assert all(i["item_id"].startswith("wamid.") for i in items)
    assert items[0]["text"] == "Table for two?\n\nhttps://x.example"


def test_whatsapp_image_message_carries_the_text_as_caption(sandbox):
    get_adapter("whatsapp").publish(target(sandbox, "whatsapp"),
                                    Content("Today's special", image_url=image_url(sandbox)))
    [item] = received(sandbox)
    assert (item["text"], item["image"]) == ("Today's special", image_url(sandbox))


def test_whatsapp_without_recipients_is_permanent(sandbox):
    error = publish_error(sandbox, "whatsapp", Content("hi"), recipients=())
    assert error.kind is ErrorKind.PERMANENT and error.message == "no recipients"


def test_whatsapp_failure_after_a_sent_message_keeps_the_delivered_id(sandbox):
    error = publish_error(sandbox, "whatsapp", Content("hi"), recipients=("+16505551234", "nobody"))
    assert error.kind is ErrorKind.PERMANENT and error.code == "100"
    assert list(error.delivered) == ["+16505551234"]
    assert error.delivered["+16505551234"] == received(sandbox)[0]["item_id"]


# -- error classification ------------------------------------------------------------------------

CASES = [
    # network, preset, kind, code, words of the network's own message, retry_after
    ("facebook", "token", ErrorKind.AUTH, "190", "Error validating access token", None),
    ("facebook", "server_error", ErrorKind.TRANSIENT, "2", "Service temporarily unavailable", None),
    ("facebook", "rate_limit", ErrorKind.RATE_LIMITED, "80001", "too many calls to this Page", 120.0),
    ("facebook", "bad_parameter", ErrorKind.PERMANENT, "100", "(#100) Invalid parameter", None),
    ("facebook", "policy", ErrorKind.PERMANENT, "368", "(#368)", None),
    ("instagram", "token", ErrorKind.AUTH, "190", "Error validating access token", None),
    ("instagram", "server_error", ErrorKind.TRANSIENT, "2", "Service temporarily unavailable", None),
    ("instagram", "rate_limit", ErrorKind.RATE_LIMITED, "80002", "Instagram account", 120.0),
    ("instagram", "bad_parameter", ErrorKind.PERMANENT, "100", "(#100) Invalid parameter", None),
    ("whatsapp", "token", ErrorKind.AUTH, "190", "Error validating access token", None),
    ("whatsapp", "server_error", ErrorKind.TRANSIENT, "2", "Service temporarily unavailable", None),
    ("whatsapp", "rate_limit", ErrorKind.RATE_LIMITED, "130429", "Rate limit hit", 120.0),
    ("whatsapp", "bad_parameter", ErrorKind.PERMANENT, "100",
     "(#100) Invalid parameter: Parameter value is not valid", None),
    ("linkedin", "token", ErrorKind.AUTH, "65601", "The token has been revoked", None),
    ("linkedin", "server_error", ErrorKind.TRANSIENT, "500", "Internal Server Error", None),
    ("linkedin", "rate_limit", ErrorKind.RATE_LIMITED, "429", "throttle limit", 7.0),
    ("linkedin", "bad_parameter", ErrorKind.PERMANENT, "UNPROCESSABLE_ENTITY", "ERROR :: /visibility", None),
    ("linkedin", "policy", ErrorKind.PERMANENT, "100", "Not enough permissions", None),
]


@pytest.mark.parametrize("network, preset, kind, code, words, retry_after", CASES,
                         ids=[f"{c[0]}-{c[1]}-{c[2].value}" for c in CASES])
def test_each_networks_error_envelope_is_classified_by_its_code(sandbox, network, preset, kind, code,
                                                                words, retry_after):
    configure(sandbox, {network: {"fail": {"error": preset, "minutes": 2, "retry_after": 7}}})
    error = publish_error(sandbox, network)
    assert (error.network, error.kind, error.code) == (network, kind, code)
    assert words in error.message
    assert error.retry_after == retry_after
    assert not error.ambiguous  # an answer came, whatever it said
    assert received(sandbox) == []


def test_facebook_token_error_is_classified_as_auth(sandbox):
    error = publish_error(sandbox, "facebook", token="invalid-token")
    assert (error.kind, error.code, error.subcode) == (ErrorKind.AUTH, "190", "467")
    assert error.message == "Invalid OAuth access token - Cannot parse access token"


def test_linkedin_expired_token_is_classified_as_auth(sandbox):
    error = publish_error(sandbox, "linkedin", Content("x"), token="expired-token")
    assert (error.kind, error.http_status) == (ErrorKind.AUTH, 401)


@pytest.mark.parametrize("network", NETWORKS)
def test_a_5xx_without_a_json_body_is_transient(sandbox, network):
    configure(sandbox, {network: {"fail": {"error": "bad_gateway"}}})
    error = publish_error(sandbox, network)
    assert (error.kind, error.http_status) == (ErrorKind.TRANSIENT, 502)
    assert not error.ambiguous


def test_a_connection_to_a_closed_port_is_transient():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    closed = Target("facebook", "1", "t", f"http://127.0.0.1:{port}/v24.0")
    with pytest.raises(PublishError) as caught:
        FacebookAdapter(Timeouts(connect=1, read=1)).publish(closed, Content("x"))
    assert caught.value.kind is ErrorKind.TRANSIENT and caught.value.http_status is None
    assert not caught.value.ambiguous  # nothing was sent


def test_a_read_timeout_is_transient_and_warns_the_post_may_exist(sandbox):
    configure(sandbox, {"facebook": {"latency": 0.3}})
    with pytest.raises(PublishError) as caught:
        FacebookAdapter(Timeouts(connect=1, read=0.1)).publish(target(sandbox, "facebook"), Content("x"))
    assert caught.value.kind is ErrorKind.TRANSIENT
    assert "may have been received" in caught.value.message
    assert caught.value.ambiguous


@pytest.mark.parametrize("network, code, subcode, status, kind", [
    ("instagram", 9, 2207042, 400, ErrorKind.RATE_LIMITED),
    ("instagram", 4, 2207051, 400, ErrorKind.PERMANENT),
    ("instagram", 9007, 2207027, 400, ErrorKind.TRANSIENT),
    ("instagram", -1, 2207001, 400, ErrorKind.TRANSIENT),
    ("instagram", 36004, 2207010, 400, ErrorKind.PERMANENT),
    ("whatsapp", 131056, None, 400, ErrorKind.RATE_LIMITED),
    ("whatsapp", 0, None, 401, ErrorKind.AUTH),
    ("whatsapp", 131047, None, 400, ErrorKind.PERMANENT),
    ("facebook", 102, None, 400, ErrorKind.AUTH),
    ("facebook", 613, 1996, 400, ErrorKind.RATE_LIMITED),
    ("facebook", 230, None, 403, ErrorKind.PERMANENT),
    ("facebook", 999999, None, 400, ErrorKind.PERMANENT),
    ("facebook", 999999, None, 503, ErrorKind.TRANSIENT),
    ("facebook", 100, None, 500, ErrorKind.PERMANENT),
])
def test_graph_codes_are_classified_by_code_and_subcode_not_status(network, code, subcode, status, kind):
    assert classify(network, code, subcode, status) is kind


def test_a_token_in_a_failed_urls_query_is_not_repeated_in_the_error():
    exc = requests.ConnectionError("Max retries exceeded with url: /v24.0/1?fields=status_code"
                                   "&access_token=EAAB-secret (Caused by refused)")
    error = transport_error("instagram", exc, Timeouts())
    assert error.kind is ErrorKind.TRANSIENT
    assert "EAAB-secret" not in error.message and "access_token=***" in error.message


def _response(**headers):
    response = requests.Response()
    response.headers.update(headers)
    return response


def test_business_use_case_header_gives_the_longest_wait_in_seconds():
    usage = ('{"1": [{"type": "pages", "estimated_time_to_regain_access": 2}],'
             ' "2": [{"type": "instagram", "estimated_time_to_regain_access": 5}]}')
    assert buc_retry_after(_response(**{"X-Business-Use-Case-Usage": usage})) == 300
    assert buc_retry_after(_response(**{"X-Business-Use-Case-Usage": "not json"})) is None
    assert buc_retry_after(_response()) is None


def test_retry_after_header_reads_seconds_and_http_dates():
    assert retry_after_header(_response(**{"Retry-After": "30"})) == 30
    assert retry_after_header(_response(**{"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"})) == 0
    assert retry_after_header(_response(**{"Retry-After": "soon"})) is None


# -- escaping and limits -----------------------------------------------------------------------

def test_escape_little_escapes_every_reserved_character_once():
    assert escape_little("()[]{}@#*_~<>|") == r"\(\)\[\]\{\}\@\#\*\_\~\<\>\|"
    assert escape_little("a\\(b") == "a\\\\\\(b"  # the backslash first, then the parenthesis


def test_escape_little_leaves_plain_text_alone():
    assert escape_little("Plain text, with punctuation: yes! 100% - ok?") == \
        "Plain text, with punctuation: yes! 100% - ok?"


@pytest.mark.parametrize("network, content, fine", [
    ("facebook", Content("x" * 63206), True),
    ("facebook", Content("x" * 63207), False),
    ("instagram", Content("x" * 2200, image_url="i"), True),
    ("instagram", Content("x" * 2201, image_url="i"), False),
    ("instagram", Content(" ".join(f"#t{i}" for i in range(30)), image_url="i"), True),
    ("instagram", Content(" ".join(f"#t{i}" for i in range(31)), image_url="i"), False),
    ("instagram", Content(" ".join(f"@u{i}" for i in range(21)), image_url="i"), False),
    ("linkedin", Content("x" * 3000), True),
    ("linkedin", Content("x" * 3001), False),
    ("whatsapp", Content("x" * 4096), True),
    ("whatsapp", Content("x" * 4097), False),
    ("whatsapp", Content("x" * 1024, image_url="i"), True),
    ("whatsapp", Content("x" * 1025, image_url="i"), False),
])
def test_limits_reflect_what_each_network_accepts(network, content, fine):
    assert (LIMITS[network].problems(content) == []) is fine


def test_get_adapter_shares_one_adapter_per_network_and_refuses_unknown_ones():
    assert set(LIMITS) == set(NETWORKS)
    for network in NETWORKS:
        assert get_adapter(network) is get_adapter(network)
        assert get_adapter(network).network == network
    assert get_adapter("facebook", Timeouts(1, 2)) is not get_adapter("facebook")
    with pytest.raises(ValueError):
        get_adapter("myspace")


# -- delivery guarantees: ambiguous failures ---------------------------------------------------

def utcnow():
    return datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)


def test_a_read_timeout_after_the_item_was_recorded_is_ambiguous(sandbox):
    configure(sandbox, {"facebook": {"fail": {"error": "timeout_after_record", "seconds": 1}}})
    with pytest.raises(PublishError) as caught:
        FacebookAdapter(Timeouts(connect=1, read=0.2)).publish(target(sandbox, "facebook"), Content("x"))
    assert (caught.value.kind, caught.value.ambiguous) == (ErrorKind.TRANSIENT, True)
    assert len(received(sandbox)) == 1  # the post exists although the client saw no answer


def test_a_request_that_hangs_past_the_read_timeout_is_ambiguous(sandbox):
    configure(sandbox, {"whatsapp": {"fail": {"error": "hang", "seconds": 1}}})
    adapter = get_adapter("whatsapp", Timeouts(connect=1, read=0.2))
    with pytest.raises(PublishError) as caught:
        adapter.publish(target(sandbox, "whatsapp"), Content("x"))
    assert (caught.value.kind, caught.value.ambiguous) == (ErrorKind.TRANSIENT, True)
    assert received(sandbox) == []  # the client cannot know that


@pytest.mark.parametrize("network", NETWORKS)
def test_a_connection_dropped_after_the_item_was_recorded_is_ambiguous(sandbox, network):
    configure(sandbox, {network: {"fail": {"error": "drop_after_record"}}})
    error = publish_error(sandbox, network)
    assert (error.kind, error.ambiguous, error.http_status) == (ErrorKind.TRANSIENT, True, None)
    assert "may exist" in error.message
    assert len(received(sandbox)) == 1


def test_a_connect_timeout_is_not_ambiguous():
    # A listener that never accepts, with its backlog full: the handshake never completes.
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(0)
        port = listener.getsockname()[1]
        fillers = [socket.socket() for _ in range(3)]
        for filler in fillers:
            filler.setblocking(False)
            filler.connect_ex(("127.0.0.1", port))
        try:
            unreachable = Target("facebook", "1", "t", f"http://127.0.0.1:{port}/v24.0")
            with pytest.raises(PublishError) as caught:
                FacebookAdapter(Timeouts(connect=0.3, read=0.3)).publish(unreachable, Content("x"))
        finally:
            for filler in fillers:
                filler.close()
    if "no answer within" in caught.value.message:
        pytest.skip("this kernel completed the handshake despite the full backlog")
    assert "could not connect" in caught.value.message
    assert (caught.value.kind, caught.value.ambiguous) == (ErrorKind.TRANSIENT, False)


def test_a_name_that_does_not_resolve_is_not_ambiguous():
    nowhere = Target("linkedin", AUTHOR, "t", "http://socialpub-test.invalid")
    with pytest.raises(PublishError) as caught:
        LinkedInAdapter(Timeouts(connect=2, read=2)).publish(nowhere, Content("x"))
    assert (caught.value.kind, caught.value.ambiguous) == (ErrorKind.TRANSIENT, False)


def test_a_lost_answer_to_a_call_that_creates_nothing_is_not_ambiguous():
    lost = requests.ReadTimeout("Read timed out. (read timeout=1)")
    assert transport_error("instagram", lost, Timeouts()).ambiguous
    error = transport_error("instagram", lost, Timeouts(), creates_item=False)
    assert (error.kind, error.ambiguous) == (ErrorKind.TRANSIENT, False)
    assert "may exist" not in error.message


def test_a_lost_answer_to_an_instagram_container_creation_is_not_ambiguous(sandbox):
    unreachable = Target("instagram", "1", "t", "http://127.0.0.1:1/v24.0")
    with pytest.raises(PublishError) as caught:
        get_adapter("instagram").publish(unreachable, Content("x", image_url=image_url(sandbox)))
    assert not caught.value.ambiguous and caught.value.container_id is None


# -- delivery guarantees: Instagram checkpoint and resume -----------------------------------------

def media_publishes(sandbox):
    return [r for r in all_requests(sandbox) if r["path"].endswith("/media_publish")]


def container_status(sandbox, container_id):
    return requests.get(f"{sandbox.url}/v24.0/{container_id}", timeout=5,
                        params={"fields": "status_code", "access_token": "t"}).json().get("status_code")


def test_instagram_checkpoints_the_container_before_publishing_it(sandbox):
    seen = []

    def checkpoint(state):
        # What the sandbox has seen when the checkpoint is written.
        seen.append((state, container_status(sandbox, state["container_id"]), media_publishes(sandbox)))

    published = get_adapter("instagram").publish(target(sandbox, "instagram"),
                                                 Content("c", image_url=image_url(sandbox)),
                                                 checkpoint=checkpoint)
    [(state, status, publishes_then)] = seen
    assert set(state) == {"container_id"} and status == "FINISHED" and publishes_then == []
    assert len(media_publishes(sandbox)) == 1
    assert received(sandbox)[0]["item_id"] == published.external_id


def test_instagram_publishes_nothing_when_the_checkpoint_fails(sandbox):
    def checkpoint(state):
        raise RuntimeError("database down")

    with pytest.raises(RuntimeError):
        get_adapter("instagram").publish(target(sandbox, "instagram"),
                                         Content("c", image_url=image_url(sandbox)), checkpoint=checkpoint)
    assert media_publishes(sandbox) == [] and received(sandbox) == []


def test_instagram_resume_adopts_a_published_container_without_publishing_again(sandbox):
    adapter, to = get_adapter("instagram"), target(sandbox, "instagram")
    content = Content("Adopt me", image_url=image_url(sandbox))
    configure(sandbox, {"instagram": {"fail": {"error": "drop_after_record"}}})
    checkpoints = []
    started = utcnow()
    with pytest.raises(PublishError) as caught:
        adapter.publish(to, content, checkpoint=checkpoints.append)
    [resume] = checkpoints
    assert caught.value.ambiguous and caught.value.container_id == resume["container_id"]
    [item] = received(sandbox)

    found = adapter.find_published(to, content, started, resume=resume)
    again = adapter.publish(to, content, resume=resume, checkpoint=checkpoints.append)
    assert found.external_id == again.external_id == item["item_id"]  # the media id, not the container's
    assert len(received(sandbox)) == 1 and len(media_publishes(sandbox)) == 1
    assert len(checkpoints) == 1  # no new container


def test_instagram_resume_publishes_a_finished_container_without_creating_another(sandbox):
    adapter, to = get_adapter("instagram"), target(sandbox, "instagram")
    content = Content("Left finished", image_url=image_url(sandbox))
    container = adapter.create_container(to, content)
    checkpoints = []
    published = adapter.publish(to, content, resume={"container_id": container},
                                checkpoint=checkpoints.append)
    assert checkpoints == [] and container_status(sandbox, container) == "PUBLISHED"
    assert received(sandbox)[0]["item_id"] == published.external_id
    assert len([r for r in all_requests(sandbox) if r["path"].endswith("/media")]) == 1


def test_instagram_resume_keeps_polling_a_container_in_progress(sandbox):
    to = target(sandbox, "instagram")
    container = get_adapter("instagram").create_container(to, Content("c", image_url=image_url(sandbox)))
    configure(sandbox, {"instagram": {"container_status": "IN_PROGRESS"}})
    adapter = InstagramAdapter(poll_timeout=0.2, poll_interval=0.05)
    with pytest.raises(PublishError) as caught:
        adapter.publish(to, Content("c", image_url=image_url(sandbox)), resume={"container_id": container})
    assert (caught.value.kind, caught.value.container_id) == (ErrorKind.TRANSIENT, container)
    assert len([r for r in all_requests(sandbox) if r["path"].endswith("/media")]) == 1


def test_instagram_resume_replaces_a_container_graph_does_not_know(sandbox):
    adapter, to = get_adapter("instagram"), target(sandbox, "instagram")
    checkpoints = []
    published = adapter.publish(to, Content("Try again", image_url=image_url(sandbox)),
                                resume={"container_id": "17999999999999999"}, checkpoint=checkpoints.append)
    [state] = checkpoints
    assert state["container_id"] != "17999999999999999"
    assert received(sandbox)[0]["item_id"] == published.external_id


@pytest.mark.parametrize("status", ["EXPIRED", "ERROR"])
def test_instagram_resume_replaces_a_failed_container(sandbox, status):
    adapter, to = get_adapter("instagram"), target(sandbox, "instagram")
    content = Content("Try again", image_url=image_url(sandbox))
    old = adapter.create_container(to, content)
    configure(sandbox, {"instagram": {"container_status": status}})
    checkpoints = []
    with pytest.raises(PublishError) as caught:  # the status setting applies to the new container too
        adapter.publish(to, content, resume={"container_id": old}, checkpoint=checkpoints.append)
    [state] = checkpoints
    assert state["container_id"] != old and caught.value.container_id == state["container_id"]


def test_instagram_find_published_is_none_until_the_container_is_published(sandbox):
    adapter, to = get_adapter("instagram"), target(sandbox, "instagram")
    content, since = Content("Later", image_url=image_url(sandbox)), utcnow()
    container = adapter.create_container(to, content)
    assert adapter.find_published(to, content, since) is None
    assert adapter.find_published(to, content, since, resume={"container_id": container}) is None
    assert adapter.find_published(to, content, since, resume={"container_id": "17999999999999999"}) is None
    published = adapter.publish_container(to, container)
    assert adapter.find_published(to, content, since, resume={"container_id": container}) == published


# -- delivery guarantees: finding an earlier attempt's post -------------------------------------

FB_CONTENTS = {"text": lambda sandbox: Content("Found again", link="https://shop.example.com"),
               "photo": lambda sandbox: Content("Found again", image_url=image_url(sandbox),
                                                link="https://shop.example.com")}


@pytest.mark.parametrize("kind", FB_CONTENTS)
def test_facebook_find_published_finds_a_post_made_since_the_attempt_began(sandbox, kind):
    adapter, to, content = get_adapter("facebook"), target(sandbox, "facebook"), FB_CONTENTS[kind](sandbox)
    since = utcnow()
    published = adapter.publish(to, content)
    assert adapter.find_published(to, content, since) == published
    assert adapter.find_published(to, Content("Other words", image_url=content.image_url), since) is None


@pytest.mark.parametrize("kind", FB_CONTENTS)
def test_facebook_find_published_ignores_a_post_made_before_the_attempt_began(sandbox, kind):
    adapter, to, content = get_adapter("facebook"), target(sandbox, "facebook"), FB_CONTENTS[kind](sandbox)
    adapter.publish(to, content)
    later = utcnow() + datetime.timedelta(seconds=2 * adapter.clock_skew)
    assert adapter.find_published(to, content, later) is None


def test_facebook_find_published_finds_a_post_whose_answer_was_lost(sandbox):
    adapter, to, content = get_adapter("facebook"), target(sandbox, "facebook"), Content("Lost answer")
    configure(sandbox, {"facebook": {"fail": {"error": "drop_after_record"}}})
    since = utcnow()
    with pytest.raises(PublishError):
        adapter.publish(to, content)
    [item] = received(sandbox)
    assert adapter.find_published(to, content, since).external_id == item["item_id"]


def test_facebook_find_published_follows_the_feeds_next_pages(sandbox):
    adapter, to, since = get_adapter("facebook"), target(sandbox, "facebook"), utcnow()
    published = adapter.publish(to, Content("Buried"))
    for n in range(30):
        adapter.publish(to, Content(f"Newer {n}"))
    assert adapter.find_published(to, Content("Buried"), since) == published


def test_whatsapp_find_published_is_unverifiable(sandbox):
    with pytest.raises(Unverifiable) as caught:
        get_adapter("whatsapp").find_published(target(sandbox, "whatsapp"), Content("x"), utcnow())
    assert caught.value.network == "whatsapp"


def test_linkedin_find_published_leaves_the_check_to_the_duplicate_answer(sandbox):
    adapter, to = get_adapter("linkedin"), target(sandbox, "linkedin")
    published = adapter.publish(to, Content("Posted once"))
    assert adapter.find_published(to, Content("Posted once"), utcnow()) is None
    with pytest.raises(PublishError) as caught:
        adapter.publish(to, Content("Posted once"))
    assert caught.value.duplicate_of == published


def test_an_adapter_without_a_way_to_look_is_unverifiable():
    with pytest.raises(Unverifiable):
        Adapter().find_published(Target("x", "1", "t", "http://127.0.0.1:1"), Content("x"), utcnow())
