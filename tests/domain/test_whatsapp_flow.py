"""A WhatsApp post as Meta allows it, end to end against the sandbox: an
approved template to opted-in contacts, statuses from signed webhooks."""
from __future__ import annotations

import hashlib
import hmac
import json

import pytest
import requests

from socialpub import db
from socialpub.models import MetaNotification, Publication

from tests.support.whatsapp_fixtures import VERIFY_TOKEN, WHATSAPP_SETTINGS, add_contacts, numbers, recipient_statuses

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


def inbound(sandbox, phone, text="Hi"):
    """The person writes to the business (the sandbox POSTs the signed webhook to the app)."""
    answer = requests.post(f"{sandbox.url}/_sandbox/whatsapp/inbound", json={"from": phone, "text": text},
                           timeout=30).json()
    assert answer["answer"] == 200, answer


def test_a_broadcast_to_200_contacts_ends_every_recipient_right_and_messages_nobody_twice(
        client, whatsapp, sandbox_client, sandbox, drain, settle):
    phones = numbers(200)
    add_contacts(client, whatsapp, phones)
    unconsented = numbers(10, start=500)
    add_contacts(client, whatsapp, unconsented, opted_in=False)
    opted_out_here = phones[190:]
    for contact in client.get(f"/api/channels/{whatsapp}/contacts").get_json()["items"]:
        if contact["phone"] in opted_out_here:
            response = client.post(f"/api/channels/{whatsapp}/contacts/{contact['id']}/opt_out",
                                   json={"reason": "asked by phone"})
            assert response.status_code == 200, response.get_json()
    windows_open = phones[:20]
    for phone in windows_open:
        inbound(sandbox, phone)
    settle()
    opted_out_at_meta, undeliverable, refused = phones[20:30], phones[30:35], phones[35:38]
    requests.post(f"{sandbox.url}/_sandbox/whatsapp/opt_out", json={"numbers": opted_out_at_meta},
                  timeout=5).raise_for_status()
    sandbox_client.configure(whatsapp={"undeliverable": undeliverable, "refuse": {p: 131026 for p in refused}})

    response = client.post("/api/posts", json={
        "text": "Our spring menu is here", "channels": [whatsapp], "publish": True,
        "whatsapp": {"template": "weekly_digest", "language": "en_US", "body": ["{text}", "https://example.com"],
                     "audience": "Everyone"}})
    assert response.status_code == 201, response.get_json()
    publication_id = response.get_json()["publications"][0]["id"]
    drain()
    # Meta refused three sends at once: the others have it.
    with db.database.connection_context():
        assert Publication.get_by_id(publication_id).status == "partly_failed"
    flushed = requests.post(f"{sandbox.url}/_sandbox/whatsapp/flush", json={"shuffle": True, "duplicate": 0.3},
                            timeout=120).json()
    assert flushed["answers"] == ["200"]
    settle()

    received = [m for m in sandbox_client.received("whatsapp")]
    to = [m["to"] for m in received]
    assert len(to) == len(set(to)), "somebody was messaged twice"
    assert set(to) == set(phones[:190]) - set(refused)
    assert not set(to) & set(unconsented + opted_out_here)
    free_form = {m["to"] for m in received if m["text"] == "Our spring menu is here"}
    assert free_form == set(windows_open)
    statuses = recipient_statuses(publication_id)
    expected = {**{p: "read" for p in phones[:190]}, **{p: "opted_out" for p in opted_out_at_meta},
                **{p: "failed" for p in undeliverable + refused}, **{p: "skipped" for p in opted_out_here},
                **{p: "skipped" for p in unconsented}}
    assert statuses == expected
    counts = client.get(f"/api/publications/{publication_id}/recipients").get_json()["counts"]
    assert counts == {"read": 172, "opted_out": 10, "failed": 8, "skipped": 20}
    contacts = {c["phone"]: c for c in client.get(f"/api/channels/{whatsapp}/contacts").get_json()["items"]}
    assert all(contacts[p]["opted_out_at"] for p in opted_out_at_meta)
    assert all(contacts[p]["last_inbound_at"] for p in windows_open)


def test_a_forged_webhook_changes_nothing(client, whatsapp, served_app, drain):
    add_contacts(client, whatsapp, numbers(1))
    response = client.post("/api/posts", json={
        "text": "Forged", "channels": [whatsapp], "publish": True,
        "whatsapp": {"template": "weekly_digest", "language": "en_US", "body": ["{text}", "x"], "audience": "Everyone"}})
    publication_id = response.get_json()["publications"][0]["id"]
    drain()
    [wamid] = [r["message_id"] for r in client.get(f"/api/publications/{publication_id}/recipients")
               .get_json()["items"] if r["status"] == "sent"]
    body = {"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": [{"field": "messages", "value": {
        "metadata": {"phone_number_id": "106540352242922"},
        "statuses": [{"id": wamid, "status": "failed", "timestamp": "1700000000", "recipient_id": "33612340000",
                      "errors": [{"code": 131050, "title": "opted out"}]}]}}]}]}
    raw = json.dumps(body).encode()
    forged = hmac.new(b"not the app secret", raw, hashlib.sha256).hexdigest()
    for headers in ({"X-Hub-Signature-256": f"sha256={forged}"}, {}):
        answer = requests.post(f"{served_app.url}/webhooks/meta", data=raw, timeout=10,
                               headers={"Content-Type": "application/json", **headers})
        assert answer.status_code == 401
        assert "X-Hub-Signature-256" in answer.json()["error"]["message"]
    with db.database.connection_context():
        assert MetaNotification.select().count() == 0
    assert recipient_statuses(publication_id) == {numbers(1)[0]: "sent"}


def test_the_subscription_handshake_echoes_the_challenge_only_for_our_verify_token(anon_client):
    query = {"hub.mode": "subscribe", "hub.challenge": "1158201444", "hub.verify_token": VERIFY_TOKEN}
    answer = anon_client.get("/webhooks/meta", query_string=query)
    assert answer.status_code == 200 and answer.get_data(as_text=True) == "1158201444"
    answer = anon_client.get("/webhooks/meta", query_string={**query, "hub.verify_token": "guess"})
    assert answer.status_code == 403
    assert "hub.verify_token" in answer.get_json()["error"]["message"]
