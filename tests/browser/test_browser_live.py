"""Pages that follow what happens, in headless Chromium: the "Publishing to…"
message becomes the outcome, and the posts list shows a post going out,
without a reload (the browser fixtures are test_browser.py's)."""
from tests.browser.test_browser_calendar import only_facebook
from tests.browser.test_browser_media import click
from tests.support.browser import wait


def test_the_publishing_message_becomes_the_outcome(browser, live_server):  # noqa: F811
    browser.get(f"{live_server}/compose")
    browser.find_element("id", "text").send_keys("Watch the message")
    only_facebook(browser)
    click(browser, browser.find_element("css selector", "button[name=action][value=publish]"))
    wait(browser, lambda d: "Publishing to 1 channel" in d.page_source or "Published to" in d.page_source,
         "the post page")
    wait(browser, lambda d: "Published to 1 of 1 channel." in d.find_element("css selector", ".flashes").text,
         "the outcome in place of the progress message")


def test_the_posts_list_shows_a_post_going_out_without_a_reload(browser, live_server, client):  # noqa: F811
    post = client.post("/api/posts", json={"text": "On the list", "networks": ["facebook"]}).get_json()
    browser.get(f"{live_server}/posts")
    item = f"[data-post-id='{post['id']}'] [data-field='post-status'] .badge"
    assert "badge-draft" in browser.find_element("css selector", item).get_attribute("class")
    assert client.post(f"/api/posts/{post['id']}/publish").status_code == 202
    wait(browser, lambda d: "badge-published" in d.find_element("css selector", item).get_attribute("class"),
         "the list showing it published", timeout=30)
