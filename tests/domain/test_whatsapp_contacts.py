"""WhatsApp contacts, consent and templates as the API takes them: numbers
normalised, consent required, a CSV import checked whole, a post's template
checked before anything is stored, the window and opt-outs honoured."""
from __future__ import annotations

import datetime as dt
import io

import pytest
import requests

from socialpub import db
from socialpub.lifecycle import scheduling
from socialpub.models import Contact, Post, utcnow

from tests.support.whatsapp_fixtures import WHATSAPP_SETTINGS, add_contacts, numbers, recipient_statuses
from tests.web.test_editing import iso_in

pytestmark = pytest.mark.settings(**WHATSAPP_SETTINGS)


def contact_phones(client, channel_id):
    return sorted(c["phone"] for c in client.get(f"/api/channels/{channel_id}/contacts").get_json()["items"])


def test_numbers_written_every_way_are_one_contact_in_e164(client, whatsapp):
    for written in ("+33 6 12 34 56 78", "0033612345678", "33612345678"):
        response = client.post(f"/api/channels/{whatsapp}/contacts", json={
            "phone": written, "opted_in": True, "opt_in_method": "website form"})
        assert response.status_code == 201, response.get_json()
        assert response.get_json()["items"][0]["phone"] == "+33612345678"
    assert contact_phones(client, whatsapp).count("+33612345678") == 1


@pytest.mark.parametrize("contact,field", [
    ({"phone": "+1 123"}, "phone"),
    ({"phone": "call me"}, "phone"),
    ({"phone": "+33612345678", "opted_in": True}, "opt_in_method"),
    ({"phone": "+33612345678", "opted_in": "yes", "opt_in_method": "form"}, "opted_in"),
    ({"phone": "+33612345678", "audiences": [""]}, "audiences"),
])
def test_a_bad_contact_is_refused_naming_the_field_and_nothing_is_saved(client, whatsapp, contact, field):
    before = contact_phones(client, whatsapp)
    response = client.post(f"/api/channels/{whatsapp}/contacts", json=contact)
    assert response.status_code == 400
    assert response.get_json()["error"]["field"] == field
    assert contact_phones(client, whatsapp) == before


def test_a_csv_import_reports_every_bad_line_and_saves_none_until_all_are_good(client, whatsapp):
    bad = ("phone,name,opt_in_method,audience\n+33612340001,Ana,website form,Newsletter\nnot a number,Bo,form,\n"
           "+33612340001,Ana again,form,\n+1 555,Cy,form,\n")
    before = contact_phones(client, whatsapp)
    response = client.post(f"/api/channels/{whatsapp}/contacts/import",
                           data={"file": (io.BytesIO(bad.encode()), "contacts.csv")})
    assert response.status_code == 422
    problems = response.get_json()["error"]["details"]
    assert [p["line"] for p in problems] == [3, 4, 5]
    assert "also on line 2" in problems[1]["message"]
    assert contact_phones(client, whatsapp) == before
    good = "phone,name,opt_in_method,audience\n+33612340001,Ana,website form,Newsletter\n+33612340002,Bo,,\n"
    checked = client.post(f"/api/channels/{whatsapp}/contacts/import?dry_run=1",
                          data={"file": (io.BytesIO(good.encode()), "contacts.csv")})
    assert checked.status_code == 200 and checked.get_json() == {"saved": 0, "problems": [], "valid": 2,
                                                             "kept_opted_out": []}
    assert contact_phones(client, whatsapp) == before
    response = client.post(f"/api/channels/{whatsapp}/contacts/import",
                           data={"file": (io.BytesIO(good.encode()), "contacts.csv")})
    assert response.status_code == 201 and response.get_json()["saved"] == 2
    listed = {c["phone"]: c for c in client.get(f"/api/channels/{whatsapp}/contacts").get_json()["items"]}
    assert listed["+33612340001"]["opt_in_method"] == "website form"
    assert listed["+33612340001"]["audiences"] == ["Newsletter"]
    assert listed["+33612340002"]["opted_in_at"] is None  # no opt-in given: kept, never messaged


@pytest.mark.parametrize("choice,field,words", [
    ({"template": "weekly_digest", "language": "en_US", "body": ["{text}"]}, "whatsapp.body",
     "takes 2 body parameter(s), 1 given"),
    ({"template": "spring_sale", "language": "en_US", "body": ["x"]}, "whatsapp.template", "PENDING"),
    ({"template": "no_such", "language": "en_US", "body": []}, "whatsapp.template", "sync its templates"),
    ({"template": "post_announcement", "language": "en_US", "body": ["{text}"]}, "whatsapp.template",
     "add a photo"),
    ({"template": "weekly_digest", "language": "en_US", "body": ["two\nlines", "x"]}, "whatsapp.body",
     "new line"),
    ({"template": "weekly_digest", "body": ["a", "b"]}, "whatsapp.language", "language"),
    ({"template": "weekly_digest", "language": "en_US", "body": ["a", "b"], "extra": 1}, "whatsapp", "extra"),
])
def test_a_template_choice_that_meta_would_refuse_is_refused_before_anything_is_stored_when_it_is_to_go_out(
        client, whatsapp, choice, field, words):
    response = client.post("/api/posts", json={"text": "Hello", "channels": [whatsapp], "whatsapp": choice,
                                               "publish": True})
    assert response.status_code == 400, response.get_json()
    error = response.get_json()["error"]
    assert error["field"] == field and words in error["message"]
    with db.database.connection_context():
        assert Post.select().count() == 0


def test_free_form_outside_the_window_marks_the_recipient_and_is_not_sent_again_without_a_template(
        client, whatsapp, sandbox, sandbox_client, drain, settle):
    [phone] = numbers(1)
    add_contacts(client, whatsapp, [phone])
    first = client.post("/api/posts", json={"text": "Free-form", "channels": [whatsapp], "publish": True,
                                            "whatsapp": {"audience": "Everyone"}}).get_json()
    drain()
    requests.post(f"{sandbox.url}/_sandbox/whatsapp/flush", json={}, timeout=30).raise_for_status()
    settle()
    assert recipient_statuses(first["publications"][0]["id"]) == {phone: "window_closed"}
    second = client.post("/api/posts", json={"text": "Free-form again", "channels": [whatsapp], "publish": True,
                                             "whatsapp": {"audience": "Everyone"}}).get_json()
    drain()
    assert recipient_statuses(second["publications"][0]["id"]) == {phone: "window_closed"}
    assert len(sandbox_client.received("whatsapp")) == 1  # the second was never sent
    # They write: their window opens, and the free-form message goes.
    answer = requests.post(f"{sandbox.url}/_sandbox/whatsapp/inbound", json={"from": phone, "text": "Hello?"},
                           timeout=30).json()
    assert answer["answer"] == 200
    settle()
    third = client.post("/api/posts", json={"text": "Inside the window", "channels": [whatsapp], "publish": True,
                                            "whatsapp": {"audience": "Everyone"}}).get_json()
    drain()
    assert recipient_statuses(third["publications"][0]["id"]) == {phone: "sent"}


def test_a_marketing_template_skips_us_numbers_saying_why(client, whatsapp, sandbox_client, drain):
    add_contacts(client, whatsapp, ["+16505550100", "+33612345600"])
    created = client.post("/api/posts", json={
        "text": "Offer", "channels": [whatsapp], "publish": True,
        "whatsapp": {"template": "weekly_digest", "language": "en_US", "body": ["{text}", "x"],
                     "audience": "Everyone"}}).get_json()
    drain()
    rows = {r["phone"]: r for r in client.get(f"/api/publications/{created['publications'][0]['id']}/recipients")
            .get_json()["items"]}
    assert rows["+16505550100"]["status"] == "skipped" and "United States" in rows["+16505550100"]["error"]
    assert rows["+33612345600"]["status"] == "sent"
    assert [m["to"] for m in sandbox_client.received("whatsapp")] == ["+33612345600"]


def test_a_stop_reply_opts_the_contact_out(client, whatsapp, sandbox, settle):
    [phone] = numbers(1)
    add_contacts(client, whatsapp, [phone])
    requests.post(f"{sandbox.url}/_sandbox/whatsapp/inbound", json={"from": phone, "text": "STOP"},
                  timeout=30).raise_for_status()
    settle()
    with db.database.connection_context():
        contact = Contact.get(Contact.phone == phone)
    assert contact.opted_out_at is not None and "STOP" in contact.opt_out_reason


def test_the_periodic_sync_follows_meta_and_a_post_whose_template_went_away_fails_sending_nothing(
        app, client, whatsapp, sandbox, sandbox_client, settings, drain):
    from socialpub.whatsapp import templates

    add_contacts(client, whatsapp, numbers(2))
    created = client.post("/api/posts", json={
        "text": "Later", "channels": [whatsapp], "scheduled_at": iso_in(60),
        "whatsapp": {"template": "weekly_digest", "language": "en_US", "body": ["{text}", "x"],
                     "audience": "Everyone"}}).get_json()
    listed = requests.get(f"{sandbox.url}/v24.0/102290129340398/message_templates",
                          headers={"Authorization": "Bearer sandbox-wa-token"}, timeout=5).json()["data"]
    paused = [dict(t, status="PAUSED") if t["name"] == "weekly_digest" else t for t in listed]
    requests.post(f"{sandbox.url}/_sandbox/whatsapp/templates", json={"templates": paused},
                  timeout=5).raise_for_status()
    with db.database.connection_context():
        assert templates.sync_all(settings) == 1
    statuses = {t["name"]: t["status"] for t in client.get(f"/api/channels/{whatsapp}/templates").get_json()["items"]}
    assert statuses["weekly_digest"] == "PAUSED"
    refused = client.post(f"/api/posts/{created['id']}/publish")  # Publish now checks the template again
    assert refused.status_code == 400 and "its status is PAUSED" in refused.get_json()["error"]["message"]
    with db.database.connection_context():  # the scheduler's launch, due now, does not: the worker finds it
        due = utcnow() - dt.timedelta(seconds=1)
        Post.update(scheduled_at=due).where(Post.id == created["id"]).execute()
        assert scheduling.launch(created["id"], due, max_lateness=None)
    drain()
    publication = client.get(f"/api/posts/{created['id']}").get_json()["publications"][0]
    assert publication["status"] == "failed"
    assert "its status is PAUSED" in publication["last_error"] and "nothing was sent" in publication["last_error"]
    assert sandbox_client.received("whatsapp") == []
