"""A WhatsApp broadcast's messages go to Meta several at once (issue 30, the
first part): each recipient still taken in the ledger before its one send."""
from __future__ import annotations

import pytest

from socialpub import db
from socialpub.models import Channel, Publication

from tests.support.web_helpers import field_errors, input_value, page
from tests.support.whatsapp_fixtures import WHATSAPP_SETTINGS, add_contacts, numbers

#: Long enough that sends made one after another cannot overlap by chance.
LATENCY_S = 0.6


def most_at_once(received) -> int:
    """The most sends the sandbox was answering at the same moment."""
    edges = sorted([(m["started_at"], 1) for m in received] + [(m["finished_at"], -1) for m in received])
    busy = most = 0
    for _, step in edges:
        busy += step
        most = max(most, busy)
    return most


def broadcast_to(client, whatsapp, sandbox_client, drain, phones):
    add_contacts(client, whatsapp, phones)
    sandbox_client.configure(whatsapp={"latency": LATENCY_S})
    response = client.post("/api/posts", json={
        "text": "Spring menu", "channels": [whatsapp], "publish": True,
        "whatsapp": {"template": "weekly_digest", "language": "en_US", "body": ["{text}", "https://example.com"],
                     "audience": "Everyone"}})
    assert response.status_code == 201, response.get_json()
    drain()
    with db.database.connection_context():
        assert Publication.get_by_id(response.get_json()["publications"][0]["id"]).status == "published"
    return [m for m in sandbox_client.received("whatsapp") if m.get("to")]


@pytest.mark.settings(**WHATSAPP_SETTINGS, whatsapp_send_concurrency=8)
def test_a_broadcasts_messages_are_sent_several_at_once_and_each_person_gets_one(
        client, whatsapp, sandbox_client, drain):
    phones = numbers(6)
    received = broadcast_to(client, whatsapp, sandbox_client, drain, phones)
    assert sorted(m["to"] for m in received) == phones
    assert most_at_once(received) >= 3


@pytest.mark.settings(**WHATSAPP_SETTINGS, whatsapp_send_concurrency=1)
def test_with_a_concurrency_of_one_the_messages_go_one_after_another(client, whatsapp, sandbox_client, drain):
    phones = numbers(3)
    received = broadcast_to(client, whatsapp, sandbox_client, drain, phones)
    assert sorted(m["to"] for m in received) == phones
    assert most_at_once(received) == 1


def test_a_numbers_own_send_rate_is_kept_shown_and_changed_in_its_form(client, form_client, sandbox):
    made = client.post("/api/channels", json={"network": "whatsapp", "account_id": "106540352242922",
                                              "token": "a-pasted-token", "base_url": f"{sandbox.url}/v24.0",
                                              "send_rate": 1000})
    assert made.status_code == 201, made.get_json()
    channel_id = made.get_json()["id"]
    assert made.get_json()["send_rate"] == 1000
    assert input_value(page(form_client.get(f"/channels/{channel_id}/edit")), "send_rate") == "1000"
    form = {"name": "Shop", "account_id": "106540352242922", "base_url": f"{sandbox.url}/v24.0"}
    refused = form_client.post(f"/channels/{channel_id}/edit", data={**form, "send_rate": "5000"})
    assert refused.status_code == 422
    assert "from 1 to 1000" in " ".join(field_errors(page(refused), "send_rate"))
    assert input_value(page(refused), "send_rate") == "5000"  # the input kept
    assert client.get(f"/api/channels/{channel_id}").get_json()["send_rate"] == 1000  # nothing changed
    form_client.post(f"/channels/{channel_id}/edit", data={**form, "send_rate": "20"})
    assert client.get(f"/api/channels/{channel_id}").get_json()["send_rate"] == 20
    form_client.post(f"/channels/{channel_id}/edit", data={**form, "send_rate": ""})
    assert client.get(f"/api/channels/{channel_id}").get_json()["send_rate"] is None  # the setting's again


@pytest.mark.parametrize("body, words", [
    ({"network": "whatsapp", "send_rate": 0}, "from 1 to 1000"),
    ({"network": "whatsapp", "send_rate": 1001}, "from 1 to 1000"),
    ({"network": "whatsapp", "send_rate": "fast"}, "from 1 to 1000"),
    ({"network": "facebook", "send_rate": 80}, "only WhatsApp numbers have one"),
])
def test_a_send_rate_that_cannot_be_is_a_400_naming_it_and_nothing_is_stored(client, sandbox, body, words):
    account = "106540352242922" if body["network"] == "whatsapp" else "546349135390552"
    before = len(client.get("/api/channels").get_json()["items"])
    response = client.post("/api/channels", json={"account_id": account, "token": "a-pasted-token",
                                                  "base_url": f"{sandbox.url}/v24.0", **body})
    error = response.get_json()["error"]
    assert response.status_code == 400 and error["field"] == "send_rate" and words in error["message"]
    assert len(client.get("/api/channels").get_json()["items"]) == before


@pytest.mark.settings(**WHATSAPP_SETTINGS)
def test_a_broadcast_is_paced_by_its_numbers_own_rate(client, whatsapp, sandbox_client, drain, monkeypatch):
    from socialpub.whatsapp import broadcast

    with db.database.connection_context():
        Channel.update(send_rate=7).where(Channel.id == whatsapp).execute()
    limits = []
    made = broadcast.rate_limiter
    monkeypatch.setattr(broadcast, "rate_limiter", lambda *args: limits.append(made(*args).limit) or made(*args))
    broadcast_to(client, whatsapp, sandbox_client, drain, numbers(2))
    assert limits == [7]
