"""The sandbox's WhatsApp at Meta's pace (issue 30, item 5): concurrent sends
each take the latency, side by side rather than one after another, and a
business number sends at most its throughput a second (80 by default, set per
phone-number id), the rest refused with 130429 as Meta refuses them."""
from __future__ import annotations

import threading
import time

import pytest
import requests
from click.testing import CliRunner

from socialpub import db
from socialpub.models import Channel, Publication
from socialpub.sandbox.state import TRANSIT_S
from tests.support.whatsapp_fixtures import WHATSAPP_SETTINGS, add_contacts, numbers

GRAPH = "/v24.0"
NUMBER = "106540352242922"


@pytest.fixture
def own_sandbox(sandbox, sandbox_client):
    """The tests' sandbox, reset before and after."""
    return sandbox


def configure(own_sandbox, whatsapp: dict) -> dict:
    response = requests.post(f"{own_sandbox.url}/_sandbox/config", json={"whatsapp": whatsapp}, timeout=5)
    assert response.status_code == 200, response.text
    return response.json()["whatsapp"]


def send(own_sandbox, to: str, number: str = NUMBER):
    body = {"messaging_product": "whatsapp", "recipient_type": "individual", "to": to, "type": "text",
            "text": {"preview_url": False, "body": "hi"}}
    return requests.post(f"{own_sandbox.url}{GRAPH}/{number}/messages", json=body, timeout=10,
                         headers={"Authorization": "Bearer wa-token"})


def together(calls) -> tuple:
    """Run ``calls`` in threads released at once; their answers (in call order) and the seconds it took."""
    start = threading.Barrier(len(calls) + 1)
    answers = [None] * len(calls)

    def run(i, call):
        start.wait()
        answers[i] = call()

    threads = [threading.Thread(target=run, args=(i, call), daemon=True) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    start.wait()
    began = time.monotonic()
    for thread in threads:
        thread.join(30)
    return answers, time.monotonic() - began


def test_concurrent_sends_each_take_the_latency_side_by_side_not_one_after_another(own_sandbox):
    latency, count = 0.5, 20
    configure(own_sandbox, {"latency": latency})
    answers, elapsed = together([lambda i=i: send(own_sandbox, f"+3361234{i:04d}") for i in range(count)])
    assert [a.status_code for a in answers] == [200] * count
    # One after another would take count x latency (10 s); side by side, the latency and the HTTP around it
    # (bounded loosely: a busy machine adds its own wait, and what is asserted is "not one after another").
    assert latency <= elapsed < count * latency / 4, elapsed


def at_a_whole_second(transit: bool = True):
    """Wait for the next whole second of the clock — the sandbox counts a number's messages by whole
    seconds —, and with ``transit`` past its first TRANSIT_S, whose sends may count in the second before."""
    time.sleep(1 - time.time() % 1 + (TRANSIT_S + 0.01 if transit else 0))


def received_to(own_sandbox) -> list:
    return [i["to"] for i in requests.get(f"{own_sandbox.url}/_sandbox/received", timeout=5).json()]


def test_a_number_at_5_a_second_refuses_the_sixth_send_of_a_second_with_130429_then_sends_in_the_next(own_sandbox):
    assert configure(own_sandbox, {"throughput": {NUMBER: 5}})["throughput"] == {"default": 80, NUMBER: 5}
    at_a_whole_second()
    second = int(time.time())
    answers = [send(own_sandbox, f"+3361234{i:04d}") for i in range(6)]
    assert int(time.time()) == second, "the six sends took more than the second"
    assert [a.status_code for a in answers] == [200] * 5 + [429]
    error = answers[5].json()["error"]
    assert error.pop("fbtrace_id")
    assert error == {"message": "(#130429) Rate limit hit", "type": "OAuthException", "code": 130429,
                     "error_data": {"messaging_product": "whatsapp",
                                    "details": "Cloud API message throughput has been reached."}}
    assert received_to(own_sandbox) == [f"+3361234{i:04d}" for i in range(5)]  # the sixth was not taken
    at_a_whole_second()
    assert send(own_sandbox, "+33612340005").status_code == 200


def test_a_send_arriving_as_a_second_turns_counts_in_the_second_it_left_while_that_one_has_room(own_sandbox):
    configure(own_sandbox, {"throughput": {NUMBER: 3}})
    at_a_whole_second()
    first = [send(own_sandbox, f"+3361234{i:04d}").status_code for i in range(2)]
    at_a_whole_second(transit=False)
    # The first still fits the second before (it has 2 of 3), the second starts this one.
    turning = [send(own_sandbox, f"+3361234{i:04d}").status_code for i in range(2, 4)]
    second = int(time.time())
    time.sleep(max(0.0, TRANSIT_S + 0.01 - time.time() % 1))  # past the turn, in the same second
    later = [send(own_sandbox, f"+3361234{i:04d}").status_code for i in range(4, 7)]
    assert int(time.time()) == second, "the sends took more than the second"
    assert (first, turning, later) == ([200, 200], [200, 200], [200, 200, 429])


def test_the_throughput_is_each_numbers_own_and_80_for_a_number_not_named(own_sandbox):
    configure(own_sandbox, {"throughput": {NUMBER: 2}})
    at_a_whole_second()
    slow = [send(own_sandbox, f"+3361234{i:04d}").status_code for i in range(3)]
    other = [send(own_sandbox, f"+3361234{i:04d}", number="200000000000001").status_code for i in range(20)]
    assert slow == [200, 200, 429] and other == [200] * 20


def test_concurrent_sends_are_counted_exactly_none_over_the_throughput(own_sandbox):
    configure(own_sandbox, {"throughput": {NUMBER: 10}})
    at_a_whole_second()
    answers, elapsed = together([lambda i=i: send(own_sandbox, f"+3361234{i:04d}") for i in range(30)])
    assert elapsed < 0.9, "the sends took more than the second"
    statuses = sorted(a.status_code for a in answers)
    assert statuses == [200] * 10 + [429] * 20
    assert len(received_to(own_sandbox)) == 10


def test_an_inbound_message_uses_a_place_of_the_numbers_throughput(own_sandbox):
    configure(own_sandbox, {"throughput": {NUMBER: 2}})
    at_a_whole_second()
    requests.post(f"{own_sandbox.url}/_sandbox/whatsapp/inbound", json={"from": "+33612340009", "text": "Hi",
                                                                       "phone_number_id": NUMBER},
                  timeout=5).raise_for_status()
    assert [send(own_sandbox, f"+3361234{i:04d}").status_code for i in range(2)] == [200, 429]


def test_a_number_set_to_null_is_not_limited_and_a_reset_brings_back_80(own_sandbox):
    configure(own_sandbox, {"throughput": {"default": 1, NUMBER: None}})
    at_a_whole_second()
    assert [send(own_sandbox, f"+3361234{i:04d}").status_code for i in range(5)] == [200] * 5
    requests.post(f"{own_sandbox.url}/_sandbox/reset", json={}, timeout=5).raise_for_status()
    config = requests.get(f"{own_sandbox.url}/_sandbox/config", timeout=5).json()["whatsapp"]
    assert config["throughput"] == {"default": 80}


@pytest.mark.parametrize("throughput", [0, -5, 2.5, "fast", True, [80]])
def test_a_throughput_that_cannot_be_is_refused_naming_it_and_changes_nothing(own_sandbox, throughput):
    body = {"whatsapp": {"throughput": throughput if isinstance(throughput, list) else {NUMBER: throughput}}}
    response = requests.post(f"{own_sandbox.url}/_sandbox/config", json=body, timeout=5)
    assert response.status_code == 400 and "throughput" in response.json()["error"]["message"]
    config = requests.get(f"{own_sandbox.url}/_sandbox/config", timeout=5).json()["whatsapp"]
    assert config["throughput"] == {"default": 80}


# -- socialpub against a number slower than it thinks ----------------------------------------------------------

@pytest.mark.settings(**WHATSAPP_SETTINGS)
def test_a_broadcast_faster_than_its_numbers_throughput_meets_130429_and_still_messages_everyone_once(
        client, whatsapp, sandbox_client, drain):
    with db.database.connection_context():
        Channel.update(send_rate=10).where(Channel.id == whatsapp).execute()  # socialpub paces at 10 a second
        number = Channel.get_by_id(whatsapp).account_id
    sandbox_client.configure(whatsapp={"throughput": {number: 5}})  # Meta takes 5
    phones = numbers(12)
    add_contacts(client, whatsapp, phones)
    response = client.post("/api/posts", json={
        "text": "Spring menu", "channels": [whatsapp], "publish": True,
        "whatsapp": {"template": "weekly_digest", "language": "en_US", "body": ["{text}", "https://example.com"],
                     "audience": "Everyone"}})
    assert response.status_code == 201, response.get_json()
    started = time.monotonic()
    drain(timeout_ms=30_000)
    with db.database.connection_context():
        publication = Publication.get_by_id(response.get_json()["publications"][0]["id"])
    assert publication.status == "published", publication.last_error
    assert sorted(m["to"] for m in sandbox_client.received("whatsapp")) == phones  # everyone, once
    refused = [r for r in sandbox_client.requests() if r["code"] == 130429]
    # The number's throughput was met, and each refused recipient waited for the next second: the
    # publication itself was never retried for it.
    assert refused and publication.rate_limit_waits == 0 and publication.retries == 0
    assert time.monotonic() - started < 20


def test_socialpub_sandbox_plays_every_number_at_the_throughput_it_is_given(monkeypatch):
    from socialpub.commands.cli import sandbox_command
    from socialpub.sandbox import server

    started = []
    monkeypatch.setattr(server, "run", lambda *args, whatsapp: started.append(whatsapp["throughput"]))
    assert CliRunner().invoke(sandbox_command, ["--whatsapp-throughput", "1000"]).exit_code == 0
    assert CliRunner().invoke(sandbox_command, []).exit_code == 0
    refused = CliRunner().invoke(sandbox_command, ["--whatsapp-throughput", "0"])
    assert refused.exit_code == 2 and "--whatsapp-throughput" in refused.output
    assert started == [{"default": 1000}, {"default": 80}]


def test_a_numbers_read_names_its_throughput_level_as_meta_does(own_sandbox):
    configure(own_sandbox, {"throughput": {NUMBER: 1000}})

    def level(number):
        return requests.get(f"{own_sandbox.url}{GRAPH}/{number}", params={"fields": "throughput"}, timeout=5,
                            headers={"Authorization": "Bearer wa-token"}).json()

    assert level(NUMBER) == {"id": NUMBER, "throughput": {"level": "HIGH"}}
    assert level("200000000000001") == {"id": "200000000000001", "throughput": {"level": "STANDARD"}}
