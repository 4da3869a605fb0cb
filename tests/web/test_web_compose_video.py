"""A video in the compose form through Flask's test client (issue 31, item 5): a video of the
library picked with ?media=<id> shows its poster, its length and each channel's kind of post
with the pre-flight, server-side; each channel's choice goes with the post as its version's
video_kind; a refusal keeps every choice and says why beside the channel's select."""
from __future__ import annotations

import html
import io
import re

import pytest

from socialpub import db
from socialpub.models import Publication
from tests.support.videos import make_video
from tests.support.web_helpers import field_errors, page, textarea
from tests.web.test_media import photo, upload


@pytest.fixture
def landscape(client, tmp_path) -> int:
    """A 4-second 16:9 video in the library: a Facebook Reel (9:16 only) refuses it."""
    data = make_video(tmp_path / "landscape.mp4", seconds=4, width=320, height=180).read_bytes()
    response = upload(client, data, "landscape.mp4")
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


def selected(html_text: str, name: str) -> str:
    """The value of select ``name``'s selected option."""
    select = re.search(rf'<select[^>]*\bname="{name}"[^>]*>(.*?)</select>', html_text, re.S)
    assert select, f"no select {name!r}"
    chosen = re.search(r'<option value="([^"]*)"[^>]*\bselected', select.group(1))
    return chosen.group(1) if chosen else ""


def options(html_text: str, name: str) -> dict:
    """``{value: text}`` of select ``name``'s options."""
    select = re.search(rf'<select[^>]*\bname="{name}"[^>]*>(.*?)</select>', html_text, re.S)
    return {v: html.unescape(t) for v, t in re.findall(r'<option value="([^"]*)"[^>]*>(.*?)</option>', select.group(1))}


def form_key(form_client) -> str:
    return re.search(r'name="form_key" value="([0-9a-f]+)"', page(form_client.get("/compose"))).group(1)


def kinds_of(post_id: int) -> dict:
    with db.database.connection_context():
        return {p.network: p.video_kind for p in Publication.select().where(Publication.post == post_id)}


def test_a_video_picked_from_the_library_shows_its_poster_length_and_each_channels_kind_with_its_fit(
        form_client, sandbox_channels, landscape):
    text = page(form_client.get(f"/compose?media={landscape}"))
    assert f'name="media_ids" value="{landscape}"' in text
    assert f'class="poster" src="/api/media/{landscape}/thumbnail"' in text
    assert "Video, 0:04" in text
    facebook, instagram = sandbox_channels["facebook"], sandbox_channels["instagram"]
    # Each network's first kind by default, its select enabled (sent with the form).
    assert selected(text, f"video_kind_{facebook}") == "reel"
    assert selected(text, f"video_kind_{instagram}") == "reel"
    assert not re.search(rf'<select[^>]*name="video_kind_{facebook}"[^>]*disabled', text)
    assert options(text, f"video_kind_{facebook}") == {
        "reel": "a Facebook Reel (does not fit)", "story": "a Facebook Story", "video": "a Facebook video"}
    fit = html.unescape(re.search(rf'id="video-fit-{facebook}"[^>]*>(.*?)</p>', text, re.S).group(1))
    assert fit.startswith("✗ Not as a Facebook Reel: it is 320 × 180")
    assert "it is 320 × 180 (16:9); a Facebook Reel takes 9:16 (upright) videos" in fit
    assert "It fits a Facebook Story or a Facebook video" in fit
    checks = html.unescape(re.search(r'<ul class="video-checks"[^>]*>(.*?)</ul>', text, re.S).group(1))
    assert "Instagram: fits an Instagram Reel" in checks
    assert "Facebook: not as a Facebook Reel — it is 320 × 180" in checks and "9:16 (upright)" in checks


def test_without_a_video_each_channels_kind_is_hidden_and_not_sent(form_client, sandbox_channels):
    text = page(form_client.get("/compose"))
    facebook = sandbox_channels["facebook"]
    assert re.search(rf'<select[^>]*name="video_kind_{facebook}"[^>]*disabled', text)
    # A photo post sent with a stray kind (a page script that left one enabled) is a photo post.
    response = form_client.post("/compose", data={
        "form_key": form_key(form_client), "text": "A photo", "action": "draft", "channels": [str(facebook)],
        f"video_kind_{facebook}": "story", "photos": [(io.BytesIO(photo()), "p.jpg")]},
        content_type="multipart/form-data")
    assert response.status_code == 302, page(response)
    assert kinds_of(int(response.headers["Location"].rsplit("/", 1)[1])) == {"facebook": None}


def test_each_channels_kind_chosen_in_the_form_goes_with_the_post(form_client, sandbox_channels, landscape):
    channels = sandbox_channels
    response = form_client.post("/compose", data={
        "form_key": form_key(form_client), "text": "A landscape video", "action": "draft",
        "channels": [str(channels[n]) for n in ("facebook", "instagram", "linkedin")], "media_ids": [str(landscape)],
        f"video_kind_{channels['facebook']}": "story", f"video_kind_{channels['instagram']}": "story",
        f"video_kind_{channels['linkedin']}": "video", f"video_kind_{channels['whatsapp']}": "message"})
    assert response.status_code == 302, page(response)
    post_id = int(response.headers["Location"].rsplit("/", 1)[1])
    # WhatsApp was not ticked: its select sent nothing.
    assert kinds_of(post_id) == {"facebook": "story", "instagram": "story", "linkedin": "video"}
    edit = page(form_client.get(f"/posts/{post_id}/edit"))
    assert selected(edit, f"video_kind_{channels['facebook']}") == "story"
    assert selected(edit, f"video_kind_{channels['instagram']}") == "story"


def test_a_refused_form_keeps_each_channels_kind_and_says_beside_its_select_why_the_video_does_not_fit(
        form_client, sandbox_channels, landscape):
    facebook, linkedin = sandbox_channels["facebook"], sandbox_channels["linkedin"]
    response = form_client.post("/compose", data={
        "form_key": form_key(form_client), "text": "Kept as typed", "action": "publish",
        "channels": [str(facebook), str(linkedin)], "media_ids": [str(landscape)],
        f"video_kind_{facebook}": "reel", f"video_kind_{linkedin}": "video"})
    assert response.status_code == 422
    text = page(response)
    assert textarea(text, "text") == "Kept as typed"
    assert f'name="media_ids" value="{landscape}"' in text
    assert selected(text, f"video_kind_{facebook}") == "reel" and selected(text, f"video_kind_{linkedin}") == "video"
    why = " ".join(field_errors(text, f"video_kind_{facebook}"))
    assert "The video: it is 320 × 180 (16:9); a Facebook Reel takes 9:16 (upright) videos" in why
    assert 'href="#video_kind_%d">Facebook post type: The video' % facebook in html.unescape(text)
    # Chosen as a feed video instead, it goes.
    again = form_client.post("/compose", data={
        "form_key": form_key(form_client), "text": "Kept as typed", "action": "draft",
        "channels": [str(facebook)], "media_ids": [str(landscape)], f"video_kind_{facebook}": "video"})
    assert again.status_code == 302, page(again)


def test_a_kind_a_network_does_not_have_is_refused_beside_the_channels_select(
        form_client, sandbox_channels, landscape):
    linkedin = sandbox_channels["linkedin"]
    response = form_client.post("/compose", data={
        "form_key": form_key(form_client), "text": "A LinkedIn Reel?", "action": "draft",
        "channels": [str(linkedin)], "media_ids": [str(landscape)], f"video_kind_{linkedin}": "reel"})
    assert response.status_code == 422
    [why] = field_errors(page(response), f"video_kind_{linkedin}")
    assert "LinkedIn takes a video as 'video'" in why


def test_a_video_sent_with_the_form_itself_becomes_the_posts_video_and_its_kinds_are_offered(
        form_client, sandbox_channels, tmp_path):
    """Without the page's script the file goes with the form: a refusal brings the form back
    with the video kept and each channel's select to choose from."""
    clip = make_video(tmp_path / "wide.mp4", seconds=4, width=320, height=180).read_bytes()
    facebook = sandbox_channels["facebook"]
    response = form_client.post("/compose", data={
        "form_key": form_key(form_client), "text": "Sent without a script", "action": "publish",
        "channels": [str(facebook)], "photos": [(io.BytesIO(clip), "wide.mp4")]}, content_type="multipart/form-data")
    assert response.status_code == 422
    text = page(response)
    media_id = int(re.search(r'<li class="video-tile" data-id="(\d+)"', text).group(1))
    assert f'name="media_ids" value="{media_id}"' in text and "Video, 0:04" in text
    assert selected(text, f"video_kind_{facebook}") == "reel"
    assert "9:16 (upright)" in " ".join(field_errors(text, f"video_kind_{facebook}"))
    again = form_client.post("/compose", data={
        "form_key": form_key(form_client), "text": "Sent without a script", "action": "draft",
        "channels": [str(facebook)], "media_ids": [str(media_id)], f"video_kind_{facebook}": "video"})
    assert again.status_code == 302, page(again)
    assert kinds_of(int(again.headers["Location"].rsplit("/", 1)[1])) == {"facebook": "video"}
