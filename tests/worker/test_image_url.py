"""A post's ``image_url`` (the API's image by URL) is fetched once, through the
outbound guard, into the media store, and every network gets those bytes:
Facebook, LinkedIn and WhatsApp the bytes themselves, Instagram a public URL of
the copy (or, where the installation has no public URL, the original one)."""
import datetime as dt
import hashlib
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import dramatiq
import pytest

from socialpub import db
from socialpub.media import library
from socialpub.models import ImageFetch, Post, utcnow
from tests.web.test_media import photo

PNG = photo(fmt="PNG", size=(1080, 1080))


class ImageHost:
    """A web server on loopback holding the images posts name, counting the GETs."""

    def __init__(self):
        self.files = {"/photo.png": ("image/png", PNG), "/notes.jpg": ("image/jpeg", b"not an image at all")}
        self.gets: list = []
        #: Paths whose answer waits until their event is set.
        self.held: dict = {}
        host = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                host.gets.append(self.path)
                if self.path in host.held:
                    host.held[self.path].wait(timeout=30)
                content_type, body = host.files.get(self.path, ("text/plain", None))
                self.send_response(200 if body is not None else 404)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body or b"")))
                self.end_headers()
                self.wfile.write(body or b"")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def image_host():
    host = ImageHost()
    yield host
    host.server.shutdown()
    host.server.server_close()


def published(client, post_id) -> dict:
    return {p["network"]: p for p in client.get(f"/api/posts/{post_id}").get_json()["publications"]}


def test_an_image_url_is_fetched_once_and_every_network_gets_its_bytes(
        client, sandbox_channels, sandbox_client, drain, image_host, anon_client, public_server):
    response = client.post("/api/posts", json={"text": "One URL, four networks", "publish": True,
                                               "image_url": f"{image_host.url}/photo.png"})
    assert response.status_code == 201, response.get_json()
    drain()
    post_id = response.get_json()["id"]
    assert {n: p["status"] for n, p in published(client, post_id).items()} == dict.fromkeys(
        ("facebook", "instagram", "linkedin", "whatsapp"), "published")
    assert image_host.gets == ["/photo.png"]
    received = {item["network"]: item for item in sandbox_client.received()}
    digest = hashlib.sha256(PNG).hexdigest()
    for network in ("facebook", "linkedin", "whatsapp"):
        assert received[network]["image_sha256"] == digest, network
    # Instagram fetched this app's copy, as the JPEG it takes, without signing in.
    url = received["instagram"]["image"]
    assert url.startswith(f"{public_server.url}/m/")
    served = anon_client.get(urlsplit(url).path)
    assert served.status_code == 200 and served.mimetype == "image/jpeg"
    with db.database.connection_context():
        fetch = ImageFetch.get_by_id(post_id)
        assert fetch.url == f"{image_host.url}/photo.png" and fetch.media.sha256 == digest


def test_without_a_public_url_instagram_gets_the_original_one(
        client, sandbox_channels, sandbox_client, drain, image_host):
    url = f"{image_host.url}/photo.png"
    response = client.post("/api/posts", json={"text": "Instagram keeps the URL", "publish": True,
                                               "networks": ["instagram", "facebook"], "image_url": url})
    assert response.status_code == 201, response.get_json()
    drain()
    received = {item["network"]: item for item in sandbox_client.received()}
    assert received["instagram"]["image"] == url
    assert received["facebook"]["image_sha256"] == hashlib.sha256(PNG).hexdigest()


def test_a_url_that_is_not_an_image_fails_the_post_saying_so_and_keeps_nothing(
        client, sandbox_channels, sandbox_client, drain, image_host, settings):
    response = client.post("/api/posts", json={"text": "Not an image", "publish": True,
                                               "networks": ["facebook", "linkedin"],
                                               "image_url": f"{image_host.url}/notes.jpg"})
    assert response.status_code == 201, response.get_json()
    drain()
    publications = published(client, response.get_json()["id"])
    for network in ("facebook", "linkedin"):
        assert publications[network]["status"] == "failed"
        assert "the photo: " in publications[network]["last_error"]
        assert "not an image" in publications[network]["last_error"]
    assert sandbox_client.received() == []
    with db.database.connection_context():
        fetch = ImageFetch.get()  # the claim was given up, saying why: a retry fetches again
        assert fetch.media is None and "not an image" in fetch.error
        assert library.Media.select().count() == 0


def test_a_fetch_left_by_a_worker_that_died_is_taken_over(
        client, sandbox_channels, sandbox_client, broker, settings, image_host):
    response = client.post("/api/posts", json={"text": "Taken over", "networks": ["facebook"],
                                               "image_url": f"{image_host.url}/photo.png"})
    post_id = response.get_json()["id"]
    with db.database.connection_context():  # a worker claimed the fetch long ago, then was killed
        ImageFetch.create(post=post_id, url=f"{image_host.url}/photo.png",
                          claimed_at=utcnow() - dt.timedelta(hours=1))
    # Only now a worker: the fetch the post's creation asked for waited in the queue, as it would have
    # behind the worker that died (started before the claim above, it could take the fetch first).
    worker = dramatiq.Worker(broker, worker_threads=8, worker_timeout=100)
    worker.start()
    try:
        client.post(f"/api/posts/{post_id}/publish")
        broker.join(settings.queue_name, timeout=60_000)
        worker.join()
    finally:
        worker.stop()
    assert published(client, post_id)["facebook"]["status"] == "published"
    assert image_host.gets == ["/photo.png"]


def test_an_image_given_at_publish_time_replaces_the_one_fetched_before(
        client, sandbox_channels, sandbox_client, drain, image_host, sandbox):
    response = client.post("/api/posts", json={"text": "Changed image", "networks": ["facebook"],
                                               "image_url": f"{image_host.url}/photo.png"})
    post_id = response.get_json()["id"]
    drain()  # fetched when the post was created
    with db.database.connection_context():
        assert ImageFetch.get_by_id(post_id).media_id is not None
    client.post(f"/api/posts/{post_id}/publish", json={"image_url": f"{sandbox.url}/_sandbox/image.jpg"})
    drain()
    item = sandbox_client.received("facebook")[0]
    assert item["image_sha256"] != hashlib.sha256(PNG).hexdigest()
    with db.database.connection_context():
        assert ImageFetch.get_by_id(post_id).url == f"{sandbox.url}/_sandbox/image.jpg"
        assert Post.get_by_id(post_id).image_url == f"{sandbox.url}/_sandbox/image.jpg"


def test_a_fetched_image_is_kept_while_its_post_exists(client, sandbox_channels, drain, image_host, settings):
    response = client.post("/api/posts", json={"text": "Kept", "networks": ["facebook"], "publish": True,
                                               "image_url": f"{image_host.url}/photo.png"})
    drain()
    post_id = response.get_json()["id"]
    with db.database.connection_context():
        media_id = ImageFetch.get_by_id(post_id).media_id
    refused = client.delete(f"/api/media/{media_id}")
    assert refused.status_code == 409 and f"post {post_id}" in refused.get_json()["error"]["message"]
    with db.database.connection_context():
        assert library.prune_unused(settings, now=utcnow() + dt.timedelta(days=365)) == 0
    client.delete(f"/api/posts/{post_id}?include_history=true")
    with db.database.connection_context():
        assert library.prune_unused(settings, now=utcnow() + dt.timedelta(days=365)) == 1


@pytest.mark.settings(media_max_bytes=100)
def test_an_image_url_larger_than_the_limit_is_refused_naming_it(client, sandbox_channels, drain, image_host):
    url = f"{image_host.url}/photo.png"
    response = client.post("/api/posts", json={"text": "Too big", "networks": ["linkedin"], "publish": True,
                                               "image_url": url})
    drain()
    [publication] = client.get(f"/api/posts/{response.get_json()['id']}").get_json()["publications"]
    assert publication["status"] == "failed"
    assert f"the photo: {len(PNG)} bytes, more than the 100 allowed" in publication["last_error"]
