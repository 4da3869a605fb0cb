"""LinkedIn posts through the versioned REST Posts API (``/rest/posts``), with
images uploaded through ``/rest/images`` first, or a video through the Videos
API: ``initializeUpload`` (the video's URN, one upload URL per part of about
4 MB, the upload token), one ``PUT`` per part (its ``ETag`` kept, in order),
``finalizeUpload``, then ``GET /rest/videos/{urn}`` until it is AVAILABLE; or a
document (a PDF) through the Documents API: ``initializeUpload`` (its URN and
one upload URL), one ``PUT`` of the whole file, then ``GET /rest/documents/{urn}``
until it is AVAILABLE. Every id LinkedIn hands out is checkpointed before it is
used, so that an attempt that died goes on with the same video or document.

The post URN comes back in the ``x-restli-id`` header of an empty 201. A 422
"Content is a duplicate of urn:li:share:NNN" names an existing post with the
same text: an earlier attempt of this publication — or another post made on
purpose with the same words. ``publish`` raises it with ``duplicate_of`` set,
and the caller adopts it only when an earlier attempt may have made it.
"""
from __future__ import annotations

import datetime
import logging
import re
import time
from typing import Optional
from urllib.parse import quote

from .. import api_versions
from ..api_versions import DEFAULT_LINKEDIN_VERSION
from . import error_table
from .base import (
    Adapter,
    Content,
    Document,
    ErrorKind,
    HeldElsewhere,
    Identity,
    NetworkLimits,
    Published,
    PublishError,
    Target,
    Video,
    VideoRules,
    text_with_link,
)
from .http import json_body, retry_after_header, send
from .insights import LINKEDIN_MEMBER, LINKEDIN_SHARE, Numbers

#: LinkedIn's Videos API: what a video takes, and how it is uploaded.
VIDEOS_API = "https://learn.microsoft.com/en-us/linkedin/marketing/community-management/shares/videos-api"
#: A video's states (Videos API): the first two mean "not yet", the last "never".
VIDEO_WAITING = ("WAITING_UPLOAD", "PROCESSING")
VIDEO_FAILED = "PROCESSING_FAILED"
#: The longest video title sent (the first line of the text).
TITLE_CHARS = 100

logger = logging.getLogger(__name__)

#: Characters the "little" text format reserves; unescaped, LinkedIn may cut the text.
LITTLE_RESERVED = re.compile(r"([\\|{}@\[\]()<>#*_~])")
#: The URN inside LinkedIn's duplicate-content 422 message.
DUPLICATE_OF = re.compile(r"duplicate of (urn:li:[A-Za-z]+:[\w-]+)")


def escape_little(text: str) -> str:
    """Backslash-escape every reserved character of LinkedIn's little text format.

    One pass, so a backslash in the text is escaped once and the backslashes
    added for other characters are not escaped again.
    """
    return LITTLE_RESERVED.sub(r"\\\1", text)


def post_url(urn: str) -> str:
    return f"https://www.linkedin.com/feed/update/{urn}"


def linkedin_error(response) -> PublishError:
    """Turn a failed LinkedIn response into a PublishError.

    The body is ``{"message", "serviceErrorCode"?, "status", "code"?}``; the
    status decides the kind, by LinkedIn's table (:data:`.error_table.LINKEDIN`),
    since its service codes are not documented.
    """
    body = json_body(response)
    body = body if isinstance(body, dict) else {}
    status = response.status_code
    message = str(body.get("message") or f"HTTP {status}: {response.text[:200]!r}")
    code = body.get("serviceErrorCode") or body.get("code") or status
    row = error_table.linkedin_row(status, message)
    kind = row.kind if row is not None else error_table.by_status(status)
    if row is not None and row.told:
        message = f"{message} — {row.meaning}"
    retry_after = retry_after_header(response) if kind is ErrorKind.RATE_LIMITED else None
    return PublishError("linkedin", message, kind=kind, code=code, http_status=status,
                        retry_after=retry_after)


def duplicate_of(error: PublishError) -> Optional[str]:
    """The URN an earlier, identical post got, when ``error`` is LinkedIn's duplicate 422."""
    if error.http_status != 422:
        return None
    found = DUPLICATE_OF.search(error.message)
    return found.group(1) if found else None


class LinkedInAdapter(Adapter):
    """Publish to a LinkedIn member or organization (``target.account_id`` is the author URN)."""

    network = "linkedin"
    #: 3000 characters: third-party sources only (FIELD_LENGTH_TOO_LONG above it).
    #: multiImage takes 2 to 20 images.
    #: Comments: the Comments API, with the scope that posts (w_organization_social, w_member_social).
    limits = NetworkLimits(max_text=3000, max_photos=20, documents=True, max_comment=1250,
                           comment_scopes=("w_organization_social", "w_member_social"), videos=(
        VideoRules("video", "a LinkedIn video", VIDEOS_API, min_s=3, max_s=30 * 60, max_bytes=500 * 10**6,
                   content_types=("video/mp4",), video_codecs=("h264",), aspect_range=(1 / 2.4, 2.4)),))
    #: Longest wait for an uploaded video to be AVAILABLE in one attempt (the next one polls on), and
    #: the first pause between polls, doubling up to the last.
    poll_timeout = 60.0
    poll_interval = 0.5
    max_poll_interval = 5.0

    def publish(self, target: Target, content: Content, *, checkpoint=None, resume=None) -> Published:
        """Create the post (uploading its images first through the Images API,
        or its video through the Videos API).

        A retry is safe, since an identical post is answered with the duplicate
        422; the images an attempt uploaded are checkpointed
        (``{"uploads": {"image_urns": [...]}}``) and ``resume`` reuses them; a
        video's upload is checkpointed at each step (:meth:`upload_video`) and
        ``resume`` goes on from where it stopped.

        Raises:
          PublishError: the call failed; ``kind`` says whether to retry;
            ``duplicate_of`` is the existing post LinkedIn's duplicate 422 names.
        """
        body = {
            "author": target.account_id,
            "commentary": escape_little(text_with_link(content)),
            "visibility": "PUBLIC",
            "distribution": {"feedDistribution": "MAIN_FEED", "targetEntities": [],
                             "thirdPartyDistributionChannels": []},
            "lifecycleState": "PUBLISHED",
            "isReshareDisabledByAuthor": False,
        }
        if content.document is not None:
            urn = self.upload_document(target, content.document, checkpoint, resume)
            body["content"] = {"media": {"id": urn, "title": content.document.title[:TITLE_CHARS]}}
        elif content.video is not None:
            urn = self.upload_video(target, content.video, checkpoint, resume)
            body["content"] = {"media": {"id": urn, **_title(content.text)}}
        elif content.photos:
            urns = self.upload_photos(target, content.photos, checkpoint, resume)
            body["content"] = {"media": {"id": urns[0]}} if len(urns) == 1 else \
                {"multiImage": {"images": [{"id": urn} for urn in urns]}}
        response = send(self.network, self.timeouts, "POST", f"{_base(target)}/rest/posts",
                        json=body, headers=_headers(target))
        if response.status_code >= 400:
            error = linkedin_error(response)
            urn = duplicate_of(error)
            if urn is not None:
                error.message = (f"{error.message} — LinkedIn refuses a post that repeats a recent one's "
                                 f"text: change the text, then retry")
                error.args = (error.message,)
                error.duplicate_of = Published(external_id=urn, url=post_url(urn))
            raise error
        urn = response.headers.get("x-restli-id")
        if not urn:
            # Created but unnamed: retrying would post twice.
            raise PublishError(self.network, f"HTTP {response.status_code} without an x-restli-id "
                               "header", kind=ErrorKind.PERMANENT, http_status=response.status_code)
        logger.info("Published LinkedIn post %s for %s.", urn, target.account_id)
        return Published(external_id=urn, url=post_url(urn))

    takes_comments = True
    reads_back = True

    def read_back(self, target: Target, item_id: str) -> Optional[str]:
        """``GET /rest/posts/{urn}``: the post's address, None when LinkedIn answers 404."""
        response = send(self.network, self.timeouts, "GET", f"{_base(target)}/rest/posts/{quote(item_id, safe='')}",
                        headers=_headers(target))
        if response.status_code == 404:
            return None
        if response.status_code >= 400:
            raise linkedin_error(response)
        return post_url(item_id)

    def read_metrics(self, target: Target, item_id: str, video_kind: Optional[str]) -> Numbers:
        """An organization's post: its ``totalShareStatistics`` from
        ``GET /rest/organizationalEntityShareStatistics?q=organizationalEntity&…&shares=List(urn)`` (or
        ``ugcPosts=List(urn)``); a member's post: ``GET /rest/memberCreatorPostAnalytics?q=entity`` once per
        ``queryType`` (``r_member_postAnalytics``), its ``TOTAL``."""
        if target.account_id.startswith("urn:li:person:"):
            return Numbers(values={name: self._member_count(target, item_id, query)
                                   for query, name in LINKEDIN_MEMBER.items()})
        kind = "ugcPosts" if ":ugcPost:" in item_id else "shares"
        # Rest.li 2.0: the URNs inside List(...) are encoded, its parentheses are not.
        query = (f"q=organizationalEntity&organizationalEntity={quote(target.account_id, safe='')}"
                 f"&{kind}=List({quote(item_id, safe='')})")
        response = send(self.network, self.timeouts, "GET",
                        f"{_base(target)}/rest/organizationalEntityShareStatistics?{query}", headers=_headers(target))
        if response.status_code >= 400:
            raise linkedin_error(response)
        body = json_body(response)
        elements = body.get("elements") if isinstance(body, dict) else None
        totals = next((e.get("totalShareStatistics") for e in elements or ()
                       if isinstance(e, dict) and item_id in (e.get("share"), e.get("ugcPost"))), None) or {}
        return Numbers(values={name: int(totals[key]) for key, name in LINKEDIN_SHARE.items()
                               if isinstance(totals.get(key), (int, float))})

    def _member_count(self, target: Target, item_id: str, query_type: str) -> Optional[int]:
        kind = "ugc" if ":ugcPost:" in item_id else "share"
        query = (f"q=entity&entity=({kind}:{quote(item_id, safe='')})&queryType={query_type}"
                 "&aggregation=TOTAL")
        response = send(self.network, self.timeouts, "GET", f"{_base(target)}/rest/memberCreatorPostAnalytics?{query}",
                        headers=_headers(target))
        if response.status_code >= 400:
            raise linkedin_error(response)
        body = json_body(response)
        elements = body.get("elements") if isinstance(body, dict) else None
        counts = [e.get("count") for e in elements or () if isinstance(e, dict) and isinstance(e.get("count"), int)]
        return sum(counts) if counts else None

    def read_account(self, target: Target) -> Numbers:
        """An organization's followers: ``GET /rest/networkSizes/{urn}?edgeType=COMPANY_FOLLOWED_BY_MEMBER``
        (``firstDegreeSize``); a member's are not given to apps."""
        if target.account_id.startswith("urn:li:person:"):
            return Numbers()
        response = send(self.network, self.timeouts, "GET",
                        f"{_base(target)}/rest/networkSizes/{quote(target.account_id, safe='')}"
                        "?edgeType=COMPANY_FOLLOWED_BY_MEMBER", headers=_headers(target))
        if response.status_code >= 400:
            raise linkedin_error(response)
        body = json_body(response)
        size = body.get("firstDegreeSize") if isinstance(body, dict) else None
        return Numbers(values={"followers": size} if isinstance(size, int) else {})

    def comment(self, target: Target, item_id: str, text: str) -> str:
        """``POST /rest/socialActions/{post urn}/comments`` with ``{actor, object, message}``
        (the Comments API of the Community Management product; ``w_organization_social`` or
        ``w_member_social``); the comment's URN."""
        response = send(self.network, self.timeouts, "POST", _comments_url(target, item_id),
                        json={"actor": target.account_id, "object": item_id,
                              "message": {"text": escape_little(text)}}, headers=_headers(target))
        if response.status_code >= 400:
            raise linkedin_error(response)
        body = json_body(response)
        body = body if isinstance(body, dict) else {}
        urn = body.get("$URN") or response.headers.get("x-restli-id") or body.get("id")
        if not urn:
            raise PublishError(self.network, f"HTTP {response.status_code} without the comment's id",
                               kind=ErrorKind.PERMANENT, http_status=response.status_code)
        return str(urn)

    def find_comment(self, target: Target, item_id: str, text: str) -> Optional[str]:
        """The account's comment of this text: ``GET /rest/socialActions/{post urn}/comments``."""
        response = send(self.network, self.timeouts, "GET", _comments_url(target, item_id),
                        headers=_headers(target))
        if response.status_code >= 400:
            raise linkedin_error(response)
        body = json_body(response)
        for comment in (body.get("elements") if isinstance(body, dict) else None) or ():
            said = (comment.get("message") or {}).get("text")
            if comment.get("actor") == target.account_id and said in (text, escape_little(text)):
                return str(comment.get("$URN") or comment.get("id"))
        return None

    def identify(self, target: Target) -> Identity:
        """The member (``GET /v2/userinfo``) or the organization
        (``GET /rest/organizations/{id}``) the token posts as. A token valid
        for posting but without the scope to read the name (LinkedIn's 403)
        gives no name rather than a refusal.

        Raises:
          PublishError: LinkedIn refused the token (401) or did not answer.
        """
        kind, _, key = target.account_id.rpartition(":")
        if kind == "urn:li:person":
            url = f"{_base(target)}/v2/userinfo"
        else:
            url = f"{_base(target)}/rest/organizations/{key}"
        response = send(self.network, self.timeouts, "GET", url, headers=_headers(target))
        if response.status_code == 403:
            return Identity(name=None)
        if response.status_code >= 400:
            raise linkedin_error(response)
        body = json_body(response)
        body = body if isinstance(body, dict) else {}
        return Identity(name=body.get("name") or body.get("localizedName"), picture_url=body.get("picture"))

    def find_published(self, target: Target, content: Content, since: datetime.datetime,
                       resume: Optional[dict] = None,
                       held_elsewhere: HeldElsewhere = lambda ids: set()) -> Optional[Published]:
        """Always None: publishing again is the check (the duplicate 422 names the earlier post)."""
        return None

    def upload_photos(self, target: Target, photos, checkpoint, resume) -> list:
        """The image URNs of ``photos``, uploading those an earlier attempt did not."""
        urns = list(((resume or {}).get("uploads") or {}).get("image_urns") or [])
        for photo in photos[len(urns):]:
            urns.append(self.upload_image(target, photo.data))
            if checkpoint is not None:
                checkpoint({"uploads": {"image_urns": urns}})
        return urns

    def upload_image(self, target: Target, data: bytes) -> str:
        """Register an image owned by the author, PUT its bytes, return its ``urn:li:image:`` URN.

        An image is not a post, so a lost answer here is never ambiguous.
        """
        response = send(self.network, self.timeouts, "POST",
                        f"{_base(target)}/rest/images?action=initializeUpload",
                        json={"initializeUploadRequest": {"owner": target.account_id}},
                        headers=_headers(target), creates_item=False)
        if response.status_code >= 400:
            raise linkedin_error(response)
        body = json_body(response)
        value = body.get("value") if isinstance(body, dict) else None
        if not isinstance(value, dict) or not value.get("uploadUrl") or not value.get("image"):
            raise PublishError(self.network, f"initializeUpload answered without uploadUrl/image: "
                               f"{response.text[:200]!r}", kind=ErrorKind.PERMANENT,
                               http_status=response.status_code)
        response = send(self.network, self.timeouts, "PUT", value["uploadUrl"], data=data,
                        creates_item=False,
                        headers={"Authorization": f"Bearer {target.token}",
                                 "Content-Type": "application/octet-stream"})
        if response.status_code >= 400:
            raise linkedin_error(response)
        return value["image"]


    # -- video -------------------------------------------------------------------------------

    def upload_video(self, target: Target, video: Video, checkpoint, resume) -> str:
        """The ``urn:li:video:`` URN of ``video``, uploaded and AVAILABLE.

        Checkpointed as ``{"uploads": {"video_urn", "upload_token", "instructions",
        "expires_at", "etags", "uploaded_bytes", "size_bytes", "sha256", "finalized"}}``:
        after ``initializeUpload`` (before the first part), after each part (its
        ETag appended), after ``finalizeUpload``. With ``resume`` holding an upload
        of the same file, the parts already taken are not sent again, and
        ``finalizeUpload`` is called only when LinkedIn says the video still waits
        for it. LinkedIn refusing an upload URL (401, or the upload URLs' expiry
        passed) starts a new upload: the only case where a second video is made.

        Raises:
          PublishError: PERMANENT when LinkedIn could not process the video,
            TRANSIENT when it is still processing after ``poll_timeout`` (the next
            attempt polls the same video).
        """
        upload, restarted = self._resumed_upload(video, resume), False
        if upload is None:
            upload = self._initialize_video(target, video, checkpoint)
        elif not upload.get("finalized") and len(upload["etags"]) < len(upload["instructions"]) \
                and upload.get("expires_at") and upload["expires_at"] / 1000 <= time.time():
            logger.warning("LinkedIn: the upload URLs of %s expired at %s, before its last parts were sent; "
                           "starting a new upload of the video.", upload["video_urn"],
                           datetime.datetime.fromtimestamp(upload["expires_at"] / 1000, datetime.timezone.utc))
            upload, restarted = self._initialize_video(target, video, checkpoint), True
        resumed_whole = resume is not None and len(upload["etags"]) == len(upload["instructions"])
        while True:
            try:
                upload = self._send_parts(target, video, upload, checkpoint)
                break
            except _UploadUrlRefused as refused:
                if restarted:
                    raise PublishError(self.network, f"LinkedIn refused the upload address it had just given for "
                                       f"the video ({refused.status}); it will be tried again",
                                       kind=ErrorKind.TRANSIENT, http_status=refused.status) from None
                logger.warning("LinkedIn: the upload URL of part %d of %s is refused (HTTP %s: %s); the upload "
                               "cannot go on, starting a new upload of the video.", refused.part + 1,
                               upload["video_urn"], refused.status, refused.message)
                upload, restarted, resumed_whole = self._initialize_video(target, video, checkpoint), True, False
        urn = upload["video_urn"]
        if not upload.get("finalized"):
            # A finalize whose answer was lost may have gone through: LinkedIn's own state says.
            if not resumed_whole or self.video_status(target, urn) == "WAITING_UPLOAD":
                self._finalize_video(target, upload)
            upload = {**upload, "finalized": True}
            _save(checkpoint, upload)
        self.wait_until_available(target, urn, checkpoint)
        return urn

    def _resumed_upload(self, video: Video, resume) -> Optional[dict]:
        """The checkpointed upload of this very file, else None."""
        upload = (resume or {}).get("uploads") or {}
        if not upload.get("video_urn") or not isinstance(upload.get("instructions"), list):
            return None
        if upload.get("size_bytes") != video.size_bytes or (video.sha256 and upload.get("sha256") != video.sha256):
            logger.info("LinkedIn: the checkpointed upload %s is of another file; uploading this one.",
                        upload["video_urn"])
            return None
        return {**upload, "etags": list(upload.get("etags") or [])}

    def _initialize_video(self, target: Target, video: Video, checkpoint) -> dict:
        """Register the video (``initializeUpload``) and checkpoint what LinkedIn gave, before any part."""
        response = send(self.network, self.timeouts, "POST", f"{_base(target)}/rest/videos?action=initializeUpload",
                        json={"initializeUploadRequest": {"owner": target.account_id,
                                                          "fileSizeBytes": video.size_bytes,
                                                          "uploadCaptions": False, "uploadThumbnail": False}},
                        headers=_headers(target), creates_item=False)
        if response.status_code >= 400:
            raise _plainly(linkedin_error(response), "LinkedIn refused to start the video's upload")
        body = json_body(response)
        value = body.get("value") if isinstance(body, dict) else None
        instructions = value.get("uploadInstructions") if isinstance(value, dict) else None
        if not isinstance(value.get("video") if isinstance(value, dict) else None, str) \
                or not _covers(instructions, video.size_bytes):
            raise PublishError(self.network, f"LinkedIn's answer to the video's initializeUpload has no video URN "
                               f"or no upload addresses covering its {video.size_bytes} bytes: "
                               f"{response.text[:200]!r}", kind=ErrorKind.TRANSIENT, http_status=response.status_code)
        upload = {"video_urn": value["video"], "upload_token": value.get("uploadToken") or "",
                  "instructions": [{"uploadUrl": i["uploadUrl"], "firstByte": i["firstByte"],
                                    "lastByte": i["lastByte"]} for i in instructions],
                  "expires_at": value.get("uploadUrlsExpireAt"), "etags": [], "uploaded_bytes": 0,
                  "size_bytes": video.size_bytes, "sha256": video.sha256, "finalized": False}
        _save(checkpoint, upload)
        logger.info("LinkedIn video %s: %d part(s) to upload for %s.", upload["video_urn"],
                    len(upload["instructions"]), target.account_id)
        return upload

    def _send_parts(self, target: Target, video: Video, upload: dict, checkpoint) -> dict:
        """PUT every part not sent yet, each ETag checkpointed as it comes.

        Raises:
          _UploadUrlRefused: LinkedIn answered a part 401: this upload cannot go on.
        """
        for number in range(len(upload["etags"]), len(upload["instructions"])):
            part = upload["instructions"][number]
            first, last = part["firstByte"], part["lastByte"]
            try:
                data = video.read(first, last + 1)
            except OSError as exc:
                raise PublishError(self.network, f"could not read part {number + 1} of the video from the media "
                                   f"store: {exc}", kind=ErrorKind.TRANSIENT) from None
            response = send(self.network, self.timeouts, "PUT", part["uploadUrl"], data=data, creates_item=False,
                            headers={"Content-Type": "application/octet-stream"})
            if response.status_code == 401:
                raise _UploadUrlRefused(number, response.status_code, linkedin_error(response).message)
            if response.status_code >= 400:
                raise _plainly(linkedin_error(response), f"LinkedIn refused part {number + 1} of "
                               f"{len(upload['instructions'])} of the video")
            etag = response.headers.get("ETag")
            if not etag:
                raise PublishError(self.network, f"LinkedIn took part {number + 1} of the video without an ETag; "
                                   f"it will be sent again", kind=ErrorKind.TRANSIENT,
                                   http_status=response.status_code)
            upload = {**upload, "etags": [*upload["etags"], etag],
                      "uploaded_bytes": upload.get("uploaded_bytes", 0) + len(data)}
            _save(checkpoint, upload)
        return upload

    def _finalize_video(self, target: Target, upload: dict) -> None:
        response = send(self.network, self.timeouts, "POST", f"{_base(target)}/rest/videos?action=finalizeUpload",
                        json={"finalizeUploadRequest": {"video": upload["video_urn"],
                                                        "uploadToken": upload["upload_token"],
                                                        "uploadedPartIds": upload["etags"]}},
                        headers=_headers(target), creates_item=False)
        if response.status_code >= 400:
            raise _plainly(linkedin_error(response), "LinkedIn refused to finish the video's upload")

    def video_status(self, target: Target, urn: str, what: str = "video") -> str:
        """The video's (or document's) ``status`` as LinkedIn gives it (``GET /rest/videos/{urn}``,
        ``GET /rest/documents/{urn}``)."""
        response = send(self.network, self.timeouts, "GET",
                        f"{_base(target)}/rest/{what}s/{quote(urn, safe='')}", headers=_headers(target))
        if response.status_code >= 400:
            raise _plainly(linkedin_error(response), f"LinkedIn did not say how the {what} is")
        body = json_body(response)
        status = body.get("status") if isinstance(body, dict) else None
        if not isinstance(status, str):
            raise PublishError(self.network, f"LinkedIn's answer about the {what} has no status: "
                               f"{response.text[:200]!r}", kind=ErrorKind.TRANSIENT, http_status=response.status_code)
        return status

    def wait_until_available(self, target: Target, urn: str, checkpoint=None, what: str = "video") -> None:
        """Poll the video (or the document) at once, then at growing intervals, until it is AVAILABLE.

        Raises:
          PublishError: PERMANENT when LinkedIn could not process it (the upload is
            forgotten, so that a retry uploads it again), TRANSIENT when it is still
            processing after ``poll_timeout``.
        """
        deadline, interval = time.monotonic() + self.poll_timeout, self.poll_interval
        check = ("check that it plays and is an MP4 (H.264) LinkedIn takes" if what == "video" else
                 "check that it opens in a PDF reader")
        while True:
            status = self.video_status(target, urn, what)
            if status == "AVAILABLE":
                return
            if status not in VIDEO_WAITING:
                if checkpoint is not None:
                    checkpoint({"uploads": {}})
                said = f"could not process the {what}" if status == VIDEO_FAILED else f"says the {what} is {status}"
                raise PublishError(self.network, f"LinkedIn {said} ({urn}); {check}, then retry to upload it "
                                   f"again", kind=ErrorKind.PERMANENT, code=status)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise PublishError(self.network, f"LinkedIn is still processing the {what} ({status}) after "
                                   f"{self.poll_timeout:g} s; it will be checked again", kind=ErrorKind.TRANSIENT,
                                   code=status)
            time.sleep(min(interval, remaining))
            interval = min(interval * 2, self.max_poll_interval)

    # -- document --------------------------------------------------------------------------------

    def upload_document(self, target: Target, document: Document, checkpoint, resume) -> str:
        """The ``urn:li:document:`` URN of ``document``, uploaded and AVAILABLE.

        Checkpointed as ``{"uploads": {"document_urn", "upload_url", "expires_at", "size_bytes",
        "sha256", "uploaded_bytes", "uploaded"}}``: after ``initializeUpload`` (before the
        ``PUT``), then once LinkedIn took the bytes. With ``resume`` holding an upload of the
        same file, LinkedIn is asked where it is: one it has the bytes of is reused, one
        still waiting for them is sent them again at its upload URL while it is valid; a new
        upload starts only when that URL has expired, LinkedIn refuses it (401), or LinkedIn
        no longer knows the document.

        Raises:
          PublishError: PERMANENT when LinkedIn could not process the document, TRANSIENT
            when it is still processing after ``poll_timeout`` (the next attempt polls it).
        """
        upload = self._resumed_document(target, document, resume)
        if upload is None or (not upload["uploaded"] and _expired(upload)):
            if upload is not None:
                logger.warning("LinkedIn: the upload URL of %s expired before its bytes were sent; starting a new "
                               "upload of the document.", upload["document_urn"])
            upload = self._initialize_document(target, document, checkpoint)
        if not upload["uploaded"]:
            try:
                self._put_document(target, document, upload)
            except _UploadUrlRefused as refused:
                logger.warning("LinkedIn: the upload URL of %s is refused (HTTP %s: %s); starting a new upload of "
                               "the document.", upload["document_urn"], refused.status, refused.message)
                upload = self._initialize_document(target, document, checkpoint)
                try:
                    self._put_document(target, document, upload)
                except _UploadUrlRefused as again:
                    raise PublishError(self.network, f"LinkedIn refused the upload address it had just given for "
                                       f"the document ({again.status}); it will be tried again",
                                       kind=ErrorKind.TRANSIENT, http_status=again.status) from None
            upload = {**upload, "uploaded": True, "uploaded_bytes": document.size_bytes}
            _save(checkpoint, upload)
        self.wait_until_available(target, upload["document_urn"], checkpoint, what="document")
        return upload["document_urn"]

    def _resumed_document(self, target: Target, document: Document, resume) -> Optional[dict]:
        """The checkpointed upload of this very file, as LinkedIn has it now, else None."""
        upload = (resume or {}).get("uploads") or {}
        if not upload.get("document_urn") or not upload.get("upload_url"):
            return None
        if upload.get("size_bytes") != document.size_bytes or upload.get("sha256") != document.sha256:
            logger.info("LinkedIn: the checkpointed upload %s is of another file; uploading this one.",
                        upload["document_urn"])
            return None
        if upload.get("uploaded"):
            return upload
        # The PUT may have gone through before the worker died: LinkedIn's own state says.
        try:
            status = self.video_status(target, upload["document_urn"], "document")
        except PublishError as exc:
            if exc.http_status != 404:
                raise
            logger.info("LinkedIn no longer knows the document %s; uploading it again.", upload["document_urn"])
            return None
        return {**upload, "uploaded": status != "WAITING_UPLOAD"}

    def _initialize_document(self, target: Target, document: Document, checkpoint) -> dict:
        """Register the document (``initializeUpload``) and checkpoint what LinkedIn gave, before the PUT."""
        response = send(self.network, self.timeouts, "POST",
                        f"{_base(target)}/rest/documents?action=initializeUpload",
                        json={"initializeUploadRequest": {"owner": target.account_id}},
                        headers=_headers(target), creates_item=False)
        if response.status_code >= 400:
            raise _plainly(linkedin_error(response), "LinkedIn refused to start the document's upload")
        body = json_body(response)
        value = body.get("value") if isinstance(body, dict) else None
        if not isinstance(value, dict) or not isinstance(value.get("document"), str) \
                or not isinstance(value.get("uploadUrl"), str):
            raise PublishError(self.network, f"LinkedIn's answer to the document's initializeUpload has no document "
                               f"URN or upload address: {response.text[:200]!r}", kind=ErrorKind.TRANSIENT,
                               http_status=response.status_code)
        upload = {"document_urn": value["document"], "upload_url": value["uploadUrl"],
                  "expires_at": value.get("uploadUrlExpiresAt"), "size_bytes": document.size_bytes,
                  "sha256": document.sha256, "uploaded_bytes": 0, "uploaded": False}
        _save(checkpoint, upload)
        logger.info("LinkedIn document %s: uploading %d bytes for %s.", upload["document_urn"], document.size_bytes,
                    target.account_id)
        return upload

    def _put_document(self, target: Target, document: Document, upload: dict) -> None:
        """PUT the whole file to the upload URL, streamed from the store with its length.

        Raises:
          _UploadUrlRefused: LinkedIn answered 401: this upload cannot go on.
        """
        try:
            body = document.body()
        except OSError as exc:
            raise PublishError(self.network, f"could not read the document from the media store: {exc}",
                               kind=ErrorKind.TRANSIENT) from None
        with body:
            response = send(self.network, self.timeouts, "PUT", upload["upload_url"], data=body, creates_item=False,
                            headers={"Authorization": f"Bearer {target.token}",
                                     "Content-Type": "application/octet-stream"})
        if response.status_code == 401:
            raise _UploadUrlRefused(0, response.status_code, linkedin_error(response).message)
        if response.status_code >= 400:
            raise _plainly(linkedin_error(response), "LinkedIn refused the document's bytes")


class _UploadUrlRefused(Exception):
    """LinkedIn answered a part's upload URL 401: the upload cannot go on."""

    def __init__(self, part: int, status: int, message: str):
        super().__init__(message)
        self.part, self.status, self.message = part, status, message


def _save(checkpoint, upload: dict) -> None:
    if checkpoint is not None:
        checkpoint({"uploads": upload})


def _expired(upload: dict) -> bool:
    """Whether an upload's URL has expired (``expires_at``, LinkedIn's milliseconds)."""
    return bool(upload.get("expires_at")) and upload["expires_at"] / 1000 <= time.time()


def _covers(instructions, size: int) -> bool:
    """Whether upload instructions are parts of the file in order, from its first byte to its last."""
    if not isinstance(instructions, list) or not instructions:
        return False
    expected = 0
    for part in instructions:
        if not isinstance(part, dict) or not isinstance(part.get("uploadUrl"), str) \
                or part.get("firstByte") != expected or not isinstance(part.get("lastByte"), int) \
                or part["lastByte"] < expected:
            return False
        expected = part["lastByte"] + 1
    return expected == size


def _plainly(error: PublishError, what: str) -> PublishError:
    """``error``, its message saying first what went wrong in plain words."""
    error.message = f"{what}: {error.message}"
    error.args = (error.message,)
    return error


def _title(text: str) -> dict:
    """The video's ``title``: the first line of the post's text, cut at a word (none without text)."""
    line = next((line.strip() for line in text.splitlines() if line.strip()), "")
    if len(line) > TITLE_CHARS:
        line = line[:TITLE_CHARS - 1].rsplit(" ", 1)[0].rstrip() + "…"
    return {"title": line} if line else {}


def _base(target: Target) -> str:
    return target.base_url.rstrip("/")


def _comments_url(target: Target, item_id: str) -> str:
    return f"{_base(target)}/rest/socialActions/{quote(item_id, safe='')}/comments"


def _headers(target: Target) -> dict:
    """The headers of every REST call; a retired version is refused here, before
    LinkedIn answers 426 to a call that reached it for nothing."""
    version = target.api_version or DEFAULT_LINKEDIN_VERSION
    refused = api_versions.refusal("linkedin", version, api_versions.today())
    if refused:
        raise PublishError("linkedin", f"Not sent: {refused}", kind=ErrorKind.PERMANENT, code="version")
    return {
        "Authorization": f"Bearer {target.token}",
        "LinkedIn-Version": version,
        "X-Restli-Protocol-Version": "2.0.0",
        "Content-Type": "application/json",
    }
