"""An uploaded video judged by its content, never its name: PyAV (FFmpeg, shipped
in its wheels) opens the file from disk and reads its container, codecs,
duration, frame rate, resolution and audio; the MP4 box order says whether the
index (``moov``) comes before the media data, which Instagram requires; a poster
frame and a thumbnail are decoded from it. A file that is not a video, a cut-short
MP4, a container without a video stream or a codec no network takes is refused
with the reason and the fix in plain words.

The file is read from a path, never whole into memory: videos run to hundreds
of megabytes, and FFmpeg reads what it needs (the index, one frame).
"""
from __future__ import annotations

import io
import struct
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from PIL import Image

from .images import THUMBNAIL_SIZE, MediaRefused

#: The containers accepted, by the MP4 file type's brand: QuickTime's, or an MP4's.
QUICKTIME_BRAND = b"qt  "
#: Video codecs, as FFmpeg names them, that at least one network takes (Instagram and
#: Facebook: H.264 or HEVC; LinkedIn: H.264; WhatsApp: H.264), and how people call them.
VIDEO_CODECS = {"h264": "H.264", "hevc": "HEVC (H.265)"}
#: Audio codecs the networks take (AAC everywhere; none is fine too).
AUDIO_CODECS = {"aac": "AAC"}
POSTER_QUALITY = 85
#: Top-level boxes read before a file is refused: an MP4 has a few (ftyp, moov, mdat, free…).
MAX_BOXES = 1000
#: What a video kept is, by its brand.
CONTENT_TYPES = ("video/mp4", "video/quicktime")


#: Top-level brands of the MP4 family that are pictures, not videos (HEIF, AVIF).
IMAGE_BRANDS = {b"heic", b"heix", b"mif1", b"msf1", b"avif", b"avis"}


def looks_like_video(head: bytes) -> bool:
    """Whether a file's first bytes are an MP4 or MOV's (an ``ftyp`` box that is not a picture's)."""
    return head[4:8] == b"ftyp" and head[8:12] not in IMAGE_BRANDS


class VideoRefused(MediaRefused):
    """The file is not a video socialpub takes (415 not a video, 422 a video it refuses)."""


@dataclass(frozen=True)
class Judged:
    """An accepted video: what it is, as the networks' rules ask."""

    content_type: str
    video_codec: str
    audio_codec: str | None
    audio_sample_rate: int | None
    duration_s: float
    frame_rate: float
    width: int
    height: int
    #: The index (``moov``) before the media data: played while it downloads, and required by Instagram.
    moov_first: bool
    size_bytes: int

    @property
    def aspect(self) -> Fraction:
        """Width over height, as displayed (9:16 is 0.5625)."""
        return Fraction(self.width, self.height)


def judge(path: Path) -> Judged:
    """What the video at ``path`` is. Raises VideoRefused, saying why."""
    path = Path(path)
    size = path.stat().st_size
    if size == 0:
        raise VideoRefused("file: it is empty")
    brand, moov_first, complete = _boxes(path)
    if brand is None:
        raise VideoRefused("file: not a video socialpub takes (MP4 or MOV, with H.264 or HEVC video)", 415)
    if not complete:
        raise VideoRefused("file: the video is cut short (its index is missing or it ends early); export or "
                           "download it again")
    import av  # FFmpeg's libraries: loaded by the processes that judge a video, not by every one

    try:
        with av.open(str(path)) as container:
            return _judged(container, brand, moov_first, size)
    except av.FFmpegError:
        raise VideoRefused("file: the video cannot be read (it may be damaged or cut short); export it again") from None


def _judged(container, brand: bytes, moov_first: bool, size: int) -> Judged:
    if not container.streams.video:
        raise VideoRefused("file: it holds no video picture (sound alone?); send a video")
    video = container.streams.video[0]
    codec = video.codec_context.name
    if codec not in VIDEO_CODECS:
        raise VideoRefused(f"file: its video is coded as {codec.upper()}, which no network takes; export it as "
                           f"H.264 MP4 (most editors call it \"H.264\" or \"MP4, high quality\")")
    audio = container.streams.audio[0] if container.streams.audio else None
    if audio is not None and audio.codec_context.name not in AUDIO_CODECS:
        raise VideoRefused(f"file: its sound is coded as {audio.codec_context.name.upper()}, which the networks do "
                           f"not take; export it with AAC sound")
    duration = _duration_s(container, video)
    if duration <= 0:
        raise VideoRefused("file: the video has no length (no frames); export it again")
    rate = video.average_rate or video.guessed_rate
    width, height = video.codec_context.width, video.codec_context.height
    if not width or not height:
        raise VideoRefused("file: the video's picture has no size; export it again")
    return Judged(content_type="video/quicktime" if brand == QUICKTIME_BRAND else "video/mp4",
                  video_codec=codec, audio_codec=audio.codec_context.name if audio is not None else None,
                  audio_sample_rate=audio.codec_context.sample_rate if audio is not None else None,
                  duration_s=round(duration, 3), frame_rate=round(float(rate), 3) if rate else 0.0,
                  width=width, height=height, moov_first=moov_first, size_bytes=size)


def _duration_s(container, video) -> float:
    if video.duration is not None and video.time_base is not None:
        return float(video.duration * video.time_base)
    import av

    return container.duration / av.time_base if container.duration else 0.0


def _boxes(path: Path) -> tuple:
    """``(brand, moov_first, complete)`` from the file's top-level MP4 boxes: the
    ``ftyp`` brand (None: not an MP4 or MOV), whether ``moov`` comes before
    ``mdat``, and whether both are there and every box ends within the file."""
    size = path.stat().st_size
    brand, seen, offset = None, [], 0
    with path.open("rb") as file:
        while offset < size:
            if len(seen) >= MAX_BOXES:  # a real file has a handful: not one a camera or an editor made
                return None, False, False
            file.seek(offset)
            header = file.read(16)
            if len(header) < 8:
                return brand, False, False
            length, kind = struct.unpack(">I4s", header[:8])
            if length == 1 and len(header) == 16:  # a 64-bit size follows the type
                length = struct.unpack(">Q", header[8:16])[0]
            elif length == 0:  # the box runs to the end of the file
                length = size - offset
            if offset == 0:
                if kind != b"ftyp":
                    return None, False, False
                brand = header[8:12]  # the major brand
            if length < 8 or offset + length > size:
                return brand, False, False
            seen.append(kind)
            offset += length
    complete = b"moov" in seen and b"mdat" in seen
    return brand, complete and seen.index(b"moov") < seen.index(b"mdat"), complete


def poster(path: Path, at_s: float = 0.0) -> tuple:
    """``(poster, thumbnail)``: JPEGs of the frame at ``at_s`` seconds (the first one
    at or after it), full size and at most THUMBNAIL_SIZE."""
    import av

    try:
        with av.open(str(Path(path))) as container:
            video = container.streams.video[0]
            if at_s > 0:
                container.seek(int(at_s / video.time_base), stream=video, backward=True)
            for frame in container.decode(video):
                if frame.time is None or frame.time >= at_s - 1e-6:
                    image = frame.to_image()
                    break
            else:
                raise VideoRefused("file: no frame could be decoded from the video; export it again")
    except av.FFmpegError:  # its index read well, its pictures do not: damaged inside
        raise VideoRefused("file: no frame could be decoded from the video (it may be damaged); export it "
                           "again") from None
    thumbnail = image.copy()
    thumbnail.thumbnail(THUMBNAIL_SIZE)
    return _jpeg(image), _jpeg(thumbnail)


def _jpeg(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.convert("RGB").save(out, "JPEG", quality=POSTER_QUALITY)
    return out.getvalue()
