"""What the browser tests do in a page: wait for something, read it, take a screenshot for docs/."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

DOCS = Path(__file__).resolve().parents[2] / "docs"
WAIT_S = 30


def wait(browser, condition, message, timeout=WAIT_S):
    """Until ``condition(browser)`` holds. An element the page's script redrew between being
    found and being read (the live pages redraw on every poll) is looked for again."""
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(browser, timeout, poll_frequency=0.05,
                         ignored_exceptions=(StaleElementReferenceException,)).until(lambda d: condition(d), message)


def text_of(browser, css):
    return browser.find_element("css selector", css).text


def counter(browser, network, kind="chars"):
    return text_of(browser, f'#pane-{network} .counter[data-kind="{kind}"] .value')


def card_statuses(browser):
    """{network: status} as the post page shows it now."""
    return browser.execute_script("""
        const out = {};
        document.querySelectorAll('article[data-network]').forEach(card => {
            out[card.dataset.network] = card.querySelector('[data-field="status"] .badge').className
                .replace('badge badge-', '');
        });
        return out;""")


def screenshot(browser, name, phone=False):
    """The whole page as a PNG in docs/: the viewport is made as tall as the
    page for the shot, so sticky parts sit where they would at the end."""
    import base64

    browser.execute_script("document.activeElement && document.activeElement.blur(); window.scrollTo(0, 0);")
    width = browser.execute_script("return window.innerWidth")
    height = browser.execute_cdp_cmd("Page.getLayoutMetrics", {})["cssContentSize"]["height"]
    browser.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
        "width": width, "height": int(height) + 1, "deviceScaleFactor": 2 if phone else 1, "mobile": phone})
    try:
        shot = browser.execute_cdp_cmd("Page.captureScreenshot", {"format": "png"})
    finally:
        browser.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
    screenshot_path(name).write_bytes(base64.b64decode(shot["data"]))


def screenshot_path(name) -> Path:
    """docs/NAME when it is missing or SOCIALPUB_SCREENSHOTS=docs asks to refresh
    it; otherwise a temp file, so that a test run does not rewrite the docs."""
    target = DOCS / name
    if target.exists() and os.environ.get("SOCIALPUB_SCREENSHOTS") != "docs":
        target = Path(tempfile.gettempdir()) / f"socialpub-{name}"
    target.parent.mkdir(parents=True, exist_ok=True)
    return target


def mark_page(browser):
    """A flag that survives only as long as the page is not reloaded."""
    browser.execute_script("window.__notReloaded = true;")


def still_same_page(browser):
    return browser.execute_script("return window.__notReloaded === true;")
