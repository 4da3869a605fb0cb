"""Connect LinkedIn pages by clicking, in headless Chromium: the Channels page's
button, the sandbox's LinkedIn dialog, the choice of pages, and the channels
that come out of it (the browser fixtures are test_browser.py's)."""
import pytest

from socialpub import db
from socialpub.models import Channel

from .test_browser import browser, chrome, live_server, screenshot, wait  # noqa: F401 (fixtures)
from .test_connect_linkedin import with_sandbox_linkedin


@pytest.fixture
def settings(settings, sandbox):
    return with_sandbox_linkedin(settings, sandbox)


def test_a_person_connects_linkedin_pages_by_clicking(browser, live_server, sandbox):  # noqa: F811
    browser.get(f"{live_server}/channels")
    browser.find_element("link text", "Connect LinkedIn pages").click()
    wait(browser, lambda d: "/oauth/v2/authorization" in d.current_url, "LinkedIn's dialog")
    assert "Retrieve your organizations' pages" in browser.page_source
    browser.find_element("id", "allow").click()
    wait(browser, lambda d: "Connect LinkedIn pages" in d.title, "the choice of pages")
    labels = [e.text for e in browser.find_elements("css selector", "fieldset label")]
    assert any(text.startswith("Sandbox Co") for text in labels)
    assert any(text.startswith("Sandbox Labs") for text in labels)
    screenshot(browser, "connect-linkedin.png")
    browser.find_element("css selector", "main form button[type=submit]").click()
    wait(browser, lambda d: d.current_url.endswith("/channels") and "Connected LinkedIn" in d.page_source,
         "the channels page, saying what was connected")
    with db.database.connection_context():
        names = sorted(c.name for c in Channel.select().where(Channel.network == "linkedin"))
    assert names == ["Sandbox Co", "Sandbox Labs"]  # the demo's page reconnected, the other one added


def test_cancelling_on_linkedin_comes_back_saying_so(browser, live_server, sandbox):  # noqa: F811
    browser.get(f"{live_server}/channels")
    browser.find_element("link text", "Connect LinkedIn profile").click()
    wait(browser, lambda d: "/oauth/v2/authorization" in d.current_url, "LinkedIn's dialog")
    browser.find_element("id", "cancel").click()
    wait(browser, lambda d: "You cancelled on LinkedIn" in d.page_source, "the page saying nothing was connected")
