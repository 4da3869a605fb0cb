"""A video in the compose form, in headless Chromium (issue 31, item 5): chosen like a photo, it
goes up in parts by the tus protocol with its progress, becomes a tile with its poster, its length
and each channel's pre-flight; the kind of post is chosen per channel (the preview follows), and
the post's publications carry the kinds. When the connection drops mid-part, the page asks the
server how far it got and goes on from there; when it keeps dropping, it says where it stopped and
Resume goes on (the browser fixtures are conftest.py's)."""
from __future__ import annotations

import hashlib
import io
import socket

import pytest
from selenium.webdriver.support.ui import Select

from socialpub import db
from socialpub.models import Media
from tests.support.browser import wait
from tests.support.videos import make_video
from tests.web.test_media import upload

#: Instagram fetches the video from the app served on loopback (``public_server``).
pytestmark = pytest.mark.usefixtures("public_server")

#: Small parts, so that a small video goes up in several.
PART_BYTES = 16 * 1024

#: Records what the page's status line says, and every value its progress bar takes, as they happen.
WATCH_PROGRESS = """
window.__said = []; window.__progress = [];
new MutationObserver(function (changes) {
  changes.forEach(function (change) {
    var node = change.target.nodeType === 1 ? change.target : change.target.parentNode;
    if (node.matches && node.matches("progress")) window.__progress.push(+node.value);
    var status = node.closest && node.closest(".upload-status");
    if (status) window.__said.push(status.textContent);
  });
}).observe(document.getElementById("media-list"),
           {subtree: true, childList: true, characterData: true, attributes: true, attributeFilter: ["value"]});
"""


@pytest.fixture
def clip(tmp_path):
    return make_video(tmp_path / "launch.mp4", seconds=4, width=540, height=960)


def click(browser, element):
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", element)
    element.click()


def open_compose(browser, live_server, pauses="1000 3000 6000"):
    browser.get(f"{live_server}/compose")
    browser.execute_script(f"var list = document.getElementById('media-list'); list.dataset.partBytes = {PART_BYTES};"
                           f"list.dataset.retryPauses = {pauses!r};" + WATCH_PROGRESS)


def video_tile(browser):
    wait(browser, lambda d: d.find_elements("css selector", "#media-list li.video-tile input[name=media_ids]"),
         "the video's tile")
    return browser.find_element("css selector", "#media-list li.video-tile")


def test_a_video_chosen_in_the_compose_form_goes_up_in_parts_and_each_channel_gets_the_kind_chosen(
        browser, live_server, client, sandbox_channels, sandbox_client, clip):
    open_compose(browser, live_server)
    browser.find_element("id", "text").send_keys("Our launch, in four seconds")
    browser.find_element("id", "photos").send_keys(str(clip))
    tile = video_tile(browser)
    said = browser.execute_script("return window.__said")
    assert any("Uploading launch.mp4: " in s for s in said) and any("launch.mp4: 100 %" in s for s in said), said
    progress = browser.execute_script("return window.__progress")
    assert 0 < min(p for p in progress if p) < 100 and max(progress) == 100, progress
    assert tile.find_element("css selector", "img.poster").get_attribute("src").endswith("/thumbnail")
    assert "Video, 0:04" in tile.text
    checks = [li.text for li in tile.find_elements("css selector", ".video-checks li")]
    assert checks == ["✓ Facebook: fits a Facebook Reel", "✓ Instagram: fits an Instagram Reel",
                      "✓ LinkedIn: fits a LinkedIn video", "✓ WhatsApp: fits a WhatsApp video"]
    facebook = sandbox_channels["facebook"]
    # Every ticked channel's kinds, its network's first chosen; the preview follows the choice.
    kinds = Select(browser.find_element("id", f"video_kind_{facebook}"))
    assert [o.text for o in kinds.options] == ["a Facebook Reel", "a Facebook Story", "a Facebook video"]
    assert kinds.first_selected_option.get_attribute("value") == "reel"
    frame = browser.find_element("css selector", "#pane-facebook .preview-video")
    assert "preview-tall" in frame.get_attribute("class")
    kinds.select_by_value("story")
    wait(browser, lambda d: "Facebook: fits a Facebook Story" in tile.text, "the tile to say Facebook's new kind")
    assert "✓ The video fits a Facebook Story." in browser.find_element("id", f"video-fit-{facebook}").text
    assert "Story" in browser.find_element("css selector", "#pane-facebook .preview-kind").text
    tall = browser.execute_script("var r = document.querySelector('#pane-facebook .preview-video')"
                                  ".getBoundingClientRect(); return r.height / r.width;")
    wide = browser.execute_script("var r = document.querySelector('#pane-linkedin .preview-video')"
                                  ".getBoundingClientRect(); return r.width / r.height;")
    assert abs(tall - 16 / 9) < 0.05 and abs(wide - 16 / 9) < 0.05, (tall, wide)
    ticked = browser.execute_script(
        "return Array.from(document.querySelectorAll('input[name=channels]:checked'), b => b.dataset.network)")
    click(browser, browser.find_element("css selector", "button[name=action][value=publish]"))
    wait(browser, lambda d: "/posts/" in d.current_url, "the post page")
    post_id = int(browser.current_url.rstrip("/").rsplit("/", 1)[1])
    post = client.get(f"/api/posts/{post_id}").get_json()
    expected = {"facebook": "story", "instagram": "reel", "linkedin": "video", "whatsapp": "message"}
    assert {p["network"]: p["video_kind"] for p in post["publications"]} == {n: expected[n] for n in ticked}
    assert post["media"][0]["sha256"] == hashlib.sha256(clip.read_bytes()).hexdigest()
    wait(browser, lambda d: {i["network"] for i in sandbox_client.received()} >= set(ticked) - {"whatsapp"},
         "the networks to receive the video", timeout=60)
    held = {i["network"]: i.get("video") or {} for i in sandbox_client.received()}
    assert held["facebook"]["kind"] == "story" and held["instagram"]["kind"] == "reels"


class DroppingParts:
    """The app behind a connection that drops during the parts named in ``plan`` ({number of the
    PATCH: "half" — the server gets half of it, then the connection is cut —, or "none"}), as a
    phone's connection does; every PATCH's Upload-Offset is recorded."""

    def __init__(self, wsgi_app, plan):
        self.wsgi_app, self.plan, self.offsets = wsgi_app, dict(plan), []

    def __call__(self, environ, start_response):
        if environ["REQUEST_METHOD"] != "PATCH" or "/media/uploads/" not in environ["PATH_INFO"]:
            return self.wsgi_app(environ, start_response)
        self.offsets.append(int(environ["HTTP_UPLOAD_OFFSET"]))
        cut = self.plan.pop(len(self.offsets), None)
        if cut is None:
            return self.wsgi_app(environ, start_response)
        if cut == "half":
            length = int(environ["CONTENT_LENGTH"])
            environ["wsgi.input"] = io.BytesIO(environ["wsgi.input"].read(length // 2))
            self.wsgi_app(environ, lambda *args: None)  # keeps what came, then finds the body cut short
        environ["werkzeug.socket"].shutdown(socket.SHUT_RDWR)  # the browser gets no answer
        return []


@pytest.fixture
def dropping(app):
    """Cuts the 2nd part at half, then drops the 4th to the 7th (all three tries after it)."""
    wrapper = DroppingParts(app.wsgi_app, {2: "half", 4: "none", 5: "none", 6: "none", 7: "none"})
    app.wsgi_app = wrapper
    yield wrapper
    app.wsgi_app = wrapper.wsgi_app


def test_an_upload_whose_connection_drops_goes_on_from_the_servers_offset_and_resumes_when_asked(
        browser, live_server, sandbox_channels, clip, dropping):
    open_compose(browser, live_server, pauses="200 200 200")
    browser.find_element("id", "photos").send_keys(str(clip))
    stopped = "The upload stopped at {} %: check your connection, then Resume."
    wait(browser, lambda d: d.find_elements("css selector", "#media-list li.stopped"), "the upload to give up")
    # The part cut at half: the page asked how far the server got, and sent from there.
    half = PART_BYTES + PART_BYTES // 2
    assert dropping.offsets[:4] == [0, PART_BYTES, half, half + PART_BYTES], dropping.offsets
    said = browser.execute_script("return window.__said")
    assert any(s.startswith("The connection dropped at ") and "going on in" in s for s in said), said
    size = clip.stat().st_size
    status = browser.find_element("css selector", "#media-list li.stopped .upload-status")
    assert status.text == stopped.format((half + PART_BYTES) * 100 // size)
    resume = browser.find_element("css selector", "#media-list li.stopped [data-resume]")
    assert resume.is_displayed() and resume.get_attribute("aria-label") == "Resume the upload of launch.mp4"
    click(browser, resume)
    tile = video_tile(browser)
    assert "Video, 0:04" in tile.text
    assert dropping.offsets[7] == half + PART_BYTES  # Resume went on from where the server was
    with db.database.connection_context():
        media = Media.get_by_id(int(tile.get_attribute("data-id")))
    assert media.sha256 == hashlib.sha256(clip.read_bytes()).hexdigest() and media.size_bytes == size


def test_a_kind_the_video_does_not_fit_says_why_and_offers_the_kinds_it_fits(
        browser, live_server, client, sandbox_channels, tmp_path):
    """A landscape video from the library (?media=<id>): a Facebook Reel takes 9:16 only."""
    data = make_video(tmp_path / "landscape.mp4", seconds=4, width=320, height=180).read_bytes()
    media_id = upload(client, data, "landscape.mp4").get_json()["id"]
    facebook = sandbox_channels["facebook"]
    browser.get(f"{live_server}/compose?media={media_id}")
    browser.find_element("id", "text").send_keys("Wide")
    kinds = Select(browser.find_element("id", f"video_kind_{facebook}"))
    assert [o.text for o in kinds.options] == ["a Facebook Reel (does not fit)", "a Facebook Story",
                                               "a Facebook video"]
    fit = browser.find_element("id", f"video-fit-{facebook}")
    assert fit.text.startswith("✗ Not as a Facebook Reel: it is 320 × 180") and "9:16 (upright)" in fit.text
    offers = fit.find_elements("css selector", "button")
    assert [b.text for b in offers] == ["Post it as a Facebook Story", "Post it as a Facebook video"]
    tile = browser.find_element("css selector", "#media-list li.video-tile")
    assert "✗ Facebook: not as a Facebook Reel — it is 320 × 180" in tile.text
    assert "Facebook: the video does not fit a Facebook Reel" in browser.find_element("id", "warnings").text
    click(browser, offers[1])
    wait(browser, lambda d: "✓ The video fits a Facebook video." in fit.text, "the feed video chosen")
    assert kinds.first_selected_option.get_attribute("value") == "video"
    assert "✓ Facebook: fits a Facebook video" in tile.text
    frame = browser.find_element("css selector", "#pane-facebook .preview-video")
    assert "preview-wide" in frame.get_attribute("class")
    click(browser, browser.find_element("css selector", "button[name=action][value=draft]"))
    wait(browser, lambda d: "/posts/" in d.current_url, "the post page")
    post = client.get(f"/api/posts/{int(browser.current_url.rstrip('/').rsplit('/', 1)[1])}").get_json()
    assert {p["network"]: p["video_kind"] for p in post["publications"]}["facebook"] == "video"
