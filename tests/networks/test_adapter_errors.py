"""What every adapter shares: each network's error envelope classified, calls without an answer (ambiguous or not), limits, get_adapter."""
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
from socialpub.networks.linkedin import LinkedInAdapter
from socialpub.networks.transport import transport_error

from tests.support.adapters import clean  # noqa: F401  (autouse: the sandbox reset before every test)
from tests.support.adapters import (
    AUTHOR,
    configure,
    image_url,
    publish_error,
    received,
    target,
    utcnow,
)

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
    ("facebook", 230, None, 403, ErrorKind.AUTH),
    ("facebook", 999999, None, 400, ErrorKind.PERMANENT),
    ("facebook", 999999, None, 503, ErrorKind.TRANSIENT),
    ("facebook", 100, None, 500, ErrorKind.PERMANENT),
])
def test_graph_codes_are_classified_by_code_and_subcode_not_status(network, code, subcode, status, kind):
    assert classify(network, code, subcode, status) is kind


def test_a_token_in_a_failed_urls_query_is_not_repeated_in_the_error_nor_the_log(caplog):
    exc = requests.ConnectionError("Max retries exceeded with url: /v24.0/1?fields=status_code"
                                   "&access_token=EAAB-secret (Caused by refused)")
    caplog.set_level("INFO", logger="socialpub.networks.transport")
    error = transport_error("instagram", exc, Timeouts())
    assert error.kind is ErrorKind.TRANSIENT
    # The exception's text goes to the log only, redacted; the message is in plain words.
    assert "EAAB-secret" not in error.message and "Max retries" not in error.message
    assert "EAAB-secret" not in caplog.text and "access_token=***" in caplog.text


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


def test_an_adapter_without_a_way_to_look_is_unverifiable():
    with pytest.raises(Unverifiable):
        Adapter().find_published(Target("x", "1", "t", "http://127.0.0.1:1"), Content("x"), utcnow())


@pytest.mark.parametrize("network", NETWORKS)
def test_every_adapter_takes_what_the_actor_passes_when_it_looks_for_an_earlier_attempt(network):
    import inspect

    parameters = inspect.signature(get_adapter(network).find_published).parameters
    assert {"resume", "held_elsewhere"} <= set(parameters)
