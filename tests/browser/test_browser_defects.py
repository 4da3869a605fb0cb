"""The defects a newcomer met, each kept fixed in headless Chromium (the
browser fixtures are test_browser.py's)."""
from tests.browser.test_browser_media import click
from tests.support.browser import wait

PHONE = {"width": 390, "height": 844, "deviceScaleFactor": 2, "mobile": True}


def warnings_text(browser):  # noqa: F811
    return browser.find_element("id", "warnings").text


def test_on_a_phone_the_compose_bar_is_not_sticky_and_the_hint_says_below(browser, live_server):  # noqa: F811
    browser.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", PHONE)
    browser.get(f"{live_server}/compose")
    bar = browser.find_element("css selector", ".submit-bar")
    assert browser.execute_script("return getComputedStyle(arguments[0]).position", bar) == "static"
    hint = browser.find_element("id", "text-hint").text
    assert "below" in hint and "on the right" not in hint


def test_on_a_wide_screen_a_focused_field_is_not_under_the_sticky_bar(browser, live_server):  # noqa: F811
    browser.get(f"{live_server}/compose")
    field = browser.find_element("id", "override_whatsapp")
    browser.execute_script("arguments[0].focus()", field)
    field_bottom = browser.execute_script("return arguments[0].getBoundingClientRect().bottom", field)
    bar_top = browser.execute_script(
        "return document.querySelector('.submit-bar').getBoundingClientRect().top")
    assert field_bottom <= bar_top, (field_bottom, bar_top)


def test_an_image_address_that_does_not_load_is_a_warning(browser, live_server, sandbox):  # noqa: F811
    browser.get(f"{live_server}/compose")
    browser.find_element("id", "text").send_keys("A broken image")
    browser.find_element("id", "image_url").send_keys(f"{sandbox.url}/_sandbox/missing.jpg")
    wait(browser, lambda d: "The image address does not load" in warnings_text(d), "the warning")


def test_instagram_warns_that_caption_links_cannot_be_clicked(browser, live_server):  # noqa: F811
    browser.get(f"{live_server}/compose")
    browser.find_element("id", "text").send_keys("See https://example.com/launch")
    wait(browser, lambda d: "captions cannot be clicked" in warnings_text(d), "the warning")


def test_the_channel_form_shows_only_the_chosen_networks_fields_and_names_what_is_missing(
        browser, live_server):  # noqa: F811
    browser.get(f"{live_server}/channels/new")
    recipients = browser.find_element("id", "recipients")
    version = browser.find_element("id", "api_version")
    assert not recipients.is_displayed() and not version.is_displayed()
    browser.execute_script("const s = document.getElementById('network'); s.value = 'whatsapp';"
                           "s.dispatchEvent(new Event('change'));")
    assert recipients.is_displayed() and not version.is_displayed()
    browser.find_element("id", "account_id").send_keys("106540352242922")
    click(browser, browser.find_element("css selector", "#channel-form button[type=submit]"))
    wait(browser, lambda d: "The access token is required" in d.page_source, "the missing field, named")


def test_the_past_time_error_reads_as_a_date(browser, live_server):  # noqa: F811
    browser.get(f"{live_server}/compose")
    browser.find_element("id", "text").send_keys("Yesterday's news")
    for box in browser.find_elements("css selector", "input[name=channels]"):
        if box.get_attribute("data-network") != "facebook" and box.is_selected():
            click(browser, box)
    browser.execute_script("document.getElementById('scheduled_at').value = '2020-03-04T08:40'")
    click(browser, browser.find_element("css selector", "button[name=action][value=schedule]"))
    wait(browser, lambda d: "is in the past" in d.page_source, "the refusal")
    assert "4 Mar 2020, 08:40" in browser.page_source and "2020-03-04T08:40 is" not in browser.page_source


def test_a_new_api_token_has_a_copy_button(browser, live_server):  # noqa: F811
    browser.get(f"{live_server}/account")
    browser.find_element("id", "name").send_keys("CI")
    click(browser, browser.find_element("css selector", "#token-form button[type=submit]"))
    wait(browser, lambda d: d.find_elements("css selector", "[data-copy]"), "the new token")
    token = browser.find_element("id", "new-token-value").text
    click(browser, browser.find_element("css selector", "[data-copy]"))
    wait(browser, lambda d: d.find_element("css selector", "[data-copy]").text == "Copied"
         or d.execute_script("return window.getSelection().toString()") == token, "the token copied (or selected)")


def test_each_version_has_a_preview_cut_where_its_network_cuts(browser, live_server):  # noqa: F811
    browser.get(f"{live_server}/compose")
    long_text = "Word " * 60  # 300 characters
    browser.find_element("id", "text").send_keys(long_text.strip())
    browser.find_element("id", "link").send_keys("https://example.com/launch")
    wait(browser, lambda d: "…see more" in d.find_element("css selector", "[data-preview=linkedin]").text,
         "LinkedIn's cut")
    assert "… more" in browser.find_element("css selector", "[data-preview=instagram]").text
    assert "See more" not in browser.find_element("css selector", "[data-preview=facebook]").text  # 300 < 480
    card = browser.find_element("css selector", "[data-preview=facebook] .preview-card")
    assert card.is_displayed() and "EXAMPLE.COM" in card.text
    assert "Sandbox Page" in browser.find_element("css selector", "[data-preview=facebook] .preview-name").text
