"""One version per channel in the compose form (issue 28, item 3): a network
with several channels gets a pane per channel (its own text, counter and
preview), each WhatsApp number a block of its own (its own templates,
audiences and reach), sent as the API's ``versions``; a refusal comes back to
the channel's pane; editing shows the stored versions; and a channel a post
would fail on is not ticked by default, saying why and what fixes it."""
from __future__ import annotations

import json
import re

import pytest

from socialpub import db
from socialpub.models import Channel, ChannelState, Post, Publication

from tests.support.web_helpers import checked_channels, count_rows, field_errors, page, textarea
from tests.support.whatsapp_fixtures import WHATSAPP_SETTINGS, add_contacts, numbers
from tests.domain.test_channel_versions import second_number, second_page  # noqa: F401 (fixtures)

pytestmark = pytest.mark.settings(**WHATSAPP_SETTINGS)


def texts_by_channel():
    with db.database.connection_context():
        return {p.channel_id: p.text for p in Publication.select()}


def test_two_facebook_pages_given_two_texts_in_the_form_each_publish_their_own(
        form_client, sandbox_channels, second_page, sandbox_client, drain):
    first = sandbox_channels["facebook"]
    html = page(form_client.get("/compose"))
    # A pane per Page, named by the Page; the networks with one channel look as they always did.
    assert f'id="pane-{first}"' in html and f'id="pane-{second_page}"' in html and 'id="pane-facebook"' not in html
    assert f'<label for="version_{second_page}">' in html and '<span class="pane-channel">Second Page</span>' in html
    assert 'id="pane-linkedin"' in html and '<label for="override_linkedin">' in html
    response = form_client.post("/compose", data={
        "text": "For everyone", "action": "publish", "channels": [str(first), str(second_page)],
        f"version_{first}": "For the first Page", f"version_{second_page}": "For the second Page"})
    assert response.status_code == 302, page(response)
    assert texts_by_channel() == {first: "For the first Page", second_page: "For the second Page"}
    drain()
    with db.database.connection_context():
        first_account = Channel.get_by_id(first).account_id
    sent = {item["account_id"]: item["text"] for item in sandbox_client.received("facebook")}
    assert sent == {first_account: "For the first Page", "546349135390999": "For the second Page"}


def test_a_pane_left_as_the_page_filled_it_is_no_version_and_an_unticked_channels_pane_is_not_sent(
        form_client, sandbox_channels, second_page):
    first = sandbox_channels["facebook"]
    response = form_client.post("/compose", data={
        "text": "Same for both", "action": "draft", "channels": [str(first)],
        f"version_{first}": "Same for both", f"version_{second_page}": "Typed, then unticked"})
    assert response.status_code == 302, page(response)
    assert texts_by_channel() == {first: "Same for both"}


def test_a_refused_channel_text_comes_back_next_to_that_channels_pane_with_the_input_kept(
        form_client, sandbox_channels, second_page):
    first = sandbox_channels["facebook"]
    too_long = "x" * 63_207
    response = form_client.post("/compose", data={
        "text": "Hello", "action": "publish", "channels": [str(first), str(second_page)],
        f"version_{first}": "The first Page's own", f"version_{second_page}": too_long})
    assert response.status_code == 422
    html = page(response)
    assert field_errors(html, f"version_{second_page}") == ["63207 characters; no network takes more than 63206"]
    assert field_errors(html, f"version_{first}") == []
    assert textarea(html, f"version_{second_page}") == too_long
    assert textarea(html, f"version_{first}") == "The first Page's own"
    assert f'class="card pane pane-error" id="pane-{second_page}"' in html
    assert f'<a href="#version_{second_page}">Facebook Second Page: 63207 characters' in html
    assert checked_channels(html) == sorted([first, second_page])
    assert count_rows() == (0, 0)


def test_a_problem_of_the_main_text_on_one_of_two_numbers_shows_in_each_numbers_pane(
        form_client, whatsapp, second_number):
    long = "y" * 1_100  # over a WhatsApp caption's 1,024, once the post has an image
    response = form_client.post("/compose", data={
        "text": long, "image_url": "https://example.com/a.jpg", "action": "publish",
        "channels": [str(whatsapp), str(second_number)]})
    assert response.status_code == 422
    html = page(response)
    for number in (whatsapp, second_number):
        assert field_errors(html, f"version_{number}") == ["Caption is 1100 characters; the limit is 1024"]
        assert textarea(html, f"version_{number}") == long


def choose(number, template, body, audience, text=None):
    """The form fields of a number's own WhatsApp block (and its pane's text)."""
    fields = {f"whatsapp_template_{number}": template, f"whatsapp_body_{number}": body,
              f"whatsapp_audience_{number}": audience}
    if text is not None:
        fields[f"version_{number}"] = text
    return fields


def reach_words(html, number):
    return json.loads(html.split(f'id="wa-reach-words-{number}">')[1].split("</script>")[0])


def test_two_whatsapp_numbers_each_keep_their_own_template_and_audience_from_the_form(
        form_client, whatsapp, second_number, sandbox_client, drain):
    add_contacts(form_client, whatsapp, numbers(2), audience="Regulars")
    add_contacts(form_client, second_number, numbers(3, start=100), audience="Shoppers")
    html = page(form_client.get("/compose"))
    # A block per number, each offering its own audiences and counting its own contacts.
    assert f'id="whatsapp_template_{whatsapp}"' in html and f'id="whatsapp_template_{second_number}"' in html
    assert 'id="whatsapp_template"' not in html
    first_block = html.split(f'id="whatsapp_{whatsapp}"')[1].split("</fieldset>")[0]
    second_block = html.split(f'id="whatsapp_{second_number}"')[1].split("</fieldset>")[0]
    assert ">Regulars<" in first_block and ">Shoppers<" not in first_block
    assert ">Shoppers<" in second_block and ">Regulars<" not in second_block
    assert reach_words(html, second_number)["Shoppers"]["utility"] == "3 of 3 members will be messaged"
    assert "Shoppers" not in reach_words(html, whatsapp)

    response = form_client.post("/compose", data={
        "text": "Spring menu", "action": "publish", "channels": [str(whatsapp), str(second_number)],
        **choose(whatsapp, "weekly_digest|en_US", ["{text}", "https://example.com"], "Regulars"),
        **choose(second_number, "news_update|es_ES", ["{text}"], "Shoppers", text="Shop sale")})
    assert response.status_code == 302, page(response)
    with db.database.connection_context():
        stored = {p.channel_id: p.whatsapp for p in Publication.select()}
        assert Post.get().whatsapp is None  # each number's message is its own
    assert stored[whatsapp] == {"template": "weekly_digest", "language": "en_US",
                                "body": ["{text}", "https://example.com"], "audience": "Regulars"}
    assert stored[second_number] == {"template": "news_update", "language": "es_ES", "body": ["{text}"],
                                     "audience": "Shoppers"}
    drain()
    received = sandbox_client.received("whatsapp")

    def sent_from(channel_id):
        with db.database.connection_context():
            account = Channel.get_by_id(channel_id).account_id
        return {(m["to"], m["text"]) for m in received if m["account_id"] == account}

    assert sent_from(whatsapp) == {(p, "This week: Spring menu. Read more at https://example.com") for p in numbers(2)}
    assert sent_from(second_number) == {(p, "Novedades: Shop sale") for p in numbers(3, start=100)}


def test_a_refused_numbers_message_comes_back_in_its_own_block_with_its_choice_kept(
        form_client, whatsapp, second_number):
    add_contacts(form_client, second_number, numbers(1, start=200), audience="Shoppers")
    response = form_client.post("/compose", data={
        "text": "Hola", "action": "publish", "channels": [str(whatsapp), str(second_number)],
        **choose(second_number, "weekly_digest|en_US", ["{text}"], "Shoppers")})
    assert response.status_code == 422
    html = page(response)
    assert field_errors(html, f"whatsapp_{second_number}") == [
        "'weekly_digest' takes 2 body parameter(s), 1 given"]
    assert field_errors(html, f"whatsapp_{whatsapp}") == []
    block = html.split(f'id="whatsapp_{second_number}"')[1].split("</fieldset>")[0]
    assert 'value="weekly_digest|en_US" data-body="2" data-header="" data-category="MARKETING" selected' in block
    assert f'name="whatsapp_body_{second_number}" value="{{text}}"' in block
    assert '<option value="Shoppers" selected>' in block
    assert f'<a href="#whatsapp_{second_number}">WhatsApp Shop number: ' in html
    assert count_rows() == (0, 0)


def test_editing_a_post_shows_each_channels_stored_version_and_saves_the_changes(
        form_client, client, whatsapp, second_number, sandbox_channels, second_page):
    first = sandbox_channels["facebook"]
    add_contacts(form_client, second_number, numbers(1, start=300), audience="Shoppers")
    post = client.post("/api/posts", json={
        "text": "Base", "channels": [first, second_page, whatsapp, second_number],
        "versions": {str(second_page): {"text": "Second's own"},
                     str(second_number): {"whatsapp": {"template": "news_update", "language": "es_ES",
                                                       "body": ["{text}"], "audience": "Shoppers"}}}}).get_json()
    html = page(form_client.get(f"/posts/{post['id']}/edit"))
    assert textarea(html, f"version_{second_page}") == "Second's own"
    assert textarea(html, f"version_{first}") == "Base"
    block = html.split(f'id="whatsapp_{second_number}"')[1].split("</fieldset>")[0]
    assert re.search(r'value="news_update\|es_ES"[^>]* selected>', block)
    assert '<option value="Shoppers" selected>' in block
    first_block = html.split(f'id="whatsapp_{whatsapp}"')[1].split("</fieldset>")[0]
    assert " selected>" not in first_block  # the post's message: free-form, to every opted-in contact

    response = form_client.post(f"/posts/{post['id']}/edit", data={
        "text": "Base", "action": "save", "version": html.split('name="version" value="')[1].split('"')[0],
        "channels": [str(first), str(second_page), str(whatsapp), str(second_number)],
        f"version_{first}": "First's own now", f"version_{second_page}": "Second's own",
        **choose(whatsapp, "", [], ""), **choose(second_number, "news_update|es_ES", ["{text}"], "Shoppers")})
    assert response.status_code == 302, page(response)
    edited = client.get(f"/api/posts/{post['id']}").get_json()
    assert {p["channel_id"]: p["text"] for p in edited["publications"]} == {
        first: "First's own now", second_page: "Second's own", whatsapp: "Base", second_number: "Base"}
    mine = {p["channel_id"]: p["whatsapp"] for p in edited["publications"]}
    assert mine[second_number]["template"] == "news_update" and mine[whatsapp] is None


def test_a_number_without_an_opted_in_contact_is_not_ticked_and_says_why_and_how_to_fix_it(
        form_client, whatsapp, second_number):
    html = page(form_client.get("/compose"))
    assert whatsapp in checked_channels(html) and second_number not in checked_channels(html)
    assert ("No contact of Shop number has opted in yet, so a post would have nobody to send to. "
            f'<a href="/channels/{second_number}/contacts">Add its contacts</a> with their opt-in, then tick it.') in html
    assert f'value="{second_number}" data-network="whatsapp"' in html
    assert f'aria-describedby="cannot-{second_number}"' in html
    add_contacts(form_client, second_number, numbers(1, start=400), opted_in=False)  # no opt-in: still nobody
    assert second_number not in checked_channels(page(form_client.get("/compose")))
    add_contacts(form_client, second_number, numbers(1, start=401))
    html = page(form_client.get("/compose"))
    assert second_number in checked_channels(html) and f'id="cannot-{second_number}"' not in html


def test_a_channel_that_needs_reconnecting_is_not_ticked_and_says_why_and_how_to_fix_it(
        form_client, sandbox_channels, second_page):
    with db.database.connection_context():
        Channel.update(state=ChannelState.NEEDS_REAUTH, state_reason="Session has expired").where(
            Channel.id == second_page).execute()
    html = page(form_client.get("/compose"))
    assert checked_channels(html) == sorted(sandbox_channels.values())
    assert ("Second Page needs reconnecting: Facebook no longer accepts its access, so a post to it would fail. "
            f'<a href="/channels/{second_page}/edit">Reconnect it</a>, then tick it.') in html
