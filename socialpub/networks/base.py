"""What every network adapter shares: the content it is given, what it returns,
the errors it raises, and a requests.Session per thread.

Errors are classified here, once: an adapter turns its network's error envelope
into a :class:`PublishError` whose ``kind`` tells the actor whether to retry and
whose ``ambiguous`` tells it whether the item may exist despite the error.
"""
from __future__ import annotations

import datetime
import enum
from dataclasses import dataclass, field
from typing import BinaryIO, Callable, Optional

from ..api_versions import DEFAULT_GRAPH_VERSION

#: How each network is written in messages and pages.
LABELS = {"facebook": "Facebook", "instagram": "Instagram", "linkedin": "LinkedIn", "whatsapp": "WhatsApp"}

#: The networks socialpub publishes to, in the order they are shown.
NETWORKS = ("facebook", "instagram", "linkedin", "whatsapp")


#: Shortest token :meth:`PublishError.redact` blanks out of messages.
MIN_SECRET_LENGTH = 8

#: Where each network's API lives in production.
DEFAULT_BASE_URLS = {
    "facebook": f"https://graph.facebook.com/{DEFAULT_GRAPH_VERSION}",
    "instagram": f"https://graph.facebook.com/{DEFAULT_GRAPH_VERSION}",
    "linkedin": "https://api.linkedin.com",
    "whatsapp": f"https://graph.facebook.com/{DEFAULT_GRAPH_VERSION}",
}


class ErrorKind(str, enum.Enum):
    """How the actor must react to a failed call."""

    #: Timeouts, connection errors, 5xx, Graph codes 1/2: retry with backoff.
    TRANSIENT = "transient"
    #: 429 and rate-limit codes: retry no sooner than ``retry_after``.
    RATE_LIMITED = "rate_limited"
    #: Bad parameter, permission, policy, content: never retry.
    PERMANENT = "permanent"
    #: The token is invalid or expired: never retry; the channel needs re-authorisation.
    AUTH = "auth"

    @property
    def retryable(self) -> bool:
        return self in (ErrorKind.TRANSIENT, ErrorKind.RATE_LIMITED)


class PublishError(Exception):
    """A network refused or failed a call; the message is the network's own words.

    Parameters:
      network(str): which network answered.
      message(str): the network's message, unchanged.
      kind(ErrorKind): whether and how to retry.
      code(str|None): the network's error code (Graph ``code``, LinkedIn
        ``serviceErrorCode``/``code``, or the HTTP status), as text.
      subcode(str|None): Graph ``error_subcode`` where given.
      http_status(int|None): the HTTP status, None when no answer came.
      retry_after(float|None): seconds the network asked us to wait.
      ambiguous(bool): the item-creating request may have reached the network
        and its answer was lost (read timeout, connection dropped after the
        request was sent): the item may exist. Never set when an HTTP answer
        came, nor when the connection could not be made.

    Adapters may also set, after construction:
      container_id: Instagram, the media container created before the failure,
        so a later attempt can poll it instead of creating a second one.
      delivered: WhatsApp, ``{recipient: message id}`` already sent before the
        failure (every POST is a new message; a retry resends to them).
      duplicate_of: LinkedIn, the existing post (a :class:`Published`) whose
        text this one repeats.
    """

    container_id: Optional[str] = None
    delivered: Optional[dict] = None
    duplicate_of: Optional["Published"] = None

    def __init__(self, network, message, *, kind, code=None, subcode=None,
                 http_status=None, retry_after=None, ambiguous=False):
        super().__init__(message)
        self.network = network
        self.message = message
        self.kind = ErrorKind(kind)
        self.code = None if code is None else str(code)
        self.subcode = None if subcode is None else str(subcode)
        self.http_status = http_status
        self.retry_after = retry_after
        self.ambiguous = bool(ambiguous)

    @property
    def error_code(self) -> Optional[str]:
        """The code as stored and counted: ``code/subcode`` where Graph gives both."""
        if self.code and self.subcode:
            return f"{self.code}/{self.subcode}"
        return self.code

    def __str__(self):
        code = f" (code {self.code}{'/' + self.subcode if self.subcode else ''})" if self.code else ""
        return f"{self.network}: {self.message}{code}"

    def redact(self, secret: str) -> "PublishError":
        """Blank ``secret`` out of the message, in case the network (or a proxy
        before it) echoed the request; return self. Secrets shorter than
        :data:`MIN_SECRET_LENGTH` are left alone: blanking them would garble
        ordinary words and hide nothing."""
        if secret and len(secret) >= MIN_SECRET_LENGTH and secret in self.message:
            self.message = self.message.replace(secret, "***")
            self.args = (self.message,)
        return self


class Unverifiable(Exception):
    """The network offers no way to tell whether an earlier attempt published.

    Raised by :meth:`Adapter.find_published`; a retry may duplicate the item.
    """

    def __init__(self, network, message):
        super().__init__(f"{network}: {message}")
        self.network = network
        self.message = message


@dataclass(frozen=True)
class Target:
    """The account a publication goes to: what an adapter needs of a Channel."""

    network: str
    #: Page id (facebook), IG user id (instagram), author URN (linkedin),
    #: phone-number id (whatsapp).
    account_id: str
    #: Kept out of repr(): a Target in a log line or a traceback must not show it.
    token: str = field(repr=False)
    base_url: str
    #: WhatsApp only: the numbers the message is sent to.
    recipients: tuple = ()
    #: LinkedIn only: the LinkedIn-Version header (None: versions.DEFAULT_LINKEDIN_VERSION).
    api_version: Optional[str] = None
    #: Meta networks: the secret of the app the token was granted to (the channel
    #: was connected through it), for ``appsecret_proof``; None for pasted tokens.
    app_secret: Optional[str] = field(default=None, repr=False)


@dataclass(frozen=True)
class Photo:
    """An uploaded image as a network gets it: in a type it takes (others were
    converted), and where a network that fetches media (Instagram) can."""

    content_type: str
    width: int
    height: int
    data: bytes = field(default=b"", repr=False)
    #: A URL anyone may fetch for a while (signed by this app, or presigned by S3); None when there is none.
    public_url: Optional[str] = None

    @property
    def aspect(self) -> float:
        return self.width / self.height


@dataclass(frozen=True)
class Video:
    """An uploaded video as a network gets it: its facts, how this publication posts
    it (``kind``: one of the network's :class:`VideoRules` kinds — "reel", "story",
    "video", "message"), and its bytes read as a stream, never held whole."""

    kind: str
    content_type: str
    size_bytes: int
    width: int
    height: int
    #: What media/videos.py judged: duration_s, frame_rate, video_codec, audio_codec, moov_first …
    facts: dict = field(default_factory=dict, compare=False)
    sha256: str = ""
    #: Opens the bytes for reading from the given offset (a file object; the caller closes it); None before
    #: sending.
    open: Optional[Callable[[int], BinaryIO]] = field(default=None, repr=False, compare=False)
    #: A URL anyone may fetch for a while (signed by this app, or presigned by S3), for a network that fetches it.
    public_url: Optional[str] = None
    #: The poster frame (JPEG) at such a URL: a Reel's cover.
    poster_url: Optional[str] = None

    def chunks(self, start: int, end: int, size: int = 4 * 1024 * 1024):
        """The bytes ``start`` to ``end`` (exclusive), ``size`` at a time: what one request sends."""
        with self.open(start) as stream:
            while start < end:
                chunk = stream.read(min(size, end - start))
                if not chunk:
                    raise OSError(f"the video ends at byte {start}, before {end}")
                start += len(chunk)
                yield chunk

    def read(self, start: int, end: int) -> bytes:
        """The bytes ``start`` to ``end`` (exclusive) at once: one part of a chunked upload."""
        return b"".join(self.chunks(start, end))


@dataclass(frozen=True)
class Document:
    """An uploaded document (a PDF) as a network gets it: its facts (media/documents.py:
    ``pages``, ``title``), the title shown over it, and its bytes read as a stream, never
    held whole."""

    content_type: str
    size_bytes: int
    title: str
    facts: dict = field(default_factory=dict, compare=False)
    sha256: str = ""
    #: Opens the bytes for reading from the given offset (a file object; the caller closes it); None before
    #: sending.
    open: Optional[Callable[[int], BinaryIO]] = field(default=None, repr=False, compare=False)

    def body(self) -> "SizedStream":
        """The whole file as a request's body: a file object whose length is known (so it is
        sent with a Content-Length, a chunk at a time); the caller closes it."""
        return SizedStream(self.open(0), self.size_bytes)


class SizedStream:
    """A stream of ``length`` bytes that says its length: requests sends it with a
    Content-Length, reading it a block at a time (an S3 body does not say it)."""

    def __init__(self, stream: BinaryIO, length: int):
        self.stream, self.length, self.sent = stream, length, 0

    def __len__(self) -> int:
        return self.length - self.sent

    def read(self, size: int = -1) -> bytes:
        size = len(self) if size is None or size < 0 else min(size, len(self))
        chunk = self.stream.read(size) if size else b""
        if size and not chunk:
            raise OSError(f"the file ends at byte {self.sent}, before {self.length}")
        self.sent += len(chunk)
        return chunk

    def close(self) -> None:
        self.stream.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


@dataclass(frozen=True)
class Content:
    """What is published: the text already adapted for this network, and an
    image given as a URL (``image_url``) or uploaded (``photos``), or a video,
    or a document."""

    text: str
    image_url: Optional[str] = None
    link: Optional[str] = None
    photos: tuple = ()
    video: Optional[Video] = None
    document: Optional[Document] = None

    @property
    def has_image(self) -> bool:
        return bool(self.image_url or self.photos)

    @property
    def has_media(self) -> bool:
        return self.has_image or self.video is not None or self.document is not None


@dataclass(frozen=True)
class Identity:
    """Who an account is, as its network says: checked before a channel is saved."""

    name: Optional[str]
    picture_url: Optional[str] = None
    #: What else the network says of it, in a few words (a WhatsApp number's quality rating).
    detail: Optional[str] = None
    #: A WhatsApp business number as Meta shows it (+1 650-555-0100): its country is the channel's default.
    phone: Optional[str] = None


@dataclass(frozen=True)
class Published:
    """A network's receipt for a published item."""

    external_id: str
    url: Optional[str] = None


@dataclass(frozen=True)
class VideoRules:
    """What one kind of video post takes on a network (a Reel, a Story, a feed video, a
    message), as its documentation states (``source``), checked against a video's facts
    before it is scheduled."""

    kind: str
    label: str
    source: str
    min_s: float = 0.0
    max_s: Optional[float] = None
    max_bytes: Optional[int] = None
    content_types: tuple = ("video/mp4", "video/quicktime")
    video_codecs: tuple = ("h264", "hevc")
    audio_codecs: tuple = ("aac",)
    max_audio_rate: Optional[int] = None
    min_fps: Optional[float] = None
    max_fps: Optional[float] = None
    min_width: Optional[int] = None
    min_height: Optional[int] = None
    #: Width / height, lowest and highest (9:16 is 0.5625).
    aspect_range: Optional[tuple] = None
    #: The index (``moov``) before the media data.
    moov_first: bool = False
    #: What to do instead when it does not fit (another kind of this network), in words.
    instead: Optional[str] = None

    def problems(self, video: dict, *, width: int, height: int, size: int, content_type: str) -> list:
        """What this kind of post would refuse in a video (media/videos.py's facts), each in plain
        words with the fix."""
        found, seconds = [], video["duration_s"]
        if self.max_s is not None and seconds > self.max_s:
            found.append(f"it is {_duration(seconds)} long; {self.label} takes {_duration(self.max_s)} at most: "
                         f"trim it" + (f", or {self.instead}" if self.instead else ""))
        if seconds < self.min_s:
            found.append(f"it is {_duration(seconds)} long; {self.label} takes at least {_duration(self.min_s)}")
        if self.max_bytes is not None and size > self.max_bytes:
            found.append(f"it is {size / 10**6:.0f} MB; {self.label} takes {self.max_bytes / 10**6:g} MB at most: "
                         f"export it smaller")
        if content_type not in self.content_types:
            found.append(f"{self.label} takes {' or '.join(t.split('/')[1].upper() for t in self.content_types)} "
                         f"files: export it as MP4")
        if video["video_codec"] not in self.video_codecs:
            found.append(f"its video is {video['video_codec'].upper()}; {self.label} takes "
                         f"{' or '.join(c.upper() for c in self.video_codecs)}: export it as H.264")
        if video["audio_codec"] is not None and video["audio_codec"] not in self.audio_codecs:
            found.append(f"its sound is {video['audio_codec'].upper()}; {self.label} takes AAC: export it with AAC "
                         f"sound")
        rate = video.get("audio_sample_rate")
        if rate and self.max_audio_rate and rate > self.max_audio_rate:
            found.append(f"its sound is sampled at {rate / 1000:g} kHz; {self.label} takes "
                         f"{self.max_audio_rate / 1000:g} kHz at most: export it at 48 kHz")
        fps = video["frame_rate"]
        if (self.min_fps and fps < self.min_fps) or (self.max_fps and fps > self.max_fps):
            found.append(f"it runs at {fps:g} frames a second; {self.label} takes "
                         f"{_between(self.min_fps, self.max_fps)}: export it at 30")
        if (self.min_width and width < self.min_width) or (self.min_height and height < self.min_height):
            found.append(f"it is {width} × {height}; {self.label} takes at least {self.min_width or width} × "
                         f"{self.min_height or height}: export it larger")
        if self.aspect_range is not None:
            low, high = self.aspect_range
            if not low <= width / height <= high:
                found.append(f"it is {width} × {height} ({_ratio(width, height)}); {self.label} takes "
                             f"{_ratio_of(low)} to {_ratio_of(high)}" if low != high else
                             f"it is {width} × {height} ({_ratio(width, height)}); {self.label} takes "
                             f"{_ratio_of(low)} (upright) videos")
        if self.moov_first and not video["moov_first"]:
            found.append(f"{self.label} needs the video's index at the start of the file: export it again with "
                         f"\"fast start\" (or \"optimise for web\") ticked")
        return found


def _between(low: float | None, high: float | None) -> str:
    """"23 to 60", "at least 23", "at most 60"."""
    if low and high:
        return f"{low:g} to {high:g}"
    return f"at least {low:g}" if low else f"at most {high:g}"


def _duration(seconds: float) -> str:
    """As people say it: "90 s", "5 min", "15 min 30 s"."""
    if seconds < 120:
        return f"{seconds:g} s"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min" if not rest else f"{minutes} min {rest} s"


#: Aspect ratios people know by name.
RATIOS = {9 / 16: "9:16", 16 / 9: "16:9", 1.0: "1:1", 4 / 5: "4:5", 1 / 2.4: "1:2.4", 2.4: "2.4:1"}


def _ratio_of(value: float) -> str:
    return next((name for ratio, name in RATIOS.items() if abs(ratio - value) < 0.011), f"{value:.2f}:1")


def _ratio(width: int, height: int) -> str:
    return _ratio_of(width / height)


@dataclass(frozen=True)
class NetworkLimits:
    """What a network accepts; checked before anything is enqueued."""

    max_text: int
    #: Max text when an image is attached (WhatsApp captions are shorter).
    max_caption: Optional[int] = None
    max_hashtags: Optional[int] = None
    max_mentions: Optional[int] = None
    image_required: bool = False
    #: The image types it takes; an upload of another type is sent as a JPEG.
    photo_types: tuple = ("image/jpeg", "image/png", "image/gif")
    #: Uploaded images per post, and how many of them it sends (WhatsApp: the first).
    max_photos: int = 1
    sends_photos: Optional[int] = None
    #: Width / height an image must keep to (Instagram: 4:5 to 1.91:1).
    aspect_range: Optional[tuple] = None
    #: Whether the network fetches the image itself from a public URL.
    fetches_media: bool = False
    #: Whether a link in the text can be clicked there (not in Instagram captions).
    links_clickable: bool = True
    #: The kinds of video post it takes, each with its rules.
    videos: tuple = ()
    #: Whether it takes a document (a PDF) as a post (LinkedIn's Documents API).
    documents: bool = False
    #: The longest first comment it takes under its items (0: none), and the permissions of
    #: which a token needs one to post it (lifecycle/first_comments.py).
    max_comment: int = 0
    comment_scopes: tuple = ()

    def problems(self, content: Content, label: str = "this network") -> list:
        """Return ``(field, message)`` pairs for what this network (``label``, as people call it) would reject."""
        found = []
        if content.document is not None:
            found += self.document_problems(content, label)
        elif self.image_required and not content.has_media:
            found.append(("image_url", "an image is required"))
        if content.video is not None:
            found += self.video_problems(content)
        if len(content.photos) > self.max_photos:
            found.append(("media_ids", f"{len(content.photos)} images; it takes {self.max_photos} per post"))
        for number, photo in enumerate(content.photos, start=1):
            low, high = self.aspect_range or (0, float("inf"))
            if not low <= photo.aspect <= high:
                found.append(("media_ids", f"image {number} is {photo.width} × {photo.height} (aspect ratio "
                                           f"{photo.aspect:.2f}); it takes {low:g} (4:5) to {high:g} (1.91:1)"))
        limit = self.max_caption if (content.has_media and self.max_caption) else self.max_text
        if len(content.text) > limit:
            what = "caption" if limit == self.max_caption else "text"
            found.append(("text", f"{what} is {len(content.text)} characters; the limit is {limit}"))
        if self.max_hashtags is not None:
            n = count_tokens(content.text, "#")
            if n > self.max_hashtags:
                found.append(("text", f"{n} hashtags; the limit is {self.max_hashtags}"))
        if self.max_mentions is not None:
            n = count_tokens(content.text, "@")
            if n > self.max_mentions:
                found.append(("text", f"{n} @-mentions; the limit is {self.max_mentions}"))
        return found


    def document_problems(self, content: Content, label: str = "this network") -> list:
        """``(field, message)`` pairs for what this network would refuse in the post's document."""
        if not self.documents:
            return [("media_ids", f"a document goes to LinkedIn only: untick {label}, or post photos there")]
        if content.photos or content.video is not None or content.image_url:
            return [("media_ids", "a post carries one document alone: no photos, video or image_url beside it")]
        return []

    def video_rules(self, kind: str) -> Optional["VideoRules"]:
        return next((rules for rules in self.videos if rules.kind == kind), None)

    def video_problems(self, content: Content) -> list:
        """``(field, message)`` pairs for what this network would refuse in the post's video,
        posted as ``content.video.kind``."""
        video = content.video
        rules = self.video_rules(video.kind)
        if rules is None:
            kinds = " or ".join(f"{r.kind!r} ({r.label})" for r in self.videos)
            return [("video_kind", f"there is no {video.kind!r} video here; choose {kinds}")]
        found = [("media_ids", "a post carries photos or one video, not both")] if content.photos else []
        return found + [("media_ids", f"the video: {problem}") for problem in rules.problems(
            video.facts, width=video.width, height=video.height, size=video.size_bytes,
            content_type=video.content_type)]


def count_tokens(text: str, sigil: str) -> int:
    """Count words that start with ``sigil`` followed by a word character."""
    count = 0
    for i, ch in enumerate(text):
        if ch == sigil and i + 1 < len(text) and (text[i + 1].isalnum() or text[i + 1] == "_") \
                and (i == 0 or not (text[i - 1].isalnum() or text[i - 1] == "_")):
            count += 1
    return count


@dataclass(frozen=True)
class Timeouts:
    connect: float = 5.0
    read: float = 30.0


class AddressRefused(Exception):
    """An address the app may not connect to (see :mod:`.outbound`); the
    message says why.

    Not an OSError on purpose: urllib3 and requests turn those into connection
    errors (retryable); this must pass through them untouched.
    """


#: Receives what a later attempt needs to resume (Instagram: ``{"container_id": ...}``).
Checkpoint = Callable[[dict], None]
#: Given item ids, those that other publications already hold (see Adapter.find_published).
HeldElsewhere = Callable[[list], set]


class Adapter:
    """One network's API. Subclasses set ``network`` and ``limits``, implement
    ``publish`` and, where the network allows it, ``find_published``.
    """

    network: str = ""
    limits: NetworkLimits
    #: Seconds looked back before ``since`` in :meth:`find_published`, for the
    #: difference between our clock and the network's.
    clock_skew: float = 60.0
    #: Whether :meth:`find_published` recognises an item by its text alone, so
    #: that another publication of the same text may have made what it finds.
    finds_by_text: bool = True

    def __init__(self, timeouts: Timeouts = Timeouts()):
        self.timeouts = timeouts

    def publish(self, target: Target, content: Content, *, checkpoint: Optional[Checkpoint] = None,
                resume: Optional[dict] = None) -> Published:  # pragma: no cover
        """Publish ``content`` to ``target``.

        Parameters:
          checkpoint: called with a dict to persist before the step that
            publishes, when the network has a multi-step flow (Instagram).
          resume: a dict an earlier attempt passed to ``checkpoint``.

        Raises:
          PublishError: the call failed; ``kind`` says whether to retry.
        """
        raise NotImplementedError

    def identify(self, target: Target) -> Identity:  # pragma: no cover
        """One read call with ``target``'s token: the account's name and picture.

        Raises:
          PublishError: the network refused the token or the account (AUTH,
            PERMANENT), or did not answer (TRANSIENT).
        """
        raise NotImplementedError

    def find_published(self, target: Target, content: Content, since: datetime.datetime,
                       resume: Optional[dict] = None, held_elsewhere: HeldElsewhere = lambda ids: set()
                       ) -> Optional[Published]:
        """The item an earlier attempt that started at ``since`` (naive UTC) published, or None.

        Parameters:
          held_elsewhere: given item ids, returns those that other publications
            already hold; such an item is never returned.

        Raises:
          Unverifiable: the network cannot be asked (this default), or it
            cannot tell this publication's item from another's.
          PublishError: the network could not be asked this time.
        """
        raise Unverifiable(self.network, "the network offers no way to find an earlier publication")

    #: Whether a first comment can be posted under this network's items (comment, find_comment).
    takes_comments: bool = False
    #: Whether an item it published can be read back by its id (read_back).
    reads_back: bool = False

    def read_back(self, target: Target, item_id: str) -> Optional[str]:
        """The item's address if the network holds ``item_id``; None if it says it does not.

        Raises:
          PublishError: the network could not be asked.
        """
        raise NotImplementedError

    def comment(self, target: Target, item_id: str, text: str) -> str:
        """Post ``text`` as the account's comment under its item ``item_id``; the comment's id.

        Raises:
          PublishError: the network refused (a missing permission is AUTH) or did not answer.
        """
        raise NotImplementedError

    def find_comment(self, target: Target, item_id: str, text: str) -> Optional[str]:
        """The id of the account's comment ``text`` under ``item_id`` — one an earlier try
        made whose answer was lost —, or None.

        Raises:
          PublishError: the network could not be asked.
        """
        raise NotImplementedError


def text_with_link(content: Content) -> str:
    """The text, with the link appended when the text does not already hold it.

    For networks (or endpoints) without a link field, so the link still reaches
    the reader.
    """
    if content.link and content.link not in content.text:
        return f"{content.text}\n\n{content.link}" if content.text else content.link
    return content.text
