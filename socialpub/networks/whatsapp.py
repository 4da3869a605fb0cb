"""WhatsApp Cloud API calls: one message (``send``: free-form text, image or
video, or a template), a media upload (a video streamed from the media store,
never read whole), the business account's templates.

Publications go through whatsapp/broadcast.py, which sends one recipient at
a time from its ledger; ``publish`` (a free-form message to each of
``target.recipients``) is the adapter interface's, for one-off sends.

A 200 only means Meta *accepted* the message; 131047 (outside the 24-hour
window) or 131026 (undeliverable) may still arrive later through webhooks.
Every POST is a new message, and sent messages cannot be listed: whether a
lost send went out is known only from Meta's status webhook (``Unverifiable``
here).
"""
from __future__ import annotations

import datetime
import logging
import secrets
from typing import BinaryIO, Optional

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
    Unverifiable,
    Video,
    VideoRules,
    text_with_link,
)
from .graph import credentials, graph_call

#: Meta's supported media types of the Cloud API.
MEDIA_TYPES = "https://developers.facebook.com/docs/whatsapp/cloud-api/reference/media#supported-media-types"
#: The file name an upload gives each type Meta takes for a video.
VIDEO_NAMES = {"video/mp4": "video.mp4", "video/3gpp": "video.3gp"}

logger = logging.getLogger(__name__)


class WhatsAppAdapter(Adapter):
    """Send the post from a business phone number to ``target.recipients``."""

    network = "whatsapp"
    #: Text bodies take 4096 characters, image and video captions 1024.
    #: A message carries one image: of several, the first is sent (with the text as its caption).
    limits = NetworkLimits(max_text=4096, max_caption=1024, photo_types=("image/jpeg", "image/png"),
                           max_photos=10, sends_photos=1, videos=(
        VideoRules("message", "a WhatsApp video", MEDIA_TYPES, max_bytes=16 * 10**6,
                   content_types=("video/mp4", "video/3gpp"), video_codecs=("h264",)),))

    def identify(self, target: Target) -> Identity:
        """The business number: ``GET /{phone-number-id}`` (verified name, display number, quality)."""
        body = graph_call(self.network, self.timeouts, "GET", f"{target.base_url.rstrip('/')}/{target.account_id}",
                          **credentials(target), params={"fields": "verified_name,display_phone_number,quality_rating"})
        number, name = body.get("display_phone_number"), body.get("verified_name")
        quality = body.get("quality_rating")
        return Identity(name=f"{name} ({number})" if name and number else (name or number),
                        detail=f"quality rating {quality}" if quality else None, phone=number)

    def upload_media(self, target: Target, media) -> str:
        """``POST /{phone-number-id}/media`` (multipart ``file``, ``type``,
        ``messaging_product``): the media id messages then name. A photo goes as
        its bytes; a video (:class:`Video`) is streamed from the media store, a
        chunk at a time from a file object closed after the call. Not a message:
        a lost answer leaves at most an unused upload, so it is not ambiguous."""
        url = f"{target.base_url.rstrip('/')}/{target.account_id}/media"
        fields = {"messaging_product": "whatsapp", "type": media.content_type}
        if isinstance(media, Video):
            with media.open(0) as stream:
                form = StreamedForm(fields, "file", VIDEO_NAMES.get(media.content_type, "video.mp4"),
                                    media.content_type, stream, media.size_bytes)
                body = graph_call(self.network, self.timeouts, "POST", url, creates_item=False,
                                  **credentials(target), data=form, headers={"Content-Type": form.content_type})
        else:
            body = graph_call(self.network, self.timeouts, "POST", url, creates_item=False,
                              **credentials(target), data=fields,
                              files={"file": (f"photo.{media.content_type.split('/')[1]}", media.data,
                                              media.content_type)})
        media_id = body.get("id")
        if not media_id:
            raise PublishError(self.network, f"the media upload answered no id: {body!r}"[:300],
                               kind=ErrorKind.PERMANENT)
        return str(media_id)

    def send(self, target: Target, message: dict) -> str:
        """``POST /{phone-number-id}/messages`` with one message's body; its ``wamid``.

        Raises:
          PublishError: Meta refused it, or no answer came (``ambiguous``: it may have arrived).
        """
        body = graph_call(self.network, self.timeouts, "POST",
                          f"{target.base_url.rstrip('/')}/{target.account_id}/messages",
                          **credentials(target), json={"messaging_product": "whatsapp",
                                                       "recipient_type": "individual", **message})
        return _message_id(body)

    def list_templates(self, target: Target, business_account_id: str) -> list:
        """Every message template of the business account: ``GET /{waba-id}/message_templates``, page by page."""
        url = f"{target.base_url.rstrip('/')}/{business_account_id}/message_templates"
        params = {"fields": "name,language,status,category,components", "limit": 100}
        found = []
        for _ in range(100):  # 10,000 templates: far past Meta's per-account maximum
            body = graph_call(self.network, self.timeouts, "GET", url, **credentials(target), params=params)
            found += [t for t in body.get("data") or () if isinstance(t, dict)]
            after = ((body.get("paging") or {}).get("cursors") or {}).get("after")
            if not after or not (body.get("paging") or {}).get("next"):
                break
            params = {**params, "after": after}
        return found

    def publish(self, target: Target, content: Content, *, checkpoint=None, resume=None) -> Published:
        """Send one message per recipient; the external id joins their ``wamid`` ids with ",".

        An uploaded image or the video goes up once; its media id is checkpointed
        (``{"uploads": {"media_id": id}}``) and ``resume`` reuses it.

        Raises:
          PublishError: ``delivered`` holds ``{recipient: wamid}`` sent before the failure.
        """
        if not target.recipients:
            raise PublishError(self.network, "no recipients", kind=ErrorKind.PERMANENT)
        # An uploaded image or the video goes up once (an earlier attempt's upload is
        # reused); every recipient's message names its media id.
        media_id = ((resume or {}).get("uploads") or {}).get("media_id")
        media = uploaded_media(content)
        if media is not None and not media_id:
            media_id = self.upload_media(target, media)
            if checkpoint is not None:
                checkpoint({"uploads": {"media_id": media_id}})
        delivered = {}
        for recipient in target.recipients:
            try:
                delivered[recipient] = self.send(target, free_form(recipient, content, media_id))
            except PublishError as err:
                if delivered:
                    logger.warning("WhatsApp send to %s failed after %d recipient(s) got it.",
                                   recipient, len(delivered))
                    err.delivered = dict(delivered)
                raise
        logger.info("Sent WhatsApp message to %d recipient(s) from %s.", len(delivered),
                    target.account_id)
        return Published(external_id=",".join(delivered.values()))

    def find_published(self, target: Target, content: Content, since: datetime.datetime,
                       resume: Optional[dict] = None,
                       held_elsewhere: HeldElsewhere = lambda ids: set()) -> Optional[Published]:
        """Never answers: the Cloud API cannot list sent messages.

        Raises:
          Unverifiable: always.
        """
        raise Unverifiable(self.network, "the Cloud API cannot list sent messages, so a send whose "
                           "answer was lost cannot be confirmed; sending again may duplicate it")


def uploaded_media(content: Content):
    """What a message of ``content`` carries by media id: its video, else its first photo (None: neither)."""
    if content.video is not None:
        return content.video
    return content.photos[0] if content.photos else None


def free_form(recipient: str, content: Content, media_id: Optional[str] = None) -> dict:
    """The JSON body of one message to ``recipient`` (with the ``media_id`` of its
    uploaded video, else image, the text as its caption)."""
    text = text_with_link(content)
    message = {"messaging_product": "whatsapp", "recipient_type": "individual", "to": recipient}
    if media_id and content.video is not None:
        message.update(type="video", video={"id": media_id, "caption": text})
    elif media_id:
        message.update(type="image", image={"id": media_id, "caption": text})
    elif content.image_url:
        message.update(type="image", image={"link": content.image_url, "caption": text})
    else:
        # Without preview_url a link is sent as plain text, with no preview card.
        preview = "http://" in text or "https://" in text
        message.update(type="text", text={"preview_url": preview, "body": text})
    return message


def _message_id(body: dict) -> str:
    """The ``wamid`` of a send; a 200 without one is PERMANENT (resending would duplicate)."""
    messages = body.get("messages")
    first = messages[0] if isinstance(messages, list) and messages else None
    if not isinstance(first, dict) or not first.get("id"):
        raise PublishError("whatsapp", f"answer has no message id: {body!r}"[:300],
                           kind=ErrorKind.PERMANENT)
    return str(first["id"])


class StreamedForm:
    """A ``multipart/form-data`` body of text ``fields`` and one file read from
    ``stream`` a chunk at a time as it is sent — requests reads a file given in
    ``files=`` whole into memory. Its length is known (``size`` bytes of file),
    so it goes with a Content-Length; a stream that ends short raises OSError."""

    CHUNK = 1024 * 1024

    def __init__(self, fields: dict, name: str, filename: str, content_type: str, stream: BinaryIO, size: int):
        boundary = secrets.token_hex(16)
        self.content_type = f"multipart/form-data; boundary={boundary}"
        head = "".join(f'--{boundary}\r\nContent-Disposition: form-data; name="{key}"\r\n\r\n{value}\r\n'
                       for key, value in fields.items())
        head += (f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
                 f"Content-Type: {content_type}\r\n\r\n")
        self._head, self._tail = head.encode(), f"\r\n--{boundary}--\r\n".encode()
        self._stream, self._size = stream, size

    def __len__(self) -> int:
        return len(self._head) + self._size + len(self._tail)

    def __iter__(self):
        yield self._head
        left = self._size
        while left:
            try:
                chunk = self._stream.read(min(self.CHUNK, left))
            except OSError:
                raise
            except Exception as exc:  # a store's own error (S3's read): a failed send, as a dropped connection is
                raise OSError(f"the file could not be read: {exc}") from exc
            if not chunk:
                raise OSError(f"the file ends {left} bytes before its {self._size}")
            left -= len(chunk)
            yield chunk
        yield self._tail
