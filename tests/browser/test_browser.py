"""The web pages in headless Chromium (Debian's chromium + chromium-driver,
driven by selenium through /usr/bin/chromedriver — nothing downloads a browser):
compose with live counters and warnings, publish, and watch the post page
follow each network without reloading, retry included. These tests also take
the screenshots in docs/ (written when missing, or refreshed with
SOCIALPUB_SCREENSHOTS=docs; other runs write them to the temp folder).

Without Chromium they fail when CI=true and are skipped, saying why, elsewhere.
"""
from __future__ import annotations

import pytest

from socialpub import db
from socialpub.models import Publication
from tests.support.browser import card_statuses, counter, mark_page, screenshot, still_same_page, text_of, wait

#: Per-network sandbox latency: spread out so the page is seen mid-publish,
#: some networks done while others are still being sent.
LATENCIES = {"facebook": 0.5, "whatsapp": 0.5, "linkedin": 1.0, "instagram": 2.0}


def compose(browser, base, text, image_url):
    browser.get(f"{base}/compose")
    browser.find_element("id", "text").send_keys(text)
    browser.find_element("id", "image_url").send_keys(image_url)
    browser.find_element("css selector", 'button[value="publish"]').click()
    wait(browser, lambda d: "/posts/" in d.current_url, "the post page after Publish now")
    mark_page(browser)


def test_composing_shows_counters_and_warnings_then_the_post_page_follows_publishing_live(
        browser, live_server, sandbox, sandbox_client):
    sandbox_client.configure(**{n: {"latency": s} for n, s in LATENCIES.items()})
    browser.get(f"{live_server}/compose")
    text = browser.find_element("id", "text")
    text.send_keys("Launch day #launch @team")
    wait(browser, lambda d: counter(d, "instagram") == "24", "the Instagram counter to count the text")
    assert counter(browser, "instagram", "hashtags") == "1"
    assert counter(browser, "instagram", "mentions") == "1"
    assert text_of(browser, "#pane-instagram .counter .limit") == "2,200"
    wait(browser, lambda d: "Instagram: Needs an image" in text_of(d, "#warnings"),
         "the Instagram warning without an image")

    more = " — the new dashboard is live for every team today"
    text.send_keys(more)
    expected = str(len("Launch day #launch @team" + more))
    wait(browser, lambda d: counter(d, "linkedin") == expected, "the counters to follow the typing")
    browser.find_element("id", "link").send_keys("https://example.com/launch")
    wait(browser, lambda d: d.find_element("id", "override_whatsapp").get_attribute("value").endswith(
        "\n\nhttps://example.com/launch"), "the link to be added to WhatsApp's version")
    assert "example.com" not in browser.find_element("id", "override_facebook").get_attribute("value")

    linkedin = browser.find_element("id", "override_linkedin")
    linkedin.send_keys(" #productivity")
    wait(browser, lambda d: d.find_element("css selector", "#pane-linkedin .edited").is_displayed(),
         "LinkedIn's version to be marked as edited")

    browser.find_element("id", "image_url").send_keys(f"{sandbox.url}/_sandbox/image.jpg?width=480&height=320")
    wait(browser, lambda d: "Instagram: Needs an image" not in text_of(d, "#warnings"), "the Instagram warning to go")
    wait(browser, lambda d: d.execute_script(
        "const i = document.getElementById('image-preview-img'); return i.complete && i.naturalWidth > 0;"),
        "the image's thumbnail")
    assert text_of(browser, "#pane-whatsapp .counter .limit") == "1,024"  # a caption, now
    screenshot(browser, "compose.png")

    browser.find_element("css selector", 'button[value="publish"]').click()
    wait(browser, lambda d: "/posts/" in d.current_url, "the post page after Publish now")
    mark_page(browser)

    def mid_publish(d):
        statuses = set(card_statuses(d).values())
        return "published" in statuses and statuses & {"queued", "processing"}
    wait(browser, mid_publish, "some networks published while others are still being sent")
    screenshot(browser, "post-publishing.png")

    wait(browser, lambda d: set(card_statuses(d).values()) == {"published"}, "all four networks published")
    assert still_same_page(browser), "the post page reloaded instead of updating in place"
    assert len(card_statuses(browser)) == 4
    assert text_of(browser, "#post-status") == "Published"
    assert text_of(browser, "#progress-text") == "4 of 4 published"
    with db.database.connection_context():
        for p in Publication.select():
            card = f'article[data-network="{p.network}"]'
            assert text_of(browser, f'{card} [data-field="external_id"]') == p.external_id
            if p.external_url:
                link = browser.find_element("css selector", f'{card} [data-field="url"] a')
                assert link.get_attribute("href") == p.external_url
            assert not browser.find_element("css selector", f"{card} .retry-form").is_displayed()
    wait(browser, lambda d: len(d.find_elements("css selector", '[data-field="history"] li')) == 4,
         "the attempt history once everything has settled")


def test_a_failing_network_shows_its_error_and_a_retry_that_succeeds(browser, live_server, sandbox,
                                                                      sandbox_client):
    sandbox_client.configure(linkedin={"fail": {"error": "bad_parameter", "times": 1}})
    compose(browser, live_server, "Retry me #launch", f"{sandbox.url}/_sandbox/image.jpg")
    wait(browser, lambda d: card_statuses(d) == {"facebook": "published", "instagram": "published",
                                                 "linkedin": "failed", "whatsapp": "published"},
         "LinkedIn to fail and the others to publish")
    card = 'article[data-network="linkedin"]'
    assert "is not an enum symbol" in text_of(browser, f'{card} [data-field="last_error"]')
    buttons = [b for b in browser.find_elements("css selector", ".retry-form button") if b.is_displayed()]
    assert [b.text for b in buttons] == ["Retry LinkedIn"]
    assert text_of(browser, "#post-status") == "Partially published"

    buttons[0].click()
    wait(browser, lambda d: card_statuses(d)["linkedin"] == "published", "LinkedIn to publish on retry")
    assert still_same_page(browser)
    assert not browser.find_element("css selector", f"{card} .retry-form").is_displayed()
    assert text_of(browser, f'{card} [data-field="attempts"]') == "2"
    wait(browser, lambda d: text_of(d, "#post-status") == "Published", "the post to be published")
    assert len(sandbox_client.received("linkedin")) == 1


def test_the_pages_fit_a_phone_screen(browser, live_server, sandbox):
    browser.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                            {"width": 390, "height": 844, "deviceScaleFactor": 2, "mobile": True})
    for path in ("/compose", "/posts", "/channels", "/channels/1/edit", "/channels/4/contacts"):
        browser.get(f"{live_server}{path}")
        overflow = browser.execute_script(
            "return document.documentElement.scrollWidth - document.documentElement.clientWidth;")
        assert overflow <= 0, f"{path} scrolls sideways on a phone by {overflow}px"
    browser.get(f"{live_server}/compose")
    browser.find_element("id", "text").send_keys("On the go #launch")
    browser.find_element("id", "image_url").send_keys(f"{sandbox.url}/_sandbox/image.jpg")
    wait(browser, lambda d: d.execute_script(
        "const i = document.getElementById('image-preview-img'); return i.complete && i.naturalWidth > 0;"),
        "the image's thumbnail")
    browser.find_element("css selector", 'button[value="publish"]').click()
    wait(browser, lambda d: set(card_statuses(d).values()) == {"published"}, "all four networks published")
    overflow = browser.execute_script(
        "return document.documentElement.scrollWidth - document.documentElement.clientWidth;")
    assert overflow <= 0, f"the post page scrolls sideways on a phone by {overflow}px"
    screenshot(browser, "post-phone.png", phone=True)


def test_the_compose_form_can_be_filled_and_sent_with_the_keyboard_alone(browser, live_server, sandbox):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.keys import Keys

    browser.get(f"{live_server}/compose")
    focused = []
    for _ in range(60):  # the fields, the channels, each network's pane (WhatsApp's message block too)
        ActionChains(browser).send_keys(Keys.TAB).perform()
        active = browser.switch_to.active_element
        name = active.get_attribute("id") or active.get_attribute("value") or active.text
        focused.append(name)
        if name == "text":
            ActionChains(browser).send_keys("Typed without a mouse").perform()
        elif name == "image_url":
            ActionChains(browser).send_keys(f"{sandbox.url}/_sandbox/image.jpg").perform()
        elif name == "publish":
            break
    assert focused[0] == "Skip to content"
    assert focused.index("text") < focused.index("image_url") < focused.index("link") < focused.index("publish")
    ActionChains(browser).send_keys(Keys.ENTER).perform()
    wait(browser, lambda d: "/posts/" in d.current_url, "the post page after Publish now from the keyboard")
    wait(browser, lambda d: set(card_statuses(d).values()) == {"published"}, "all four networks published")


@pytest.mark.parametrize("sample", [
    "#a #b_c x#y @ @@d (#tag) #1 end#",
    "¡#ñandú! @josé #日本 emoji 🎉 #🎉 @_x",
    "line one\nline two #tag\n\n@mention",
])
def test_the_pages_counters_agree_with_the_servers_checks(browser, live_server, sample):
    from socialpub.networks.base import count_tokens

    browser.get(f"{live_server}/compose")
    browser.execute_script("""
        const t = document.getElementById('text');
        t.value = arguments[0];
        t.dispatchEvent(new Event('input', {bubbles: true}));""", sample)
    assert counter(browser, "instagram") == f"{len(sample):,}"
    assert counter(browser, "instagram", "hashtags") == str(count_tokens(sample, "#"))
    assert counter(browser, "instagram", "mentions") == str(count_tokens(sample, "@"))


def test_a_refused_form_shows_the_servers_errors_until_the_field_is_edited(browser, live_server, sandbox):
    browser.get(f"{live_server}/compose")
    browser.find_element("id", "text").send_keys("No image yet #launch")
    browser.find_element("css selector", 'button[value="publish"]').click()  # a draft would be kept as it is
    wait(browser, lambda d: d.find_elements("id", "error-summary"), "the form to come back refused")
    assert browser.switch_to.active_element.get_attribute("id") == "error-summary"
    assert browser.find_element("id", "text").get_attribute("value") == "No image yet #launch"
    assert text_of(browser, "#image_url-error") == "Instagram: an image is required"
    browser.find_element("id", "image_url").send_keys(f"{sandbox.url}/_sandbox/image.jpg")
    wait(browser, lambda d: not d.find_elements("id", "image_url-error"), "the stale error to go")
    wait(browser, lambda d: text_of(d, "#warnings") == "", "no warning left")
    browser.find_element("css selector", 'button[value="draft"]').click()
    wait(browser, lambda d: "/posts/" in d.current_url, "the draft's page")
    assert "Saved as a draft" in text_of(browser, ".flashes")
