"""Videos in the media library, through the API (issue 31, its first slices): an
MP4 sent like a photo is judged by its content, kept with its facts, a poster
frame and a thumbnail, copied to the store a chunk at a time, served a range at
a time; what is not a video the networks take is refused saying why and leaves
nothing; a post cannot take one yet, and says so."""
from __future__ import annotations

import hashlib
import io

import pytest
from PIL import Image

from socialpub.media import library
from tests.support.videos import make_sound_only, make_video
from tests.web.test_media import stored_files, upload


@pytest.fixture
def clip(tmp_path) -> bytes:
    return make_video(tmp_path / "clip.mp4", seconds=2, width=180, height=320).read_bytes()


def test_an_mp4_is_kept_with_what_it_is_and_a_thumbnail(client, settings, clip):
    response = upload(client, clip, "holiday.mp4")
    assert response.status_code == 201, response.get_json()
    media = response.get_json()
    assert (media["kind"], media["content_type"], media["width"], media["height"]) == ("video", "video/mp4", 180, 320)
    assert media["sha256"] == hashlib.sha256(clip).hexdigest() and media["bytes"] == len(clip)
    assert media["video"]["video_codec"] == "h264" and media["video"]["audio_codec"] == "aac"
    assert 1.9 <= media["video"]["duration_s"] <= 2.1 and media["video"]["moov_first"] is True
    thumbnail = client.get(media["thumbnail_url"])
    assert Image.open(io.BytesIO(thumbnail.data)).format == "JPEG"
    sha = media["sha256"]
    assert stored_files(settings) == [f"{sha}.mp4", f"posters/{sha}.jpg", f"thumbs/{sha}.jpg"]
    again = upload(client, clip, "again.mp4")
    assert again.status_code == 200 and again.get_json()["id"] == media["id"]


def test_the_video_is_served_whole_or_a_range_at_a_time(client, clip):
    media = upload(client, clip).get_json()
    whole = client.get(media["url"])
    assert whole.status_code == 200 and whole.mimetype == "video/mp4" and whole.data == clip
    part = client.get(media["url"], headers={"Range": "bytes=0-99"})
    assert part.status_code == 206 and part.data == clip[:100]


@pytest.mark.parametrize("make, words, status", [
    (lambda p: make_sound_only(p), "no video picture", 422),
    (lambda p: make_video(p, codec="mpeg4", audio=None), "coded as MPEG4", 422),
])
def test_a_video_the_networks_would_not_take_is_refused_and_nothing_is_kept(client, settings, tmp_path, make,
                                                                             words, status):
    response = upload(client, make(tmp_path / "bad.mp4").read_bytes(), "bad.mp4")
    assert response.status_code == status
    error = response.get_json()["error"]
    assert error["field"] == "file" and words in error["message"]
    assert stored_files(settings) == []


def test_a_cut_short_upload_is_refused_as_cut_short(client, settings, clip):
    response = upload(client, clip[:len(clip) // 2], "cut.mp4")
    assert response.status_code == 422 and "cut short" in response.get_json()["error"]["message"]
    assert stored_files(settings) == []


@pytest.mark.settings(media_video_max_bytes=10_000)
def test_a_video_over_the_size_allowed_is_refused_naming_the_setting(client, settings, clip):
    response = upload(client, clip, "big.mp4")
    assert response.status_code == 413
    assert "SOCIALPUB_MEDIA_VIDEO_MAX_BYTES" in response.get_json()["error"]["message"]
    assert stored_files(settings) == []


@pytest.fixture
def reel(tmp_path) -> bytes:
    """Four seconds of 9:16 at 540 × 960: what every network's first kind of video post takes."""
    return make_video(tmp_path / "reel.mp4", seconds=4, width=540, height=960, fps=30).read_bytes()


def test_a_post_takes_a_video_each_channel_as_its_networks_first_kind_unless_chosen(client, sandbox_channels, reel):
    media = upload(client, reel).get_json()
    response = client.post("/api/posts", json={"text": "Our reel", "media_ids": [media["id"]],
                                               "video_kinds": {"facebook": "story"}})
    assert response.status_code == 201, response.get_json()
    kinds = {p["network"]: p["video_kind"] for p in response.get_json()["publications"]}
    assert kinds == {"facebook": "story", "instagram": "reel", "linkedin": "video", "whatsapp": "message"}


def test_one_channels_video_kind_wins_over_its_networks(client, sandbox_channels, reel):
    media = upload(client, reel).get_json()
    facebook = sandbox_channels["facebook"]
    response = client.post("/api/posts", json={
        "text": "Our reel", "media_ids": [media["id"]], "channels": [facebook],
        "video_kinds": {"facebook": "story"}, "versions": {str(facebook): {"video_kind": "video"}}})
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["publications"][0]["video_kind"] == "video"


def test_a_video_kind_the_network_has_not_is_refused_naming_the_field(client, sandbox_channels, reel):
    media = upload(client, reel).get_json()
    response = client.post("/api/posts", json={"text": "Our reel", "media_ids": [media["id"]],
                                               "video_kinds": {"linkedin": "reel"}})
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert error["field"] == "video_kinds.linkedin" and "'video'" in error["message"]


def test_a_video_too_short_for_a_reel_is_refused_before_it_is_published(client, sandbox_channels, clip):
    media = upload(client, clip).get_json()
    response = client.post("/api/posts", json={"text": "Our reel", "media_ids": [media["id"]],
                                               "networks": ["instagram"], "publish": True})
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["field"] == "media_ids"
    assert "it is 2 s long; an Instagram Reel takes at least 3 s" in error["message"]


def test_a_video_goes_alone(client, sandbox_channels, reel, settings):
    video = upload(client, reel).get_json()
    photo = client.post("/api/media", data={"file": (io.BytesIO(_jpeg()), "a.jpg")},
                        content_type="multipart/form-data").get_json()
    response = client.post("/api/posts", json={"text": "Both", "media_ids": [photo["id"], video["id"]]})
    assert response.status_code == 400
    assert "photos or one video" in response.get_json()["error"]["message"]


def _jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (400, 400), (200, 10, 10)).save(out, "JPEG")
    return out.getvalue()


def test_deleting_a_video_removes_its_file_poster_and_thumbnail(client, settings, clip):
    media = upload(client, clip).get_json()
    assert client.delete(f"/api/media/{media['id']}").status_code == 204
    assert stored_files(settings) == []


def test_the_library_page_shows_a_video_as_a_video(form_client, clip):
    form_client.post("/api/media", data={"file": (io.BytesIO(clip), "clip.mp4")}, content_type="multipart/form-data")
    page = form_client.get("/media").get_data(as_text=True)
    assert "Video, 0:02" in page and "Use in a new post" in page


def test_a_videos_bytes_go_to_the_store_from_disk_not_memory(client, settings, clip, monkeypatch):
    """The store is handed a path (put_file), never the bytes (put), for the video itself."""
    store = library.store_of(settings)
    given = []
    monkeypatch.setattr(type(store), "put", lambda self, key, data, ct, _put=type(store).put: (
        given.append((key, len(data))), _put(self, key, data, ct))[1])
    upload(client, clip)
    assert all(not key.endswith(".mp4") for key, _ in given)


def test_the_s3_store_takes_a_video_from_disk_and_serves_it_through_a_signed_address(client, s3_settings,
                                                                                   s3_server, clip):
    import boto3
    import requests

    media = upload(client, clip, "clip.mp4").get_json()
    listed = boto3.client("s3", endpoint_url=s3_server).list_objects_v2(Bucket="socialpub-media", Prefix="team-a/")
    sha = media["sha256"]
    assert sorted(o["Key"] for o in listed["Contents"]) == [
        f"team-a/{sha}.mp4", f"team-a/posters/{sha}.jpg", f"team-a/thumbs/{sha}.jpg"]
    redirected = client.get(media["url"])
    assert redirected.status_code == 302
    assert requests.get(redirected.headers["Location"], timeout=5).content == clip


def test_the_pre_flight_of_an_uploaded_video_says_which_posts_it_fits_and_why_not(client, form_client, tmp_path):
    upright = make_video(tmp_path / "upright.mp4", seconds=4, width=540, height=960).read_bytes()
    media = upload(client, upright).get_json()
    checked = client.get(f"/api/media/{media['id']}/preflight").get_json()
    assert checked["media_id"] == media["id"]
    assert {(i["network"], i["kind"]): i["ok"] for i in checked["items"]} == {
        ("facebook", "reel"): True, ("facebook", "story"): True, ("facebook", "video"): True,
        ("instagram", "reel"): True, ("instagram", "story"): True, ("linkedin", "video"): True,
        ("whatsapp", "message"): True}
    square = upload(client, make_video(tmp_path / "square.mp4", seconds=4, width=320, height=320).read_bytes())
    reel = next(i for i in client.get(f"/api/media/{square.get_json()['id']}/preflight").get_json()["items"]
                if (i["network"], i["kind"]) == ("facebook", "reel"))
    assert not reel["ok"] and any("9:16" in p for p in reel["problems"])
    assert reel["source"].startswith("https://developers.facebook.com/")
    page = form_client.get("/media").get_data(as_text=True)
    assert "Fits 7 of 7 kinds of post" in page and "Fits 6 of 7 kinds of post" in page
    assert "it is 320 × 320 (1:1); a Facebook Reel takes 9:16 (upright) videos" in page


def test_a_photo_has_an_empty_pre_flight(client):
    from tests.web.test_media import photo

    media = upload(client, photo()).get_json()
    assert client.get(f"/api/media/{media['id']}/preflight").get_json() == {"media_id": media["id"], "items": []}


def test_a_video_damaged_inside_is_refused_when_no_frame_decodes_and_nothing_is_kept(client, settings, clip):
    start = clip.index(b"mdat") + 4  # its index reads well; its pictures are noise
    damaged = clip[:start] + bytes((i * 37 + 11) % 256 for i in range(len(clip) - start))
    response = upload(client, damaged, "damaged.mp4")
    assert response.status_code == 422
    assert "no frame could be decoded" in response.get_json()["error"]["message"]
    assert stored_files(settings) == []


def test_the_library_page_takes_a_video_without_a_script(form_client, clip):
    response = form_client.post("/media", data={"file": (io.BytesIO(clip), "clip.mp4")},
                                content_type="multipart/form-data")
    assert response.status_code == 302 and "#media-" in response.headers["Location"]
    page = form_client.get("/media").get_data(as_text=True)
    assert "Uploaded." in page and "Video, 0:02" in page


def test_the_library_page_says_plainly_what_it_refused_and_keeps_nothing(form_client, settings):
    response = form_client.post("/media", data={"file": (io.BytesIO(b"plain words"), "notes.txt")},
                                content_type="multipart/form-data", follow_redirects=True)
    assert "Not uploaded:" in response.get_data(as_text=True)
    assert stored_files(settings) == []
