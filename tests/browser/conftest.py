"""The browser tests' fixtures: one headless Chromium for the session (Debian's chromium and
chromium-driver, driven by selenium — nothing downloads a browser), a clean window per test,
and the app served on loopback with a worker, signed in through the sign-in form.

Without Chromium the tests fail when CI=true and are skipped, saying why, elsewhere.
"""
from __future__ import annotations

import os
import shutil
import threading

import pytest
from werkzeug.serving import make_server

from tests.conftest import TEST_EMAIL, TEST_PASSWORD
from tests.support.browser import wait

DRIVER_PATHS = ("/usr/bin/chromedriver", "chromedriver")
BROWSER_PATHS = ("/usr/bin/chromium", "chromium", "chromium-browser")
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--window-size=1280,900", "--lang=en-GB")


def unavailable(reason: str):
    message = (f"browser tests need Debian's chromium and chromium-driver: {reason} "
               f"(apt-get install -y chromium chromium-driver; .ci/run does it)")
    if os.environ.get("CI", "").lower() in ("true", "1"):
        pytest.fail(message, pytrace=False)
    print(f"skipping browser tests: {message}")
    pytest.skip(message)


def first_found(candidates):
    for candidate in candidates:
        found = shutil.which(candidate)
        if found:
            return found
    return None


@pytest.fixture(scope="session")
def chrome(tmp_path_factory):
    """One headless Chromium for the session, with its own throwaway profile."""
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.options import Options
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        unavailable("the selenium package is missing (pip install -e '.[test]')")
    browser, driver = first_found(BROWSER_PATHS), first_found(DRIVER_PATHS)
    if not browser or not driver:
        unavailable(f"{'chromium' if not browser else 'chromedriver'} not found on PATH")
    options = Options()
    options.binary_location = browser
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}")
    # Both paths are given, so selenium never runs Selenium Manager to fetch anything.
    session = webdriver.Chrome(service=Service(executable_path=driver), options=options)
    yield session
    session.quit()


@pytest.fixture
def browser(chrome):
    chrome.delete_all_cookies()
    chrome.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
    # A test that shows the pages in another zone leaves the shared browser there otherwise ("" lifts it).
    chrome.execute_cdp_cmd("Emulation.setTimezoneOverride", {"timezoneId": ""})
    chrome.set_window_size(1280, 900)
    return chrome


@pytest.fixture
def live_server(app, worker, sandbox_channels, browser):
    """The app on a free loopback port, served from a thread, with an in-process
    worker; the browser signs in through the sign-in form first."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="web-under-test", daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.port}"
    browser.get(f"{url}/compose")
    wait(browser, lambda d: "/sign-in" in d.current_url, "the sign-in page")
    browser.find_element("id", "email").send_keys(TEST_EMAIL)
    browser.find_element("id", "password").send_keys(TEST_PASSWORD)
    browser.find_element("css selector", "#sign-in-form button[type=submit]").click()
    wait(browser, lambda d: d.current_url == f"{url}/compose", "the compose page after signing in")
    yield url
    server.shutdown()
    server.server_close()
    thread.join(5)
