"""Uploading photos: judged by their content with Pillow, kept in the media
store (the local disk here; S3 through a real S3-speaking server on loopback
below), listed, fetched and deleted — and every file refused (not an image,
too large in bytes or pixels, damaged) leaves nothing behind."""
import hashlib
import io
import struct
import zlib

import pytest
import requests
from PIL import Image

from socialpub import db
from socialpub.media import images, library
from socialpub.models import Media, Post, PostMedia

GPS_IFD = 0x8825


def photo(fmt="JPEG", size=(1200, 900), color=(200, 80, 40), gps=False) -> bytes:
    image = Image.new("RGB", size, color)
    out = io.BytesIO()
    options = {}
    if gps:
        exif = Image.Exif()
        exif[0x0112] = 1  # orientation: kept
        exif[GPS_IFD] = {1: "N", 2: (48.0, 51.0, 24.0), 3: "E", 4: (2.0, 21.0, 3.0)}
        options["exif"] = exif.tobytes()
    image.save(out, format=fmt, **options)
    return out.getvalue()


def upload(client, data, name="photo.jpg"):
    return client.post("/api/media", data={"file": (io.BytesIO(data), name)}, content_type="multipart/form-data")


def stored_files(settings) -> list:
    root = library.store_of(settings).root
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()) if root.exists() else []


def media_rows():
    with db.database.connection_context():
        return Media.select().count()


@pytest.mark.parametrize("fmt,content_type", [("JPEG", "image/jpeg"), ("PNG", "image/png"),
                                              ("WEBP", "image/webp"), ("GIF", "image/gif")])
def test_an_image_is_judged_by_its_content_and_kept_with_a_thumbnail(client, settings, fmt, content_type):
    data = photo(fmt)
    response = upload(client, data, name="no-extension")
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert (body["content_type"], body["width"], body["height"]) == (content_type, 1200, 900)
    assert body["sha256"] == hashlib.sha256(data).hexdigest() and body["bytes"] == len(data)
    assert client.get(body["url"]).data == data
    thumbnail = Image.open(io.BytesIO(client.get(body["thumbnail_url"]).data))
    assert thumbnail.format == "JPEG" and max(thumbnail.size) == 320
    # The file and its thumbnail; a PNG, WebP or GIF also a JPEG rendition (for Instagram).
    assert len(stored_files(settings)) == (2 if fmt == "JPEG" else 3)


def test_the_same_file_uploaded_twice_is_one_file(client, settings):
    data = photo()
    first, second = upload(client, data), upload(client, data, name="again.jpg")
    assert (first.status_code, second.status_code) == (201, 200)
    assert first.get_json()["id"] == second.get_json()["id"] and media_rows() == 1


def test_the_gps_location_is_removed_and_the_rest_of_the_exif_kept(client):
    body = upload(client, photo(gps=True)).get_json()
    kept = Image.open(io.BytesIO(client.get(body["url"]).data))
    exif = kept.getexif()
    assert GPS_IFD not in exif and exif[0x0112] == 1
    assert kept.size == (1200, 900)


def test_the_location_is_kept_when_asked(app, client):
    app.extensions["socialpub"] = app.extensions["socialpub"].with_(media_keep_location=True)
    data = photo(gps=True)
    body = upload(client, data).get_json()
    assert client.get(body["url"]).data == data


def test_a_text_file_named_jpg_is_refused_and_nothing_is_stored(client, settings):
    response = upload(client, b"Dear diary, today I renamed a text file.\n" * 40, name="holiday.jpg")
    assert response.status_code == 415
    assert response.get_json()["error"]["field"] == "file"
    assert "not an image" in response.get_json()["error"]["message"]
    assert media_rows() == 0 and stored_files(settings) == []


def test_a_30_mb_photo_is_refused_and_nothing_is_stored(client, settings):
    response = upload(client, photo() + b"\0" * (30 * 2**20))
    assert response.status_code == 413
    assert "larger than the 8 MiB allowed" in response.get_json()["error"]["message"]
    assert media_rows() == 0 and stored_files(settings) == []


def test_a_file_just_over_the_limit_is_refused_naming_the_limit(app, client, settings):
    app.extensions["socialpub"] = app.extensions["socialpub"].with_(media_max_bytes=50_000)
    response = upload(client, photo(size=(2000, 2000), fmt="PNG") + b"\0" * 60_000)
    assert response.status_code == 413 and "MEDIA_MAX_BYTES" in response.get_json()["error"]["message"]
    assert media_rows() == 0


def huge_png(width=20000, height=20000) -> bytes:
    """A valid greyscale PNG of width × height black pixels (a few hundred kB compressed)."""
    def chunk(kind, payload):
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))
    compressor, row, parts = zlib.compressobj(9), b"\0" * (width + 1), []
    for _ in range(height):
        parts.append(compressor.compress(row))
    parts.append(compressor.flush())
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", b"".join(parts)) + chunk(b"IEND", b"")


def test_a_20000_by_20000_png_is_refused_before_it_is_decoded(client, settings):
    data = huge_png()
    assert len(data) < 8 * 2**20
    response = upload(client, data, name="poster.png")
    assert response.status_code == 422
    assert "pixels" in response.get_json()["error"]["message"]
    assert media_rows() == 0 and stored_files(settings) == []


def test_a_damaged_image_is_refused(client):
    response = upload(client, photo()[:5000])
    assert response.status_code == 422 and "damaged" in response.get_json()["error"]["message"]
    assert media_rows() == 0


def test_an_upload_needs_one_file_as_multipart(client):
    assert client.post("/api/media", json={"file": "x"}).status_code == 415
    none = client.post("/api/media", data={}, content_type="multipart/form-data")
    assert none.status_code == 400 and none.get_json()["error"]["field"] == "file"


def test_the_library_is_listed_newest_first_in_pages(client):
    ids = [upload(client, photo(color=(i, i, i))).get_json()["id"] for i in range(3)]
    first = client.get("/api/media?limit=2").get_json()
    assert [m["id"] for m in first["items"]] == ids[:0:-1]
    second = client.get(first["next"]).get_json()
    assert [m["id"] for m in second["items"]] == [ids[0]] and second["next"] is None


def test_a_file_no_post_uses_is_deleted_and_one_a_post_uses_is_kept(client, settings):
    kept, gone = (upload(client, photo(color=c)).get_json()["id"] for c in ((1, 2, 3), (4, 5, 6)))
    with db.database.connection_context():
        post = Post.create(text="With a photo")
        PostMedia.create(post=post, media=kept, position=0)
    refused = client.delete(f"/api/media/{kept}")
    assert refused.status_code == 409 and f"post {post.id}" in refused.get_json()["error"]["message"]
    assert client.delete(f"/api/media/{gone}").status_code == 204
    assert client.get(f"/api/media/{gone}").status_code == 404
    assert len(stored_files(settings)) == 2  # the kept one and its thumbnail


def test_media_need_a_signed_in_user(anon_client):
    assert anon_client.get("/api/media").status_code == 401
    assert upload(anon_client, photo()).status_code == 401


def test_images_refuses_formats_it_does_not_take():
    out = io.BytesIO()
    Image.new("RGB", (10, 10)).save(out, format="BMP")
    with pytest.raises(images.ImageRefused) as refused:
        images.inspect(out.getvalue(), max_bytes=2**20, max_pixels=10**6, max_decode_bytes=2**20, slots=1)
    assert refused.value.status == 415 and "BMP" in refused.value.message


# -- S3 ----------------------------------------------------------------------------------------


def test_the_s3_store_keeps_uploads_under_its_prefix_and_presigns_them(client, s3_settings, s3_server):
    import boto3

    data = photo()
    body = upload(client, data).get_json()
    listed = boto3.client("s3", endpoint_url=s3_server).list_objects_v2(Bucket="socialpub-media", Prefix="team-a/")
    keys = sorted(o["Key"] for o in listed["Contents"])
    assert keys == [f"team-a/{body['sha256']}.jpg", f"team-a/thumbs/{body['sha256']}.jpg"]
    assert client.get(body["url"]).data == data
    url = library.store_of(s3_settings).presigned_url(f"{body['sha256']}.jpg", 3600)
    assert requests.get(url, timeout=5).content == data  # anyone with the URL, until it expires
    assert client.delete(f"/api/media/{body['id']}").status_code == 204
    assert "Contents" not in boto3.client("s3", endpoint_url=s3_server).list_objects_v2(
        Bucket="socialpub-media", Prefix="team-a/")


def test_uploads_no_post_uses_are_pruned_after_the_retention_period(client, settings):
    import datetime as dt

    from socialpub.models import utcnow

    old_unused, old_used, new_unused = (upload(client, photo(color=c)).get_json()["id"]
                                        for c in ((1, 1, 1), (50, 50, 50), (99, 99, 99)))
    with db.database.connection_context():
        Media.update(created_at=utcnow() - dt.timedelta(days=31)).where(
            Media.id.in_([old_unused, old_used])).execute()
        PostMedia.create(post=Post.create(text="keeps its photo"), media=old_used, position=0)
        assert library.prune_unused(settings) == 1
        assert sorted(m.id for m in Media.select()) == sorted([old_used, new_unused])
    assert client.get(f"/api/media/{old_unused}").status_code == 404
    assert len(stored_files(settings)) == 4  # two files and their thumbnails


def test_the_monitor_shows_the_storage_uploads_use(client, form_client):
    data = photo()
    upload(client, data)
    assert client.get("/monitor.json").get_json()["media"] == {"files": 1, "bytes": len(data)}
    assert "1 upload, 0.0 MiB in the media store" in form_client.get("/monitor").get_data(as_text=True)


def test_the_same_bytes_added_at_the_same_moment_are_one_file(app, settings, monkeypatch):
    data = photo(color=(1, 2, 3))
    with db.database.connection_context():
        first, created = library.add(settings, data)
        assert created
        # Another upload of these bytes read "none yet" just before this one committed.
        monkeypatch.setattr(library.Media, "get_or_none", classmethod(lambda cls, *a, **k: None))
        again, created = library.add(settings, data)
    assert (again.id, created) == (first.id, False)
