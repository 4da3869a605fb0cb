"""Approval approves an image, not a URL: a post's image_url is fetched into
the media store when it is submitted for approval, the reviewer is shown that
copy (the page never loads the image's own address), the approval is of those
bytes, and publishing sends exactly them — even when the image's host serves
other bytes afterwards."""
from __future__ import annotations

import hashlib
import re
import threading

import pytest

from socialpub import db
from socialpub.models import Channel

from tests.worker.test_image_url import PNG, image_host  # noqa: F401 (a fixture)
from tests.web.test_media import photo

OTHER_PNG = photo(fmt="PNG", size=(1080, 1080), color=(10, 200, 90))


@pytest.fixture
def facebook_needs_approval(sandbox_channels):
    with db.database.connection_context():
        Channel.update(requires_approval=True).where(Channel.id == sandbox_channels["facebook"]).execute()
    return sandbox_channels["facebook"]


def submitted(editor, url) -> int:
    response = editor.post("/api/posts", json={"text": "Approve what you see", "networks": ["facebook"],
                                               "image_url": url, "publish": True})
    assert response.status_code == 201 and response.get_json()["status"] == "awaiting_approval"
    return response.get_json()["id"]


def external_images(page: str) -> list:
    """Every <img> whose address is another host's (the app's own are paths)."""
    return [src for src in re.findall(r'<img[^>]*\ssrc="([^"]*)"', page) if not src.startswith("/")]


def hidden(page: str, name: str) -> str:
    return re.search(rf'name="{name}" value="([^"]*)"', page).group(1)


def test_the_bytes_published_are_the_ones_the_reviewer_saw_though_the_host_changes_them(
        form_client, member, facebook_needs_approval, image_host, drain, sandbox_client):
    editor = member("editor")
    post_id = submitted(editor, f"{image_host.url}/photo.png")
    drain()  # the worker fetches the image for the review
    page = form_client.get(f"/posts/{post_id}").get_data(as_text=True)
    assert external_images(page) == []
    seen = hidden(page, "seen_image")
    assert seen == hashlib.sha256(PNG).hexdigest()
    assert re.search(r'<img[^>]*src="/api/media/\d+/thumbnail"', page)
    image_host.files["/photo.png"] = ("image/png", OTHER_PNG)  # cloaking, or simply a new file
    approved = form_client.post(f"/posts/{post_id}/approve", data={"seen": hidden(page, "seen"), "seen_image": seen},
                                follow_redirects=True)
    assert "Approved" in approved.get_data(as_text=True)
    drain()
    received = sandbox_client.received("facebook")
    assert [item["image_sha256"] for item in received] == [seen]
    assert image_host.gets == ["/photo.png"]


def test_until_its_copy_is_fetched_the_reviewer_is_told_and_approval_waits(
        client, form_client, member, facebook_needs_approval, image_host, drain, sandbox_client):
    image_host.held["/photo.png"] = release = threading.Event()
    editor = member("editor")
    post_id = submitted(editor, f"{image_host.url}/photo.png")
    page = form_client.get(f"/posts/{post_id}").get_data(as_text=True)
    assert "The image is being fetched" in page and external_images(page) == []
    early = client.post(f"/api/posts/{post_id}/approve")
    assert early.status_code == 409, early.get_json()
    assert "still being fetched" in early.get_json()["error"]["message"]
    release.set()
    drain()
    page = form_client.get(f"/posts/{post_id}").get_data(as_text=True)
    assert hidden(page, "seen_image") == hashlib.sha256(PNG).hexdigest()
    assert client.post(f"/api/posts/{post_id}/approve").status_code == 200
    drain()
    assert [i["image_sha256"] for i in sandbox_client.received("facebook")] == [hashlib.sha256(PNG).hexdigest()]


def test_a_fetch_that_failed_is_shown_and_approval_says_why(
        client, form_client, member, facebook_needs_approval, image_host, drain, sandbox_client):
    editor = member("editor")
    post_id = submitted(editor, f"{image_host.url}/notes.jpg")  # not an image
    drain()
    page = form_client.get(f"/posts/{post_id}").get_data(as_text=True)
    assert "not a photo socialpub can send" in page and "not an image" in page
    refused = client.post(f"/api/posts/{post_id}/approve")
    assert refused.status_code == 409 and "could not be fetched" in refused.get_json()["error"]["message"]
    drain()
    assert sandbox_client.received() == []


def test_approving_another_copy_than_the_one_seen_is_refused(
        client, member, facebook_needs_approval, image_host, drain):
    editor = member("editor")
    post_id = submitted(editor, f"{image_host.url}/photo.png")
    drain()
    stale = client.post(f"/api/posts/{post_id}/approve",
                        json={"seen_image_sha256": hashlib.sha256(OTHER_PNG).hexdigest()})
    assert stale.status_code == 409 and "not the one you saw" in stale.get_json()["error"]["message"]


def test_no_page_makes_the_browser_load_an_image_from_another_host(client, form_client, sandbox_channels,
                                                                    image_host, drain):
    draft = client.post("/api/posts", json={"text": "A draft with an image", "networks": ["facebook"],
                                            "image_url": f"{image_host.url}/photo.png"}).get_json()["id"]
    published = client.post("/api/posts", json={"text": "Published with an image", "networks": ["facebook"],
                                                "image_url": f"{image_host.url}/photo.png",
                                                "publish": True}).get_json()["id"]
    drain()
    for path in (f"/posts/{draft}", f"/posts/{published}", "/posts"):
        page = form_client.get(path).get_data(as_text=True)
        assert external_images(page) == [], path
    # The link to the original says nothing of where it was found.
    page = form_client.get(f"/posts/{draft}").get_data(as_text=True)
    assert f'href="{image_host.url}/photo.png" target="_blank" rel="noopener noreferrer" referrerpolicy="no-referrer"' in page
    assert re.search(r'<img[^>]*src="/api/media/\d+/thumbnail"', form_client.get(f"/posts/{published}").get_data(as_text=True))
