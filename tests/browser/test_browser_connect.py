"""Connect accounts by clicking, in headless Chromium: the Channels page's
buttons, the sandbox's Facebook, Instagram and LinkedIn dialogs, the choice of
accounts, and the channels that come out of it — or the page that says why
nothing was connected (the browser fixtures are test_browser.py's; the ways a
flow can be tampered with are in test_connect_*.py)."""
import pytest

from socialpub import db
from socialpub.models import Channel
from tests.networks.test_connect_linkedin import with_sandbox_linkedin
from tests.networks.test_connect_meta import with_sandbox_meta
from tests.support.browser import screenshot, wait


@pytest.fixture
def settings(settings, sandbox):
    return with_sandbox_meta(with_sandbox_linkedin(settings, sandbox), sandbox)


def stored(network):
    with db.database.connection_context():
        return sorted(c.name for c in Channel.select().where(Channel.network == network))


def click_connect(driver, server, button, dialog_path):
    driver.get(f"{server}/channels")
    driver.find_element("link text", button).click()
    wait(driver, lambda d: dialog_path in d.current_url, f"the dialog at {dialog_path}")


def test_a_person_connects_facebook_pages_by_clicking(browser, live_server, sandbox):  # noqa: F811
    click_connect(browser, live_server, "Connect Facebook Pages", "/dialog/oauth")
    assert "Choose the Pages you want socialpub to access" in browser.page_source
    browser.find_element("id", "allow").click()
    wait(browser, lambda d: "Connect your Facebook Pages" in d.title, "the choice of Pages")
    assert "Client Café" in browser.page_source  # named among those that cannot be connected
    screenshot(browser, "connect-facebook.png")
    browser.find_element("css selector", "main form button[type=submit]").click()
    wait(browser, lambda d: d.current_url.endswith("/channels") and "Connected Facebook" in d.page_source,
         "the channels page, saying what was connected")
    assert stored("facebook") == ["Sandbox Bakery", "Sandbox Hotel", "Sandbox Page"]
    assert "Token does not expire" in browser.page_source


def test_a_facebook_permission_declined_in_the_dialog_is_named_on_screen(browser, live_server, sandbox):  # noqa: F811
    click_connect(browser, live_server, "Connect Facebook Pages", "/dialog/oauth")
    browser.find_element("css selector", "input[name=scope][value=pages_manage_posts]").click()
    browser.find_element("id", "allow").click()
    wait(browser, lambda d: "Facebook was not connected" in d.page_source, "the page naming the permission")
    assert "pages_manage_posts (to publish posts on your Pages)" in browser.page_source
    assert stored("facebook") == ["Sandbox Page"]  # the demo's, untouched


def test_a_person_connects_instagram_through_facebook_pages_by_clicking(browser, live_server, sandbox):  # noqa: F811
    click_connect(browser, live_server, "Connect Instagram through Facebook Pages", "/dialog/oauth")
    browser.find_element("id", "allow").click()
    wait(browser, lambda d: "Connect the Instagram accounts of your Pages" in d.title, "the choice of accounts")
    assert "has no Instagram professional account linked" in browser.page_source  # the Bakery
    browser.find_element("css selector", "main form button[type=submit]").click()
    wait(browser, lambda d: "Connected Facebook" in d.page_source, "the channels page")
    assert stored("instagram") == ["Sandbox Hotel", "Sandbox Instagram"]


def test_a_person_connects_instagram_with_instagram_login_by_clicking(browser, live_server, sandbox):  # noqa: F811
    click_connect(browser, live_server, "Connect Instagram", "/oauth/authorize")
    browser.find_element("id", "allow").click()
    # The demo's account, reconnected: now through Instagram Login, with a 60-day token.
    wait(browser, lambda d: "Reconnected Instagram account “Sandbox Instagram”" in d.page_source,
         "the channels page")
    assert stored("instagram") == ["Sandbox Instagram"] and "Token expires" in browser.page_source


def test_a_personal_instagram_account_is_told_what_to_change(browser, live_server, sandbox):  # noqa: F811
    click_connect(browser, live_server, "Connect Instagram", "/oauth/authorize")
    browser.find_element("css selector", "input[name=account][value='17841400000000099']").click()
    browser.find_element("id", "allow").click()
    wait(browser, lambda d: "Instagram was not connected" in d.page_source, "the page saying why")
    assert "Switch to professional account" in browser.page_source
    assert stored("instagram") == ["Sandbox Instagram"]  # the demo's, untouched


def test_cancelling_on_facebook_comes_back_saying_so(browser, live_server, sandbox):  # noqa: F811
    click_connect(browser, live_server, "Connect Facebook Pages", "/dialog/oauth")
    browser.find_element("id", "cancel").click()
    wait(browser, lambda d: "You cancelled on Facebook" in d.page_source, "the page saying nothing was connected")


def test_a_person_connects_linkedin_pages_by_clicking(browser, live_server, sandbox):  # noqa: F811
    browser.get(f"{live_server}/channels")
    browser.find_element("link text", "Connect LinkedIn pages").click()
    wait(browser, lambda d: "/oauth/v2/authorization" in d.current_url, "LinkedIn's dialog")
    assert "Retrieve your organizations' pages" in browser.page_source
    browser.find_element("id", "allow").click()
    wait(browser, lambda d: "Connect the pages you administer" in d.title, "the choice of pages")
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


def test_in_the_browser_a_replayed_answer_and_a_reused_code_connect_nothing_and_reconnecting_keeps_history(
        browser, live_server, sandbox):  # noqa: F811
    from urllib.parse import parse_qs, urlsplit

    with db.database.connection_context():
        demo = Channel.get(Channel.account_id == "546349135390552")
    click_connect(browser, live_server, "Connect Facebook Pages", "/dialog/oauth")
    browser.find_element("id", "allow").click()
    wait(browser, lambda d: "/channels/connect/facebook/callback" in d.current_url, "the choice of Pages")
    answer = browser.current_url
    browser.find_element("css selector", "main form button[type=submit]").click()
    wait(browser, lambda d: "Connected Facebook" in d.page_source, "the channels page")
    with db.database.connection_context():
        assert Channel.get(Channel.account_id == "546349135390552").id == demo.id  # reconnected, same channel
    browser.get(answer)  # the same answer again: its state was used
    wait(browser, lambda d: "Facebook was not connected" in d.page_source, "the refusal")
    assert "already used" in browser.page_source
    # A new connection's state with the first code: Facebook takes a code once.
    click_connect(browser, live_server, "Connect Facebook Pages", "/dialog/oauth")
    fresh_state = parse_qs(urlsplit(browser.current_url).query)["state"][0]
    old_state = parse_qs(urlsplit(answer).query)["state"][0]
    browser.get(answer.replace(f"state={old_state}", f"state={fresh_state}"))
    wait(browser, lambda d: "Facebook was not connected" in d.page_source, "the refusal")
    assert "This authorization code has been used." in browser.page_source
    assert stored("facebook") == ["Sandbox Bakery", "Sandbox Hotel", "Sandbox Page"]
