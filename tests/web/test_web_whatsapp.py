"""A WhatsApp channel's contacts and templates page: a bad contact comes back
with the input kept and the problem by its field, a CSV file's every bad line
is listed, an opt-out is recorded; and the compose form's WhatsApp block."""
from __future__ import annotations

import io

import pytest

from socialpub import db
from socialpub.models import Contact

from tests.support.whatsapp_fixtures import WHATSAPP_SETTINGS

pytestmark = pytest.mark.settings(**WHATSAPP_SETTINGS)


def test_the_page_lists_the_contacts_with_their_consent_and_the_synced_templates(form_client, whatsapp):
    page = form_client.get(f"/channels/{whatsapp}/contacts").get_data(as_text=True)
    assert "+16505551234" in page and "listed as a recipient of the channel" in page
    assert "post_announcement" in page and "Cannot be sent: its status is PENDING" in page


def test_a_bad_contact_comes_back_with_the_input_kept_and_the_problem_by_its_field(form_client, whatsapp):
    response = form_client.post(f"/channels/{whatsapp}/contacts", data={
        "phone": "+1 123", "name": "Ana", "opt_in_method": "website form", "audience": "VIP"})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert 'value="+1 123"' in page and 'value="website form"' in page and 'value="VIP"' in page
    assert "is too short for a phone number in United States" in page
    response = form_client.post(f"/channels/{whatsapp}/contacts", data={
        "phone": "+33 6 12 34 56 78", "name": "Ana", "opt_in_method": "website form", "audience": "VIP"})
    assert response.status_code == 302
    with db.database.connection_context():
        contact = Contact.get(Contact.phone == "+33612345678")
    assert contact.opt_in_method == "website form" and contact.opt_in_by == "tester@example.com"


def test_a_csv_import_lists_every_bad_line_and_an_opt_out_is_recorded(form_client, whatsapp):
    data = "phone,opt_in_method\n+33612340001,form\nnope,form\n+33612340001,form\n"
    response = form_client.post(f"/channels/{whatsapp}/contacts/import",
                                data={"file": (io.BytesIO(data.encode()), "c.csv")})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "Line 3:" in page and "Line 4:" in page and "also on line 2" in page
    with db.database.connection_context():
        assert not Contact.select().where(Contact.phone == "+33612340001").exists()
        us = Contact.get(Contact.phone == "+16505551234")
    assert form_client.post(f"/channels/{whatsapp}/contacts/{us.id}/opt_out").status_code == 302
    with db.database.connection_context():
        assert Contact.get_by_id(us.id).opted_out_at is not None


def test_the_compose_form_offers_the_approved_templates_and_sends_the_choice(form_client, whatsapp, drain):
    page = form_client.get("/compose").get_data(as_text=True)
    assert 'value="weekly_digest|en_US"' in page and 'value="spring_sale|en_US" data-body="1"' in page
    assert "spring_sale (en_US) · marketing — its status is PENDING" in page
    response = form_client.post("/compose", data={
        "text": "Menu", "channels": [str(whatsapp)], "action": "publish", "whatsapp_template": "weekly_digest|en_US",
        "whatsapp_body": ["{text}"], "whatsapp_audience": ""})
    assert response.status_code == 422  # one parameter of two: kept as typed, the problem by the block
    page = response.get_data(as_text=True)
    assert "takes 2 body parameter(s), 1 given" in page
    assert 'value="weekly_digest|en_US" data-body="2" data-header="" data-category="MARKETING" selected' in page
    assert 'name="whatsapp_body" value="{text}"' in page
    response = form_client.post("/compose", data={
        "text": "Menu", "channels": [str(whatsapp)], "action": "draft", "whatsapp_template": "weekly_digest|en_US",
        "whatsapp_body": ["{text}", "{link}x"], "whatsapp_audience": ""})
    assert response.status_code == 302
    post = form_client.get(response.headers["Location"].replace("/posts/", "/api/posts/")).get_json()
    assert post["whatsapp"] == {"template": "weekly_digest", "language": "en_US", "body": ["{text}", "{link}x"],
                                "audience": None}


def test_the_page_lists_an_imports_lines_kept_opted_out_and_lifts_one_only_with_the_new_consents_evidence(
        form_client, whatsapp):
    with db.database.connection_context():
        us = Contact.get(Contact.phone == "+16505551234")
    assert form_client.post(f"/channels/{whatsapp}/contacts/{us.id}/opt_out").status_code == 302
    data = "phone,opt_in_method\n+33612340001,form\n+16505551234,CRM export\n"
    response = form_client.post(f"/channels/{whatsapp}/contacts/import",
                                data={"file": (io.BytesIO(data.encode()), "c.csv")})
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "1 kept opted out" in page and "Line 3: kept opted out: +16505551234 opted out on" in page
    with db.database.connection_context():
        assert Contact.get_by_id(us.id).opted_out_at is not None
    # The new consent's form comes back with what was typed when the evidence is missing.
    response = form_client.post(f"/channels/{whatsapp}/contacts/{us.id}/opt_in",
                                data={"opt_in_method": "asked again at the till", "evidence": " "})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert 'value="asked again at the till"' in page and 'id="consent_evidence-error"' in page
    with db.database.connection_context():
        assert Contact.get_by_id(us.id).opted_out_at is not None
    response = form_client.post(f"/channels/{whatsapp}/contacts/{us.id}/opt_in", data={
        "opt_in_method": "asked again at the till", "evidence": "signed slip 42", "opted_in_at": ""})
    assert response.status_code == 302
    with db.database.connection_context():
        contact = Contact.get_by_id(us.id)
    assert contact.opted_out_at is None and contact.opt_in_evidence == "signed slip 42"
    assert contact.opt_in_by == "tester@example.com"
