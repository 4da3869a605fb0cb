"""Contacts as people write them: a national number is read in the WhatsApp
channel's default country (a setting, guessed from the channel's own number),
a number that cannot be one is refused in plain words naming the field or the
CSV line, and audience counts say how many a post will actually message."""
from __future__ import annotations

import io
import re

import pytest

from socialpub import db, schema
from socialpub.models import Channel, Contact, SchemaVersion, utcnow

from tests.support.web_helpers import page
from tests.support.whatsapp_fixtures import WHATSAPP_SETTINGS, add_contacts

pytestmark = pytest.mark.settings(**WHATSAPP_SETTINGS)


def set_country(channel_id, country):
    with db.database.connection_context():
        Channel.update(default_country=country).where(Channel.id == channel_id).execute()


def add(client, channel_id, phone):
    return client.post(f"/api/channels/{channel_id}/contacts",
                       json={"phone": phone, "opted_in": True, "opt_in_method": "signed up in store"})


def refusal(response) -> tuple:
    error = response.get_json()["error"]
    assert response.status_code == 400, error
    return error["field"], error["message"]


def test_a_national_number_is_read_in_the_channels_default_country(client, whatsapp):
    set_country(whatsapp, "FR")
    assert add(client, whatsapp, "06 12 34 56 78").get_json()["items"][0]["phone"] == "+33612345678"
    assert add(client, whatsapp, "+1 (415) 555-0132").get_json()["items"][0]["phone"] == "+14155550132"
    assert add(client, whatsapp, "0044 7911 123456").get_json()["items"][0]["phone"] == "+447911123456"
    set_country(whatsapp, "US")
    assert add(client, whatsapp, "(415) 555-0132").get_json()["items"][0]["phone"] == "+14155550132"


def test_the_sandbox_channel_reads_national_numbers_as_united_states_ones(client, whatsapp):
    assert client.get(f"/api/channels/{whatsapp}").get_json()["default_country"] == "US"
    assert add(client, whatsapp, "650-555-0199").get_json()["items"][0]["phone"] == "+16505550199"


def test_a_channels_default_country_is_guessed_from_its_own_number_when_it_is_saved(client, sandbox):
    made = client.post("/api/channels", json={"network": "whatsapp", "account_id": "106540352242922",
                                              "token": "a-pasted-token", "base_url": f"{sandbox.url}/v24.0"})
    assert made.status_code == 201, made.get_json()
    assert made.get_json()["default_country"] == "US"  # the sandbox's number is +1 650-555-0100
    chosen = client.post("/api/channels", json={"network": "whatsapp", "account_id": "106540352242922",
                                                "token": "a-pasted-token", "base_url": f"{sandbox.url}/v24.0",
                                                "default_country": "fr"})
    assert chosen.get_json()["default_country"] == "FR"  # one given is kept


@pytest.mark.parametrize("body, words", [
    ({"network": "whatsapp", "default_country": "XX"}, "'XX' is not a country code: two letters, such as FR"),
    ({"network": "facebook", "default_country": "FR"}, "only WhatsApp channels have one"),
])
def test_a_default_country_that_cannot_be_is_a_400_naming_it(client, sandbox, body, words):
    account = "106540352242922" if body["network"] == "whatsapp" else "546349135390552"
    response = client.post("/api/channels", json={"account_id": account, "token": "a-pasted-token",
                                                  "base_url": f"{sandbox.url}/v24.0", **body})
    field, message = refusal(response)
    assert field == "default_country" and words in message


@pytest.mark.parametrize("country, written, words", [
    ("FR", "06 12", "'06 12' is too short for a phone number in France"),
    ("FR", "02 12 34 56 78 99 12", "is too long for a phone number in France"),
    ("FR", "04 00 00 00 00", "'04 00 00 00 00' is not a number in France: check its digits"),
    (None, "06 12 34 56 78", "'06 12 34 56 78' has no country code: write it with one, such as +33 6 12 34 56 78"),
    ("FR", "+999 123 456", "'+999 123 456' starts with no country's code"),
    ("FR", "call me", "'call me' is not a phone number: write its digits"),
])
def test_a_number_that_cannot_be_one_is_refused_saying_what_is_wrong_in_plain_words(client, whatsapp, country,
                                                                                 written, words):
    set_country(whatsapp, country)
    field, message = refusal(add(client, whatsapp, written))
    assert field == "phone" and words in message
    assert not re.search(r"\(\d\)|NumberParse|Error|phonenumbers", message)  # not the library's own text


def test_an_imports_bad_numbers_are_named_by_their_line_in_plain_words(client, whatsapp):
    set_country(whatsapp, "FR")
    data = "phone,opt_in_method\n06 12 34 56 78,form\n06 12,form\n04 00 00 00 00,form\n"
    response = client.post(f"/api/channels/{whatsapp}/contacts/import", content_type="multipart/form-data",
                           data={"file": (io.BytesIO(data.encode()), "c.csv")})
    assert response.status_code == 422
    problems = response.get_json()["error"]["details"]
    assert [(p["line"], p["message"]) for p in problems] == [
        (3, "phone: '06 12' is too short for a phone number in France"),
        (4, "phone: '04 00 00 00 00' is not a number in France: check its digits, or write it with its country "
            "code (+…) if it is not a number in France")]


def test_the_channel_form_sets_the_default_country_and_the_contacts_form_reads_numbers_in_it(
        form_client, whatsapp):
    form = page(form_client.get(f"/channels/{whatsapp}/edit"))
    assert '<option value="US" selected>United States (US)</option>' in form
    saved = form_client.post(f"/channels/{whatsapp}/edit", data={
        "name": "Sandbox WhatsApp", "account_id": "106540352242922", "enabled": "1",
        "recipients": "+16505551234", "default_country": "GB"})
    assert saved.status_code == 302, page(saved)
    added = form_client.post(f"/channels/{whatsapp}/contacts", data={
        "phone": "07911 123456", "opt_in_method": "website form", "name": "", "audience": ""})
    assert added.status_code == 302
    with db.database.connection_context():
        assert Contact.select().where(Contact.phone == "+447911123456").exists()
    refused = form_client.post(f"/channels/{whatsapp}/contacts", data={
        "phone": "07911", "opt_in_method": "website form", "name": "", "audience": ""})
    assert refused.status_code == 422
    assert "07911&#39; is not a number in United Kingdom: check its digits" in page(refused)
    assert 'value="07911"' in page(refused)


@pytest.fixture
def newsletter(client, whatsapp, sandbox_client):
    """The sandbox channel's "Newsletter": two French numbers, one opted out, one without an opt-in, a +1
    number, and a person known only by their WhatsApp user id — six members, of whom …"""
    add_contacts(client, whatsapp, ["+33612340001", "+33612340002", "+16505550111"], audience="Newsletter")
    add_contacts(client, whatsapp, ["+33612340003"], audience="Newsletter", opted_in=False)
    response = client.post(f"/api/channels/{whatsapp}/contacts", json={
        "user_id": "FR.1349120865530274", "opted_in": True, "opt_in_method": "replied YES", "audiences": ["Newsletter"]})
    assert response.status_code == 201, response.get_json()
    with db.database.connection_context():
        stopped = Contact.get(Contact.phone == "+33612340002")
    assert client.post(f"/api/channels/{whatsapp}/contacts/{stopped.id}/opt_out").status_code == 200
    return whatsapp


def test_audience_counts_say_how_many_a_post_actually_messages_not_merely_members(client, newsletter):
    body = client.get(f"/api/channels/{newsletter}/contacts").get_json()
    [audience] = [a for a in body["audiences"] if a["name"] == "Newsletter"]
    assert (audience["members"], audience["opted_out"], audience["without_opt_in"]) == (5, 1, 1)
    # +33…01, +1…0111 and FR.1349…: a utility template reaches all three; marketing skips the +1 number,
    # authentication the user id; free-form goes to those not known to be outside their window.
    assert audience["messaged"] == {"utility": 3, "marketing": 2, "authentication": 2, "free_form": 3}
    assert body["everyone"]["members"] == 5 + 1  # and the channel's recipient, in no audience


def test_the_contacts_page_says_how_many_each_audience_reaches_and_why_not_the_others(form_client, newsletter):
    html = page(form_client.get(f"/channels/{newsletter}/contacts"))
    assert ("Newsletter</a>: 3 of 5 members will be messaged (1 opted out; 1 without an opt-in); by a marketing "
            "template, 2 of 5 members will be messaged (1 opted out; 1 without an opt-in; 1 with a +1 number, to "
            "which Meta delivers no marketing template)") in html


def test_the_compose_forms_whatsapp_block_says_how_many_the_chosen_audience_reaches(form_client, newsletter):
    with db.database.connection_context():  # the sandbox's first contact wrote an hour ago: free-form reaches it
        Contact.update(last_inbound_at=utcnow()).where(Contact.phone == "+33612340001").execute()
    html = page(form_client.get("/compose"))
    words = json_words(html)
    assert words["Newsletter"]["marketing"].startswith("2 of 5 members will be messaged")
    assert words["Newsletter"]["utility"].startswith("3 of 5 members will be messaged")
    assert 'id="wa-reach" aria-live="polite">' in html


def json_words(html):
    import json

    return json.loads(html.split('id="wa-reach-words">')[1].split("</script>")[0])


@pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)
def test_the_schema_step_gives_channels_of_an_older_database_a_default_country_of_none(app, sandbox_channels):
    step = schema.STEPS.index(schema._default_country) + 1
    with db.database.connection_context():
        db.database.execute_sql('ALTER TABLE "channel" DROP COLUMN "default_country"')
        SchemaVersion.delete().where(SchemaVersion.version >= step).execute()
        assert schema.upgrade() == (step - 1, len(schema.STEPS))
        assert schema.upgrade() == (len(schema.STEPS), len(schema.STEPS))  # once only
        assert Channel.get_by_id(sandbox_channels["whatsapp"]).default_country is None
