"""Photos in headless Chromium: three photos chosen in the compose form are
uploaded with their progress, shown as thumbnails, put in another order with
the keyboard's buttons, and published to the four networks — each network
gets the same three images' bytes, in the order chosen (the browser fixtures
are test_browser.py's)."""
import hashlib
from urllib.parse import urlsplit

import pytest
import requests

from tests.support.browser import screenshot, wait
from tests.web.test_media import photo

#: Instagram's links point at the app served on loopback (``public_server``), where the sandbox fetches them.
pytestmark = pytest.mark.usefixtures("public_server")


def click(browser, element):  # noqa: F811
    """Click ``element`` once it is in the middle of the window (not under the sticky header)."""
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", element)
    element.click()


def test_three_photos_chosen_in_the_compose_form_reach_every_network_in_the_order_chosen(
        browser, live_server, sandbox_client, tmp_path):  # noqa: F811
    datas = [photo(size=(1080, 1080), color=c) for c in ((220, 40, 40), (40, 220, 40), (40, 40, 220))]
    paths = []
    for number, data in enumerate(datas, start=1):
        path = tmp_path / f"photo-{number}.jpg"
        path.write_bytes(data)
        paths.append(str(path))
    browser.get(f"{live_server}/compose")
    browser.find_element("id", "text").send_keys("Three photos from the computer")
    browser.find_element("id", "photos").send_keys("\n".join(paths))
    wait(browser, lambda d: len(d.find_elements("css selector", "#media-list input[name=media_ids]")) == 3,
         "the three photos uploaded")
    # The third one first: its "earlier" button, twice.
    for position in (2, 1):
        click(browser, browser.find_elements("css selector", "#media-list li")[position]
              .find_element("css selector", "[data-move='-1']"))
    order = [e.get_attribute("alt") for e in browser.find_elements("css selector", "#media-list img")]
    assert order == ["photo-3.jpg", "photo-1.jpg", "photo-2.jpg"]
    screenshot(browser, "compose-photos.png")
    click(browser, browser.find_element("css selector", "button[name=action][value=publish]"))
    wait(browser, lambda d: "/posts/" in d.current_url, "the post page")
    assert len(browser.find_elements("css selector", ".post-media img")) == 3
    wait(browser, lambda d: len(sandbox_client.received()) == 4, "every network to receive the post")
    digests = [hashlib.sha256(datas[i]).hexdigest() for i in (2, 0, 1)]
    received = {r["network"]: r for r in sandbox_client.received()}
    for network in ("facebook", "linkedin"):
        assert [i["sha256"] for i in received[network]["images"]] == digests, network
    carousel = [requests.get(live_server + urlsplit(i["url"]).path, timeout=5).content
                for i in received["instagram"]["images"]]
    assert [hashlib.sha256(c).hexdigest() for c in carousel] == digests
    assert received["whatsapp"]["image_sha256"] == digests[0]


def test_a_file_that_is_not_an_image_is_refused_in_the_form_and_nothing_is_kept(
        browser, live_server, tmp_path):  # noqa: F811
    fake = tmp_path / "holiday.jpg"
    fake.write_text("Dear diary, today I renamed a text file.\n" * 40)
    browser.get(f"{live_server}/compose")
    browser.find_element("id", "photos").send_keys(str(fake))
    wait(browser, lambda d: d.find_elements("css selector", "#media-list .error"), "the refusal")
    assert "holiday.jpg: not an image" in browser.find_element("css selector", "#media-list .error").text
    assert browser.find_elements("css selector", "#media-list input[name=media_ids]") == []
