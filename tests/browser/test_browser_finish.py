"""Pages that look finished, in headless Chromium (the browser fixtures are
test_browser.py's): every time on every page in one format, in the viewer's
zone and locale (a reloaded finished post and its History included, and the
times the live page adds); the Team, contacts and delivery tables fit a phone;
a viewer's calendar offers no move and no new post."""
import datetime as dt
import re

import pytest

from socialpub import db
from socialpub.models import WebhookEndpoint, utcnow
from tests.browser.test_browser_team import sign_in
from tests.conftest import TEST_PASSWORD
from tests.support.browser import card_statuses, wait
from tests.support.webhook_receiver import Receiver

#: Far from UTC, with a half hour: a time left in UTC, or shifted by whole hours, shows.
ZONE = "Asia/Kolkata"
PHONE = {"width": 390, "height": 844, "deviceScaleFactor": 2, "mobile": True}
ISO = re.compile(r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d")  # ISO 8601, or the old "2026-01-02 03:04 UTC"
#: What a time must read as, computed in the page with the options the pages promise.
EXPECTED = """
    const clock = {year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit"};
    const day = {year: "numeric", month: "short", day: "numeric", timeZone: "UTC"};
    return [...document.querySelectorAll("time")].filter(t => t.offsetParent !== null || t.closest("details"))
      .map(t => {
        const iso = t.getAttribute("datetime") || "";
        const want = iso.includes("T") ? new Intl.DateTimeFormat(undefined, clock).format(new Date(iso))
                                       : new Intl.DateTimeFormat(undefined, day).format(new Date(iso));
        return [iso, t.textContent.trim(), want];
      });"""


@pytest.fixture
def hook():
    receiver = Receiver()
    yield receiver
    receiver.close()


@pytest.fixture
def pages_with_times(live_server, client, sandbox, sandbox_channels, browser, hook):  # noqa: F811
    """A finished post (its History with a schedule in it), a contact, an invitation, a
    token, a webhook endpoint with deliveries; returns the finished post's id."""
    created = client.post("/api/posts", json={"text": "Finished, then reloaded",
                                              "image_url": f"{sandbox.url}/_sandbox/image.jpg"})
    assert created.status_code == 201, created.get_json()
    post_id = created.get_json()["id"]
    assert client.post("/api/webhooks", json={"url": hook.url}).status_code == 201
    assert client.post(f"/api/posts/{post_id}/publish").status_code == 202
    at = (utcnow() + dt.timedelta(days=30)).isoformat() + "+00:00"
    later = client.post("/api/posts", json={"text": "Later", "scheduled_at": at, "networks": ["facebook"]})
    assert later.status_code == 201, later.get_json()
    added = client.post(f"/api/channels/{sandbox_channels['whatsapp']}/contacts", json={
        "phone": "+33612345678", "opted_in": True, "opt_in_method": "website form"})
    assert added.status_code == 201, added.get_json()
    assert client.post("/api/invitations", json={"email": "new@example.com", "role": "editor"}).status_code == 201
    hook.wait_for(1)
    return post_id


def times_on(browser):  # noqa: F811
    """Every problem with the page's times: an ISO string in its text, or a <time> not in the one format."""
    text = browser.execute_script("return document.body.innerText")
    problems = [f"ISO string {m!r}" for m in ISO.findall(text)]
    shown = browser.execute_script(EXPECTED)
    problems += [f"{iso} reads {seen!r}, not {want!r}" for iso, seen, want in shown if seen != want]
    return problems, shown


@pytest.mark.timeout(180)
def test_every_time_on_every_page_reads_in_one_format_in_the_viewers_zone(
        browser, live_server, pages_with_times, sandbox_channels, sandbox_client):  # noqa: F811
    browser.execute_cdp_cmd("Emulation.setTimezoneOverride", {"timezoneId": ZONE})
    post = f"/posts/{pages_with_times}"
    # Watched live while it publishes: the times the page's script adds are in the same format.
    browser.get(f"{live_server}{post}")
    wait(browser, lambda d: set(card_statuses(d).values()) <= {"published", "failed", "partly_failed"},
         "every network finished", timeout=60)
    wait(browser, lambda d: d.find_elements("css selector", "[data-field=history] time"), "the attempt history")
    problems, shown = times_on(browser)
    assert problems == [] and shown, ("live", problems)
    with db.database.connection_context():
        endpoint = WebhookEndpoint.select().get()
    pages = [post, "/posts", "/channels", "/monitor", "/team", "/account", "/webhooks", f"/webhooks/{endpoint.id}",
             f"/channels/{sandbox_channels['whatsapp']}/contacts"]
    seen = {}
    for page in pages:
        browser.get(f"{live_server}{page}")
        problems, shown = times_on(browser)
        assert problems == [], (page, problems)
        seen[page] = len(shown)
    assert all(seen[p] for p in pages if p not in ("/webhooks",)), seen
    # Reloaded once finished: its History too, each line's time (and the schedule's) a <time>.
    browser.get(f"{live_server}{post}")
    assert browser.find_elements("css selector", "#trail time")
    assert "UTC" not in browser.execute_script("return document.body.innerText")


@pytest.mark.parametrize("page", ["/team", "contacts", "log"])
def test_the_team_contacts_and_delivery_tables_fit_a_phone(
        browser, live_server, pages_with_times, sandbox_channels, page):  # noqa: F811
    with db.database.connection_context():
        endpoint = WebhookEndpoint.select().get()
    path = {"contacts": f"/channels/{sandbox_channels['whatsapp']}/contacts",
            "log": f"/webhooks/{endpoint.id}"}.get(page, page)
    browser.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", PHONE)
    browser.get(f"{live_server}{path}")
    overflow = browser.execute_script(
        "return document.documentElement.scrollWidth - document.documentElement.clientWidth;")
    assert overflow <= 0, f"{path} scrolls sideways on a phone by {overflow}px"
    # Each row reads as label and value on a phone, as the channels table does: every cell
    # of a headed column says its heading.
    unlabelled = browser.execute_script("""
        return [...document.querySelectorAll('main table')].flatMap(table => {
          const heads = [...table.querySelectorAll('thead th')].map(th => th.textContent.trim());
          return [...table.querySelectorAll('tbody tr')].flatMap(tr => [...tr.children]
            .filter((td, i) => heads[i] && td.colSpan === 1 && td.dataset.label !== heads[i])
            .map(td => table.id + ': ' + td.textContent.trim().slice(0, 40)));
        });""")
    tables = browser.find_elements("css selector", "main table.data-table")
    assert tables and unlabelled == [], (path, unlabelled)
    assert {t.value_of_css_property("display") for t in tables} == {"block"}


def test_a_viewers_calendar_offers_no_move_and_no_new_post(browser, live_server, member, client):  # noqa: F811
    at = browser.execute_script("const d = new Date(Date.now() + 86400000); return d.toISOString();")
    assert client.post("/api/posts", json={"text": "Tomorrow", "scheduled_at": at,
                                           "networks": ["facebook"]}).status_code == 201
    viewer = member("viewer", token=False)
    browser.delete_all_cookies()
    sign_in(browser, live_server, viewer.email, TEST_PASSWORD)
    browser.get(f"{live_server}/calendar")
    wait(browser, lambda d: d.find_elements("css selector", ".cal-post"), "the scheduled post")
    assert not browser.find_elements("css selector", ".cal-new, .cal-move, [draggable=true]")
