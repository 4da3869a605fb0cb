"""One version per channel in a real browser (issue 28, item 3): with two
Facebook Pages the compose form shows a pane per Page, and typing in the
second Page's pane changes its own counter and preview only; saved, each Page
keeps its own text."""
from __future__ import annotations

import pytest

from socialpub import db
from socialpub.models import Publication
from tests.browser.test_browser_media import click
from tests.domain.test_channel_versions import a_channel
from tests.support.browser import text_of, wait


def chars(browser, slot):
    return text_of(browser, f'#pane-{slot} .counter[data-kind="chars"] .value')


@pytest.mark.timeout(120)
def test_typing_in_a_second_pages_pane_counts_and_previews_that_page_only(
        browser, live_server, sandbox, sandbox_channels):  # noqa: F811
    first = sandbox_channels["facebook"]
    second = a_channel(sandbox, "facebook", "Second Page", "546349135390999")
    browser.get(f"{live_server}/compose")
    assert not browser.find_elements("id", "pane-facebook")  # a pane per Page, none for the network
    text = browser.find_element("id", "text")
    text.send_keys("Hello both")
    wait(browser, lambda d: chars(d, first) == "10" and chars(d, second) == "10", "both Pages' counters")

    own = browser.find_element("id", f"version_{second}")
    own.send_keys(" — and the second Page alone")
    expected = str(len("Hello both — and the second Page alone"))
    wait(browser, lambda d: chars(d, second) == expected, "the second Page's own counter")
    assert chars(browser, first) == "10"
    wait(browser, lambda d: d.find_element("css selector", f"#pane-{second} .edited").is_displayed(),
         "the second Page's pane marked as edited")
    assert not browser.find_element("css selector", f"#pane-{first} .edited").is_displayed()
    assert "Second Page" in text_of(browser, f"#pane-{second} .preview-name")
    assert "the second Page alone" in text_of(browser, f"#pane-{second} .preview-text")
    assert text_of(browser, f"#pane-{first} .preview-name") == "Sandbox Page"
    assert "alone" not in text_of(browser, f"#pane-{first} .preview-text")

    # The main text still flows into the first Page's pane, not into the edited one.
    text.send_keys("!")
    wait(browser, lambda d: chars(d, first) == "11", "the first Page following the main text")
    assert chars(browser, second) == expected

    for box in browser.find_elements("css selector", "input[name=channels]"):  # the two Pages only
        if (box.get_attribute("data-network") == "facebook") != box.is_selected():
            click(browser, box)
    click(browser, browser.find_element("css selector", 'button[value="draft"]'))
    wait(browser, lambda d: "/posts/" in d.current_url, "the post page after Save draft")
    with db.database.connection_context():
        texts = {p.channel_id: p.text for p in Publication.select()}
    assert texts == {first: "Hello both!", second: "Hello both — and the second Page alone"}
