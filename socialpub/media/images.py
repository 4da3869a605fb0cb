"""An uploaded file judged by its content, never its name: Pillow decodes it
(JPEG, PNG, WebP, GIF), its dimensions are read, decompression bombs and
oversized files are refused, GPS location is taken out of its EXIF, and a
thumbnail is made. A refusal names the problem in words for the person."""
from __future__ import annotations

import hashlib
import io
import warnings
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError

#: The formats accepted, as Pillow names them, and their media types.
FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp", "GIF": "image/gif"}
#: EXIF's pointer to the GPS IFD: the location a phone writes into a photo.
GPS_IFD = 0x8825
THUMBNAIL_SIZE = (320, 320)


class Refused(Exception):
    """The file is not an image socialpub takes; the message says why. ``status``:
    413 too large, 415 not an image, 422 an image it refuses."""

    def __init__(self, message: str, status: int = 422):
        super().__init__(message)
        self.message, self.status = message, status


@dataclass(frozen=True)
class Inspected:
    """An accepted image: its bytes (location removed), what they are, and a thumbnail."""

    data: bytes
    content_type: str
    width: int
    height: int
    sha256: str
    thumbnail: bytes
    location_removed: bool


def inspect(data: bytes, *, max_bytes: int, max_pixels: int, keep_location: bool = False) -> Inspected:
    """Judge ``data``; return what it is.

    Raises:
      Refused: empty, larger than ``max_bytes``, not a JPEG/PNG/WebP/GIF, damaged,
        or more than ``max_pixels`` pixels (a decompression bomb, or just too large).
    """
    if not data:
        raise Refused("file: it is empty", 422)
    if len(data) > max_bytes:
        raise Refused(f"file: {len(data) / 2**20:.1f} MiB is larger than the {max_bytes / 2**20:g} MiB "
                      f"allowed (MEDIA_MAX_BYTES)", 413)
    try:
        with warnings.catch_warnings():
            # Pillow warns past MAX_IMAGE_PIXELS and raises past twice that: both refused here.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            width, height = image.size
            if width * height > max_pixels:
                raise Refused(f"file: {width} × {height} pixels is more than the {max_pixels:,} allowed")
            if image.format not in FORMATS:
                raise Refused(f"file: a {image.format} image; socialpub takes JPEG, PNG, WebP and GIF", 415)
            image.load()  # decodes every byte: a truncated or damaged file fails here
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise Refused("file: too many pixels to decode safely (a decompression bomb?)") from None
    except UnidentifiedImageError:
        raise Refused("file: not an image (its content is not JPEG, PNG, WebP or GIF, whatever its name)",
                      415) from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise Refused(f"file: a damaged image ({exc})") from None
    kept, removed = (data, False) if keep_location else _without_location(image, data)
    return Inspected(data=kept, content_type=FORMATS[image.format], width=width, height=height,
                     sha256=hashlib.sha256(kept).hexdigest(), thumbnail=_thumbnail(image),
                     location_removed=removed)


def _without_location(image: Image.Image, data: bytes) -> tuple:
    """``(bytes, True)`` with the GPS IFD removed from the EXIF, or the bytes as
    they came and False when there was none. JPEGs keep their quantisation
    tables (``quality="keep"``), so the photo is not visibly re-compressed."""
    exif = image.getexif()
    if GPS_IFD not in exif:
        return data, False
    del exif[GPS_IFD]
    out = io.BytesIO()
    options = {"quality": "keep"} if image.format == "JPEG" else {}
    if image.format == "GIF":
        options["save_all"] = True
    image.save(out, format=image.format, exif=exif.tobytes(), **options)
    return out.getvalue(), True


def _thumbnail(image: Image.Image) -> bytes:
    """A JPEG at most THUMBNAIL_SIZE, upright (EXIF orientation applied)."""
    small = ImageOps.exif_transpose(image.copy())
    small.thumbnail(THUMBNAIL_SIZE)
    if small.mode not in ("RGB", "L"):
        background = Image.new("RGB", small.size, "white")
        background.paste(small.convert("RGBA"), mask=small.convert("RGBA").getchannel("A"))
        small = background
    out = io.BytesIO()
    small.save(out, format="JPEG", quality=80)
    return out.getvalue()


def as_jpeg(data: bytes) -> bytes:
    """``data`` as a JPEG (for a network that takes JPEG only); a JPEG is returned as it is."""
    image = Image.open(io.BytesIO(data))
    if image.format == "JPEG":
        return data
    rgb = Image.new("RGB", image.size, "white")
    rgba = image.convert("RGBA")
    rgb.paste(rgba, mask=rgba.getchannel("A"))
    out = io.BytesIO()
    rgb.save(out, format="JPEG", quality=92)
    return out.getvalue()
