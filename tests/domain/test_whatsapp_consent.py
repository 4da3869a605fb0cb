"""A WhatsApp opt-out outlives every import: a STOP is lifted only by the
person (a new "START" of theirs) or by someone who records the new consent
and its evidence, on the record; an import says which lines it kept opted
out. Text no database can store is refused naming its field."""
from __future__ import annotations

import datetime as dt
import io

import pytest
import requests

from socialpub import db, schema
from socialpub.models import Channel, Contact, SchemaVersion, utcnow

from tests.support.whatsapp_fixtures import WHATSAPP_SETTINGS, add_contacts, numbers, recipient_statuses

pytestmark = pytest.mark.settings(**WHATSAPP_SETTINGS)


def contact(phone):
    with db.database.connection_context():
        return Contact.get(Contact.phone == phone)


def write(sandbox, settle, phone, text):
    """The person writes to the business (the sandbox POSTs the signed webhook)."""
    requests.post(f"{sandbox.url}/_sandbox/whatsapp/inbound", json={"from": phone, "text": text},
                  timeout=30).raise_for_status()
    settle()


def import_csv(client, channel_id, text):
    return client.post(f"/api/channels/{channel_id}/contacts/import",
                       data={"file": (io.BytesIO(text.encode()), "contacts.csv")})


def channel_actions(client, channel_id):
    return [(e["action"], e["detail"]) for e in client.get(f"/api/channels/{channel_id}/events").get_json()["items"]]


def template_post(client, channel_id):
    response = client.post("/api/posts", json={
        "text": "Offers", "channels": [channel_id], "publish": True,
        "whatsapp": {"template": "weekly_digest", "language": "en_US", "body": ["{text}", "x"],
                     "audience": "Everyone"}})
    assert response.status_code == 201, response.get_json()
    return response.get_json()["publications"][0]["id"]


@pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)
def test_a_stop_survives_the_crm_import_by_csv_and_by_the_api_and_nobody_messages_the_person_again(
        client, whatsapp, sandbox, sandbox_client, drain, settle):
    stopped, other = numbers(2)
    add_contacts(client, whatsapp, [stopped, other])
    write(sandbox, settle, stopped, "STOP")
    was = contact(stopped)
    assert was.opted_out_at is not None

    crm = f"phone,name,opt_in_method,audience\n{other},Bo,website form,Everyone\n{stopped},Ana,website form,Everyone\n"
    checked = client.post(f"/api/channels/{whatsapp}/contacts/import?dry_run=1",
                          data={"file": (io.BytesIO(crm.encode()), "contacts.csv")}).get_json()
    assert [k["line"] for k in checked["kept_opted_out"]] == [3] and checked["saved"] == 0
    response = import_csv(client, whatsapp, crm)
    assert response.status_code == 201, response.get_json()
    report = response.get_json()
    assert report["saved"] == 2
    [kept] = report["kept_opted_out"]
    assert kept["line"] == 3 and kept["contact"] == stopped and "kept opted out" in kept["message"]
    assert "'STOP'" in kept["message"]
    response = client.post(f"/api/channels/{whatsapp}/contacts", json={
        "phone": stopped, "opted_in": True, "opt_in_method": "website form", "audiences": ["Everyone"]})
    assert response.status_code == 201, response.get_json()
    assert [c["phone"] for c in response.get_json()["kept_opted_out"]] == [stopped]

    now = contact(stopped)
    assert (now.opted_out_at, now.opt_out_reason, now.opted_in_at) == (was.opted_out_at, was.opt_out_reason,
                                                                      was.opted_in_at)
    saved = [d for a, d in channel_actions(client, whatsapp) if a == "contacts saved"]
    assert saved[-1]["kept_opted_out"] == [stopped] and saved[-2]["kept_opted_out"] == [stopped]

    publication_id = template_post(client, whatsapp)
    drain()
    assert recipient_statuses(publication_id) == {stopped: "skipped", other: "sent"}
    assert [m["to"] for m in sandbox_client.received("whatsapp")] == [other]


def test_only_a_recorded_new_consent_with_its_evidence_lifts_an_opt_out_and_the_trail_names_it(
        client, whatsapp, sandbox, settle):
    [phone] = numbers(1)
    [added] = add_contacts(client, whatsapp, [phone])
    write(sandbox, settle, phone, "STOP")
    url = f"/api/channels/{whatsapp}/contacts/{added['id']}/opt_in"
    response = client.post(url, json={"opt_in_method": "signed the paper form"})
    assert response.status_code == 400 and response.get_json()["error"]["field"] == "evidence"
    before_the_stop = (contact(phone).opted_out_at - dt.timedelta(days=1)).isoformat() + "Z"
    response = client.post(url, json={"opt_in_method": "signed the paper form", "evidence": "form #1182",
                                      "opted_in_at": before_the_stop})
    assert response.status_code == 409 and "opted out" in response.get_json()["error"]["message"]
    assert contact(phone).opted_out_at is not None

    response = client.post(url, json={"opt_in_method": "signed the paper form in store",
                                      "evidence": "paper form #1182, scanned in the shared drive"})
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["opted_out_at"] is None and body["opt_in_evidence"] == "paper form #1182, scanned in the shared drive"
    assert body["opt_in_method"] == "signed the paper form in store" and body["opt_in_by"] == "tester@example.com"
    action, detail = channel_actions(client, whatsapp)[-1]
    assert action == "contact opted in again"
    assert detail["phone"] == phone and detail["evidence"] == "paper form #1182, scanned in the shared drive"
    assert "'STOP'" in detail["lifted"]


def test_the_person_writing_start_lifts_their_own_stop(client, whatsapp, sandbox, settle):
    [phone] = numbers(1)
    add_contacts(client, whatsapp, [phone])
    write(sandbox, settle, phone, "STOP")
    assert contact(phone).opted_out_at is not None
    write(sandbox, settle, phone, "Start")
    now = contact(phone)
    assert now.opted_out_at is None and now.opt_out_reason is None
    assert now.opt_in_method == "replied 'Start' on WhatsApp" and now.opt_in_by == "the contact"
    assert now.opted_in_at == now.last_inbound_at
    assert channel_actions(client, whatsapp)[-1][0] == "contact opted in again"


def test_a_csv_opted_in_at_is_kept_as_the_consents_time_and_checked(client, whatsapp):
    first, second = numbers(2)
    future = (utcnow() + dt.timedelta(days=2)).strftime("%Y-%m-%d")
    response = import_csv(client, whatsapp, f"phone,opt_in_method,opted_in_at\n{first},form,2024-02-30\n"
                                            f"{second},form,{future}\n+33612349999,,2024-01-01\n")
    assert response.status_code == 422
    problems = response.get_json()["error"]["details"]
    assert [p["line"] for p in problems] == [2, 3, 4]
    assert problems[0]["message"].startswith("opted_in_at: ") and "not a date" in problems[0]["message"]
    assert "in the future" in problems[1]["message"]
    assert problems[2]["message"].startswith("opt_in_method: ")
    response = import_csv(client, whatsapp, f"phone,opt_in_method,opted_in_at\n{first},form,2024-02-29\n"
                                            f"{second},form,2025-06-01T09:30:00+02:00\n")
    assert response.status_code == 201, response.get_json()
    assert contact(first).opted_in_at == dt.datetime(2024, 2, 29)
    assert contact(second).opted_in_at == dt.datetime(2025, 6, 1, 7, 30)


@pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)
@pytest.mark.parametrize("bad", ["\x00", "\ud800"])
def test_text_no_database_stores_in_a_contact_or_an_opt_out_reason_is_a_400_naming_the_field(
        client, whatsapp, bad):
    [phone] = numbers(1)
    contacts_url = f"/api/channels/{whatsapp}/contacts"
    for body, field in (({"phone": phone, "name": f"A{bad}na"}, "name"),
                        ({"phone": phone, "opted_in": True, "opt_in_method": f"form{bad}"}, "opt_in_method"),
                        ({"phone": phone, "audiences": [f"VIP{bad}"]}, "audiences"),
                        ({"contacts": [{"phone": phone}, {"phone": phone, "name": f"A{bad}na"}]},
                         "contacts[1].name")):
        response = client.post(contacts_url, json=body)
        assert response.status_code == 400, (body, response.get_data(as_text=True))
        assert response.get_json()["error"]["field"] == field
    assert not client.get(contacts_url).get_json()["items"][1:]  # only the channel's listed recipient
    [added] = add_contacts(client, whatsapp, [phone])
    response = client.post(f"{contacts_url}/{added['id']}/opt_out", json={"reason": f"asked{bad}"})
    assert response.status_code == 400 and response.get_json()["error"]["field"] == "reason"
    assert contact(phone).opted_out_at is None
    response = client.post(f"{contacts_url}/{added['id']}/opt_in",
                           json={"opt_in_method": "form", "evidence": f"ref{bad}"})
    assert response.status_code == 400 and response.get_json()["error"]["field"] == "evidence"


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_nul_in_a_csv_line_is_reported_on_its_line_and_nothing_is_saved(client, whatsapp):
    [phone] = numbers(1)
    response = import_csv(client, whatsapp, f"phone,name,opt_in_method\n{phone},A\x00na,form\n")
    assert response.status_code == 422, response.get_data(as_text=True)
    [problem] = response.get_json()["error"]["details"]
    assert problem["line"] == 2 and problem["message"].startswith("name: ")
    with db.database.connection_context():
        assert not Contact.select().where(Contact.phone == phone).exists()


@pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)
def test_the_schema_step_gives_contacts_of_an_older_database_their_consents_evidence(app, sandbox_channels):
    step = schema.STEPS.index(schema._consent_evidence) + 1
    with db.database.connection_context():
        channel = Channel.get_by_id(sandbox_channels["whatsapp"])
        kept = Contact.create(channel=channel, phone="+33612340077", opted_in_at=utcnow(), opt_in_method="form")
        db.database.execute_sql('ALTER TABLE "contact" DROP COLUMN "opt_in_evidence"')
        SchemaVersion.delete().where(SchemaVersion.version >= step).execute()

        assert schema.upgrade() == (step - 1, len(schema.STEPS))
        assert schema.upgrade() == (len(schema.STEPS), len(schema.STEPS))  # once only
        assert "opt_in_evidence" in {c.name for c in db.database.get_columns("contact")}
        again = Contact.get_by_id(kept.id)
        assert (again.phone, again.opt_in_method, again.opt_in_evidence) == ("+33612340077", "form", None)
