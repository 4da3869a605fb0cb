"""A WhatsApp post with a video (issue 31), against the sandbox: the video is
uploaded to Meta once — streamed from the media store — and its media id
checkpointed before any message names it; each contact gets one video message
(free-form inside their window) or the template whose header is the video; an
attempt cut short after the upload resumes with the same media id; a video
Meta would refuse is refused before anything is sent; the sandbox refuses what
Meta refuses; and the adapter's one-off publish uploads once too. The requests
are checked against Meta's OpenAPI description (see
tests/networks/test_whatsapp_conformance.py)."""
from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import io
import struct

import pytest
import requests

from socialpub import db
from socialpub.lifecycle import attempt, delivery
from socialpub.models import Publication, utcnow
from socialpub.networks import Content, ErrorKind, PublishError, get_adapter
from socialpub.networks.base import Video
from socialpub.sandbox.wa_world import default_templates
from tests.networks import test_whatsapp_conformance as conformance
from tests.support.videos import make_video
from tests.support.whatsapp_fixtures import WHATSAPP_SETTINGS, add_contacts, numbers, recipient_statuses
from tests.web.test_media import upload

pytestmark = pytest.mark.settings(**WHATSAPP_SETTINGS)

#: Meta's description of the WhatsApp API, parsed once (the conformance tests' fixture).
spec = conformance.spec

#: A template whose header is a video, as Meta lists one.
VIDEO_TEMPLATE = {"id": "1000000000000006", "name": "video_announcement", "language": "en_US",
                  "status": "APPROVED", "category": "UTILITY", "parameter_format": "POSITIONAL",
                  "components": [{"type": "HEADER", "format": "VIDEO",
                                  "example": {"header_handle": ["https://scontent.whatsapp.net/example.mp4"]}},
                                 {"type": "BODY", "text": "Watch: {{1}}"}]}


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> bytes:
    """One second of 9:16 H.264 with AAC sound: what a WhatsApp video message takes."""
    return make_video(tmp_path_factory.mktemp("videos") / "clip.mp4", seconds=1, width=180, height=320).read_bytes()


def uploaded_video(client, data: bytes, name: str = "clip.mp4") -> dict:
    response = upload(client, data, name)
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["kind"] == "video"
    return response.get_json()


def media_count(sandbox, **query) -> int:
    return requests.get(f"{sandbox.url}/_sandbox/whatsapp/media", params=query, timeout=5).json()["count"]


def media_uploads(sandbox_client) -> list:
    return [e for e in sandbox_client.requests(everything=True)
            if e["network"] == "whatsapp" and e["method"] == "POST" and e["path"].endswith("/media")]


def contacts_of(client, channel_id) -> list:
    """The channel's contacts' numbers: those added here, and the number its sandbox channel lists."""
    return sorted(c["phone"] for c in client.get(f"/api/channels/{channel_id}/contacts").get_json()["items"])


def videos_received(sandbox_client) -> list:
    return [m for m in sandbox_client.received("whatsapp") if m.get("video")]


def test_a_video_goes_up_once_and_every_contact_gets_one_video_message_naming_it(
        spec, client, whatsapp, sandbox, sandbox_client, drain, clip):
    sandbox_client.configure(whatsapp={"windows": "open"})  # free-form: every window open at Meta
    add_contacts(client, whatsapp, numbers(4, start=100))
    video = uploaded_video(client, clip)
    response = client.post("/api/posts", json={"text": "Our kitchen, in a minute", "channels": [whatsapp],
                                               "media_ids": [video["id"]], "publish": True})
    assert response.status_code == 201, response.get_json()
    publication = response.get_json()["publications"][0]
    assert publication["video_kind"] == "message"
    drain()

    digest = hashlib.sha256(clip).hexdigest()
    assert (media_count(sandbox), media_count(sandbox, kind="video", sha256=digest)) == (1, 1)
    [sent] = media_uploads(sandbox_client)
    assert sent["form"]["type"] == "video/mp4" and sent["files"]["file"]["content_type"] == "video/mp4"
    media_id = sent["answer"]["id"]
    kept = requests.get(f"{sandbox.url}/_sandbox/whatsapp/media/{media_id}", timeout=5).json()
    assert (kept["kind"], kept["sha256"], kept["bytes"]) == ("video", digest, len(clip))
    received = videos_received(sandbox_client)
    assert sorted(m["to"] for m in received) == contacts_of(client, whatsapp)  # each once
    assert {(m["video"]["kind"], m["video"]["media_id"], m["video"]["sha256"], m["text"]) for m in received} == {
        ("message", media_id, digest, "Our kitchen, in a minute")}
    with db.database.connection_context():
        pub = Publication.get_by_id(publication["id"])
        assert pub.status == "published" and pub.uploads == {"media_id": media_id}
    assert set(recipient_statuses(publication["id"]).values()) == {"sent"}
    exchanges = conformance.whatsapp_exchanges(sandbox_client)
    assert conformance.message_kinds(exchanges) == {"video"}
    conformance.assert_conform(spec, exchanges)


def with_video_template(client, sandbox, channel_id):
    """The sandbox's business account lists a template with a video header; the channel has it synced."""
    listed = [t for t in default_templates() if t["name"] != VIDEO_TEMPLATE["name"]] + [VIDEO_TEMPLATE]
    requests.post(f"{sandbox.url}/_sandbox/whatsapp/templates", json={"templates": listed},
                  timeout=5).raise_for_status()
    assert client.post(f"/api/channels/{channel_id}/templates/sync").status_code == 200


def test_a_template_with_a_video_header_goes_out_naming_the_uploaded_videos_media_id(
        spec, client, whatsapp, sandbox, sandbox_client, drain, clip):
    with_video_template(client, sandbox, whatsapp)
    listed = {t["name"]: t for t in client.get(f"/api/channels/{whatsapp}/templates").get_json()["items"]}
    template = listed["video_announcement"]
    assert (template["header"], template["usable"], template["preview"]["header"]) == ("VIDEO", None, "[video]")
    audience = numbers(3, start=200)  # nobody wrote: every window is closed, so the template goes
    add_contacts(client, whatsapp, audience)
    video = uploaded_video(client, clip)
    choice = {"template": "video_announcement", "language": "en_US", "body": ["{text}"], "audience": "Everyone"}
    photo_only = client.post("/api/posts", json={"text": "No video", "channels": [whatsapp], "publish": True,
                                                 "whatsapp": choice})
    assert photo_only.status_code == 400
    assert "has a video header: add a video" in photo_only.get_json()["error"]["message"]
    response = client.post("/api/posts", json={"text": "The spring menu", "channels": [whatsapp],
                                               "media_ids": [video["id"]], "publish": True, "whatsapp": choice})
    assert response.status_code == 201, response.get_json()
    publication_id = response.get_json()["publications"][0]["id"]
    drain()

    [sent] = media_uploads(sandbox_client)
    media_id = sent["answer"]["id"]
    received = videos_received(sandbox_client)
    assert sorted(m["to"] for m in received) == audience  # the audience "Everyone": those added here
    assert {(m["video"]["kind"], m["video"]["media_id"], m["video"]["sha256"], m["text"]) for m in received} == {
        ("header", media_id, hashlib.sha256(clip).hexdigest(), "Watch: The spring menu")}
    sends = [e["json"] for e in conformance.whatsapp_exchanges(sandbox_client) if e["path"].endswith("/messages")]
    assert [s["template"]["components"][0] for s in sends] == [
        {"type": "header", "parameters": [{"type": "video", "video": {"id": media_id}}]}] * len(audience)
    assert set(recipient_statuses(publication_id).values()) == {"sent"}
    exchanges = conformance.whatsapp_exchanges(sandbox_client)
    assert conformance.message_kinds(exchanges) >= {"template:header-video:id", "template:body-text"}
    conformance.assert_conform(spec, exchanges)


def test_an_attempt_cut_short_after_the_upload_resumes_with_the_same_media_id(
        client, whatsapp, sandbox, sandbox_client, settings, monkeypatch, clip):
    sandbox_client.configure(whatsapp={"windows": "open"})
    add_contacts(client, whatsapp, numbers(2, start=300))
    video = uploaded_video(client, clip)
    # No worker runs here: the publish message waits in the queue while the test runs the attempts itself.
    response = client.post("/api/posts", json={"text": "Cut short", "channels": [whatsapp],
                                               "media_ids": [video["id"]], "publish": True})
    assert response.status_code == 201, response.get_json()
    publication_id = response.get_json()["publications"][0]["id"]
    kept = delivery.save_checkpoint

    def dies_once_kept(job, state):
        kept(job, state)
        raise SystemExit("the worker died just after the upload was checkpointed")

    with monkeypatch.context() as patched:
        patched.setattr(delivery, "save_checkpoint", dies_once_kept)
        with pytest.raises(SystemExit):
            attempt.run(publication_id, settings)
    assert media_count(sandbox) == 1 and videos_received(sandbox_client) == []
    [sent] = media_uploads(sandbox_client)
    with db.database.connection_context():
        pub = Publication.get_by_id(publication_id)
        assert pub.status == "processing" and pub.uploads == {"media_id": sent["answer"]["id"]}
        # Its lease runs out: the next attempt takes it, as a worker would after the reconciler's re-send.
        Publication.update(started_at=utcnow() - dt.timedelta(seconds=settings.processing_lease_s + 1)).where(
            Publication.id == publication_id).execute()

    assert isinstance(attempt.run(publication_id, settings), attempt.Settled)
    assert media_count(sandbox) == 1 and len(media_uploads(sandbox_client)) == 1  # no second upload
    received = videos_received(sandbox_client)
    assert sorted(m["to"] for m in received) == contacts_of(client, whatsapp)
    assert {m["video"]["media_id"] for m in received} == {sent["answer"]["id"]}
    with db.database.connection_context():
        assert Publication.get_by_id(publication_id).status == "published"


def padded(mp4: bytes, size: int) -> bytes:
    """``mp4`` with a ``free`` box after it, to ``size`` bytes: the same video, larger."""
    pad = size - len(mp4)
    return mp4 + struct.pack(">I", pad) + b"free" + bytes(pad - 8)


@pytest.mark.parametrize("make, words", [
    (lambda clip, tmp: padded(clip, 17 * 10**6), "it is 17 MB; a WhatsApp video takes 16 MB at most"),
    (lambda clip, tmp: make_video(tmp / "clip.mov", seconds=1, container_format="mov").read_bytes(),
     "a WhatsApp video takes MP4 or 3GPP files"),
], ids=["over-16-MB", "quicktime"])
def test_a_video_meta_would_refuse_is_refused_before_anything_is_sent(
        client, whatsapp, sandbox_client, clip, tmp_path, make, words):
    add_contacts(client, whatsapp, numbers(1, start=400))
    video = uploaded_video(client, make(clip, tmp_path), "refused.mp4")
    response = client.post("/api/posts", json={"text": "Too much", "channels": [whatsapp],
                                               "media_ids": [video["id"]], "publish": True})
    assert response.status_code == 422, response.get_json()
    error = response.get_json()["error"]
    assert error["field"] == "media_ids" and words in error["message"]
    assert media_uploads(sandbox_client) == [] and sandbox_client.received("whatsapp") == []


def stored(data: bytes, content_type: str = "video/mp4") -> Video:
    """A video as a worker gets it, its bytes read from memory instead of the media store."""
    return Video(kind="message", content_type=content_type, size_bytes=len(data), width=180, height=320,
                 sha256=hashlib.sha256(data).hexdigest(), open=lambda start: io.BytesIO(data[start:]))


class ReadsCounted(io.FileIO):
    """A video's file as the local store opens it, which remembers how much each read asked for."""

    opened: list = []

    def __init__(self, path, start: int):
        super().__init__(path, "rb")
        self.seek(start)
        self.asked = []
        ReadsCounted.opened.append(self)

    def read(self, size=-1):
        self.asked.append(size)
        return super().read(size)


def test_an_uploaded_video_is_streamed_from_its_file_a_chunk_at_a_time_and_the_file_closed(
        sandbox, sandbox_client, clip, tmp_path):
    path = tmp_path / "large.mp4"
    path.write_bytes(padded(clip, 5 * 10**6))
    ReadsCounted.opened = []
    video = Video(kind="message", content_type="video/mp4", size_bytes=path.stat().st_size, width=180, height=320,
                  open=lambda start: ReadsCounted(path, start))
    media_id = get_adapter("whatsapp").upload_media(conformance.whatsapp_target(sandbox), video)
    [stream] = ReadsCounted.opened
    assert stream.closed and len(stream.asked) >= 5 and all(0 < n <= 1024 * 1024 for n in stream.asked)
    kept = requests.get(f"{sandbox.url}/_sandbox/whatsapp/media/{media_id}", timeout=5).json()
    assert (kept["sha256"], kept["bytes"]) == (hashlib.sha256(path.read_bytes()).hexdigest(), 5 * 10**6)


@pytest.mark.parametrize("data, content_type, code, words", [
    (b"\x00\x00\x00\x18ftypmp42" + bytes(16 * 10**6), "video/mp4", "131053", "over 16 MB"),
    (b"\x00\x00\x00\x14ftypqt  " + bytes(64), "video/mp4", "131053", "not an MP4 or 3GPP video"),
    (b"\x00\x00\x00\x14ftypqt  " + bytes(64), "video/quicktime", "100", "video/quicktime"),
], ids=["over-16-MB", "a-quicktime-file", "a-quicktime-type"])
def test_the_sandbox_refuses_an_upload_as_meta_does(sandbox, sandbox_client, data, content_type, code, words):
    adapter, target = get_adapter("whatsapp"), conformance.whatsapp_target(sandbox)
    with pytest.raises(PublishError) as refused:
        adapter.upload_media(target, stored(data, content_type))
    assert refused.value.code == code and refused.value.kind is ErrorKind.PERMANENT
    assert words in refused.value.message
    assert media_count(sandbox) == 0


def test_the_sandbox_refuses_a_video_the_message_or_template_does_not_take(sandbox, sandbox_client, clip):
    adapter, target = get_adapter("whatsapp"), conformance.whatsapp_target(sandbox)
    media_id = adapter.upload_media(target, stored(clip))
    assert requests.get(f"{sandbox.url}/_sandbox/whatsapp/media/{media_id}", timeout=5).json()["bytes"] == len(clip)

    def refusal(message: dict) -> str:
        with pytest.raises(PublishError) as refused:
            adapter.send(target, {"to": "+16505551234", **message})
        return refused.value.code

    header = {"type": "header", "parameters": [{"type": "video", "video": {"id": media_id}}]}
    # An image message naming a video; a video header on a template that has none, or an image one.
    assert refusal({"type": "image", "image": {"id": media_id}}) == "131053"
    assert refusal({"type": "template", "template": {"name": "news_update", "language": {"code": "es_ES"},
                                                     "components": [header, {"type": "body", "parameters": [
                                                         {"type": "text", "text": "hola"}]}]}}) == "132000"
    assert refusal({"type": "template", "template": {"name": "post_announcement", "language": {"code": "en_US"},
                                                     "components": [header, {"type": "body", "parameters": [
                                                         {"type": "text", "text": "hi"}]}]}}) == "132012"
    assert refusal({"type": "video", "video": {"id": "404", "caption": "x"}}) == "100"
    assert refusal({"type": "video", "video": {"id": media_id, "caption": "x" * 1025}}) == "100"
    assert sandbox_client.received("whatsapp") == []


def test_the_adapters_one_off_publish_uploads_the_video_once_for_every_recipient(sandbox, sandbox_client, clip):
    target = dataclasses.replace(conformance.whatsapp_target(sandbox), recipients=("+16505551234", "+447700900123"))
    kept = []
    get_adapter("whatsapp").publish(target, Content("Our kitchen", video=stored(clip)), checkpoint=kept.append)
    [sent] = media_uploads(sandbox_client)
    assert kept == [{"uploads": {"media_id": sent["answer"]["id"]}}]
    assert [(m["to"], m["video"]["media_id"], m["text"]) for m in videos_received(sandbox_client)] == [
        ("+16505551234", sent["answer"]["id"], "Our kitchen"), ("+447700900123", sent["answer"]["id"], "Our kitchen")]
