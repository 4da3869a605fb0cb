"""A WhatsApp post as Meta allows it, end to end against the sandbox: an
approved template to opted-in contacts, statuses from signed webhooks."""
from __future__ import annotations

import pytest
import requests

from socialpub import db
from socialpub.models import Publication

from .whatsapp_fixtures import (  # noqa: F401 (fixtures)
    WHATSAPP_SETTINGS,
    add_contacts,
    numbers,
    recipient_statuses,
    served_app,
    whatsapp,
)

pytestmark = pytest.mark.settings(**WHATSAPP_SETTINGS)


def test_a_template_post_reaches_every_opted_in_contact_and_their_statuses_arrive(
        client, whatsapp, sandbox_client, sandbox, drain, settle):
    phones = numbers(5)
    add_contacts(client, whatsapp, phones)
    response = client.post("/api/posts", json={
        "text": "Spring menu\nis here", "channels": [whatsapp], "publish": True,
        "whatsapp": {"template": "weekly_digest", "language": "en_US", "body": ["{text}", "https://example.com"],
                     "audience": "Everyone"}})
    assert response.status_code == 201, response.get_json()
    post = response.get_json()
    drain()
    publication_id = post["publications"][0]["id"]
    with db.database.connection_context():
        assert Publication.get_by_id(publication_id).status == "published"
    sent = [m for m in sandbox_client.received("whatsapp")]
    assert sorted(m["to"] for m in sent) == phones
    assert {m["text"] for m in sent} == {"This week: Spring menu · is here. Read more at https://example.com"}
    assert set(recipient_statuses(publication_id).values()) == {"sent"}
    flushed = requests.post(f"{sandbox.url}/_sandbox/whatsapp/flush", json={"shuffle": True, "duplicate": 0.5},
                            timeout=30).json()
    assert flushed["answers"] == ["200"]
    settle()
    assert set(recipient_statuses(publication_id).values()) == {"read"}
    listed = client.get(f"/api/publications/{publication_id}/recipients").get_json()
    assert listed["counts"] == {"read": 5}
