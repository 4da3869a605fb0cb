"""A post with a video, end to end: uploaded to the app, published by the workers to each network
its own way (a Reel on Instagram and Facebook, a video on LinkedIn), and held by each network as the
same bytes."""
from __future__ import annotations

import hashlib

import pytest
import requests

from socialpub.models import Publication
from tests.support.videos import make_video
from tests.web.test_media import upload


@pytest.fixture
def reel(tmp_path) -> bytes:
    return make_video(tmp_path / "reel.mp4", seconds=4, width=540, height=960).read_bytes()


def publish_video(client, reel, networks, **fields) -> dict:
    media = upload(client, reel).get_json()
    response = client.post("/api/posts", json={"text": "Our launch reel", "media_ids": [media["id"]],
                                               "networks": networks, "publish": True, **fields})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def test_a_video_goes_out_as_a_reel_on_instagram_and_facebook_and_a_video_on_linkedin(
        client, reel, sandbox_channels, sandbox_client, public_server, drain):
    post = publish_video(client, reel, ["facebook", "instagram", "linkedin"])
    drain()
    status = client.get(f"/api/posts/{post['id']}/status").get_json()
    assert status["status"] == "published", status
    digest = hashlib.sha256(reel).hexdigest()
    held = {item["network"]: item["video"] for item in sandbox_client.received()}
    assert held["facebook"]["kind"] == "reel" and held["instagram"]["kind"] == "reels"
    assert all(video["sha256"] == digest for video in held.values()), held
    assert set(held) == {"facebook", "instagram", "linkedin"}


def test_a_facebook_feed_video_is_chosen_per_post(client, reel, sandbox_channels, sandbox_client, drain):
    post = publish_video(client, reel, ["facebook"], video_kinds={"facebook": "video"})
    drain()
    [item] = sandbox_client.received()
    assert item["video"]["kind"] == "video"
    assert Publication.get(Publication.post == post["id"]).external_id == item["item_id"]


def test_a_publish_whose_upload_is_cut_resumes_and_facebook_gets_every_byte_once(
        client, reel, sandbox_channels, sandbox_client, drain, monkeypatch):
    """The connection drops during the second part; the retry asks Facebook how many bytes it
    holds and sends the rest: one video, its bytes sent once."""
    from socialpub.networks import facebook_video
    monkeypatch.setattr(facebook_video, "PART_BYTES", 16 * 1024)
    parts, real_send = [], facebook_video.send

    def dropping_the_second_part(network, timeouts, method, url, **kwargs):
        if "/video-upload/" in url:
            parts.append(url)
            if len(parts) == 2:
                raise_dropped(network, timeouts)
        return real_send(network, timeouts, method, url, **kwargs)
    monkeypatch.setattr(facebook_video, "send", dropping_the_second_part)
    post = publish_video(client, reel, ["facebook"])
    drain()
    videos = requests.get(f"{sandbox_client.url}/_sandbox/videos", timeout=5).json()["videos"]
    assert [v["bytes_sent"] for v in videos] == [len(reel)]
    assert len(sandbox_client.received()) == 1
    assert Publication.get(Publication.post == post["id"]).attempts == 2


def raise_dropped(network, timeouts):
    """What networks/http.send raises when the connection drops before an answer to an upload came."""
    from socialpub.networks import ErrorKind, PublishError
    raise PublishError(network, "the connection was closed before an answer came", kind=ErrorKind.TRANSIENT)


def test_the_status_says_how_far_a_videos_upload_has_gone(client, reel, sandbox_channels):
    """Read from what the attempt checkpointed: the bytes sent, then the network processing them."""
    from socialpub.web.serialize import video_progress
    post = publish_video(client, reel, ["facebook"])
    publication = Publication.get(Publication.post == post["id"])
    publication.uploads = {"video_id": "1", "size_bytes": 1000, "uploaded_bytes": 620}
    assert video_progress(publication).model_dump() == {"stage": "uploading", "uploaded_bytes": 620,
                                                        "size_bytes": 1000, "percent": 62}
    publication.uploads = {**publication.uploads, "uploaded_bytes": 1000, "finished": True}
    assert video_progress(publication).stage == "processing"
    page = client.get(f"/posts/{post['id']}").get_data(as_text=True)
    assert "a Facebook Reel" in page
