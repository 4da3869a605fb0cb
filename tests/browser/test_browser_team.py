"""A team in headless Chromium: the admin invites an editor from the Team
page, the editor opens the link, sets a password and asks to publish a post
to a channel that needs approval; the admin approves it on its page and
watches it go out (the browser fixtures are test_browser.py's)."""
import re

import pytest

from socialpub import db
from socialpub.models import Channel
from tests.browser.test_browser_calendar import only_facebook
from tests.browser.test_browser_media import click
from tests.conftest import TEST_EMAIL, TEST_PASSWORD
from tests.support.browser import screenshot, wait

EDITOR, EDITOR_PASSWORD = "editor@example.com", "the editor's own password"


def sign_out(browser):  # noqa: F811
    click(browser, browser.find_element("css selector", "form[action='/sign-out'] button"))
    wait(browser, lambda d: "/sign-in" in d.current_url, "the sign-in page")


def sign_in(browser, url, email, password):  # noqa: F811
    browser.get(f"{url}/sign-in")
    browser.find_element("id", "email").send_keys(email)
    browser.find_element("id", "password").send_keys(password)
    click(browser, browser.find_element("css selector", "#sign-in-form button[type=submit]"))
    wait(browser, lambda d: "/sign-in" not in d.current_url, "signed in")


@pytest.mark.timeout(180)
def test_an_invited_editors_post_waits_for_the_admins_approval_then_goes_out(
        browser, live_server, sandbox_channels, sandbox_client):  # noqa: F811
    with db.database.connection_context():
        Channel.update(requires_approval=True).where(Channel.id == sandbox_channels["facebook"]).execute()
    # The admin invites the editor.
    browser.get(f"{live_server}/team")
    browser.find_element("id", "email").send_keys(EDITOR)
    browser.find_element("css selector", "#role option[value=editor]").click()
    click(browser, browser.find_element("css selector", "#invite-form button[type=submit]"))
    wait(browser, lambda d: d.find_elements("id", "new-link-value"), "the invitation link")
    link = browser.find_element("id", "new-link-value").text
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+/join/[\w-]{43}", link), link
    sign_out(browser)
    # The editor joins and asks to publish.
    browser.get(link)
    browser.find_element("id", "password").send_keys(EDITOR_PASSWORD)
    browser.find_element("id", "confirm_password").send_keys(EDITOR_PASSWORD)
    click(browser, browser.find_element("css selector", "#accept-form button[type=submit]"))
    wait(browser, lambda d: "signed in as editor" in d.page_source, "the welcome")
    assert not browser.find_elements("link text", "Team")
    browser.get(f"{live_server}/compose")
    browser.find_element("id", "text").send_keys("Our approved launch")
    only_facebook(browser)
    click(browser, browser.find_element("css selector", "button[name=action][value=publish]"))
    wait(browser, lambda d: d.find_elements("id", "approval"), "the awaiting-approval notice")
    assert "Waiting for approval" in browser.page_source
    post_url = browser.current_url
    assert sandbox_client.received() == []
    sign_out(browser)
    # The admin approves it and watches it go out.
    sign_in(browser, live_server, TEST_EMAIL, TEST_PASSWORD)
    browser.get(post_url)
    assert f"asked by {EDITOR}" in browser.find_element("id", "approval").text
    click(browser, browser.find_element("css selector", "#approve-form button"))
    wait(browser, lambda d: "badge-published" in d.execute_script(
        "return document.getElementById('post-status').innerHTML"), "the post published", timeout=30)
    assert [i["text"] for i in sandbox_client.received()] == ["Our approved launch"]
    history = browser.find_element("id", "trail").text
    assert f"{EDITOR} submitted for approval" in history and f"{TEST_EMAIL} approved" in history
    screenshot(browser, "post-approved.png")
