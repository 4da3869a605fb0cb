"""A WhatsApp broadcast's messages go to Meta several at once (issue 30, the
first part): each recipient still taken in the ledger before its one send."""
from __future__ import annotations

import pytest

from socialpub import db
from socialpub.models import Publication

from .support.whatsapp_fixtures import WHATSAPP_SETTINGS, add_contacts, numbers

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


def broadcast(client, whatsapp, sandbox_client, drain, phones):
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
    received = broadcast(client, whatsapp, sandbox_client, drain, phones)
    assert sorted(m["to"] for m in received) == phones
    assert most_at_once(received) >= 3


@pytest.mark.settings(**WHATSAPP_SETTINGS, whatsapp_send_concurrency=1)
def test_with_a_concurrency_of_one_the_messages_go_one_after_another(client, whatsapp, sandbox_client, drain):
    phones = numbers(3)
    received = broadcast(client, whatsapp, sandbox_client, drain, phones)
    assert sorted(m["to"] for m in received) == phones
    assert most_at_once(received) == 1
