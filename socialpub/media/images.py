"""An uploaded file judged by its content, never its name: Pillow decodes it
(JPEG, PNG, WebP, GIF), its dimensions are read, decompression bombs and
oversized files are refused, GPS location is taken out of its EXIF, and a
thumbnail is made. A refusal names the problem in words for the person.

Memory is bounded before any pixel is decoded: an image whose decoding would
take more than MEDIA_DECODE_MAX_BYTES (pixels × bytes per pixel, with the
decoder's own copies) is refused from its header, a JPEG is decoded at its
thumbnail's scale when no full-size copy is needed, and each process runs at
most MEDIA_DECODE_MEMORY / MEDIA_DECODE_MAX_BYTES decodes at once."""
from __future__ import annotations

import hashlib
import io
import threading
import warnings
from contextlib import contextmanager
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError

#: The formats accepted, as Pillow names them, and their media types.
FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp", "GIF": "image/gif"}
#: EXIF's pointer to the GPS IFD: the location a phone writes into a photo.
GPS_IFD = 0x8825
THUMBNAIL_SIZE = (320, 320)


class MediaRefused(Exception):
    """An upload socialpub does not take; the message says why and what to do, ``status``
    the HTTP answer (413 too large, 415 not of its kind, 422 refused, 503 busy)."""

    def __init__(self, message: str, status: int = 422):
        super().__init__(message)
        self.message, self.status = message, status


class ImageRefused(MediaRefused):
    """The file is not an image socialpub takes."""


@dataclass(frozen=True)
class Inspected:
    """An accepted image: its bytes (location removed), what they are, and a thumbnail."""

    data: bytes
    content_type: str
    width: int
    height: int
    sha256: str
    thumbnail: bytes
    #: A JPEG rendition of a PNG, WebP or GIF; None for a JPEG.
    jpeg: bytes | None
    location_removed: bool


def check_size(data: bytes, *, max_bytes: int) -> None:
    """Refuse an empty file or one over ``max_bytes``, before anything looks inside it."""
    check_length(len(data), max_bytes=max_bytes)


def check_length(size: int, *, max_bytes: int) -> None:
    """Refuse a file of ``size`` bytes that is empty or over ``max_bytes``."""
    if not size:
        raise ImageRefused("file: it is empty", 422)
    if size > max_bytes:
        raise ImageRefused(f"file: {size / 2**20:.1f} MiB is larger than the {max_bytes / 2**20:g} MiB "
                      f"allowed (SOCIALPUB_MEDIA_MAX_BYTES)", 413)


def pixel_bytes(mode: str) -> int:
    """Bytes Pillow keeps per pixel of ``mode``: one for the 8-bit single-band
    modes, two for the 16-bit ones, four for the rest — Pillow pads every
    multi-band mode (RGB included) to four bytes a pixel."""
    if Image.getmodebands(mode) > 1:
        return 4
    if mode in ("1", "L", "P"):
        return 1
    return 2 if mode.startswith("I;16") else 4


#: Copies of the pixels a format's decoder holds at its peak: libwebp decodes
#: into buffers of its own, which Pillow copies (16 to 20 bytes a pixel measured; 24 counted).
DECODER_COPIES = {"WEBP": 6}
#: What the JPEG rendition of an image with transparency or a palette adds per
#: pixel: the RGBA image, the white RGB one it is flattened onto, its alpha band.
FLATTEN_BYTES = 4 + 4 + 1
#: What the files made of a full-size decode take per pixel: a JPEG (the
#: rendition, or a photo saved again without its location) and its copy as bytes.
ENCODED_BYTES = 2
#: Modes saved as a JPEG as they are.
JPEG_MODES = ("RGB", "L", "CMYK")


def decode_cost(width: int, height: int, mode: str, fmt: str, *, rendition: bool) -> int:
    """The most memory, in bytes, that judging an image of this size, mode and
    format holds at once: its pixels × bytes per pixel, times the decoder's own
    copies — or, when a JPEG rendition is made of a transparent or palette
    image, the pixels plus what flattening them adds — and the files made."""
    per_pixel = pixel_bytes(mode)
    peak = per_pixel * DECODER_COPIES.get(fmt, 1)
    if rendition and mode not in JPEG_MODES:
        peak = max(peak, per_pixel + FLATTEN_BYTES)
    return width * height * (peak + ENCODED_BYTES)


#: Per number of slots: the semaphore bounding this process's decodes.
_slots: dict = {}
_slots_lock = threading.Lock()
#: How long an upload waits for a free decoding slot before it is refused (503).
SLOT_WAIT_S = 20.0


@contextmanager
def decoding(slots: int):
    """One of ``slots`` decodes this process may run at once: decoding memory
    is at most ``slots`` × the budget of one, however many uploads arrive."""
    with _slots_lock:
        semaphore = _slots.setdefault(slots, threading.BoundedSemaphore(slots))
    if not semaphore.acquire(timeout=SLOT_WAIT_S):
        raise ImageRefused("file: socialpub is busy judging other images; try again in a moment", 503)
    try:
        yield
    finally:
        semaphore.release()


def inspect(data: bytes, *, max_bytes: int, max_pixels: int, max_decode_bytes: int, slots: int,
            keep_location: bool = False) -> Inspected:
    """Judge ``data``; return what it is. Its header is read first; then, in
    one of ``slots`` decoding slots, it is decoded — a JPEG at the thumbnail's
    scale (``draft``) unless its location must be taken out.

    Raises:
      ImageRefused: empty, larger than ``max_bytes``, not a JPEG/PNG/WebP/GIF, damaged,
        more than ``max_pixels`` pixels, more than ``max_decode_bytes`` to decode
        (a decompression bomb, or just too large), or no slot free in time (503).
    """
    check_size(data, max_bytes=max_bytes)
    try:
        with warnings.catch_warnings():
            # Pillow warns past MAX_IMAGE_PIXELS and raises past twice that: both refused here.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            width, height = image.size
            if width * height > max_pixels:
                raise ImageRefused(f"file: {width} × {height} pixels is more than the {max_pixels:,} allowed")
            if image.format not in FORMATS:
                raise ImageRefused(f"file: a {image.format} image; socialpub takes JPEG, PNG, WebP and GIF", 415)
            # A JPEG's EXIF is in its header (a PNG's may follow the pixels: read once decoded).
            if image.format == "JPEG" and (keep_location or GPS_IFD not in image.getexif()):
                # Only the thumbnail needs pixels: decoded at 1/2 … 1/8 of the size, every byte still read.
                image.draft(None, THUMBNAIL_SIZE)
            cost = decode_cost(*image.size, image.mode, image.format, rendition=image.format != "JPEG")
            if cost > max_decode_bytes:
                raise ImageRefused(f"file: {width} × {height} {image.mode} pixels take {cost / 2**20:,.0f} MiB to "
                              f"decode, more than the {max_decode_bytes / 2**20:g} MiB allowed "
                              f"(SOCIALPUB_MEDIA_DECODE_MAX_BYTES)")
            with decoding(slots):
                image.load()  # decodes every byte: a truncated or damaged file fails here
                removed = not keep_location and GPS_IFD in image.getexif()
                kept = _without_location(image) if removed else data
                thumbnail = _thumbnail(image)
                jpeg = None if image.format == "JPEG" else _as_jpeg(image)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageRefused("file: too many pixels to decode safely (a decompression bomb?)") from None
    except UnidentifiedImageError:
        raise ImageRefused("file: not an image (its content is not JPEG, PNG, WebP or GIF, whatever its name)",
                      415) from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise ImageRefused(f"file: a damaged image ({exc})") from None
    return Inspected(data=kept, content_type=FORMATS[image.format], width=width, height=height,
                     sha256=hashlib.sha256(kept).hexdigest(), thumbnail=thumbnail, jpeg=jpeg,
                     location_removed=removed)


def _without_location(image: Image.Image) -> bytes:
    """The image saved again with the GPS IFD removed from its EXIF. JPEGs keep
    their quantisation tables (``quality="keep"``), so the photo is not visibly
    re-compressed."""
    exif = image.getexif()
    del exif[GPS_IFD]
    out = io.BytesIO()
    options = {"quality": "keep"} if image.format == "JPEG" else {}
    if image.format == "GIF":
        options["save_all"] = True
    image.save(out, format=image.format, exif=exif.tobytes(), **options)
    return out.getvalue()


def _thumbnail(image: Image.Image) -> bytes:
    """A JPEG at most THUMBNAIL_SIZE, upright (EXIF orientation applied), made
    from ``image`` without copying it whole (``reducing_gap`` shrinks it first)."""
    width, height = image.size
    ratio = min(THUMBNAIL_SIZE[0] / width, THUMBNAIL_SIZE[1] / height, 1)
    size = (max(1, round(width * ratio)), max(1, round(height * ratio)))
    small = image.resize(size, Image.Resampling.LANCZOS, reducing_gap=2.0) if ratio < 1 else image.copy()
    small = ImageOps.exif_transpose(small)
    if small.mode not in ("RGB", "L"):
        background = Image.new("RGB", small.size, "white")
        background.paste(small.convert("RGBA"), mask=small.convert("RGBA").getchannel("A"))
        small = background
    out = io.BytesIO()
    small.save(out, format="JPEG", quality=80)
    return out.getvalue()


def _as_jpeg(image: Image.Image) -> bytes:
    """The decoded ``image`` as a JPEG (for a network that takes JPEG only):
    transparent and palette images flattened onto white."""
    flat = image
    if image.mode not in JPEG_MODES:
        rgba = image if image.mode == "RGBA" else image.convert("RGBA")
        flat = Image.new("RGB", image.size, "white")
        flat.paste(rgba, mask=rgba.getchannel("A"))
    out = io.BytesIO()
    flat.save(out, format="JPEG", quality=92)
    return out.getvalue()
