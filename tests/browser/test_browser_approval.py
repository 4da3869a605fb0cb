"""The approval story in headless Chromium: an editor posts to two channels of
which one needs approval — the form says which waits before the click; one
goes out, the other waits; the admin sees the count and the notice, rejects
it with a comment; the editor sees the rejection in the posts list and the
edit form (the browser fixtures are test_browser.py's). It writes
docs/notices.png, the notice list."""
import pytest

from socialpub import db
from socialpub.models import Channel, User
from tests.browser.test_browser_media import click
from tests.browser.test_browser_team import sign_in, sign_out
from tests.conftest import _TEST_PASSWORD_HASH, TEST_EMAIL, TEST_PASSWORD
from tests.support.browser import screenshot, wait

EDITOR = "approval-editor@example.com"


def tick_only(browser, networks):  # noqa: F811
    for box in browser.find_elements("css selector", "input[name=channels]"):
        if (box.get_attribute("data-network") in networks) != box.is_selected():
            click(browser, box)


@pytest.mark.timeout(180)
def test_only_the_channel_that_needs_approval_waits_and_its_rejection_reaches_the_editor(
        browser, live_server, client, sandbox_channels, sandbox_client, drain):  # noqa: F811
    with db.database.connection_context():
        Channel.update(requires_approval=True).where(Channel.id == sandbox_channels["facebook"]).execute()
        User.create(email=EDITOR, password_hash=_TEST_PASSWORD_HASH, role="editor")
    sign_out(browser)
    sign_in(browser, live_server, EDITOR, TEST_PASSWORD)
    # Before the click, the form says which channel waits.
    browser.get(f"{live_server}/compose")
    browser.find_element("id", "text").send_keys("Half now, half after a yes")
    tick_only(browser, ("facebook", "linkedin"))
    marked = [b.find_element("xpath", "..").text for b in browser.find_elements("css selector", "input[name=channels]")
              if b.find_elements("xpath", "../span[@data-needs-approval]")]
    assert len(marked) == 1 and "Facebook" in marked[0]
    assert browser.find_element("id", "approval-outlook").text == (
        "LinkedIn goes out now (or at the time you schedule); Facebook waits for an admin's approval.")
    click(browser, browser.find_element("css selector", "button[name=action][value=publish]"))
    wait(browser, lambda d: "waits for an admin's approval (post #" in d.page_source, "the outcome message")
    flashes = browser.find_element("css selector", ".flashes").text
    assert "LinkedIn goes out now; Facebook waits for an admin's approval" in flashes and "Scheduled" not in flashes
    wait(browser, lambda d: "badge-published" in d.execute_script(
        "return document.getElementById('post-status').innerHTML"), "LinkedIn published", timeout=30)
    assert [i["network"] for i in sandbox_client.received()] == ["linkedin"]
    waiting_link = browser.find_element("css selector", "#split-to a")
    waiting_url = waiting_link.get_attribute("href")
    sign_out(browser)
    # Meanwhile an admin's post fails on LinkedIn: a notice too.
    sandbox_client.configure(linkedin={"fail": {"error": "bad_parameter", "times": 1}})
    failed = client.post("/api/posts", json={"text": "Weekly recap", "networks": ["linkedin"], "publish": True})
    drain()
    # The admin sees the count and the notices.
    sign_in(browser, live_server, TEST_EMAIL, TEST_PASSWORD)
    browser.get(f"{live_server}/posts")
    assert browser.find_element("id", "nav-waiting").text == "Waiting for approval 1"
    assert browser.find_element("css selector", "#nav-notices .count").text == "2"
    click(browser, browser.find_element("id", "nav-notices"))
    wait(browser, lambda d: d.find_elements("id", "notices"), "the notice list")
    failure, notice = browser.find_elements("css selector", "#notices li.unread")  # newest first
    assert "needs your approval" in notice.text.lower() and "Half now, half after a yes" in notice.text
    assert f"Post #{failed.get_json()['id']} failed: “Weekly recap”" in failure.text
    screenshot(browser, "notices.png")
    click(browser, notice.find_element("css selector", "button[name=open]"))
    wait(browser, lambda d: d.current_url == waiting_url, "the waiting post")
    assert browser.find_element("css selector", "#nav-notices .count").text == "1"  # read once opened
    browser.find_element("id", "comment").send_keys("Facebook gets the photo version: add it, please")
    click(browser, browser.find_element("css selector", "#reject-form button"))
    wait(browser, lambda d: d.find_elements("id", "rejection"), "the rejection")
    assert not browser.find_elements("id", "nav-waiting")
    sign_out(browser)
    # The editor sees the rejection: the bell, the posts list, the edit form, the History.
    sign_in(browser, live_server, EDITOR, TEST_PASSWORD)
    browser.get(f"{live_server}/posts")
    assert browser.find_element("css selector", "#nav-notices .count").text == "1"
    rejection = browser.find_element("css selector", "[data-field=rejection]").text
    assert rejection == "Rejected: Facebook gets the photo version: add it, please"
    browser.get(f"{waiting_url}/edit")
    assert "Facebook gets the photo version: add it, please" in browser.find_element("id", "rejection").text
    browser.get(waiting_url)
    assert (f"{TEST_EMAIL} rejected — “Facebook gets the photo version: add it, please”"
            in browser.find_element("id", "trail").text)
    assert [i["network"] for i in sandbox_client.received()] == ["linkedin"]
