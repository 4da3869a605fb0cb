"""Posts with an uploaded photo, each network getting it its own way (against
the sandbox): Facebook the bytes as multipart ``source``, LinkedIn the bytes
through its Images API, WhatsApp one media upload named by every recipient's
message, Instagram a public URL it fetches (this app's signed one, or S3's
presigned one) — and what cannot work refused when the post is composed."""
import hashlib
import io
from urllib.parse import urlsplit

import pytest
from PIL import Image

from socialpub import db
from socialpub.media import public

from tests.web.test_media import photo, upload

#: This app is served on loopback and is its own PUBLIC_BASE_URL: the sandbox's Instagram fetches the photos.
pytestmark = pytest.mark.usefixtures("public_server")


def uploaded(client, data):
    response = upload(client, data)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def by_network(sandbox_client):
    return {item["network"]: item for item in sandbox_client.received()}


def test_one_photo_reaches_every_network_as_the_same_bytes(client, sandbox_channels, sandbox_client, drain,
                                                          public_server):
    # Two WhatsApp recipients: one upload for both.
    added = client.post(f"/api/channels/{sandbox_channels['whatsapp']}/contacts", json={
        "phone": "+16505551235", "opted_in": True, "opt_in_method": "a test"})
    assert added.status_code == 201, added.get_json()
    data = photo(size=(1080, 1080))
    media = uploaded(client, data)
    post = client.post("/api/posts", json={"text": "One photo, four networks", "media_ids": [media["id"]],
                                           "publish": True})
    assert post.status_code == 201, post.get_json()
    assert [m["id"] for m in client.get(f"/api/posts/{post.get_json()['id']}").get_json()["media"]] == [media["id"]]
    drain()
    statuses = {p["network"]: p["status"] for p in client.get(f"/api/posts/{post.get_json()['id']}")
                .get_json()["publications"]}
    assert set(statuses.values()) == {"published"}, statuses
    received = sandbox_client.received()
    digest = hashlib.sha256(data).hexdigest()
    for network in ("facebook", "linkedin", "whatsapp"):
        items = [i for i in received if i["network"] == network]
        assert items and all(i["image_sha256"] == digest and i["image_bytes"] == len(data) for i in items), network
    assert len([i for i in received if i["network"] == "whatsapp"]) == 2
    uploads = [r for r in sandbox_client.requests(everything=True)
               if r["network"] == "whatsapp" and r["path"].endswith("/media")]
    assert len(uploads) == 1
    # Instagram was given this app's signed URL, which serves the same bytes without signing in.
    url = by_network(sandbox_client)["instagram"]["image"]
    assert url.startswith(f"{public_server.url}/m/")
    served = client.get(urlsplit(url).path)
    assert served.status_code == 200 and served.data == data


def test_a_png_goes_as_it_is_where_it_is_taken_and_as_a_jpeg_to_instagram(
        client, sandbox_channels, sandbox_client, drain, anon_client):
    data = photo(fmt="PNG", size=(1080, 1350))
    media = uploaded(client, data)
    response = client.post("/api/posts", json={"text": "A PNG", "media_ids": [media["id"]], "publish": True,
                                               "networks": ["facebook", "instagram"]})
    assert response.status_code == 201, response.get_json()
    drain()
    received = by_network(sandbox_client)
    assert received["facebook"]["image_sha256"] == hashlib.sha256(data).hexdigest()
    served = anon_client.get(urlsplit(received["instagram"]["image"]).path)
    assert served.status_code == 200 and served.mimetype == "image/jpeg"
    assert Image.open(io.BytesIO(served.data)).format == "JPEG"


def test_a_forged_or_expired_public_url_serves_nothing(client, anon_client, settings, monkeypatch, sandbox_channels):
    media = uploaded(client, photo())
    with db.database.connection_context():
        from socialpub.models import Media

        row = Media.get_by_id(media["id"])
    url = public.public_url(settings, row, row.storage_key)
    path = urlsplit(url).path
    assert anon_client.get(path).status_code == 200
    assert anon_client.get(path[:-3] + "abc").status_code == 404
    assert anon_client.get(f"/m/{path.rsplit('/', 1)[1][::-1]}").status_code == 404
    monkeypatch.setattr(public, "LIFETIME_S", -1)
    assert anon_client.get(path).status_code == 404


def test_instagram_with_an_upload_and_no_public_address_is_refused_when_composed_to_go_out(
        app, client, sandbox_channels):
    app.extensions["socialpub"] = app.extensions["socialpub"].with_(public_base_url="")
    media = uploaded(client, photo(size=(1080, 1080)))
    response = client.post("/api/posts", json={"text": "Hi", "media_ids": [media["id"]], "publish": True})
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["field"] == "media_ids" and "PUBLIC_BASE_URL" in error["message"]
    assert "instagram" in error["message"] and {d["network"] for d in error["details"]} == {"instagram"}
    # The other networks take the bytes themselves.
    fine = client.post("/api/posts", json={"text": "Hi", "media_ids": [media["id"]], "publish": True,
                                           "networks": ["facebook", "linkedin", "whatsapp"]})
    assert fine.status_code == 201, fine.get_json()


def test_an_image_outside_instagrams_aspect_ratios_is_refused_naming_it(client, sandbox_channels):
    media = uploaded(client, photo(size=(3000, 1000)))
    response = client.post("/api/posts", json={"text": "Panorama", "media_ids": [media["id"]],
                                               "networks": ["instagram"], "publish": True})
    assert response.status_code == 422
    message = response.get_json()["error"]["message"]
    assert "image 1 is 3000 × 1000" in message and "4:5" in message and "1.91:1" in message


@pytest.mark.parametrize("media_ids,status,words", [
    ([999999], 422, "no media with id 999999"),
    ("1", 400, "must be a list of media ids"),
    ([1, 1], 400, "media_ids"),
    (list(range(1, 12)), 400, "at most 10"),
])
def test_bad_media_ids_are_refused_naming_the_field(client, sandbox_channels, media_ids, status, words):
    response = client.post("/api/posts", json={"text": "Hi", "media_ids": media_ids, "networks": ["facebook"]})
    assert response.status_code == status
    assert response.get_json()["error"]["field"] == "media_ids" and words in response.get_json()["error"]["message"]


def test_uploaded_media_and_an_image_url_are_not_both_taken(client, sandbox_channels, sandbox):
    media = uploaded(client, photo())
    response = client.post("/api/posts", json={"text": "Hi", "media_ids": [media["id"]], "networks": ["facebook"],
                                               "image_url": f"{sandbox.url}/_sandbox/image.jpg"})
    assert response.status_code == 400 and "not both" in response.get_json()["error"]["message"]


def test_three_photos_make_each_networks_own_multi_image_post_in_order(
        client, sandbox_channels, sandbox_client, drain):
    datas = [photo(size=(1080, 1080), color=c) for c in ((200, 30, 30), (30, 200, 30), (30, 30, 200))]
    ids = [uploaded(client, d)["id"] for d in datas]
    digests = [hashlib.sha256(d).hexdigest() for d in datas]
    post = client.post("/api/posts", json={"text": "Three photos", "media_ids": ids, "publish": True})
    assert post.status_code == 201, post.get_json()
    drain()
    statuses = {p["network"]: p["status"] for p in client.get(f"/api/posts/{post.get_json()['id']}")
                .get_json()["publications"]}
    assert set(statuses.values()) == {"published"}, statuses
    received = by_network(sandbox_client)
    # Facebook: one post with the three photos attached; LinkedIn: one multiImage post.
    for network in ("facebook", "linkedin"):
        assert [i["sha256"] for i in received[network]["images"]] == digests, network
        assert all((i["width"], i["height"]) == (1080, 1080) for i in received[network]["images"])
    assert len([i for i in sandbox_client.received() if i["network"] in ("facebook", "linkedin")]) == 2
    # Instagram: one carousel whose items are the three images, fetched from this app's signed URLs.
    carousel = [urlsplit(i["url"]).path for i in received["instagram"]["images"]]
    assert [hashlib.sha256(client.get(path).data).hexdigest() for path in carousel] == digests
    # WhatsApp: a message carries one image — the first, with the text.
    assert received["whatsapp"]["image_sha256"] == digests[0] and received["whatsapp"]["text"] == "Three photos"


def test_a_failed_carousel_item_fails_the_instagram_post_saying_so_and_nothing_is_published(
        client, sandbox_channels, sandbox_client, drain):
    sandbox_client.configure(instagram={"fail_carousel_item": 2})
    ids = [uploaded(client, photo(size=(1080, 1080), color=(10 * i, 90, 90)))["id"] for i in range(3)]
    post = client.post("/api/posts", json={"text": "A bad child", "media_ids": ids, "publish": True,
                                           "networks": ["instagram"]}).get_json()
    drain()
    [publication] = client.get(f"/api/posts/{post['id']}").get_json()["publications"]
    assert publication["status"] == "failed"
    assert "ERROR" in publication["last_error"]
    assert sandbox_client.received("instagram") == []


def test_more_photos_than_a_post_may_carry_are_refused(client, sandbox_channels):
    response = client.post("/api/posts", json={"text": "Eleven", "media_ids": list(range(1, 12))})
    assert response.status_code == 400 and "at most 10" in response.get_json()["error"]["message"]


@pytest.mark.settings(public_base_url="http://127.0.0.1:9")  # nothing serves there: Meta cannot fetch the photo
def test_a_photo_instagram_cannot_fetch_fails_instagram_with_2207052_while_facebook_and_linkedin_publish(
        client, sandbox_channels, sandbox_client, drain):
    media = uploaded(client, photo(size=(1080, 1080)))
    post = client.post("/api/posts", json={"text": "Meta cannot fetch this one", "media_ids": [media["id"]],
                                           "publish": True, "networks": ["facebook", "instagram", "linkedin"]})
    assert post.status_code == 201, post.get_json()
    drain()
    publications = {p["network"]: p for p in client.get(f"/api/posts/{post.get_json()['id']}")
                    .get_json()["publications"]}
    assert {n: p["status"] for n, p in publications.items()} == {
        "facebook": "published", "linkedin": "published", "instagram": "failed"}
    instagram = publications["instagram"]
    assert instagram["attempts"] == 1                                   # permanent: not retried
    assert instagram["last_error_code"] == "9004/2207052"
    assert "could not fetch the photo at http://127.0.0.1:9/m/" in instagram["last_error"]
    assert {i["network"] for i in sandbox_client.received()} == {"facebook", "linkedin"}
