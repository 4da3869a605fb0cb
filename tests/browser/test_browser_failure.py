"""A failure as the post page shows it live, in headless Chromium: an admin
watches a post go out, LinkedIn refuses the channel's token, and the page —
without a reload — says what happened in a sentence, who caused it, and offers
Reconnect instead of Retry (the browser fixtures are test_browser.py's; the
LinkedIn app is the sandbox's, as `socialpub up` sets it, so that the fix is
LinkedIn's Reconnect flow). It writes docs/post-failed.png, the post page after
the failure."""
import pytest
import requests

from socialpub import db
from socialpub.models import ChannelState, Publication
from socialpub.networks.explain import explain
from tests.browser.test_browser_approval import tick_only
from tests.browser.test_browser_media import click
from tests.networks.test_connect_linkedin import with_sandbox_linkedin
from tests.support.browser import card_statuses, mark_page, screenshot, still_same_page, text_of, wait

CARD = 'article[data-network="linkedin"]'


@pytest.fixture
def settings(settings, sandbox):
    return with_sandbox_linkedin(settings, sandbox)


def shown(browser, css):
    return [e for e in browser.find_elements("css selector", css) if e.is_displayed()]


@pytest.mark.timeout(120)
def test_a_refused_token_shows_the_sentence_the_account_and_reconnect_live_instead_of_retry(
        browser, live_server, sandbox, sandbox_client):  # noqa: F811
    # LinkedIn holds the post until the page is open, then refuses the channel's token.
    sandbox_client.configure(linkedin={"hold": True, "fail": {"error": "token"}})
    browser.get(f"{live_server}/compose")
    browser.find_element("id", "text").send_keys("Refused at the door")
    tick_only(browser, ("linkedin",))
    click(browser, browser.find_element("css selector", "button[name=action][value=publish]"))
    wait(browser, lambda d: "/posts/" in d.current_url and d.find_elements("css selector", CARD), "the post page")
    mark_page(browser)
    held = requests.get(f"{sandbox.url}/_sandbox/held",
                        params={"network": "linkedin", "at_least": 1, "timeout": 30}, timeout=35).json()
    assert held["linkedin"] == 1, held
    # While it is being sent: no failure, no fix, no retry.
    wait(browser, lambda d: card_statuses(d) == {"linkedin": "processing"}, "the page to show it being sent")
    assert not shown(browser, f'{CARD} [data-field="failure"]')
    assert not shown(browser, f"{CARD} [data-fix]") and not shown(browser, f"{CARD} .retry-form button")

    sandbox_client.configure(linkedin={"hold": False})
    wait(browser, lambda d: card_statuses(d) == {"linkedin": "failed"}, "LinkedIn to fail")
    wait(browser, lambda d: shown(d, f'{CARD} [data-field="failure"]'), "the failure's sentence")
    assert still_same_page(browser)
    with db.database.connection_context():
        publication = Publication.get(Publication.network == "linkedin")
        told = explain("linkedin", publication.status, publication.last_error_code, publication.last_error,
                       needs_reauth=publication.channel.state == ChannelState.NEEDS_REAUTH)
    assert told.fix == "reconnect" and told.who == "account"
    assert text_of(browser, f'{CARD} [data-field="failure-sentence"]') == told.sentence
    assert "reconnect the channel, then retry" in told.sentence
    assert text_of(browser, f'{CARD} .pub-failure .meta') == "Caused by the account"
    fixes = shown(browser, f"{CARD} [data-fix]")
    assert [(b.get_attribute("data-fix"), b.tag_name) for b in fixes] == [("reconnect", "a")]
    assert fixes[0].text == "Reconnect Sandbox LinkedIn"
    assert fixes[0].get_attribute("href").endswith("/connect/linkedin?as=organization"), fixes[0].get_attribute("href")
    assert not shown(browser, ".retry-form button")
    assert "revoked" in text_of(browser, f'{CARD} [data-field="last_error"]')
    wait(browser, lambda d: "Published to 0 of 1 channel" in text_of(d, ".flashes"), "the outcome message")
    screenshot(browser, "post-failed.png")
