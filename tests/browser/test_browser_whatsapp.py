"""WhatsApp in a real browser: templates synced on the channel's page, an
approved template picked in the compose form with the post's image and text
mapped into it, published to an audience, and each recipient's status
arriving on the post page from the sandbox's signed webhooks."""
from __future__ import annotations

import pytest
from selenium.webdriver.support.ui import Select

from tests.browser.test_browser_media import click
from tests.support.browser import screenshot, wait
from tests.support.whatsapp_fixtures import APP_SECRET, WHATSAPP_SETTINGS, add_contacts, numbers

pytestmark = pytest.mark.settings(**WHATSAPP_SETTINGS)


@pytest.mark.timeout(240)
def test_a_template_post_with_the_image_as_header_shows_each_recipients_status_as_it_arrives(
        browser, live_server, client, sandbox, sandbox_client, sandbox_channels):  # noqa: F811
    channel_id = sandbox_channels["whatsapp"]
    sandbox_client.configure(whatsapp={"webhook_url": f"{live_server}/webhooks/meta", "app_secret": APP_SECRET,
                                       "statuses": "auto"})
    phones = numbers(3)
    add_contacts(client, channel_id, phones, audience="Newsletter")

    browser.get(f"{live_server}/channels/{channel_id}/contacts")
    click(browser, browser.find_element("xpath", "//button[normalize-space()='Sync templates from Meta']"))
    wait(browser, lambda d: "post_announcement" in d.find_element("id", "templates").text, "the synced templates")
    assert "Cannot be sent: its status is PENDING" in browser.find_element("id", "templates").text

    browser.get(f"{live_server}/compose")
    browser.find_element("id", "text").send_keys("Our spring menu\nis here")
    for box in browser.find_elements("css selector", "input[name=channels]"):
        wanted = box.get_attribute("data-network") == "whatsapp"
        if wanted != box.is_selected():
            click(browser, box)
        wait(browser, lambda d: box.is_selected() == wanted, f"the {box.get_attribute('data-network')} box set")
    ticked = [b.get_attribute("data-network") for b in browser.find_elements("css selector", "input[name=channels]")
              if b.is_selected()]
    assert ticked == ["whatsapp"]
    browser.find_element("id", "image_url").send_keys(f"{sandbox.url}/_sandbox/image.jpg")
    template = Select(browser.find_element("id", "whatsapp_template"))
    assert [o.get_attribute("disabled") for o in template.options if "spring_sale" in o.text] == ["true"]
    template.select_by_value("post_announcement|en_US")
    wait(browser, lambda d: d.find_elements("id", "whatsapp_body_1"), "the body parameter")
    assert browser.find_element("id", "whatsapp_body_1").get_attribute("value") == "{text}"
    preview = browser.find_element("id", "wa-preview")
    wait(browser, lambda d: "New from us: Our spring menu · is here" in preview.text, "the rendered preview")
    assert "the post's photo" in preview.text and "Reply STOP" in preview.text
    Select(browser.find_element("id", "whatsapp_audience")).select_by_value("Newsletter")
    reach = browser.find_element("id", "wa-reach")  # who it actually reaches, as the choice changes
    wait(browser, lambda d: reach.text == "3 of 3 members will be messaged", "the audience's reach")
    screenshot(browser, "whatsapp-compose.png")
    click(browser, browser.find_element("css selector", "button[value=publish]"))

    wait(browser, lambda d: "/posts/" in d.current_url, "the post page")
    def rows(d):
        """Each recipient row's number and text, read in one go: the page's script rebuilds the rows."""
        return d.execute_script("return Array.from(document.querySelectorAll('details.recipients tbody tr'))"
                                ".map(r => [r.dataset.phone, r.textContent])")

    wait(browser, lambda d: [phone for phone, _ in rows(d)] == phones, "the three recipients", timeout=60)
    wait(browser, lambda d: all("read" in text for _, text in rows(d)), "every recipient's message read",
         timeout=60)
    assert "3 sent (3 read so far)" in browser.find_element("css selector", "details.recipients summary").text
    screenshot(browser, "whatsapp-recipients.png")
    received = sandbox_client.received("whatsapp")
    assert sorted(m["to"] for m in received) == phones
    assert {m["text"] for m in received} == {"New from us: Our spring menu · is here"}
    assert all(m["image"] and m["image"].startswith("media:") for m in received)
