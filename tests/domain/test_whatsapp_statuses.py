"""Which recipient a status from Meta's webhook settles: the row whose
message id it names, on the number (phone-number id) that sent it; the
callback data (the row id) only for a row whose answer was lost. A late
status for an old message must never land on the row that now holds its id."""
from __future__ import annotations

import hashlib
import hmac
import json

import pytest
import requests

from socialpub import db
from socialpub.models import Channel, Contact, Recipient

from tests.support.whatsapp_fixtures import APP_SECRET, WHATSAPP_SETTINGS, add_contacts, numbers, recipient_statuses

pytestmark = pytest.mark.settings(**WHATSAPP_SETTINGS)


def signed_status(served_app, phone_number_id, status):
    """POST one status to /webhooks/meta as Meta does, signed with the app secret."""
    body = {"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": [{"field": "messages", "value": {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550783881", "phone_number_id": phone_number_id},
        "statuses": [{"timestamp": "1700000000", **status}]}}]}]}
    raw = json.dumps(body).encode()
    signature = hmac.new(APP_SECRET.encode(), raw, hashlib.sha256).hexdigest()
    answer = requests.post(f"{served_app.url}/webhooks/meta", data=raw, timeout=10, headers={
        "Content-Type": "application/json", "X-Hub-Signature-256": f"sha256={signature}"})
    assert answer.status_code == 200, answer.text


def sent_template(client, whatsapp, phones, drain):
    add_contacts(client, whatsapp, phones)
    response = client.post("/api/posts", json={
        "text": "Late statuses", "channels": [whatsapp], "publish": True,
        "whatsapp": {"template": "weekly_digest", "language": "en_US", "body": ["{text}", "x"],
                     "audience": "Everyone"}})
    assert response.status_code == 201, response.get_json()
    drain()
    publication_id = response.get_json()["publications"][0]["id"]
    with db.database.connection_context():
        rows = list(Recipient.select().where(Recipient.publication == publication_id).order_by(Recipient.id))
        number = Channel.get_by_id(whatsapp).account_id
    assert [r.status for r in rows] == ["sent"] * len(phones)
    return publication_id, rows, number


def opted_out(phone):
    with db.database.connection_context():
        return Contact.get(Contact.phone == phone).opted_out_at is not None


def test_a_late_opt_out_status_of_another_message_naming_a_rows_id_neither_fails_it_nor_opts_its_person_out(
        client, whatsapp, served_app, drain, settle):
    [phone] = numbers(1)
    publication_id, [row], number = sent_template(client, whatsapp, [phone], drain)
    # The row's id in the callback data, as an older message's would be once the id was given again.
    signed_status(served_app, number, {
        "id": "wamid.an-older-message", "status": "failed", "recipient_id": phone.lstrip("+"),
        "biz_opaque_callback_data": f"socialpub:recipient:{row.id}",
        "errors": [{"code": 131050, "title": "This recipient has chosen to stop receiving marketing messages"}]})
    settle()
    assert recipient_statuses(publication_id) == {phone: "sent"}
    assert not opted_out(phone)
    with db.database.connection_context():
        assert Recipient.get_by_id(row.id).message_id == row.message_id


def test_a_status_from_another_business_number_does_not_settle_a_row_with_that_message_id(
        client, whatsapp, served_app, drain, settle):
    [phone] = numbers(1)
    publication_id, [row], number = sent_template(client, whatsapp, [phone], drain)
    signed_status(served_app, "999999999999999", {
        "id": row.message_id, "status": "failed", "recipient_id": phone.lstrip("+"),
        "biz_opaque_callback_data": f"socialpub:recipient:{row.id}",
        "errors": [{"code": 131050, "title": "This recipient has chosen to stop receiving marketing messages"}]})
    settle()
    assert recipient_statuses(publication_id) == {phone: "sent"} and not opted_out(phone)
    # The same status from the number that sent it is applied.
    signed_status(served_app, number, {"id": row.message_id, "status": "delivered",
                                       "recipient_id": phone.lstrip("+")})
    settle()
    assert recipient_statuses(publication_id) == {phone: "delivered"}


def test_the_callback_data_still_settles_a_row_whose_answer_was_lost(client, whatsapp, served_app, drain, settle):
    [phone] = numbers(1)
    publication_id, [row], number = sent_template(client, whatsapp, [phone], drain)
    with db.database.connection_context():  # as if the send's answer (its message id) had never come
        Recipient.update(status="sending", message_id=None, sent_at=None).where(Recipient.id == row.id).execute()
    signed_status(served_app, number, {"id": "wamid.the-lost-answer", "status": "sent",
                                       "recipient_id": phone.lstrip("+"),
                                       "biz_opaque_callback_data": f"socialpub:recipient:{row.id}"})
    settle()
    assert recipient_statuses(publication_id) == {phone: "sent"}
    with db.database.connection_context():
        assert Recipient.get_by_id(row.id).message_id == "wamid.the-lost-answer"
