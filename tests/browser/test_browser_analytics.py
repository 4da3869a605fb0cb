"""How posts did, in headless Chromium: the post page shows each network's
numbers (a dash where the network gives none) and their curve, the Analytics
page its totals, channels and best posts, a channel's page its best times; on
a phone nothing scrolls sideways and every table cell says its heading. It
writes docs/analytics.png and docs/post-numbers.png."""
import datetime as dt

from socialpub import db
from socialpub.models import utcnow
from tests.support.analytics import collect
from tests.support.browser import screenshot, wait

PHONE = {"width": 390, "height": 844, "deviceScaleFactor": 2, "mobile": True}


def test_a_posts_numbers_and_the_analytics_page_read_in_the_browser_and_on_a_phone(
        browser, live_server, publish_and_drain, sandbox_client, settings):
    post_id = publish_and_drain(networks=["facebook", "instagram", "linkedin"],
                                text="Spring menu: three new dishes from Monday")
    sandbox_client.configure(instagram={"insights_speed": 1, "insights_later_s": 3600})
    with db.database.connection_context():
        collect(settings, utcnow())
        sandbox_client.configure(instagram={"insights_later_s": 4 * 3600})
        collect(settings, utcnow() + dt.timedelta(minutes=16))

    browser.get(f"{live_server}/posts/{post_id}")
    table = wait(browser, lambda d: d.find_element("id", "numbers-table"), "the numbers table")
    rows = {r.get_attribute("data-network"): r for r in table.find_elements("css selector", "tbody tr")}
    assert set(rows) == {"facebook", "instagram", "linkedin"}
    clicks = rows["instagram"].find_element("css selector", "[data-metric=clicks]")
    assert clicks.text == "—"  # Instagram gives no clicks: not 0
    views = rows["linkedin"].find_element("css selector", "[data-metric=views]").text
    assert views.replace(",", "").isdigit() and int(views.replace(",", "")) > 0
    assert browser.find_elements("css selector", "#numbers figure.chart svg")
    assert not browser.find_elements("css selector", "#numbers script")
    screenshot(browser, "post-numbers.png")

    browser.get(f"{live_server}/analytics")
    wait(browser, lambda d: d.find_element("id", "totals"), "the totals")
    assert "3 published items" in browser.find_element("id", "totals-heading").text
    best = browser.find_elements("css selector", "#best-posts a")
    assert best and best[0].get_attribute("href").endswith(f"/posts/{post_id}")
    assert len(browser.find_elements("css selector", "#channels-table tbody tr")) == 3
    screenshot(browser, "analytics.png")

    browser.find_element("css selector", "#channels-table tbody tr a").click()
    wait(browser, lambda d: d.find_element("id", "best-times"), "a channel's page")
    assert "Followers" in browser.find_element("id", "followers-heading").text

    browser.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", PHONE)
    try:
        for page in (f"/posts/{post_id}", "/analytics"):
            browser.get(f"{live_server}{page}")
            overflow = browser.execute_script(
                "return document.documentElement.scrollWidth - document.documentElement.clientWidth;")
            assert overflow <= 0, f"{page} scrolls sideways on a phone by {overflow}px"
            unlabelled = browser.execute_script("""
                return [...document.querySelectorAll('main table.data-table')].flatMap(table => {
                  const heads = [...table.querySelectorAll('thead th')].map(th => th.textContent.trim());
                  return [...table.querySelectorAll('tbody tr')].flatMap(tr => [...tr.children]
                    .filter((td, i) => heads[i] && td.dataset.label !== heads[i])
                    .map(td => (table.id || 'table') + ': ' + td.textContent.trim().slice(0, 40)));
                });""")
            assert unlabelled == [], (page, unlabelled)
    finally:
        browser.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
