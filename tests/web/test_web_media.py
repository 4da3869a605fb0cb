"""Photos on the pages through Flask's test client: sent with the compose form
itself (a browser without the page's script), uploaded by the page's script
(CSRF-protected JSON), the library page, and deleting from it."""
import html
import io

from socialpub import db
from socialpub.models import Media, PostMedia

from tests.support.web_helpers import page
from tests.web.test_media import photo


def compose_form(form_client, **fields):
    text = page(form_client.get("/compose"))
    import re

    key = re.search(r'name="form_key" value="([0-9a-f]+)"', text).group(1)
    return {"form_key": key, "text": "Photos without a script", "action": "draft", **fields}


def test_photos_sent_with_the_compose_form_become_the_posts_photos_in_order(form_client, sandbox_channels):
    files = [(io.BytesIO(photo(color=c)), f"p{i}.jpg") for i, c in enumerate(((200, 0, 0), (0, 200, 0)))]
    response = form_client.post("/compose", data=compose_form(form_client, channels=[sandbox_channels["facebook"]],
                                                              photos=files), content_type="multipart/form-data")
    assert response.status_code == 302, page(response)
    with db.database.connection_context():
        links = list(PostMedia.select().order_by(PostMedia.position))
        names = [Media.get_by_id(link.media_id).original_name for link in links]
    assert names == ["p0.jpg", "p1.jpg"]
    assert 'class="post-media"' in page(form_client.get(response.headers["Location"]))


def test_a_refused_photo_brings_the_form_back_with_the_reason_and_no_post(form_client, sandbox_channels):
    files = [(io.BytesIO(b"not an image at all" * 50), "holiday.jpg")]
    response = form_client.post("/compose", data=compose_form(form_client, photos=files),
                                content_type="multipart/form-data")
    assert response.status_code == 422
    text = html.unescape(page(response))
    assert "holiday.jpg: not an image" in text and "Photos without a script" in text
    with db.database.connection_context():
        assert PostMedia.select().count() == 0


def test_the_pages_script_uploads_with_the_csrf_token_and_gets_json(form_client, app):
    token = __import__("re").search(r'name="csrf_token" value="([^"]+)"', page(form_client.get("/compose"))).group(1)
    ok = form_client.post("/media/upload", data={"file": (io.BytesIO(photo()), "a.jpg")},
                          headers={"X-CSRFToken": token}, content_type="multipart/form-data")
    assert ok.status_code == 201 and ok.get_json()["thumbnail_url"].endswith("/thumbnail")
    refused = form_client.post("/media/upload", data={"file": (io.BytesIO(b"text"), "b.jpg")},
                               headers={"X-CSRFToken": token}, content_type="multipart/form-data")
    assert refused.status_code == 415 and refused.get_json()["error"]["field"] == "file"
    app.config["WTF_CSRF_ENABLED"] = True
    forged = form_client.post("/media/upload", data={"file": (io.BytesIO(photo()), "c.jpg")},
                              content_type="multipart/form-data", headers={"X-CSRFToken": "forged"})
    assert forged.status_code == 400


def test_the_library_lists_uploads_and_deletes_only_what_no_post_uses(form_client, client):
    used, unused = (client.post("/api/media", data={"file": (io.BytesIO(photo(color=c)), f"{n}.jpg")},
                                content_type="multipart/form-data").get_json()["id"]
                    for n, c in (("used", (1, 2, 3)), ("unused", (9, 8, 7))))
    with db.database.connection_context():
        from socialpub.models import Post

        PostMedia.create(post=Post.create(text="x"), media=used, position=0)
    text = page(form_client.get("/media"))
    assert "used.jpg" in text and "unused.jpg" in text and "In 1 post" in text and "In no post" in text
    assert f'action="/media/{used}/delete"' not in text
    assert f"/compose?media={unused}" in text
    response = form_client.post(f"/media/{unused}/delete", follow_redirects=True)
    assert "Deleted." in page(response) and "unused.jpg" not in page(response)
    refused = form_client.post(f"/media/{used}/delete", follow_redirects=True)
    assert "Not deleted" in html.unescape(page(refused))


def test_a_photo_from_the_library_starts_a_new_post(form_client, client):
    media_id = client.post("/api/media", data={"file": (io.BytesIO(photo()), "again.jpg")},
                           content_type="multipart/form-data").get_json()["id"]
    text = page(form_client.get(f"/compose?media={media_id}"))
    assert f'name="media_ids" value="{media_id}"' in text


def test_the_posts_list_shows_each_posts_first_photo(form_client, client, sandbox_channels):
    media = client.post("/api/media", data={"file": (io.BytesIO(photo()), "first.jpg")},
                        content_type="multipart/form-data").get_json()["id"]
    client.post("/api/posts", json={"text": "With a photo", "networks": ["facebook"], "media_ids": [media]})
    assert f'src="/api/media/{media}/thumbnail"' in page(form_client.get("/posts"))


def test_a_photo_larger_than_the_json_limit_uploads_through_the_csrf_check(app, form_client):
    """The CSRF check reads the form before the view runs: the upload's body limit
    must already be the photo's, not the JSON one (256 KiB)."""
    import os

    from PIL import Image

    side = 700
    big = io.BytesIO()
    Image.frombytes("RGB", (side, side), os.urandom(side * side * 3)).save(big, "JPEG", quality=95)
    assert len(big.getvalue()) > app.config["MAX_CONTENT_LENGTH"]
    token = __import__("re").search(r'name="csrf_token" value="([^"]+)"', page(form_client.get("/compose"))).group(1)
    app.config["WTF_CSRF_ENABLED"] = True
    ok = form_client.post("/media/upload", data={"file": (io.BytesIO(big.getvalue()), "big.jpg")},
                          headers={"X-CSRFToken": token}, content_type="multipart/form-data")
    assert ok.status_code == 201, ok.get_data(as_text=True)[:300]
