"""WhatsApp people known by Meta's business-scoped user id (BSUID): a person
who took a WhatsApp username has their number withheld from the webhooks, so
the BSUID is how their messages, their STOP and the statuses of what they
were sent find their contact — against the sandbox, whose webhooks are in
Meta's current shape."""
from __future__ import annotations

import pytest
import requests
from peewee import IntegrityError, SqliteDatabase

from socialpub import db, schema
from socialpub.models import Audience, AudienceMember, Channel, Contact, SchemaVersion

from tests.support.whatsapp_fixtures import WHATSAPP_SETTINGS, add_contacts, numbers

pytestmark = pytest.mark.settings(**WHATSAPP_SETTINGS)


def take_usernames(sandbox, phones) -> dict:
    """The people take usernames at Meta: their numbers leave the webhooks. Returns their BSUIDs."""
    answer = requests.post(f"{sandbox.url}/_sandbox/whatsapp/usernames", json={"numbers": phones}, timeout=5)
    answer.raise_for_status()
    return answer.json()["user_ids"]


def writes(sandbox, text="Hi", **who):
    answer = requests.post(f"{sandbox.url}/_sandbox/whatsapp/inbound", json={"text": text, **who}, timeout=30).json()
    assert answer["answer"] == 200, answer
    return answer


def add_by_user_id(client, channel_id, user_id):
    response = client.post(f"/api/channels/{channel_id}/contacts", json={
        "user_id": user_id, "opted_in": True, "opt_in_method": "replied YES on WhatsApp", "audiences": ["Everyone"]})
    assert response.status_code == 201, response.get_json()
    [contact] = response.get_json()["items"]
    return contact


def contact_by_id(contact_id) -> Contact:
    with db.database.connection_context():
        return Contact.get_by_id(contact_id)


def rows(client, publication_id) -> dict:
    return {r["to"]: r for r in client.get(f"/api/publications/{publication_id}/recipients").get_json()["items"]}


def test_a_stop_from_a_username_only_contact_records_the_opt_out(client, whatsapp, sandbox, settle):
    [phone] = numbers(1)
    user_id = take_usernames(sandbox, [phone])[phone]
    contact = add_by_user_id(client, whatsapp, user_id)
    assert contact["phone"] is None and contact["user_id"] == user_id
    writes(sandbox, "STOP", user_id=user_id)
    settle()
    stopped = contact_by_id(contact["id"])
    assert stopped.opted_out_at is not None and "STOP" in stopped.opt_out_reason
    assert stopped.phone is None  # the webhook did not carry it, so nothing was guessed


def test_inbound_from_a_bsuid_only_user_opens_their_window_and_the_reply_goes_to_their_bsuid(
        client, whatsapp, sandbox, sandbox_client, drain, settle):
    [phone] = numbers(1)
    user_id = take_usernames(sandbox, {phone: "maria.lopez"})[phone]
    contact = add_by_user_id(client, whatsapp, user_id)
    writes(sandbox, "Hello, any news?", user_id=user_id)
    settle()
    heard = contact_by_id(contact["id"])
    assert heard.last_inbound_at is not None and heard.username == "maria.lopez"
    created = client.post("/api/posts", json={"text": "Inside the window", "channels": [whatsapp],
                                              "publish": True, "whatsapp": {"audience": "Everyone"}}).get_json()
    drain()
    assert [(m["to"], m["text"]) for m in sandbox_client.received("whatsapp")] == [(user_id, "Inside the window")]
    assert rows(client, created["publications"][0]["id"])[user_id]["status"] == "sent"


def test_statuses_for_a_bsuid_recipient_settle_the_right_row(client, whatsapp, sandbox, drain, settle):
    by_number, hidden = numbers(2)
    add_contacts(client, whatsapp, [by_number])
    user_id = take_usernames(sandbox, [hidden])[hidden]
    add_by_user_id(client, whatsapp, user_id)
    created = client.post("/api/posts", json={
        "text": "Spring menu", "channels": [whatsapp], "publish": True,
        "whatsapp": {"template": "weekly_digest", "language": "en_US", "body": ["{text}", "https://example.com"],
                     "audience": "Everyone"}}).get_json()
    drain()
    publication_id = created["publications"][0]["id"]
    assert {to: r["status"] for to, r in rows(client, publication_id).items()} == {by_number: "sent", user_id: "sent"}
    pending = requests.get(f"{sandbox.url}/_sandbox/whatsapp/pending", timeout=5).json()
    assert {n["recipient_user_id"] for n in pending} >= {user_id}
    flushed = requests.post(f"{sandbox.url}/_sandbox/whatsapp/flush", json={"shuffle": True, "duplicate": 0.5},
                            timeout=30).json()
    assert flushed["answers"] == ["200"]
    settle()
    settled = rows(client, publication_id)
    assert {to: r["status"] for to, r in settled.items()} == {by_number: "read", user_id: "read"}
    assert settled[user_id]["phone"] is None and settled[user_id]["user_id"] == user_id


def test_a_webhook_naming_both_phone_and_bsuid_links_them(client, whatsapp, sandbox, settle):
    [phone] = numbers(1)
    [contact] = add_contacts(client, whatsapp, [phone])
    assert contact["user_id"] is None
    user_id = writes(sandbox, "Hi", **{"from": phone})["user_id"]
    settle()
    assert contact_by_id(contact["id"]).user_id == user_id
    # Later they take a username: Meta withholds their number, and their STOP still lands on them.
    take_usernames(sandbox, [phone])
    writes(sandbox, "unsubscribe", user_id=user_id)
    settle()
    stopped = contact_by_id(contact["id"])
    assert stopped.opted_out_at is not None and stopped.phone == phone
    with db.database.connection_context():
        assert Contact.select().where(Contact.channel == whatsapp).count() == 2  # and the channel's listed number


def test_a_stop_from_a_person_entered_by_number_and_by_bsuid_opts_out_both(client, whatsapp, sandbox, settle):
    [phone] = numbers(1)
    user_id = writes(sandbox, "Hi", **{"from": phone})["user_id"]  # nobody's contact yet: ignored
    settle()
    by_id = add_by_user_id(client, whatsapp, user_id)
    [by_phone] = add_contacts(client, whatsapp, [phone])
    writes(sandbox, "STOP", **{"from": phone})
    settle()
    assert contact_by_id(by_id["id"]).opted_out_at is not None
    assert contact_by_id(by_phone["id"]).opted_out_at is not None


def test_a_status_naming_the_bsuid_of_a_message_sent_to_the_number_teaches_it(client, whatsapp, sandbox, drain,
                                                                             settle):
    [phone] = numbers(1)
    [contact] = add_contacts(client, whatsapp, [phone])
    client.post("/api/posts", json={
        "text": "News", "channels": [whatsapp], "publish": True,
        "whatsapp": {"template": "weekly_digest", "language": "en_US", "body": ["{text}", "x"],
                     "audience": "Everyone"}})
    drain()
    requests.post(f"{sandbox.url}/_sandbox/whatsapp/flush", json={}, timeout=30).raise_for_status()
    settle()
    learnt = contact_by_id(contact["id"]).user_id
    assert learnt and learnt.startswith("FR.")


def test_sending_to_a_bsuid_only_contact_uses_meta_recipient_field_and_skips_authentication_templates(
        client, whatsapp, sandbox, sandbox_client, drain):
    by_number, hidden = numbers(2)
    add_contacts(client, whatsapp, [by_number])
    user_id = take_usernames(sandbox, [hidden])[hidden]
    add_by_user_id(client, whatsapp, user_id)
    created = client.post("/api/posts", json={
        "text": "Menu", "channels": [whatsapp], "publish": True,
        "whatsapp": {"template": "news_update", "language": "es_ES", "body": ["{text}"], "audience": "Everyone"}})
    drain()
    assert sorted(m["to"] for m in sandbox_client.received("whatsapp")) == sorted([by_number, user_id])
    [sent] = [r["json"] for r in sandbox_client.requests(everything=True)
              if (r.get("json") or {}).get("recipient") == user_id]
    assert "to" not in sent and sent["type"] == "template"
    assert created.status_code == 201

    # Meta sends no authentication template to a BSUID (131062): that contact is skipped, saying why.
    code = {"id": "1000000000000009", "name": "login_code", "language": "en_US", "status": "APPROVED",
            "category": "AUTHENTICATION", "parameter_format": "POSITIONAL",
            "components": [{"type": "BODY", "text": "{{1}} is your code.", "example": {"body_text": [["123456"]]}}]}
    requests.post(f"{sandbox.url}/_sandbox/whatsapp/templates", json={"templates": [code]},
                  timeout=5).raise_for_status()
    assert client.post(f"/api/channels/{whatsapp}/templates/sync").status_code == 200
    created = client.post("/api/posts", json={
        "text": "123456", "channels": [whatsapp], "publish": True,
        "whatsapp": {"template": "login_code", "language": "en_US", "body": ["{text}"], "audience": "Everyone"}})
    assert created.status_code == 201, created.get_json()
    drain()
    ended = rows(client, created.get_json()["publications"][0]["id"])
    assert ended[by_number]["status"] == "sent"
    assert ended[user_id]["status"] == "skipped" and "131062" in ended[user_id]["error"]


@pytest.mark.parametrize("contact,field", [
    ({"opted_in": False}, "phone"),
    ({"user_id": "13491208655302741918"}, "user_id"),
    ({"user_id": "us.1349"}, "user_id"),
    ({"user_id": 12}, "user_id"),
])
def test_a_contact_without_a_usable_number_or_user_id_is_refused_naming_the_field(client, whatsapp, contact, field):
    response = client.post(f"/api/channels/{whatsapp}/contacts", json=contact)
    assert response.status_code == 400, response.get_json()
    assert response.get_json()["error"]["field"] == field


def test_a_number_and_a_user_id_of_two_contacts_are_not_merged(client, whatsapp, sandbox):
    first, second = numbers(2)
    add_contacts(client, whatsapp, [first])
    user_id = take_usernames(sandbox, [second])[second]
    add_by_user_id(client, whatsapp, user_id)
    response = client.post(f"/api/channels/{whatsapp}/contacts", json={"phone": first, "user_id": user_id})
    assert response.status_code == 400 and response.get_json()["error"]["field"] == "user_id"


def test_the_pages_show_a_bsuid_only_contact_and_recipient(form_client, client, whatsapp, sandbox, drain):
    [phone] = numbers(1)
    user_id = take_usernames(sandbox, {phone: "ana.b"})[phone]
    response = form_client.post(f"/channels/{whatsapp}/contacts", data={
        "phone": "", "user_id": user_id, "opt_in_method": "in store", "audience": "Everyone"})
    assert response.status_code == 302
    page = form_client.get(f"/channels/{whatsapp}/contacts").get_data(as_text=True)
    assert user_id in page and "number hidden by a WhatsApp username" in page and ">None<" not in page
    created = client.post("/api/posts", json={
        "text": "Hello", "channels": [whatsapp], "publish": True,
        "whatsapp": {"template": "news_update", "language": "es_ES", "body": ["{text}"],
                     "audience": "Everyone"}}).get_json()
    drain()
    page = form_client.get(f"/posts/{created['id']}")
    assert page.status_code == 200
    assert user_id in page.get_data(as_text=True)


def as_before_bsuids(table: str, dropped: tuple):
    """The table as it was before the step: without ``dropped``, its number required."""
    for index in db.database.get_indexes(table):
        if set(index.columns) & set(dropped):
            db.database.execute_sql(f'DROP INDEX "{index.name}"')
    for column in dropped:
        db.database.execute_sql(f'ALTER TABLE "{table}" DROP COLUMN "{column}"')
    if not isinstance(db.database.obj, SqliteDatabase):
        db.database.execute_sql(f'ALTER TABLE "{table}" ALTER COLUMN phone SET NOT NULL')
        return
    # SQLite cannot alter a column: a required copy takes its place, under its indexes.
    indexes = [i for i in db.database.get_indexes(table) if "phone" in i.columns]
    for index in indexes:
        db.database.execute_sql(f'DROP INDEX "{index.name}"')
    db.database.execute_sql(f'ALTER TABLE "{table}" ADD COLUMN required VARCHAR(20) NOT NULL DEFAULT \'\'')
    db.database.execute_sql(f'UPDATE "{table}" SET required = phone')
    db.database.execute_sql(f'ALTER TABLE "{table}" DROP COLUMN phone')
    db.database.execute_sql(f'ALTER TABLE "{table}" RENAME COLUMN required TO phone')
    for index in indexes:
        db.database.execute_sql(index.sql)


@pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)
def test_the_schema_step_upgrades_a_database_from_before_bsuids(app, sandbox_channels):
    step = schema.STEPS.index(schema._business_scoped_ids) + 1
    with db.database.connection_context():
        channel = Channel.get_by_id(sandbox_channels["whatsapp"])
        contact = Contact.create(channel=channel, phone="+33612340042")
        audience = Audience.create(channel=channel, name="Old friends")
        AudienceMember.create(audience=audience, contact=contact)
        as_before_bsuids("contact", ("user_id", "username"))
        as_before_bsuids("recipient", ("user_id",))
        assert not {c.name: c for c in db.database.get_columns("contact")}["phone"].null
        SchemaVersion.delete().where(SchemaVersion.version >= step).execute()

        assert schema.upgrade()[0] == step - 1
        assert schema.upgrade()[0] == len(schema.STEPS)  # once only
        for table in ("contact", "recipient"):
            assert {c.name: c for c in db.database.get_columns(table)}["phone"].null
        # Nothing was lost: the contact, its number, its audience.
        assert Contact.get_by_id(contact.id).phone == "+33612340042"
        assert AudienceMember.select().where(AudienceMember.contact == contact.id).count() == 1
        # A person known by the BSUID alone can be stored, once per channel; a number is still once per channel.
        Contact.create(channel=channel, user_id="FR.1234567890")
        for duplicate in ({"user_id": "FR.1234567890"}, {"phone": "+33612340042"}):
            with pytest.raises(IntegrityError), db.database.atomic():
                Contact.create(channel=channel, **duplicate)
