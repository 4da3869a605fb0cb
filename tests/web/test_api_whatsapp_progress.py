"""A WhatsApp broadcast's progress in the API: ``progress`` in GET
/api/publications/{id}/recipients and on the WhatsApp publication of GET
/api/posts/{id}/status (null on the other networks'), done and held by the
messaging limit."""
from __future__ import annotations

import datetime as dt

import pytest

from socialpub import db
from socialpub.models import Publication
from tests.support.processes import wait_for
from tests.support.whatsapp_fixtures import WHATSAPP_SETTINGS, add_contacts, numbers


def template_post(client, channels, text):
    response = client.post("/api/posts", json={
        "text": text, "channels": channels, "publish": True,
        "whatsapp": {"template": "weekly_digest", "language": "en_US", "body": ["{text}", "x"],
                     "audience": "Everyone"}})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def status_of(publication_id):
    with db.database.connection_context():
        return Publication.get_by_id(publication_id).status


@pytest.mark.settings(**WHATSAPP_SETTINGS)
def test_a_sent_broadcast_shows_its_counts_and_no_expected_end(client, whatsapp, sandbox_channels, drain):
    add_contacts(client, whatsapp, numbers(3))
    add_contacts(client, whatsapp, numbers(1, start=50), opted_in=False)
    post = template_post(client, [whatsapp, sandbox_channels["facebook"]], "Done")
    drain()
    publication_id = next(p["id"] for p in post["publications"] if p["network"] == "whatsapp")
    listed = client.get(f"/api/publications/{publication_id}/recipients").get_json()
    assert listed["progress"] == {
        "total": 4, "sent": 3, "delivered": 0, "read": 0, "sending": 0, "waiting": 0, "waiting_for": None, "pending": 0,
        "failed": 1,
        "unconfirmed": 0, "remaining": 0, "resumes_at": None, "rate": 80.0, "expected_end": None,
        "expected_end_basis": None}
    state = client.get(f"/api/posts/{post['id']}/status").get_json()
    by_network = {p["network"]: p["progress"] for p in state["publications"]}
    assert by_network == {"whatsapp": listed["progress"], "facebook": None}


@pytest.mark.settings(**{**WHATSAPP_SETTINGS, "whatsapp_messaging_limit": 2})
def test_a_broadcast_held_by_the_messaging_limit_says_until_when(client, whatsapp, worker, broker):
    add_contacts(client, whatsapp, numbers(5))
    post = template_post(client, [whatsapp], "Held")
    publication_id = post["publications"][0]["id"]
    wait_for(lambda: status_of(publication_id) == "retrying", 30, "the publication to wait for the limit")
    progress = client.get(f"/api/publications/{publication_id}/recipients").get_json()["progress"]
    assert (progress["sent"], progress["waiting"], progress["pending"], progress["remaining"]) == (2, 3, 0, 3)
    assert (progress["expected_end_basis"], progress["waiting_for"]) == ("limit", "messaging_limit")
    resumes = dt.datetime.fromisoformat(progress["resumes_at"])
    assert resumes > dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=23)
    assert dt.datetime.fromisoformat(progress["expected_end"]) >= resumes
    state = client.get(f"/api/posts/{post['id']}/status").get_json()
    assert state["publications"][0]["progress"] == progress
    broker.flush_all()  # the wait's delayed message, a day from now
