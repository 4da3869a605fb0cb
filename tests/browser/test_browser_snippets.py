"""Snippets in the compose form, in headless Chromium: typing /shortcut and a space puts the snippet in the
text, the menu inserts one into a channel's version as that network's variant, and the counters follow."""
from tests.support.browser import wait


def test_a_shortcut_and_the_menu_insert_snippets_with_each_networks_variant(browser, live_server, client):
    assert client.post("/api/snippets", json={"name": "Signature", "shortcut": "sig", "body": "— Café Luna",
                                              "variants": {"linkedin": "— Café Luna · cafeluna.example"}}
                       ).status_code == 201
    browser.get(f"{live_server}/compose")
    text = wait(browser, lambda d: d.find_element("id", "text"), "the compose form")
    text.send_keys("Spring menu out now\n/sig ")
    wait(browser, lambda d: d.find_element("id", "text").get_attribute("value") == "Spring menu out now\n— Café Luna ",
         "the shortcut replaced by the snippet")
    # The LinkedIn version, edited on its own: the menu gives it LinkedIn's words.
    pane = browser.find_element("css selector", ".pane[data-network=linkedin]:not([hidden]) textarea")
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'}); arguments[0].focus();", pane)
    pane.send_keys(" ")
    from selenium.webdriver.support.ui import Select
    Select(browser.find_element("id", "snippet-menu")).select_by_visible_text("Signature — /sig")
    wait(browser, lambda d: d.find_element("css selector", ".pane[data-network=linkedin]:not([hidden]) textarea")
         .get_attribute("value").endswith("— Café Luna · cafeluna.example"), "LinkedIn's variant inserted")
    count = browser.find_element("id", "text-count").text
    assert int(count) == len("Spring menu out now\n— Café Luna ")
