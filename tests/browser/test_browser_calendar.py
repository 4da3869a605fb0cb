"""A team's day in headless Chromium: draft a post, edit it, schedule it on
the calendar by dragging it onto a day, move it with the keyboard's Move
dialog, cancel it, duplicate it, delete the copy — then schedule it a few
seconds ahead and watch it go out on the calendar and on its page without
reloading (the browser fixtures are test_browser.py's)."""
import datetime as dt
import re

import pytest

from socialpub import db
from socialpub.models import Post, utcnow
from tests.browser.test_browser_media import click
from tests.support.browser import wait

#: The calendar redraws every 10 s; a post goes out a few seconds after its time.
LIVE_S = 45

DRAG_AND_DROP = """
const [source, target] = arguments;
const data = new DataTransfer();
source.dispatchEvent(new DragEvent('dragstart', {dataTransfer: data, bubbles: true}));
target.dispatchEvent(new DragEvent('dragover', {dataTransfer: data, bubbles: true, cancelable: true}));
target.dispatchEvent(new DragEvent('drop', {dataTransfer: data, bubbles: true, cancelable: true}));
"""


def status_of(post_id):
    with db.database.connection_context():
        return Post.get_by_id(post_id).status


def only_facebook(browser):  # noqa: F811
    for box in browser.find_elements("css selector", "input[name=channels]"):
        if (box.get_attribute("data-network") == "facebook") != box.is_selected():
            click(browser, box)


@pytest.mark.timeout(240)
def test_draft_edit_schedule_by_dragging_move_cancel_duplicate_delete_and_watch_it_go_out(
        browser, live_server, sandbox_client):  # noqa: F811
    # Draft it.
    browser.get(f"{live_server}/compose")
    browser.find_element("id", "text").send_keys("Our launch post")
    only_facebook(browser)
    click(browser, browser.find_element("css selector", "button[name=action][value=draft]"))
    wait(browser, lambda d: re.search(r"/posts/\d+$", d.current_url), "the draft's page")
    post_id = int(browser.current_url.rsplit("/", 1)[1])
    # Edit it.
    click(browser, browser.find_element("link text", "Edit"))
    wait(browser, lambda d: d.current_url.endswith("/edit"), "the edit page")
    text = browser.find_element("id", "text")
    text.clear()
    text.send_keys("Our launch post, edited")
    click(browser, browser.find_element("css selector", "button[name=action][value=save]"))
    wait(browser, lambda d: "Saved. It is a draft." in d.page_source, "the saved draft")
    # Schedule it by dragging it from the drafts onto a day three days ahead.
    browser.get(f"{live_server}/calendar")
    wait(browser, lambda d: d.find_elements("css selector", f".cal-drafts [data-id='{post_id}']"), "the drafts")
    day = (dt.date.today() + dt.timedelta(days=3)).isoformat()
    if not browser.find_elements("css selector", f".cal-cell[data-day='{day}']"):
        click(browser, browser.find_element("css selector", "[data-step='1']"))  # next month
        wait(browser, lambda d: d.find_elements("css selector", f".cal-cell[data-day='{day}']"), "next month")
    browser.execute_script(DRAG_AND_DROP, browser.find_element("css selector", f"[data-id='{post_id}']"),
                           browser.find_element("css selector", f".cal-cell[data-day='{day}']"))
    wait(browser, lambda d: d.find_elements("css selector", f".cal-cell[data-day='{day}'] [data-id='{post_id}']"),
         "the post on that day")
    assert status_of(post_id) == "scheduled"
    # Move it with the Move dialog (the keyboard's way), to the next day at 10:30.
    click(browser, browser.find_element("css selector", f"[data-id='{post_id}'] .cal-move"))
    moved_day = (dt.date.today() + dt.timedelta(days=4)).isoformat()
    browser.execute_script("document.getElementById('move-at').value = arguments[0]", f"{moved_day}T10:30")
    click(browser, browser.find_element("id", "move-save"))
    wait(browser, lambda d: d.find_elements("css selector", f".cal-cell[data-day='{moved_day}'] [data-id='{post_id}']"),
         "the post on the next day")
    # Cancel it, duplicate it, delete the copy.
    browser.get(f"{live_server}/posts/{post_id}")
    click(browser, browser.find_element("css selector", "button.btn[type=submit]:not(.btn-primary)"))
    wait(browser, lambda d: "Cancelled: it is a draft again." in d.page_source, "the cancel")
    click(browser, browser.find_element("xpath", "//button[text()='Duplicate']"))
    wait(browser, lambda d: d.current_url.endswith("/edit") and f"/posts/{post_id}/" not in d.current_url,
         "the copy's edit page")
    copy_id = int(re.search(r"/posts/(\d+)/edit", browser.current_url).group(1))
    browser.get(f"{live_server}/posts/{copy_id}")
    click(browser, browser.find_element("xpath", "//button[text()='Delete']"))
    browser.switch_to.alert.accept()
    wait(browser, lambda d: f"Post #{copy_id} deleted" in d.page_source, "the copy deleted")
    # Schedule the draft a few seconds ahead from the calendar, and watch it go out.
    browser.get(f"{live_server}/calendar")
    wait(browser, lambda d: d.find_elements("css selector", f".cal-drafts [data-id='{post_id}'] .cal-move"),
         "the draft back among the drafts")
    click(browser, browser.find_element("css selector", f".cal-drafts [data-id='{post_id}'] .cal-move"))
    soon = browser.execute_script("""
        const d = new Date(Date.now() + 8000), p = n => String(n).padStart(2, '0');
        return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;""")
    browser.execute_script("document.getElementById('move-at').value = arguments[0]", soon)
    click(browser, browser.find_element("id", "move-save"))
    wait(browser, lambda d: d.find_elements("css selector", f".cal-grid [data-id='{post_id}']"), "it on the calendar")
    assert "moved" in browser.find_element("id", "calendar-message").text
    # Its page, open while it is scheduled, follows it out too.
    browser.execute_script("window.open(arguments[0], 'post')", f"{live_server}/posts/{post_id}")
    calendar_tab, post_tab = browser.window_handles[0], browser.window_handles[-1]
    browser.switch_to.window(post_tab)
    wait(browser, lambda d: "badge-published" in d.find_element("id", "post-status").get_attribute("innerHTML"),
         "its page showing it published, without a reload", timeout=LIVE_S)
    # Launched (its messages wait for its time): no longer editable.
    assert not [e for e in browser.find_elements("link text", "Edit") if e.is_displayed()]
    browser.close()
    browser.switch_to.window(calendar_tab)  # visible again: its next redraw shows it out
    wait(browser, lambda d: d.find_elements("css selector", f".cal-grid .status-published[data-id='{post_id}']"),
         "it shown published on the calendar, without a reload", timeout=LIVE_S)
    assert [r["text"] for r in sandbox_client.received()] == ["Our launch post, edited"]


@pytest.mark.timeout(120)
def test_dragging_a_post_someone_changed_since_the_calendar_showed_it_says_so_and_moves_nothing(
        browser, live_server):  # noqa: F811
    browser.get(f"{live_server}/compose")
    browser.find_element("id", "text").send_keys("Changed behind the calendar")
    only_facebook(browser)
    click(browser, browser.find_element("css selector", "button[name=action][value=draft]"))
    wait(browser, lambda d: re.search(r"/posts/\d+$", d.current_url), "the draft's page")
    post_id = int(browser.current_url.rsplit("/", 1)[1])
    browser.get(f"{live_server}/calendar")
    wait(browser, lambda d: d.find_elements("css selector", f".cal-drafts [data-id='{post_id}']"), "the drafts")
    with db.database.connection_context():  # someone else's change, after the calendar was drawn
        Post.update(text="Rewritten elsewhere", updated_at=utcnow()).where(Post.id == post_id).execute()
    day = (dt.date.today() + dt.timedelta(days=3)).isoformat()
    if not browser.find_elements("css selector", f".cal-cell[data-day='{day}']"):
        click(browser, browser.find_element("css selector", "[data-step='1']"))  # next month
        wait(browser, lambda d: d.find_elements("css selector", f".cal-cell[data-day='{day}']"), "next month")
    browser.execute_script(DRAG_AND_DROP, browser.find_element("css selector", f"[data-id='{post_id}']"),
                           browser.find_element("css selector", f".cal-cell[data-day='{day}']"))
    wait(browser, lambda d: "changed by someone else" in d.find_element("id", "calendar-message").text,
         "the calendar saying the post changed")
    assert status_of(post_id) == "draft"
    # Redrawn with the post as it is now: dragged again, it moves.
    # Read in one script: the calendar may redraw between finding the element and reading it.
    wait(browser, lambda d: "Rewritten elsewhere" in d.execute_script(
        "const e = document.querySelector(arguments[0]); return e ? e.textContent : '';", f"[data-id='{post_id}']"),
        "the post as it is now")
    browser.execute_script(DRAG_AND_DROP, browser.find_element("css selector", f"[data-id='{post_id}']"),
                           browser.find_element("css selector", f".cal-cell[data-day='{day}']"))
    wait(browser, lambda d: d.find_elements("css selector", f".cal-cell[data-day='{day}'] [data-id='{post_id}']"),
         "the post on that day")
    assert status_of(post_id) == "scheduled"
