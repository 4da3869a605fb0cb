"""Video on Meta's networks against the sandbox: Facebook Reels, Stories and feed videos uploaded
once (every id checkpointed, an interrupted upload resumed from the bytes Meta holds, nothing
finished twice), and Instagram Reels and Stories made from the video's public URL."""
from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
import requests
from werkzeug.wrappers import Request, Response

from socialpub.networks import Content, ErrorKind, PublishError, Unverifiable, facebook_video, get_adapter
from socialpub.networks.base import Video
from socialpub.networks.facebook_video import PageVideos
from socialpub.networks.instagram import InstagramAdapter
from socialpub.sandbox.server import serve_in_thread
from tests.support.adapters import clean  # noqa: F401  (autouse: the sandbox reset before every test)
from tests.support.adapters import configure, received, target
from tests.support.videos import make_video


@pytest.fixture(scope="module")
def reel_file(tmp_path_factory) -> Path:
    return make_video(tmp_path_factory.mktemp("video") / "reel.mp4", seconds=4, width=540, height=960)


@pytest.fixture(scope="module")
def served(reel_file):
    """The video at a URL the sandbox's Instagram may fetch (loopback), as /m/<token> serves it."""
    data = reel_file.read_bytes()

    @Request.application
    def app(request):
        return Response(data, mimetype="video/mp4") if request.path == "/reel.mp4" else Response(status=404)
    handle = serve_in_thread(app)
    yield handle
    handle.stop()


def video(path: Path, kind: str, public_url=None) -> Video:
    def opened(start):
        stream = path.open("rb")
        stream.seek(start)
        return stream
    data = path.read_bytes()
    return Video(kind=kind, content_type="video/mp4", size_bytes=len(data), width=540, height=960,
                 facts={"duration_s": 4.0}, sha256=hashlib.sha256(data).hexdigest(), open=opened,
                 public_url=public_url)


def sandbox_videos(sandbox) -> list:
    return requests.get(f"{sandbox.url}/_sandbox/videos", timeout=5).json()["videos"]


class Checkpoints(list):
    """What an attempt checkpointed, in order; ``stop_after`` parts raise as a killed worker would."""

    def __init__(self, stop_after_parts=None):
        super().__init__()
        self.stop_after_parts = stop_after_parts

    def __call__(self, state):
        self.append(state)
        parts = sum(1 for s in self if s["uploads"].get("uploaded_bytes"))
        if self.stop_after_parts is not None and parts >= self.stop_after_parts:
            raise KeyboardInterrupt("killed")

    @property
    def last(self):
        return self[-1]


@pytest.fixture
def small_parts(monkeypatch):
    """Parts of 64 KiB, so that a test video is sent in several."""
    monkeypatch.setattr(facebook_video, "PART_BYTES", 64 * 1024)


def test_a_facebook_reel_is_started_uploaded_and_finished_with_the_same_bytes(sandbox, reel_file):
    content = Content("Our first reel", video=video(reel_file, "reel"))
    saved = Checkpoints()
    published = get_adapter("facebook").publish(target(sandbox, "facebook"), content, checkpoint=saved)
    [item] = received(sandbox)
    assert item["video"]["sha256"] == content.video.sha256 and item["text"] == "Our first reel"
    assert published.external_id == saved[0]["uploads"]["video_id"] == item["item_id"]
    assert published.url == f"https://www.facebook.com/reel/{published.external_id}"
    assert saved[0]["uploads"]["uploaded_bytes"] == 0  # the video id was kept before the first byte


def test_a_killed_reel_upload_resumes_from_the_bytes_facebook_holds_and_makes_one_reel(
        sandbox, reel_file, small_parts):
    content = Content("Resumed reel", video=video(reel_file, "reel"))
    killed = Checkpoints(stop_after_parts=2)
    with pytest.raises(KeyboardInterrupt):
        get_adapter("facebook").publish(target(sandbox, "facebook"), content, checkpoint=killed)
    resumed = Checkpoints()
    published = get_adapter("facebook").publish(target(sandbox, "facebook"), content, checkpoint=resumed,
                                                resume=killed.last)
    [upload] = sandbox_videos(sandbox)
    assert upload["bytes_sent"] == upload["size"] == content.video.size_bytes  # no byte sent twice
    assert upload["sha256"] == content.video.sha256
    assert published.external_id == killed[0]["uploads"]["video_id"] == upload["id"]
    assert len(received(sandbox)) == 1


def test_a_reel_whose_finish_answer_was_lost_is_adopted_not_finished_again(sandbox, reel_file):
    content = Content("Finished once", video=video(reel_file, "reel"))
    saved = Checkpoints()
    published = get_adapter("facebook").publish(target(sandbox, "facebook"), content, checkpoint=saved)
    lost = {"uploads": {k: v for k, v in saved.last["uploads"].items() if k not in ("finished", "post_id")}}
    found = get_adapter("facebook").find_published(target(sandbox, "facebook"), content, since=None, resume=lost)
    again = get_adapter("facebook").publish(target(sandbox, "facebook"), content, resume=lost)
    assert found.external_id == again.external_id == published.external_id
    assert len(received(sandbox)) == 1


def test_a_facebook_story_gives_its_post_id(sandbox, reel_file):
    content = Content("Story", video=video(reel_file, "story"))
    published = get_adapter("facebook").publish(target(sandbox, "facebook"), content)
    [item] = received(sandbox)
    assert published.external_id == item["item_id"] and item["video"]["kind"] == "story"


def test_a_facebook_feed_video_goes_through_an_upload_session_resumed_from_its_offset(
        sandbox, reel_file, small_parts):
    content = Content("A feed video", video=video(reel_file, "video"))
    killed = Checkpoints(stop_after_parts=1)
    with pytest.raises(KeyboardInterrupt):
        get_adapter("facebook").publish(target(sandbox, "facebook"), content, checkpoint=killed)
    published = get_adapter("facebook").publish(target(sandbox, "facebook"), content, resume=killed.last)
    session = next(v for v in sandbox_videos(sandbox) if v["kind"] == "session")
    assert session["bytes_sent"] == session["size"] == content.video.size_bytes
    [item] = received(sandbox)
    assert item["item_id"] == published.external_id and item["video"]["sha256"] == content.video.sha256


def test_finishing_a_reel_facebook_has_not_all_the_bytes_of_is_meta_1363045(sandbox, reel_file):
    content = Content("Short", video=video(reel_file, "reel"))
    body = requests.post(f"{sandbox.url}/v24.0/546349135390552/video_reels", data={"upload_phase": "start"},
                         headers={"Authorization": "Bearer token-1"}, timeout=5).json()
    requests.post(body["upload_url"], data=b"\0" * 10, timeout=5, headers={
        "Authorization": "OAuth token-1", "offset": "0", "file_size": str(content.video.size_bytes)})
    answer = requests.post(f"{sandbox.url}/v24.0/546349135390552/video_reels", timeout=5, headers={
        "Authorization": "Bearer token-1"}, data={"upload_phase": "finish", "video_id": body["video_id"],
                                                  "video_state": "PUBLISHED"}).json()
    assert (answer["error"]["code"], answer["error"]["error_subcode"]) == (6000, 1363045)


def test_a_reel_still_processing_is_transient_and_the_retry_only_polls(sandbox, reel_file):
    configure(sandbox, {"facebook": {"video_processing_s": 30}})
    content = Content("Slow reel", video=video(reel_file, "reel"))
    saved = Checkpoints()
    with pytest.raises(PublishError) as caught:
        PageVideos(get_adapter("facebook").timeouts, processing_timeout=0.2, poll_interval=0.05).publish(
            target(sandbox, "facebook"), content, content.text, saved, None)
    assert caught.value.kind is ErrorKind.TRANSIENT and "still being processed" in caught.value.message
    assert saved.last["uploads"]["finished"] is True  # the retry polls; it does not finish again


def test_an_instagram_reel_is_fetched_from_its_url_with_its_cover_and_published(sandbox, served, reel_file):
    url = f"{served.url}/reel.mp4"
    content = Content("Reel #new", video=Video(**{**video(reel_file, "reel").__dict__, "public_url": url,
                                                 "poster_url": f"{sandbox.url}/_sandbox/image.jpg"}))
    configure(sandbox, {"instagram": {"video_processing_s": 0.2}})
    published = InstagramAdapter(poll_interval=0.05).publish(target(sandbox, "instagram"), content)
    [item] = received(sandbox)
    assert item["item_id"] == published.external_id and item["video"]["kind"] == "reels"
    assert item["video"]["sha256"] == content.video.sha256 and item["video"]["share_to_feed"] is True
    assert item["video"]["cover_url"].endswith("/_sandbox/image.jpg")


def test_an_instagram_story_carries_no_caption(sandbox, served, reel_file):
    content = Content("Not shown", video=Video(**{**video(reel_file, "story").__dict__,
                                                  "public_url": f"{served.url}/reel.mp4"}))
    get_adapter("instagram").publish(target(sandbox, "instagram"), content)
    [item] = received(sandbox)
    assert item["video"]["kind"] == "stories" and item["text"] is None


def test_an_instagram_video_meta_cannot_fetch_fails_its_container_permanently(sandbox, served, reel_file):
    content = Content("Missing", video=Video(**{**video(reel_file, "reel").__dict__,
                                                "public_url": f"{served.url}/gone.mp4"}))
    with pytest.raises(PublishError) as caught:
        get_adapter("instagram").publish(target(sandbox, "instagram"), content)
    assert caught.value.kind is ErrorKind.PERMANENT and "2207052" in caught.value.message
    assert received(sandbox) == []


def test_a_reel_killed_after_its_finish_went_is_not_finished_again_while_meta_processes_it(sandbox, reel_file):
    """The finish arrived; the worker died before keeping that it did: Meta's status (processing) says so."""
    configure(sandbox, {"facebook": {"video_processing_s": 0.5}})
    content = Content("Finished once, killed", video=video(reel_file, "reel"))
    saved = []

    def killed_after_the_finish(state):
        if state["uploads"].get("finished"):
            raise KeyboardInterrupt("killed")
        saved.append(state)
    with pytest.raises(KeyboardInterrupt):
        get_adapter("facebook").publish(target(sandbox, "facebook"), content, checkpoint=killed_after_the_finish)
    published = PageVideos(get_adapter("facebook").timeouts, poll_interval=0.05).publish(
        target(sandbox, "facebook"), content, content.text, None, saved[-1])
    [upload] = sandbox_videos(sandbox)
    assert upload["finishes"] == 1 and published.external_id == upload["id"]
    assert len(received(sandbox)) == 1


def test_a_feed_video_whose_publishing_answer_was_lost_is_not_sent_again_but_said_unverifiable(sandbox, reel_file):
    content = Content("A feed video, in doubt", video=video(reel_file, "video"))
    saved = []

    def killed_as_it_publishes(state):
        saved.append(state)
        if state["uploads"].get("publishing"):
            raise KeyboardInterrupt("killed")
    with pytest.raises(KeyboardInterrupt):
        get_adapter("facebook").publish(target(sandbox, "facebook"), content, checkpoint=killed_as_it_publishes)
    with pytest.raises(Unverifiable):
        get_adapter("facebook").publish(target(sandbox, "facebook"), content, resume=saved[-1])
    assert received(sandbox) == []
