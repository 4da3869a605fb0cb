"""The sandbox over real HTTP: control endpoints, latency, overlap of the four
networks, injected failures and the validation the real APIs would do.
"""
import json
import struct
import threading
import time

import pytest
import requests

from socialpub.sandbox import SANDBOX_PORT, create_sandbox_app
from socialpub.sandbox.server import parse_latencies, serve_in_thread

from tests.conftest import loopback_fetching

GRAPH = "/v24.0"
LI_HEADERS = {"Authorization": "Bearer li-token", "LinkedIn-Version": "202601",
              "X-Restli-Protocol-Version": "2.0.0", "Content-Type": "application/json"}


def li_post(text="Hello LinkedIn", author="urn:li:person:abc123", **extra):
    body = {"author": author, "commentary": text, "visibility": "PUBLIC",
            "distribution": {"feedDistribution": "MAIN_FEED", "targetEntities": [],
                             "thirdPartyDistributionChannels": []},
            "lifecycleState": "PUBLISHED", "isReshareDisabledByAuthor": False}
    body.update(extra)
    return body


@pytest.fixture(scope="module")
def own_sandbox():
    """A sandbox of this module's own, WhatsApp answering after 50 ms."""
    handle = serve_in_thread(loopback_fetching(create_sandbox_app({"whatsapp": 0.05})))
    yield handle
    handle.stop()


@pytest.fixture(autouse=True)
def clean(own_sandbox):
    requests.post(f"{own_sandbox.url}/_sandbox/reset", json={"latencies": True, "webhook": True},
                  timeout=5).raise_for_status()


def configure(own_sandbox, body):
    response = requests.post(f"{own_sandbox.url}/_sandbox/config", json=body, timeout=5)
    assert response.status_code == 200, response.text
    return response.json()


def received(own_sandbox, network=None):
    params = {"network": network} if network else {}
    return requests.get(f"{own_sandbox.url}/_sandbox/received", params=params, timeout=5).json()


def fb_post(own_sandbox, message="hello", token="page-token"):
    return requests.post(f"{own_sandbox.url}{GRAPH}/111/feed",
                         data={"message": message, "access_token": token}, timeout=5)


def wa_send(own_sandbox, body, token="wa-token"):
    return requests.post(f"{own_sandbox.url}{GRAPH}/999/messages", json=body,
                         headers={"Authorization": f"Bearer {token}"}, timeout=5)


WA_TEXT = {"messaging_product": "whatsapp", "recipient_type": "individual", "to": "+16505551234",
           "type": "text", "text": {"preview_url": False, "body": "hi"}}


# -- control endpoints -------------------------------------------------------------------

def test_default_port_is_5055():
    assert SANDBOX_PORT == 5055


def test_config_changes_only_the_networks_and_keys_given(own_sandbox):
    configure(own_sandbox, {"facebook": {"latency": 0.2}})
    config = configure(own_sandbox, {"facebook": {"fail": {"error": "token", "times": 2}},
                                 "linkedin": {"reject_duplicates": False}})
    assert config["facebook"] == {"latency": 0.2, "fail": [{"error": "token", "times": 2}], "hold": False,
                                  "video_processing_s": 0.0, "insights_fail": None}
    assert config["linkedin"]["reject_duplicates"] is False
    assert config["whatsapp"]["latency"] == 0.05
    assert requests.get(f"{own_sandbox.url}/_sandbox/config", timeout=5).json() == config


@pytest.mark.parametrize("body", [
    {"myspace": {"latency": 1}},
    {"facebook": {"latency": -1}},
    {"facebook": {"fail": {"error": "meteor"}}},
    {"facebook": {"fail": {"error": "token", "times": 1, "rate": 0.5}}},
    {"facebook": {"colour": "blue"}},
    {"instagram": {"container_status": "SIDEWAYS"}},
    {"facebook": {"hold": "yes"}},
    {"facebook": {"fail": {"error": "hang", "seconds": -1}}},
    {"facebook": {"fail": {"error": "drop_after_record", "seconds": "long"}}},
    {"instagram": {"video_processing_s": -1}},
    {"instagram": {"insights_speed": 0}},
    {"facebook": {"insights_fail": "meteor"}},
])
def test_config_rejects_what_it_does_not_understand_and_changes_nothing(own_sandbox, body):
    before = requests.get(f"{own_sandbox.url}/_sandbox/config", timeout=5).json()
    response = requests.post(f"{own_sandbox.url}/_sandbox/config", json=body, timeout=5)
    assert response.status_code == 400
    assert response.json()["error"]["message"]
    assert requests.get(f"{own_sandbox.url}/_sandbox/config", timeout=5).json() == before


def test_reset_clears_items_requests_and_failures_but_keeps_latency(own_sandbox):
    configure(own_sandbox, {"facebook": {"latency": 0.01, "fail": {"error": "policy", "times": 5}}})
    assert fb_post(own_sandbox).status_code == 400
    configure(own_sandbox, {"facebook": {"fail": None}})
    assert fb_post(own_sandbox).status_code == 200
    requests.post(f"{own_sandbox.url}/_sandbox/reset", timeout=5)
    config = requests.get(f"{own_sandbox.url}/_sandbox/config", timeout=5).json()
    assert config["facebook"] == {"latency": 0.01, "fail": [], "hold": False, "video_processing_s": 0.0,
                                  "insights_fail": None}
    assert received(own_sandbox) == []
    assert requests.get(f"{own_sandbox.url}/_sandbox/requests?all=1", timeout=5).json() == []


def test_reset_with_latencies_restores_the_start_up_latencies(own_sandbox):
    configure(own_sandbox, {"whatsapp": {"latency": 0.2}, "facebook": {"latency": 0.1}})
    config = requests.post(f"{own_sandbox.url}/_sandbox/reset", json={"latencies": True}, timeout=5).json()
    assert config["whatsapp"]["latency"] == 0.05
    assert config["facebook"]["latency"] == 0.0


def test_received_lists_accepted_items_with_their_times_and_filters_by_network(own_sandbox):
    before = time.time()
    post_id = fb_post(own_sandbox, "first post").json()["id"]
    wamid = wa_send(own_sandbox, WA_TEXT).json()["messages"][0]["id"]
    items = received(own_sandbox)
    assert [i["item_id"] for i in items] == [post_id, wamid]
    fb = items[0]
    assert fb["network"] == "facebook" and fb["account_id"] == "111" and fb["text"] == "first post"
    assert before <= fb["started_at"] <= fb["finished_at"] <= time.time()
    assert [i["to"] for i in received(own_sandbox, "whatsapp")] == ["+16505551234"]


def test_rejected_requests_are_listed_in_requests_and_never_received(own_sandbox):
    assert fb_post(own_sandbox, token="").status_code == 400
    assert fb_post(own_sandbox).status_code == 200
    failed = requests.get(f"{own_sandbox.url}/_sandbox/requests", timeout=5).json()
    assert [(r["network"], r["path"], r["status"], r["code"]) for r in failed] == \
        [("facebook", f"{GRAPH}/111/feed", 400, 104)]
    every = requests.get(f"{own_sandbox.url}/_sandbox/requests", params={"all": "1"}, timeout=5).json()
    assert [r["status"] for r in every] == [400, 200]
    assert len(received(own_sandbox)) == 1


def test_image_jpg_is_a_jpeg_of_the_requested_size(own_sandbox):
    response = requests.get(f"{own_sandbox.url}/_sandbox/image.jpg?width=320&height=240", timeout=5)
    data = response.content
    assert response.headers["Content-Type"] == "image/jpeg"
    assert data[:2] == b"\xff\xd8" and data[-2:] == b"\xff\xd9"
    sof = data.index(b"\xff\xc0")
    assert struct.unpack(">HH", data[sof + 5:sof + 9]) == (240, 320)


def test_parse_latencies_reads_network_seconds_pairs():
    assert parse_latencies("facebook=3, instagram=0.5,") == {"facebook": 3.0, "instagram": 0.5}
    assert parse_latencies("") == {}
    for bad in ("facebook", "myspace=1", "linkedin=slow", "whatsapp=-1"):
        with pytest.raises(ValueError):
            parse_latencies(bad)


# -- latency and parallelism ---------------------------------------------------------------

def test_latency_delays_item_creating_requests(own_sandbox):
    configure(own_sandbox, {"facebook": {"latency": 0.2}})
    started = time.monotonic()
    assert fb_post(own_sandbox).status_code == 200
    assert time.monotonic() - started >= 0.2
    item = received(own_sandbox)[0]
    assert item["finished_at"] - item["started_at"] >= 0.2


def test_instagram_latency_applies_to_media_publish_not_to_container_creation(own_sandbox):
    # A latency well above what fetching the container's image takes on a loaded machine.
    configure(own_sandbox, {"instagram": {"latency": 1.0}})
    started = time.monotonic()
    container = requests.post(f"{own_sandbox.url}{GRAPH}/222/media", timeout=5, data={
        "image_url": f"{own_sandbox.url}/_sandbox/image.jpg", "caption": "c", "access_token": "t"}).json()["id"]
    assert time.monotonic() - started < 1.0
    started = time.monotonic()
    requests.post(f"{own_sandbox.url}{GRAPH}/222/media_publish", timeout=5,
                  data={"creation_id": container, "access_token": "t"}).raise_for_status()
    assert time.monotonic() - started >= 1.0


def test_requests_to_the_four_networks_overlap_in_time(own_sandbox):
    configure(own_sandbox, {n: {"latency": 0.3} for n in ("facebook", "instagram", "linkedin", "whatsapp")})
    container = requests.post(f"{own_sandbox.url}{GRAPH}/222/media", timeout=5, data={
        "image_url": f"{own_sandbox.url}/_sandbox/image.jpg", "caption": "c", "access_token": "t"}).json()["id"]
    calls = [
        lambda: fb_post(own_sandbox),
        lambda: requests.post(f"{own_sandbox.url}{GRAPH}/222/media_publish", timeout=5,
                              data={"creation_id": container, "access_token": "t"}),
        lambda: requests.post(f"{own_sandbox.url}/rest/posts", json=li_post(), headers=LI_HEADERS, timeout=5),
        lambda: wa_send(own_sandbox, WA_TEXT),
    ]
    start_together = threading.Barrier(len(calls))
    statuses = []

    def run(call):
        start_together.wait()
        statuses.append(call().status_code)

    threads = [threading.Thread(target=run, args=(call,)) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert sorted(statuses) == [200, 200, 200, 201]
    items = received(own_sandbox)
    assert sorted(i["network"] for i in items) == ["facebook", "instagram", "linkedin", "whatsapp"]
    # Serial handling would need 1.2 s; overlapping intervals prove the server is threaded.
    assert max(i["started_at"] for i in items) < min(i["finished_at"] for i in items)


# -- injected failures -----------------------------------------------------------------------

def test_failures_with_times_are_consumed_in_order(own_sandbox):
    configure(own_sandbox, {"facebook": {"fail": [{"error": "server_error"},
                                              {"error": "rate_limit", "times": 2, "minutes": 3}]}})
    answers = [fb_post(own_sandbox) for _ in range(4)]
    assert [a.status_code for a in answers] == [500, 400, 400, 200]
    assert answers[0].json()["error"]["code"] == 2
    assert answers[1].json()["error"]["code"] == 80001
    assert '"estimated_time_to_regain_access": 3' in answers[2].headers["X-Business-Use-Case-Usage"]
    assert len(received(own_sandbox)) == 1
    assert requests.get(f"{own_sandbox.url}/_sandbox/config", timeout=5).json()["facebook"]["fail"] == []


def test_failure_rate_one_fails_every_request_and_zero_none(own_sandbox):
    configure(own_sandbox, {"whatsapp": {"fail": {"error": "server_error", "rate": 1}}})
    assert [wa_send(own_sandbox, WA_TEXT).status_code for _ in range(3)] == [500, 500, 500]
    configure(own_sandbox, {"whatsapp": {"fail": {"error": "server_error", "rate": 0}}})
    assert [wa_send(own_sandbox, WA_TEXT).status_code for _ in range(3)] == [200, 200, 200]


def test_linkedin_failures_use_linkedin_error_bodies_and_retry_after(own_sandbox):
    configure(own_sandbox, {"linkedin": {"fail": [{"error": "token"},
                                              {"error": "rate_limit", "retry_after": 7},
                                              {"error": "bad_gateway"}]}})
    token = requests.post(f"{own_sandbox.url}/rest/posts", json=li_post(), headers=LI_HEADERS, timeout=5)
    assert token.status_code == 401
    assert token.json() == {"message": "The token has been revoked", "serviceErrorCode": 65601,
                            "status": 401, "code": "REVOKED_ACCESS_TOKEN"}
    limited = requests.post(f"{own_sandbox.url}/rest/posts", json=li_post(), headers=LI_HEADERS, timeout=5)
    assert limited.status_code == 429 and limited.headers["Retry-After"] == "7"
    gateway = requests.post(f"{own_sandbox.url}/rest/posts", json=li_post(), headers=LI_HEADERS, timeout=5)
    assert gateway.status_code == 502 and gateway.headers["Content-Type"].startswith("text/html")


# -- validation like the real APIs -------------------------------------------------------------

@pytest.mark.parametrize("token, subcode", [("invalid-token", 467), ("expired-2024", 463)])
def test_graph_refuses_invalid_and_expired_tokens_with_190(own_sandbox, token, subcode):
    error = fb_post(own_sandbox, token=token).json()["error"]
    assert error["code"] == 190 and error["type"] == "OAuthException"
    assert error.get("error_subcode") == subcode


@pytest.mark.parametrize("path", ["/111/feed", "/222/media", "/17841400000000001"])
def test_a_graph_request_without_any_token_is_refused_with_104_not_190(own_sandbox, path):
    send = requests.get if path.count("/") == 1 else requests.post
    response = send(f"{own_sandbox.url}{GRAPH}{path}", timeout=5)
    assert response.status_code == 400
    assert response.json()["error"] == {"message": "An access token is required to request this resource.",
                                        "type": "OAuthException", "code": 104,
                                        "fbtrace_id": response.json()["error"]["fbtrace_id"]}


@pytest.mark.parametrize("version", ["v19.0", "v26.0"])
def test_graph_paths_answer_under_any_version_prefix(own_sandbox, version):
    response = requests.post(f"{own_sandbox.url}/{version}/111/feed", timeout=5,
                             data={"message": "m", "access_token": "t"})
    assert response.status_code == 200 and response.json()["id"].startswith("111_")


def test_facebook_photos_need_a_caption_not_the_deprecated_message(own_sandbox):
    response = requests.post(f"{own_sandbox.url}{GRAPH}/111/photos", timeout=5, data={
        "url": "https://example.com/a.jpg", "message": "m", "access_token": "t"})
    assert response.json()["error"]["code"] == 100
    assert "deprecated" in response.json()["error"]["message"]


def test_instagram_caption_over_2200_characters_is_refused_with_36004(own_sandbox):
    response = requests.post(f"{own_sandbox.url}{GRAPH}/222/media", timeout=5, data={
        "image_url": f"{own_sandbox.url}/_sandbox/image.jpg", "caption": "x" * 2201, "access_token": "t"})
    error = response.json()["error"]
    assert (response.status_code, error["code"], error["error_subcode"]) == (400, 36004, 2207010)


def test_instagram_container_status_follows_config_and_publishing(own_sandbox):
    def status(container):
        return requests.get(f"{own_sandbox.url}{GRAPH}/{container}", timeout=5,
                            params={"fields": "status_code", "access_token": "t"}).json()

    container = requests.post(f"{own_sandbox.url}{GRAPH}/222/media", timeout=5, data={
        "image_url": f"{own_sandbox.url}/_sandbox/image.jpg", "caption": "c", "access_token": "t"}).json()["id"]
    assert status(container) == {"id": container, "status_code": "FINISHED"}
    configure(own_sandbox, {"instagram": {"container_status": "IN_PROGRESS"}})
    assert status(container)["status_code"] == "IN_PROGRESS"
    publish = requests.post(f"{own_sandbox.url}{GRAPH}/222/media_publish", timeout=5,
                            data={"creation_id": container, "access_token": "t"})
    assert publish.json()["error"]["code"] == 9007
    configure(own_sandbox, {"instagram": {"container_status": None}})
    requests.post(f"{own_sandbox.url}{GRAPH}/222/media_publish", timeout=5,
                  data={"creation_id": container, "access_token": "t"}).raise_for_status()
    assert status(container)["status_code"] == "PUBLISHED"


@pytest.mark.parametrize("missing", ["messaging_product", "to", "type"])
def test_whatsapp_refuses_a_message_without_required_fields_with_100(own_sandbox, missing):
    body = {k: v for k, v in WA_TEXT.items() if k != missing}
    error = wa_send(own_sandbox, body).json()["error"]
    assert error["code"] == 100 and missing in error["message"]
    assert error["error_data"]["messaging_product"] == "whatsapp"


def test_whatsapp_refuses_bad_json_and_answers_401_without_a_token(own_sandbox):
    bad = requests.post(f"{own_sandbox.url}{GRAPH}/999/messages", data="{not json", timeout=5,
                        headers={"Authorization": "Bearer t", "Content-Type": "application/json"})
    assert bad.status_code == 400 and bad.json()["error"]["code"] == 100
    anonymous = requests.post(f"{own_sandbox.url}{GRAPH}/999/messages", json=WA_TEXT, timeout=5)
    assert anonymous.status_code == 401 and anonymous.json()["error"]["code"] == 104


@pytest.mark.parametrize("header, status", [("Authorization", 401), ("LinkedIn-Version", 400),
                                            ("X-Restli-Protocol-Version", 400)])
def test_linkedin_refuses_a_post_without_each_required_header(own_sandbox, header, status):
    headers = {k: v for k, v in LI_HEADERS.items() if k != header}
    response = requests.post(f"{own_sandbox.url}/rest/posts", json=li_post(), headers=headers, timeout=5)
    assert response.status_code == status and response.json()["status"] == status


def test_linkedin_refuses_bad_json_long_commentary_and_unknown_fields(own_sandbox):
    bad = requests.post(f"{own_sandbox.url}/rest/posts", data="{", headers=LI_HEADERS, timeout=5)
    assert bad.status_code == 400
    long = requests.post(f"{own_sandbox.url}/rest/posts", json=li_post("x" * 3001), headers=LI_HEADERS, timeout=5)
    assert long.status_code == 422 and "/commentary" in long.json()["message"]
    typo = requests.post(f"{own_sandbox.url}/rest/posts", json=li_post(visibilty="PUBLIC"),
                         headers=LI_HEADERS, timeout=5)
    assert typo.status_code == 422 and "/visibilty" in typo.json()["message"]


def test_linkedin_answers_201_with_an_empty_body_and_the_urn_header(own_sandbox):
    response = requests.post(f"{own_sandbox.url}/rest/posts", json=li_post(), headers=LI_HEADERS, timeout=5)
    assert response.status_code == 201 and response.content == b""
    assert response.headers["x-restli-id"].startswith("urn:li:share:")


def test_linkedin_refuses_the_same_commentary_twice_unless_switched_off(own_sandbox):
    first = requests.post(f"{own_sandbox.url}/rest/posts", json=li_post(), headers=LI_HEADERS, timeout=5)
    again = requests.post(f"{own_sandbox.url}/rest/posts", json=li_post(), headers=LI_HEADERS, timeout=5)
    assert again.status_code == 422
    assert again.json()["message"] == f"Content is a duplicate of {first.headers['x-restli-id']}"
    other = requests.post(f"{own_sandbox.url}/rest/posts", json=li_post(author="urn:li:organization:42"),
                          headers=LI_HEADERS, timeout=5)
    assert other.status_code == 201
    configure(own_sandbox, {"linkedin": {"reject_duplicates": False}})
    third = requests.post(f"{own_sandbox.url}/rest/posts", json=li_post(), headers=LI_HEADERS, timeout=5)
    assert third.status_code == 201


def test_linkedin_keeps_escaped_text_and_cuts_it_at_an_unescaped_parenthesis(own_sandbox):
    requests.post(f"{own_sandbox.url}/rest/posts", json=li_post(r"one \(two\) \#three"),
                  headers=LI_HEADERS, timeout=5).raise_for_status()
    requests.post(f"{own_sandbox.url}/rest/posts", json=li_post("four (five) six"),
                  headers=LI_HEADERS, timeout=5).raise_for_status()
    assert [i["text"] for i in received(own_sandbox)] == ["one (two) #three", "four "]


def test_linkedin_image_upload_flow_needs_the_bytes_before_the_post(own_sandbox):
    init = requests.post(f"{own_sandbox.url}/rest/images?action=initializeUpload", headers=LI_HEADERS, timeout=5,
                         json={"initializeUploadRequest": {"owner": "urn:li:person:abc123"}}).json()["value"]
    media = {"media": {"id": init["image"]}}
    early = requests.post(f"{own_sandbox.url}/rest/posts", json=li_post(content=media), headers=LI_HEADERS, timeout=5)
    assert early.status_code == 422
    jpeg = requests.get(f"{own_sandbox.url}/_sandbox/image.jpg", timeout=5).content
    not_image = requests.put(init["uploadUrl"], data=b"hello", timeout=5,
                             headers={"Authorization": "Bearer li-token"})
    assert not_image.status_code == 400
    upload = requests.put(init["uploadUrl"], data=jpeg, headers={"Authorization": "Bearer li-token"}, timeout=5)
    assert upload.status_code == 201
    post = requests.post(f"{own_sandbox.url}/rest/posts", json=li_post(content=media), headers=LI_HEADERS, timeout=5)
    assert post.status_code == 201
    item = received(own_sandbox)[0]
    assert (item["image"], item["image_bytes"]) == (init["image"], len(jpeg))


# -- requests that get no answer ------------------------------------------------------------

def no_answer(exc: requests.ConnectionError) -> bool:
    """Whether ``exc`` is a connection closed or reset before any HTTP answer."""
    cause = exc.args[0] if exc.args else None
    inner = cause.args[-1] if getattr(cause, "args", None) else None
    return isinstance(inner, ConnectionResetError)  # RemoteDisconnected is one too


def failed_requests(own_sandbox):
    return requests.get(f"{own_sandbox.url}/_sandbox/requests", timeout=5).json()


def test_hang_records_nothing_and_closes_the_connection_without_an_answer(own_sandbox):
    configure(own_sandbox, {"facebook": {"fail": {"error": "hang", "seconds": 0.3}}})
    started = time.monotonic()
    with pytest.raises(requests.ConnectionError) as caught:
        fb_post(own_sandbox)
    assert time.monotonic() - started >= 0.3 and no_answer(caught.value)
    assert received(own_sandbox) == []
    assert [(r["status"], r["code"]) for r in failed_requests(own_sandbox)] == [(None, "hang")]
    assert fb_post(own_sandbox).status_code == 200  # used up


def test_a_hang_longer_than_the_read_timeout_is_a_read_timeout(own_sandbox):
    configure(own_sandbox, {"whatsapp": {"fail": {"error": "hang"}}})  # 30 s; the next reset ends it
    with pytest.raises(requests.ReadTimeout):
        requests.post(f"{own_sandbox.url}{GRAPH}/999/messages", json=WA_TEXT, timeout=(1, 0.2),
                      headers={"Authorization": "Bearer wa-token"})
    assert received(own_sandbox) == []


def test_drop_after_record_records_the_item_then_closes_the_connection(own_sandbox):
    configure(own_sandbox, {"linkedin": {"fail": {"error": "drop_after_record"}}})
    with pytest.raises(requests.ConnectionError) as caught:
        requests.post(f"{own_sandbox.url}/rest/posts", json=li_post(), headers=LI_HEADERS, timeout=5)
    assert no_answer(caught.value)
    [item] = received(own_sandbox)
    assert item["item_id"].startswith("urn:li:share:")
    assert [(r["status"], r["code"]) for r in failed_requests(own_sandbox)] == [(None, "drop_after_record")]


def test_drop_after_record_of_media_publish_leaves_the_container_published(own_sandbox):
    configure(own_sandbox, {"instagram": {"fail": {"error": "drop_after_record"}}})
    container = requests.post(f"{own_sandbox.url}{GRAPH}/222/media", timeout=5, data={
        "image_url": f"{own_sandbox.url}/_sandbox/image.jpg", "caption": "c", "access_token": "t"}).json()["id"]
    with pytest.raises(requests.ConnectionError):
        requests.post(f"{own_sandbox.url}{GRAPH}/222/media_publish", timeout=5,
                      data={"creation_id": container, "access_token": "t"})
    status = requests.get(f"{own_sandbox.url}{GRAPH}/{container}", timeout=5,
                          params={"fields": "status_code", "access_token": "t"}).json()
    assert status["status_code"] == "PUBLISHED" and len(received(own_sandbox)) == 1


def test_timeout_after_record_records_the_item_then_answers_late(own_sandbox):
    configure(own_sandbox, {"facebook": {"fail": {"error": "timeout_after_record", "seconds": 0.5,
                                              "times": 2}}})
    with pytest.raises(requests.ReadTimeout):
        requests.post(f"{own_sandbox.url}{GRAPH}/111/feed", timeout=(1, 0.1),
                      data={"message": "late", "access_token": "t"})
    assert [i["text"] for i in received(own_sandbox)] == ["late"]
    started = time.monotonic()
    answer = fb_post(own_sandbox, "patient")
    assert answer.status_code == 200 and time.monotonic() - started >= 0.5
    assert [i["item_id"] for i in received(own_sandbox)][1] == answer.json()["id"]


def test_each_acceptance_is_received_once_even_when_the_client_retries(own_sandbox):
    configure(own_sandbox, {"facebook": {"fail": {"error": "drop_after_record"}}})
    with pytest.raises(requests.ConnectionError):
        fb_post(own_sandbox, "twice")
    fb_post(own_sandbox, "twice").raise_for_status()
    items = received(own_sandbox)
    assert [i["text"] for i in items] == ["twice", "twice"] and items[0]["item_id"] != items[1]["item_id"]


# -- hold -------------------------------------------------------------------------------------

def post_in_background(call):
    """Start ``call`` in a thread; return the thread and the list its answer lands in."""
    answers = []
    thread = threading.Thread(target=lambda: answers.append(call()), daemon=True)
    thread.start()
    return thread, answers


def held(own_sandbox, network=None, at_least=0, timeout=5):
    params = {"network": network, "at_least": at_least, "timeout": timeout} if network else {}
    return requests.get(f"{own_sandbox.url}/_sandbox/held", params=params, timeout=10).json()


def test_hold_blocks_item_creating_requests_until_released(own_sandbox):
    configure(own_sandbox, {"facebook": {"hold": True}})
    thread, answers = post_in_background(lambda: fb_post(own_sandbox, "held"))
    assert held(own_sandbox, "facebook", at_least=1) == {"facebook": 1, "instagram": 0, "linkedin": 0,
                                                     "whatsapp": 0}
    assert received(own_sandbox) == [] and answers == []
    assert wa_send(own_sandbox, WA_TEXT).status_code == 200  # other networks go on
    configure(own_sandbox, {"facebook": {"hold": False}})
    thread.join(5)
    assert answers[0].status_code == 200
    assert [i["text"] for i in received(own_sandbox, "facebook")] == ["held"]
    assert held(own_sandbox)["facebook"] == 0


def test_hold_leaves_requests_that_create_nothing_alone(own_sandbox):
    configure(own_sandbox, {"instagram": {"hold": True}})
    container = requests.post(f"{own_sandbox.url}{GRAPH}/222/media", timeout=5, data={
        "image_url": f"{own_sandbox.url}/_sandbox/image.jpg", "caption": "c", "access_token": "t"})
    assert container.status_code == 200


def test_reset_releases_held_requests_and_forgets_them(own_sandbox):
    configure(own_sandbox, {"whatsapp": {"hold": True}})
    thread, answers = post_in_background(lambda: wa_send(own_sandbox, WA_TEXT))
    held(own_sandbox, "whatsapp", at_least=1)
    requests.post(f"{own_sandbox.url}/_sandbox/reset", timeout=5).raise_for_status()
    thread.join(5)
    assert answers[0].status_code == 200  # it went on...
    assert received(own_sandbox) == []          # ...but belongs to the forgotten epoch


def test_reset_keeps_the_whatsapp_webhook_so_statuses_still_reach_the_app_after_it(own_sandbox):
    import flask

    heard, arrived = [], threading.Event()
    app = flask.Flask("webhook_receiver")

    @app.post("/webhooks/meta")
    def meta():
        heard.append((flask.request.headers.get("X-Hub-Signature-256"), flask.request.get_json()))
        arrived.set()
        return ""

    with serve_in_thread(app) as receiver:
        configure(own_sandbox, {"whatsapp": {"webhook_url": f"{receiver.url}/webhooks/meta", "app_secret": "s",
                                             "latency": 0.2, "statuses": "auto"}})
        config = requests.post(f"{own_sandbox.url}/_sandbox/reset", timeout=5).json()
        assert (config["whatsapp"]["webhook_url"], config["whatsapp"]["app_secret"]) == \
            (f"{receiver.url}/webhooks/meta", "s")
        assert config["whatsapp"]["statuses"] == "auto"       # everything else as it starts
        assert wa_send(own_sandbox, WA_TEXT).status_code == 200
        assert arrived.wait(10), "no status webhook after the reset"
        signature, body = heard[0]
        assert signature.startswith("sha256=") and body["object"] == "whatsapp_business_account"
        # A reset between tests may forget it too.
        config = requests.post(f"{own_sandbox.url}/_sandbox/reset", json={"webhook": True}, timeout=5).json()
        assert (config["whatsapp"]["webhook_url"], config["whatsapp"]["app_secret"]) == (None, None)


def test_a_held_request_gives_up_after_the_hold_limit():
    with serve_in_thread(create_sandbox_app(hold_limit=0.3)) as short:
        configure(short, {"facebook": {"hold": True}})
        answer = fb_post(short)
        assert answer.status_code == 500 and answer.json()["error"]["code"] == 2
        assert received(short) == [] and held(short)["facebook"] == 0


def test_held_waits_for_the_count_asked_and_refuses_unknown_networks(own_sandbox):
    started = time.monotonic()
    assert held(own_sandbox, "linkedin", at_least=1, timeout=0.3)["linkedin"] == 0  # gave up waiting
    assert time.monotonic() - started >= 0.3
    response = requests.get(f"{own_sandbox.url}/_sandbox/held", params={"network": "myspace"}, timeout=5)
    assert response.status_code == 400


# -- reading back: the Page feed and Instagram media ------------------------------------------------

def fb_photo(own_sandbox, caption, page="111"):
    return requests.post(f"{own_sandbox.url}{GRAPH}/{page}/photos", timeout=5, data={
        "url": "https://example.com/a.jpg", "caption": caption, "access_token": "t"})


def feed(own_sandbox, page="111", **params):
    params.setdefault("access_token", "t")
    return requests.get(f"{own_sandbox.url}{GRAPH}/{page}/feed", params=params, timeout=5)


def test_feed_lists_the_pages_posts_and_photos_newest_first_in_graph_format(own_sandbox):
    post_id = fb_post(own_sandbox, "text post").json()["id"]
    photo_post_id = fb_photo(own_sandbox, "photo caption").json()["post_id"]
    fb_photo(own_sandbox, "another page", page="333").raise_for_status()
    body = feed(own_sandbox, fields="id,message,created_time", limit=25).json()
    assert [(i["id"], i["message"]) for i in body["data"]] == [(photo_post_id, "photo caption"),
                                                               (post_id, "text post")]
    assert "next" not in body["paging"]
    created = body["data"][0]["created_time"]
    assert time.strptime(created, "%Y-%m-%dT%H:%M:%S+0000")
    assert set(body["data"][0]) == {"id", "message", "created_time"}


def test_feed_since_filters_by_unix_seconds(own_sandbox):
    fb_post(own_sandbox).raise_for_status()
    now = int(time.time())
    assert len(feed(own_sandbox, since=now - 60).json()["data"]) == 1
    assert feed(own_sandbox, since=now + 60).json()["data"] == []
    assert feed(own_sandbox, since="yesterday").json()["error"]["code"] == 100


def test_feed_pages_through_a_next_url(own_sandbox):
    ids = [fb_post(own_sandbox, f"post {n}").json()["id"] for n in range(3)]
    first = feed(own_sandbox, limit=2).json()
    second = requests.get(first["paging"]["next"], timeout=5).json()
    assert [i["id"] for i in first["data"] + second["data"]] == ids[::-1]
    assert "next" not in second["paging"]


def test_feed_needs_an_access_token(own_sandbox):
    response = requests.get(f"{own_sandbox.url}{GRAPH}/111/feed", timeout=5)
    assert response.status_code == 400 and response.json()["error"]["code"] == 104


def test_instagram_media_lists_published_media_with_caption_and_timestamp(own_sandbox):
    container = requests.post(f"{own_sandbox.url}{GRAPH}/222/media", timeout=5, data={
        "image_url": f"{own_sandbox.url}/_sandbox/image.jpg", "caption": "on the grid",
        "access_token": "t"}).json()["id"]
    media_id = requests.post(f"{own_sandbox.url}{GRAPH}/222/media_publish", timeout=5,
                             data={"creation_id": container, "access_token": "t"}).json()["id"]
    media = requests.get(f"{own_sandbox.url}{GRAPH}/222/media", timeout=5,
                         params={"fields": "id,caption,timestamp", "access_token": "t"}).json()["data"]
    assert [(m["id"], m["caption"]) for m in media] == [(media_id, "on the grid")]
    assert media[0]["timestamp"].endswith("+0000")


def test_a_request_still_sleeping_its_latency_at_a_reset_does_not_take_the_next_tests_failure(own_sandbox):
    configure(own_sandbox, {"facebook": {"latency": 0.5}})
    with pytest.raises(requests.ReadTimeout):  # its client gives up; the sandbox's thread sleeps on
        requests.post(f"{own_sandbox.url}{GRAPH}/1/feed", data={"message": "old", "access_token": "t"},
                      timeout=(1, 0.05))
    requests.post(f"{own_sandbox.url}/_sandbox/reset", timeout=5).raise_for_status()
    configure(own_sandbox, {"facebook": {"fail": {"error": "server_error"}}})
    # The old request wakes now; nothing outside the sandbox can see it do so.
    time.sleep(0.6)
    assert fb_post(own_sandbox, "new").status_code == 500  # the failure was still there for it


# -- the encodings, paths and fetches Meta accepts (issue 26) ----------------------------------------

def unpublished_photo(own_sandbox, width=64):
    jpeg = requests.get(f"{own_sandbox.url}/_sandbox/image.jpg?width={width}", timeout=5).content
    response = requests.post(f"{own_sandbox.url}{GRAPH}/111/photos", data={"published": "false", "access_token": "t"},
                             files={"source": ("p.jpg", jpeg, "image/jpeg")}, timeout=5)
    assert response.status_code == 200, response.text
    return response.json()["id"]


def carousel_item(own_sandbox):
    response = requests.post(f"{own_sandbox.url}{GRAPH}/222/media", timeout=5, data={
        "image_url": f"{own_sandbox.url}/_sandbox/image.jpg", "is_carousel_item": "true", "access_token": "t"})
    assert response.status_code == 200, response.text
    return response.json()["id"]


@pytest.mark.parametrize("encoding", ["indexed", "sdk form value", "json body"])
def test_a_feed_post_attaches_photos_sent_indexed_or_as_one_json_list_as_metas_sdk_sends_them(own_sandbox, encoding):
    ids = [unpublished_photo(own_sandbox, width) for width in (64, 96)]
    attached = [{"media_fbid": photo_id} for photo_id in ids]
    if encoding == "indexed":
        sent = {"data": {f"attached_media[{i}]": json.dumps(a) for i, a in enumerate(attached)}}
    elif encoding == "sdk form value":
        sent = {"data": {"attached_media": json.dumps(attached)}}
    else:
        sent = {"json": {"attached_media": attached}}
    sent[next(iter(sent))].update(message="Two photos", access_token="t")
    response = requests.post(f"{own_sandbox.url}{GRAPH}/111/feed", timeout=5, **sent)
    assert response.status_code == 200, response.text
    [item] = received(own_sandbox, "facebook")
    assert [image["width"] for image in item["images"]] == [64, 96]


@pytest.mark.parametrize("attached", ['{"media_fbid": "1"}', '[{"id": "1"}]', "[not json"])
def test_attached_media_that_is_not_a_list_of_media_fbids_is_refused_with_100(own_sandbox, attached):
    response = requests.post(f"{own_sandbox.url}{GRAPH}/111/feed", timeout=5, data={
        "message": "m", "attached_media": attached, "access_token": "t"})
    assert response.status_code == 400 and response.json()["error"]["code"] == 100
    assert received(own_sandbox) == []


@pytest.mark.parametrize("encode", [",".join, json.dumps, lambda ids: ids])
def test_a_carousel_takes_its_children_comma_separated_or_as_a_json_list(own_sandbox, encode):
    children = [carousel_item(own_sandbox) for _ in range(2)]
    body = {"media_type": "CAROUSEL", "children": encode(children), "caption": "Two", "access_token": "t"}
    sent = {"json": body} if isinstance(body["children"], list) else {"data": body}
    carousel = requests.post(f"{own_sandbox.url}{GRAPH}/222/media", timeout=5, **sent)
    assert carousel.status_code == 200, carousel.text
    requests.post(f"{own_sandbox.url}{GRAPH}/222/media_publish", timeout=5,
                  data={"creation_id": carousel.json()["id"], "access_token": "t"}).raise_for_status()
    assert len(received(own_sandbox, "instagram")[0]["images"]) == 2


def test_children_in_json_that_is_no_list_of_ids_are_refused_with_100(own_sandbox):
    children = [carousel_item(own_sandbox) for _ in range(2)]
    response = requests.post(f"{own_sandbox.url}{GRAPH}/222/media", timeout=5, data={
        "media_type": "CAROUSEL", "children": json.dumps({"ids": children}), "caption": "c", "access_token": "t"})
    assert response.status_code == 400 and response.json()["error"]["code"] == 100


@pytest.mark.parametrize("fields", ["name,picture", "username,profile_picture_url", "status_code"])
def test_a_node_read_with_a_trailing_slash_is_answered_like_one_without(own_sandbox, fields):
    container = requests.post(f"{own_sandbox.url}{GRAPH}/222/media", timeout=5, data={
        "image_url": f"{own_sandbox.url}/_sandbox/image.jpg", "caption": "c", "access_token": "t"}).json()["id"]
    node = container if fields == "status_code" else "17841400000000001"
    answers = [requests.get(f"{own_sandbox.url}{GRAPH}/{node}{slash}", params={"fields": fields, "access_token": "t"},
                            timeout=5, allow_redirects=False) for slash in ("", "/")]
    assert [a.status_code for a in answers] == [200, 200]
    assert answers[1].headers["Content-Type"] == "application/json"
    without, with_slash = (a.json() for a in answers)
    assert with_slash == without and with_slash["id"] == node


@pytest.mark.parametrize("where", ["missing", "not an image", "private address"])
def test_instagram_refuses_a_container_whose_image_it_cannot_fetch_with_9004_2207052(own_sandbox, where):
    link = {"missing": f"{own_sandbox.url}/no-such.jpg", "not an image": f"{own_sandbox.url}/_sandbox/config",
            "private address": "http://10.255.255.1/photo.jpg"}[where]
    for extra in ({"caption": "c"}, {"is_carousel_item": "true"}):
        response = requests.post(f"{own_sandbox.url}{GRAPH}/222/media", timeout=15,
                                 data={"image_url": link, "access_token": "t", **extra})
        error = response.json()["error"]
        assert (response.status_code, error["code"], error["error_subcode"], error["type"]) == \
            (400, 9004, 2207052, "OAuthException")
        assert error["message"] == "Only photo or video can be accepted as media type."
        assert error["error_user_title"] == "Media download has failed."
        assert error["error_user_msg"] == f"The media could not be fetched from this uri: {link}"
        assert error["is_transient"] is False


class SlowImage:
    """A loopback server that answers with the sandbox's JPEG after ``delay`` seconds."""

    def __init__(self, jpeg, delay):
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                time.sleep(delay)
                self.send_response(200)
                self.send_header("Content-Type", "image/jpeg")
                self.send_header("Content-Length", str(len(jpeg)))
                self.end_headers()
                self.wfile.write(jpeg)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/slow.jpg"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def test_instagram_fetching_a_slow_image_holds_up_no_other_request(own_sandbox):
    jpeg = requests.get(f"{own_sandbox.url}/_sandbox/image.jpg", timeout=5).content
    slow = SlowImage(jpeg, delay=1.0)
    try:
        started = time.monotonic()
        container = {}
        fetching = threading.Thread(target=lambda: container.update(requests.post(
            f"{own_sandbox.url}{GRAPH}/222/media", timeout=10,
            data={"image_url": slow.url, "caption": "slow", "access_token": "t"}).json()))
        fetching.start()
        time.sleep(0.2)
        assert fb_post(own_sandbox).status_code == 200       # the state is not locked meanwhile
        assert time.monotonic() - started < 0.9
        fetching.join()
        assert "id" in container and time.monotonic() - started >= 1.0
    finally:
        slow.server.shutdown()
        slow.server.server_close()


def test_the_sandboxs_instagram_fetches_from_where_socialpub_may_and_from_the_apps_own_public_address():
    from socialpub.sandbox.state import allowed_from_environment

    # What `socialpub up` gives its children: the sandbox's port allowed, the app on loopback as its public address.
    assert allowed_from_environment({"OUTBOUND_ALLOW_NETWORKS": "127.0.0.1:5055",
                                     "PUBLIC_BASE_URL": "http://127.0.0.1:8000"}) == \
        ("127.0.0.1:5055", "127.0.0.1:8000")
    # A public name is fetched when it resolves to a public address, like any other: nothing to allow.
    assert allowed_from_environment({"PUBLIC_BASE_URL": "https://social.example.com"}) == ()
    assert allowed_from_environment({}) == ()
