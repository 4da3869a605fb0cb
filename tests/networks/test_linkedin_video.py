"""LinkedIn video against the sandbox: the Videos API's parts and ETags, every id checkpointed before
it is used, an upload resumed from its next part after a crash, a new upload only when LinkedIn
refuses the old one's address, and the video's processing polled until it is AVAILABLE."""
from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
import requests

from socialpub.networks import Content, ErrorKind, PublishError
from socialpub.networks.base import Video
from socialpub.networks.linkedin import LinkedInAdapter

from tests.support.adapters import clean  # noqa: F401  (autouse: the sandbox reset before every test)
from tests.support.adapters import AUTHOR, all_requests, configure, received, target
from tests.support.videos import make_video

#: Parts this small make a test video of a few tens of kilobytes several parts.
PART = 8 * 1024


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> Path:
    return make_video(tmp_path_factory.mktemp("linkedin") / "clip.mp4", seconds=3, width=320, height=180)


def as_video(path: Path) -> Video:
    """The file as a worker hands it to the adapter: facts, and its bytes from any offset."""
    def open_from(start):
        stream = path.open("rb")
        stream.seek(start)
        return stream
    size = path.stat().st_size
    return Video(kind="video", content_type="video/mp4", size_bytes=size, width=320, height=180,
                 facts={"duration_s": 3.0}, sha256=hashlib.sha256(path.read_bytes()).hexdigest(), open=open_from)


def steer(sandbox, processing_s=None, **settings):
    """The Videos API's part size and outcome, and how long processing takes (``video_processing_s``)."""
    if settings:
        requests.post(f"{sandbox.url}/_sandbox/linkedin/videos", json=settings, timeout=5).raise_for_status()
    if processing_s is not None:
        configure(sandbox, {"linkedin": {"video_processing_s": processing_s}})


def videos(sandbox) -> list:
    return requests.get(f"{sandbox.url}/_sandbox/linkedin/videos", timeout=5).json()["videos"]


def calls(sandbox, path_part: str, method: str = None) -> list:
    return [r for r in all_requests(sandbox) if path_part in r["path"] and (method is None or r["method"] == method)]


class Crash(Exception):
    """A worker killed right after a checkpoint was saved."""


class Checkpoints:
    """Keeps the last checkpoint as Publication.uploads does (each one replaces the one before);
    with ``crash_after_parts``, dies once that many part ETags are saved."""

    def __init__(self, crash_after_parts=None):
        self.saved, self.crash_after_parts = {}, crash_after_parts

    def __call__(self, state):
        self.saved = dict(state)
        if self.crash_after_parts is not None and len(state["uploads"].get("etags") or ()) == self.crash_after_parts:
            self.crash_after_parts = None
            raise Crash(f"killed after part {len(state['uploads']['etags'])}")

    @property
    def uploads(self) -> dict:
        return self.saved.get("uploads") or {}


def adapter(poll_timeout: float = 5.0) -> LinkedInAdapter:
    """An adapter polling every 10 ms, for at most ``poll_timeout`` seconds."""
    polling = LinkedInAdapter()
    polling.poll_interval, polling.poll_timeout = 0.01, poll_timeout
    return polling


def test_a_video_post_uploads_the_file_and_the_sandbox_holds_the_same_sha256(sandbox, clip):
    steer(sandbox, processing_s=0)
    video = as_video(clip)
    checkpoints = Checkpoints()
    published = adapter().publish(target(sandbox, "linkedin"), Content("Our launch film", video=video),
                                  checkpoint=checkpoints)
    [item] = received(sandbox, "linkedin")
    [held] = videos(sandbox)
    assert item["item_id"] == published.external_id and item["text"] == "Our launch film"
    assert item["video"] == {"kind": "video", "sha256": video.sha256, "bytes": video.size_bytes}
    assert (held["sha256"], held["size_bytes"], held["status"]) == (video.sha256, video.size_bytes, "AVAILABLE")
    assert held["posts"] == [published.external_id] and held["owner"] == AUTHOR
    [post] = calls(sandbox, "/rest/posts")
    assert post["json"]["content"] == {"media": {"id": held["video"], "title": "Our launch film"}}
    # Under 4 MB, one part: the whole file in one PUT, and the progress the post page reads.
    assert (held["parts"], held["parts_received"], held["bytes_received"]) == (1, 1, video.size_bytes)
    assert checkpoints.uploads["uploaded_bytes"] == checkpoints.uploads["size_bytes"] == video.size_bytes
    assert checkpoints.uploads["video_urn"] == held["video"] and checkpoints.uploads["finalized"] is True


def test_a_multi_part_upload_sends_each_part_once_in_order_and_finalizes_with_the_etags_in_order(sandbox, clip):
    steer(sandbox, processing_s=0, part_bytes=PART)
    video = as_video(clip)
    seen = []
    adapter().publish(target(sandbox, "linkedin"), Content("In parts", video=video), checkpoint=seen.append)
    [held] = videos(sandbox)
    parts = -(-video.size_bytes // PART)
    assert parts >= 3 and (held["parts"], held["parts_received"], held["bytes_received"]) == \
        (parts, parts, video.size_bytes)
    assert held["sha256"] == video.sha256
    puts = calls(sandbox, "/uploadedVideo/", "PUT")
    assert [int(p["path"].rsplit("/", 1)[1]) for p in puts] == list(range(parts))
    # Every id checkpointed before it is used: the URN and the addresses before the first part, each
    # ETag as it comes (the progress with it), the finalize after the last.
    assert [len(s["uploads"]["etags"]) for s in seen] == list(range(parts + 1)) + [parts]
    assert [s["uploads"]["uploaded_bytes"] for s in seen][:3] == [0, PART, 2 * PART]
    [finalize] = calls(sandbox, "/rest/videos", "POST")[1:]
    assert finalize["query"] == {"action": "finalizeUpload"}
    assert finalize["json"]["finalizeUploadRequest"]["uploadedPartIds"] == seen[-1]["uploads"]["etags"]
    assert finalize["json"]["finalizeUploadRequest"]["uploadToken"] == seen[0]["uploads"]["upload_token"] != ""


def test_a_crash_after_some_parts_resumes_from_the_next_part_with_no_second_video(sandbox, clip):
    steer(sandbox, processing_s=0, part_bytes=PART)
    video, to, content = as_video(clip), target(sandbox, "linkedin"), Content("Resumed", video=as_video(clip))
    checkpoints = Checkpoints(crash_after_parts=2)
    with pytest.raises(Crash):
        adapter().publish(to, content, checkpoint=checkpoints)
    assert len(checkpoints.uploads["etags"]) == 2
    published = adapter().publish(to, content, checkpoint=checkpoints, resume=checkpoints.saved)
    [held] = videos(sandbox)
    assert len(calls(sandbox, "/rest/videos", "POST")) == 2  # one initializeUpload, one finalizeUpload
    assert (held["parts_received"], held["bytes_received"]) == (held["parts"], video.size_bytes)
    assert held["sha256"] == video.sha256 and held["posts"] == [published.external_id]
    assert [item["item_id"] for item in received(sandbox, "linkedin")] == [published.external_id]


def test_a_crash_after_the_last_part_asks_linkedin_before_finalizing(sandbox, clip):
    steer(sandbox, processing_s=0, part_bytes=PART)
    to, content = target(sandbox, "linkedin"), Content("Finalized once", video=as_video(clip))
    parts = -(-clip.stat().st_size // PART)
    checkpoints = Checkpoints(crash_after_parts=parts)
    with pytest.raises(Crash):
        adapter().publish(to, content, checkpoint=checkpoints)
    adapter().publish(to, content, checkpoint=checkpoints, resume=checkpoints.saved)
    # The video still waited for its finalize: LinkedIn was asked, then it was finalized once.
    assert [r["query"].get("action") for r in calls(sandbox, "/rest/videos")] == \
        ["initializeUpload", None, "finalizeUpload", None]
    # A crash after the finalize (its answer lost): the next attempt sees PROCESSING/AVAILABLE and goes on.
    again = dict(checkpoints.saved, uploads={**checkpoints.uploads, "finalized": False})
    configure(sandbox, {"linkedin": {"reject_duplicates": False}})
    adapter().publish(to, content, resume=again)
    assert [r["query"].get("action") for r in calls(sandbox, "/rest/videos", "POST")] == \
        ["initializeUpload", "finalizeUpload"]
    assert len(videos(sandbox)) == 1


def test_an_expired_upload_url_starts_a_new_upload_and_makes_one_post(sandbox, clip, caplog):
    steer(sandbox, processing_s=0, part_bytes=PART)
    video, to = as_video(clip), target(sandbox, "linkedin")
    checkpoints = Checkpoints(crash_after_parts=1)
    with pytest.raises(Crash):
        adapter().publish(to, Content("After expiry", video=video), checkpoint=checkpoints)
    requests.post(f"{sandbox.url}/_sandbox/linkedin/videos/expire", timeout=5).raise_for_status()
    published = adapter().publish(to, Content("After expiry", video=video), checkpoint=checkpoints,
                                  resume=checkpoints.saved)
    old, new = videos(sandbox)
    assert [r["status"] for r in calls(sandbox, "/uploadedVideo/")].count(401) == 1
    assert old["posts"] == [] and new["posts"] == [published.external_id] and new["sha256"] == video.sha256
    assert checkpoints.uploads["video_urn"] == new["video"]
    assert len(received(sandbox, "linkedin")) == 1
    assert any("cannot go on, starting a new upload" in r.getMessage() for r in caplog.records)


def test_a_video_linkedin_could_not_process_is_a_permanent_error_in_plain_words(sandbox, clip):
    steer(sandbox, processing_s=0, outcome="PROCESSING_FAILED")
    checkpoints = Checkpoints()
    with pytest.raises(PublishError) as caught:
        adapter().publish(target(sandbox, "linkedin"), Content("Broken", video=as_video(clip)),
                          checkpoint=checkpoints)
    assert caught.value.kind is ErrorKind.PERMANENT and caught.value.code == "PROCESSING_FAILED"
    assert "LinkedIn could not process the video" in caught.value.message
    assert "then retry to upload it again" in caught.value.message
    assert checkpoints.saved == {"uploads": {}}  # a retry uploads it afresh
    assert received(sandbox, "linkedin") == [] and calls(sandbox, "/rest/posts") == []


def test_a_video_still_processing_is_transient_and_the_retry_polls_the_same_video(sandbox, clip):
    steer(sandbox, processing_s=600)
    to, content, checkpoints = target(sandbox, "linkedin"), Content("Slow", video=as_video(clip)), Checkpoints()
    with pytest.raises(PublishError) as caught:
        adapter(poll_timeout=0.05).publish(to, content, checkpoint=checkpoints)
    assert (caught.value.kind, caught.value.code) == (ErrorKind.TRANSIENT, "PROCESSING")
    assert "still processing the video" in caught.value.message
    steer(sandbox, processing_s=0)  # LinkedIn has finished meanwhile
    published = adapter().publish(to, content, checkpoint=checkpoints, resume=checkpoints.saved)
    [held] = videos(sandbox)
    assert held["posts"] == [published.external_id] and held["parts_received"] == 1
    assert len(calls(sandbox, "/rest/videos", "POST")) == 2


def test_the_sandbox_refuses_a_post_of_a_video_that_is_not_available(sandbox, clip):
    steer(sandbox, processing_s=600)
    to = target(sandbox, "linkedin")
    checkpoints = Checkpoints()
    with pytest.raises(PublishError):
        adapter(poll_timeout=0.01).publish(to, Content("Too early", video=as_video(clip)), checkpoint=checkpoints)
    urn = checkpoints.uploads["video_urn"]
    answer = requests.post(f"{sandbox.url}/rest/posts", json={
        "author": AUTHOR, "commentary": "Too early", "visibility": "PUBLIC", "lifecycleState": "PUBLISHED",
        "distribution": {"feedDistribution": "MAIN_FEED"}, "content": {"media": {"id": urn}}},
        headers={"Authorization": "Bearer token-1", "LinkedIn-Version": "202607", "X-Restli-Protocol-Version": "2.0.0"},
        timeout=5)
    assert answer.status_code == 422 and "is not AVAILABLE (its status is PROCESSING)" in answer.json()["message"]


def test_the_sandbox_refuses_a_finalize_whose_etags_are_out_of_order(sandbox, clip):
    steer(sandbox, processing_s=0, part_bytes=PART)
    checkpoints = Checkpoints(crash_after_parts=-(-clip.stat().st_size // PART))
    with pytest.raises(Crash):
        adapter().publish(target(sandbox, "linkedin"), Content("x", video=as_video(clip)), checkpoint=checkpoints)
    upload = checkpoints.uploads
    headers = {"Authorization": "Bearer token-1", "LinkedIn-Version": "202607", "X-Restli-Protocol-Version": "2.0.0"}
    for ids in (upload["etags"][::-1], upload["etags"][:-1]):
        answer = requests.post(f"{sandbox.url}/rest/videos", params={"action": "finalizeUpload"}, headers=headers,
                               json={"finalizeUploadRequest": {"video": upload["video_urn"], "uploadedPartIds": ids,
                                                               "uploadToken": upload["upload_token"]}}, timeout=5)
        assert answer.status_code == 400 and "uploadedPartIds" in answer.json()["message"]
    assert videos(sandbox)[0]["status"] == "WAITING_UPLOAD"


def test_the_sandbox_takes_a_part_only_with_exactly_its_bytes(sandbox, clip):
    steer(sandbox, part_bytes=PART)
    checkpoints = Checkpoints(crash_after_parts=0)  # dies right after initializeUpload is checkpointed
    with pytest.raises(Crash):
        adapter().publish(target(sandbox, "linkedin"), Content("x", video=as_video(clip)), checkpoint=checkpoints)
    first = checkpoints.uploads["instructions"][0]
    assert (first["firstByte"], first["lastByte"]) == (0, PART - 1)
    short = requests.put(first["uploadUrl"], data=b"\0" * (PART - 1), timeout=5)
    assert short.status_code == 400 and "8192 bytes, not 8191" in short.json()["message"]
    whole = requests.put(first["uploadUrl"], data=clip.read_bytes()[:PART], timeout=5)
    assert whole.status_code == 200 and whole.headers["ETag"]
    assert (videos(sandbox)[0]["parts_received"], videos(sandbox)[0]["bytes_received"]) == (2, 2 * PART - 1)


def test_upload_urls_past_their_expiry_start_a_new_upload_without_sending_to_them(sandbox, clip, caplog):
    steer(sandbox, processing_s=0, part_bytes=PART)
    to, content, checkpoints = target(sandbox, "linkedin"), Content("Late", video=as_video(clip)), Checkpoints(1)
    with pytest.raises(Crash):
        adapter().publish(to, content, checkpoint=checkpoints)
    expired = {"uploads": {**checkpoints.uploads, "expires_at": 1_000}}  # LinkedIn's uploadUrlsExpireAt, passed
    published = adapter().publish(to, content, checkpoint=checkpoints, resume=expired)
    old, new = videos(sandbox)
    assert old["parts_received"] == 1 and new["posts"] == [published.external_id]
    assert all(r["status"] == 200 for r in calls(sandbox, "/uploadedVideo/"))
    assert any("expired at" in r.getMessage() for r in caplog.records)
