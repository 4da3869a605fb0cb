"""LinkedIn posts through the versioned REST Posts API (``/rest/posts``), with
an optional image uploaded through ``/rest/images`` first.

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
from typing import Optional

from .. import api_versions
from ..api_versions import DEFAULT_LINKEDIN_VERSION
from . import error_table
from .base import (
    Adapter,
    Content,
    ErrorKind,
    HeldElsewhere,
    Identity,
    NetworkLimits,
    Published,
    PublishError,
    Target,
    VideoRules,
    text_with_link,
)
from .http import json_body, retry_after_header, send

#: LinkedIn's Videos API: what a video takes.
VIDEOS_API = "https://learn.microsoft.com/en-us/linkedin/marketing/community-management/shares/videos-api"

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
    limits = NetworkLimits(max_text=3000, max_photos=20, videos=(
        VideoRules("video", "a LinkedIn video", VIDEOS_API, min_s=3, max_s=30 * 60, max_bytes=500 * 10**6,
                   content_types=("video/mp4",), video_codecs=("h264",), aspect_range=(1 / 2.4, 2.4)),))

    def publish(self, target: Target, content: Content, *, checkpoint=None, resume=None) -> Published:
        """Create the post (uploading its images first through the Images API).

        A retry is safe, since an identical post is answered with the duplicate
        422; the images an attempt uploaded are checkpointed
        (``{"uploads": {"image_urns": [...]}}``) and ``resume`` reuses them.

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
        if content.photos:
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


def _base(target: Target) -> str:
    return target.base_url.rstrip("/")


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
