"""Facebook Page videos, as Meta's Video API describes them: a Reel
(``/video_reels``) or a video Story (``/video_stories``) — a start phase that
names the video, its bytes sent to ``rupload`` from an ``offset`` of a
``file_size``, a finish phase that publishes it — and a feed video (the
Resumable Upload API's ``/{app-id}/uploads`` session, its bytes from a
``file_offset``, then ``/{page-id}/videos`` with the file's handle).

Uploaded once: every id Meta gives (the video id and its upload URL, the upload
session, the file handle) is checkpointed before it is used, and so is each part
sent (``uploaded_bytes``, for the post page's progress). A later attempt asks
Meta how many bytes it holds (the video's ``uploading_phase.bytes_transferred``,
the session's ``file_offset``) and sends only the rest; a video Meta already
published is adopted, never finished twice.
"""
from __future__ import annotations

import logging
import time
from typing import Optional

from .base import Content, ErrorKind, Published, PublishError, Target, Unverifiable, Video
from .graph import credentials, field, graph_call, graph_error
from .http import json_body, send

logger = logging.getLogger(__name__)

#: What one request carries: a part of the file is read from the store and held while it is sent.
PART_BYTES = 8 * 1024 * 1024
#: The edge that starts and finishes each kind of Page video.
EDGES = {"reel": "video_reels", "story": "video_stories"}
#: How long an attempt waits for Meta to process a finished video; a retry goes on waiting.
PROCESSING_TIMEOUT_S = 60.0
POLL_INTERVAL_S = 0.5
MAX_POLL_INTERVAL_S = 5.0

NETWORK = "facebook"


def reel_url(video_id: str) -> str:
    return f"https://www.facebook.com/reel/{video_id}"


class PageVideos:
    """One Page video's publication, with ``timeouts`` for every call."""

    def __init__(self, timeouts, processing_timeout: float = PROCESSING_TIMEOUT_S,
                 poll_interval: float = POLL_INTERVAL_S):
        self.timeouts = timeouts
        self.processing_timeout = processing_timeout
        self.poll_interval = poll_interval

    def publish(self, target: Target, content: Content, text: str, checkpoint, resume) -> Published:
        """Publish ``content.video`` as its kind (a Reel, a Story or a feed video) with ``text``.

        Raises:
          PublishError: Meta refused or failed a step; ``kind`` says whether to retry.
        """
        upload = dict((resume or {}).get("uploads") or {})
        save = checkpoint if checkpoint is not None else (lambda state: None)
        if content.video.kind == "video":
            return self._feed_video(target, content.video, text, upload, save)
        return self._reel_or_story(target, content.video, text, upload, save)

    def find(self, target: Target, content: Content, resume) -> Optional[Published]:
        """The Reel or Story an earlier attempt published (its checkpointed video is
        published at Meta), else None; a feed video is found by its text instead."""
        video_id = ((resume or {}).get("uploads") or {}).get("video_id")
        if not video_id:
            return None  # nothing was started, so nothing can have been published
        status = self.status(target, video_id)
        if status is None or not _finished(status):
            return None
        return self._receipt(content.video.kind, video_id, ((resume or {}).get("uploads") or {}).get("post_id"))

    # -- Reels and video Stories -----------------------------------------------------------------

    def _reel_or_story(self, target: Target, video: Video, text: str, upload: dict, save) -> Published:
        edge = f"{_base(target)}/{target.account_id}/{EDGES[video.kind]}"
        status = self.status(target, upload["video_id"]) if upload.get("video_id") else None
        if upload.get("video_id") and status is None:
            logger.info("Facebook has no video %s any more; starting the upload again.", upload["video_id"])
            upload = {}
        if not upload.get("video_id"):
            body = graph_call(NETWORK, self.timeouts, "POST", edge, creates_item=False, **credentials(target),
                              data={"upload_phase": "start"})
            upload = {"video_id": str(field(NETWORK, body, "video_id")), "upload_url": field(NETWORK, body, "upload_url"),
                      "size_bytes": video.size_bytes, "uploaded_bytes": 0}
            save({"uploads": upload})  # before the first byte: a later attempt resumes this video
        video_id = upload["video_id"]
        if status is not None and _finished(status):
            logger.info("Facebook video %s was published by an earlier attempt.", video_id)
            return self._receipt(video.kind, video_id, upload.get("post_id"))
        if not upload.get("finished") and _finish_taken(status):
            # An earlier attempt's finish arrived, its answer lost: Meta is processing the video already.
            upload = {**upload, "finished": True}
            save({"uploads": upload})
        if not upload.get("finished"):
            held = _bytes_held(status)
            if held < video.size_bytes:
                upload = self._rupload(target, video, upload, held, save)
            data = {"upload_phase": "finish", "video_id": video_id, "description": text}
            if video.kind == "reel":
                data["video_state"] = "PUBLISHED"
            body = graph_call(NETWORK, self.timeouts, "POST", edge, **credentials(target), data=data)
            upload = {**upload, "finished": True, "post_id": body.get("post_id")}
            save({"uploads": upload})
        self.wait_until_published(target, video_id)
        logger.info("Published Facebook %s %s on page %s.", video.kind, video_id, target.account_id)
        return self._receipt(video.kind, video_id, upload.get("post_id"))

    def _rupload(self, target: Target, video: Video, upload: dict, offset: int, save) -> dict:
        """Send the bytes from ``offset`` to ``upload_url``, a part at a time, each part checkpointed."""
        size = video.size_bytes
        while offset < size:
            end = min(offset + PART_BYTES, size)
            response = send(NETWORK, self.timeouts, "POST", upload["upload_url"], creates_item=False,
                            data=video.read(offset, end),
                            headers={"Authorization": f"OAuth {target.token}", "offset": str(offset),
                                     "file_size": str(size), "Content-Type": "application/octet-stream"})
            if response.status_code >= 400:
                raise _rupload_error(response)
            offset = end
            upload = {**upload, "uploaded_bytes": offset}
            save({"uploads": upload})
        return upload

    def status(self, target: Target, video_id: str) -> Optional[dict]:
        """The video's ``status`` (its uploading, processing and publishing phases), None when
        Meta does not know the video."""
        try:
            body = graph_call(NETWORK, self.timeouts, "GET", f"{_base(target)}/{video_id}", **credentials(target),
                              params={"fields": "status"})
        except PublishError as err:
            if err.code == "100" and err.subcode == "33":
                return None
            raise
        status = body.get("status")
        return status if isinstance(status, dict) else {}

    def wait_until_published(self, target: Target, video_id: str) -> None:
        """Poll the video until Meta has processed and published it.

        Raises:
          PublishError: PERMANENT when processing failed (Meta's words), TRANSIENT when it
            is still processing after ``processing_timeout`` (the retry polls again).
        """
        deadline, interval = time.monotonic() + self.processing_timeout, self.poll_interval
        while True:
            status = self.status(target, video_id) or {}
            if _finished(status):
                return
            if status.get("video_status") == "error":
                phases = [status.get(p) or {} for p in ("uploading_phase", "processing_phase", "publishing_phase")]
                errors = [e.get("message") for p in phases for e in p.get("errors") or () if isinstance(e, dict)]
                raise PublishError(NETWORK, f"Facebook could not process video {video_id}"
                                   + (f": {'; '.join(filter(None, errors))}" if any(errors) else ""),
                                   kind=ErrorKind.PERMANENT, code="video_error")
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise PublishError(NETWORK, f"video {video_id} is still being processed by Facebook after "
                                   f"{self.processing_timeout:g} s", kind=ErrorKind.TRANSIENT, code="processing")
            time.sleep(min(interval, remaining))
            interval = min(interval * 2, MAX_POLL_INTERVAL_S)

    @staticmethod
    def _receipt(kind: str, video_id: str, post_id: Optional[str]) -> Published:
        if kind == "story" and post_id:
            return Published(external_id=str(post_id), url=f"https://www.facebook.com/{post_id}")
        return Published(external_id=str(video_id), url=reel_url(video_id) if kind == "reel"
                         else f"https://www.facebook.com/watch/?v={video_id}")

    # -- Feed videos: the Resumable Upload API ---------------------------------------------------

    def _feed_video(self, target: Target, video: Video, text: str, upload: dict, save) -> Published:
        if not upload.get("handle"):
            upload = self._upload_file(target, video, upload, save)
        if not upload.get("video_id"):
            if upload.get("publishing"):
                # An earlier attempt sent /videos and its answer was lost; the feed (find_published) did not
                # show the video, which may still be processing: sending again could post it twice.
                raise Unverifiable(NETWORK, "an earlier attempt sent the video and no answer came; it is not in "
                                   "the Page's feed yet (Facebook may still be processing it)")
            upload = {**upload, "publishing": True}
            save({"uploads": upload})
            body = graph_call(NETWORK, self.timeouts, "POST", f"{_video_base(target)}/{target.account_id}/videos",
                              **credentials(target),
                              data={"description": text, "fbuploader_video_file_chunk": upload["handle"]})
            upload = {**upload, "video_id": str(field(NETWORK, body, "id")), "finished": True}
            save({"uploads": upload})
        self.wait_until_published(target, upload["video_id"])
        logger.info("Published Facebook video %s on page %s.", upload["video_id"], target.account_id)
        return self._receipt("video", upload["video_id"], None)

    def _upload_file(self, target: Target, video: Video, upload: dict, save) -> dict:
        """The file's handle: its upload session (started once, checkpointed) filled from
        the offset Meta holds."""
        offset = self._session_offset(target, upload["session"]) if upload.get("session") else None
        if offset is None:
            app_id = upload.get("app_id") or str(field(NETWORK, graph_call(
                NETWORK, self.timeouts, "GET", f"{_base(target)}/app", **credentials(target)), "id"))
            body = graph_call(NETWORK, self.timeouts, "POST", f"{_base(target)}/{app_id}/uploads", creates_item=False,
                              **credentials(target), params={"file_name": f"video-{video.sha256[:12]}.mp4",
                                                             "file_length": str(video.size_bytes),
                                                             "file_type": video.content_type})
            upload = {"app_id": app_id, "session": str(field(NETWORK, body, "id")), "size_bytes": video.size_bytes,
                      "uploaded_bytes": 0}
            save({"uploads": upload})
            offset = 0
        handle = None
        while handle is None:
            end = min(offset + PART_BYTES, video.size_bytes)
            response = send(NETWORK, self.timeouts, "POST", f"{_base(target)}/{upload['session']}",
                            creates_item=False, data=video.read(offset, end),
                            headers={"Authorization": f"OAuth {target.token}", "file_offset": str(offset)})
            if response.status_code >= 400:
                raise graph_error(NETWORK, response)
            body = json_body(response) or {}
            handle = body.get("h") if isinstance(body, dict) else None
            if handle is None and end >= video.size_bytes:
                raise PublishError(NETWORK, f"Facebook took the whole file without giving its handle: "
                                   f"{response.text[:200]!r}", kind=ErrorKind.TRANSIENT)
            offset = end
            upload = {**upload, "uploaded_bytes": offset, **({"handle": handle} if handle else {})}
            save({"uploads": upload})
        return upload

    def _session_offset(self, target: Target, session: str) -> Optional[int]:
        """How many bytes an upload session holds (``file_offset``), None when Meta no longer knows it."""
        try:
            body = graph_call(NETWORK, self.timeouts, "GET", f"{_base(target)}/{session}", **credentials(target))
        except PublishError as err:
            if err.code == "100":
                logger.info("Facebook no longer knows upload session %s; starting a new one.", session)
                return None
            raise
        return int(body.get("file_offset") or 0)


def _finished(status: dict) -> bool:
    publishing = status.get("publishing_phase") or {}
    return publishing.get("status") == "complete" or publishing.get("publish_status") == "published"


def _finish_taken(status: Optional[dict]) -> bool:
    """Whether Meta took a finish for the video: it is processing or publishing it (or failed to)."""
    if not status:
        return False
    started = [(status.get(phase) or {}).get("status") for phase in ("processing_phase", "publishing_phase")]
    return status.get("video_status") in ("processing", "ready", "error") or any(
        s not in (None, "not_started") for s in started)


def _bytes_held(status: Optional[dict]) -> int:
    return int(((status or {}).get("uploading_phase") or {}).get("bytes_transferred") or 0)


def _rupload_error(response) -> PublishError:
    """A refusal from rupload: a Graph error, or its own ``debug_info``. A wrong offset
    is retried (the next attempt asks Meta how many bytes it holds)."""
    body = json_body(response)
    if isinstance(body, dict) and "error" in body:
        return graph_error(NETWORK, response)
    info = body.get("debug_info") if isinstance(body, dict) else None
    info = info if isinstance(info, dict) else {}
    kind = ErrorKind.TRANSIENT if (info.get("retriable") or info.get("type") == "OffsetInvalidError"
                                   or response.status_code >= 500) else ErrorKind.PERMANENT
    message = info.get("message") or f"HTTP {response.status_code}: {response.text[:200]!r}"
    return PublishError(NETWORK, f"the video upload was refused: {message}", kind=kind,
                        code=info.get("type") or response.status_code, http_status=response.status_code)


def _base(target: Target) -> str:
    return target.base_url.rstrip("/")


def _video_base(target: Target) -> str:
    """Graph's host for video publishing (graph-video.facebook.com); the same base elsewhere (the sandbox)."""
    return _base(target).replace("://graph.facebook.com", "://graph-video.facebook.com")
