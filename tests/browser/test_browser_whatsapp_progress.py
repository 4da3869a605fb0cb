"""A WhatsApp broadcast's progress line on the post page, in headless
Chromium: "Sent 3 of 10 · 7 to go · done about 17:42" moving while it sends,
then "Sent 10 of 10"; and, held by the messaging limit, until when it waits."""
from __future__ import annotations

import re

import pytest

from tests.browser.test_browser_media import click
from tests.support.browser import wait
from tests.support.whatsapp_fixtures import APP_SECRET, WHATSAPP_SETTINGS, add_contacts, numbers

LINE = "[data-field=broadcast]"


def draft(client, channel_id, text):
    """A draft WhatsApp post with the synced template, to everyone; returns the post's id."""
    assert client.post(f"/api/channels/{channel_id}/templates/sync").status_code == 200
    response = client.post("/api/posts", json={"text": text, "channels": [channel_id], "whatsapp": {
        "template": "weekly_digest", "language": "en_US", "body": ["{text}", "x"], "audience": "Everyone"}})
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


def publish_on_the_page(browser, live_server, post_id):
    browser.get(f"{live_server}/posts/{post_id}")
    assert not browser.find_element("css selector", LINE).is_displayed()  # nothing sent yet
    click(browser, browser.find_element("css selector", "#publish-form button"))


# Two messages a second, so that ten take about five seconds and the page sees them go.
@pytest.mark.settings(**{**WHATSAPP_SETTINGS, "whatsapp_send_rate": 2})
@pytest.mark.timeout(120)
def test_the_progress_line_follows_a_broadcast_as_it_sends(browser, live_server, client, sandbox_client,
                                                           sandbox_channels):
    channel_id = sandbox_channels["whatsapp"]
    sandbox_client.configure(whatsapp={"latency": 0.2, "statuses": "manual", "app_secret": APP_SECRET})
    add_contacts(client, channel_id, numbers(10))
    publish_on_the_page(browser, live_server, draft(client, channel_id, "Watch it go"))
    seen = []

    def line(d):
        text = d.execute_script(f"var el = document.querySelector('{LINE}'); return el.hidden ? '' : el.textContent")
        if text and (not seen or seen[-1] != text):
            seen.append(text)
        return text

    wait(browser, lambda d: line(d) == "Sent 10 of 10", "every contact sent it", timeout=60)
    midway = [t for t in seen if re.fullmatch(r"Sent [1-9] of 10 · ([1-9]|10) to go · done about \d\d?:\d\d.*", t)]
    assert len(midway) >= 2, f"the line seen: {seen}"
    assert [int(t.split()[1]) for t in midway] == sorted(int(t.split()[1]) for t in midway), seen


@pytest.mark.settings(**{**WHATSAPP_SETTINGS, "whatsapp_messaging_limit": 2})
@pytest.mark.timeout(120)
def test_a_broadcast_held_by_the_messaging_limit_says_when_it_resumes(browser, live_server, client, broker,
                                                                       sandbox_client, sandbox_channels):
    channel_id = sandbox_channels["whatsapp"]
    sandbox_client.configure(whatsapp={"statuses": "manual", "app_secret": APP_SECRET})
    add_contacts(client, channel_id, numbers(3))
    publish_on_the_page(browser, live_server, draft(client, channel_id, "Held back"))
    wait(browser, lambda d: "Waiting" in d.find_element("css selector", LINE).text, "the wait said", timeout=60)
    text = browser.find_element("css selector", LINE).text
    assert re.fullmatch(r"Sent 2 of 3 · 1 to go\. Waiting for Meta's 24-hour limit: resumes about .*\d\d:\d\d.*",
                        text), text
    broker.flush_all()  # the wait's delayed message, a day from now
