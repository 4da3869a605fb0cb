"""A small valid JPEG built in code, so the sandbox can serve an image for
uploads without shipping a binary file; and what Instagram finds when it
fetches the media URL a container names.
"""
from __future__ import annotations

import functools
import struct

from ..networks import outbound
from ..networks.base import PublishError, Timeouts
from .errors import graph_error

#: "The image is too large to download. It should be less than 8 MiB." (Instagram's error codes page.)
FETCH_MAX_BYTES = 8 * 1024 * 1024
#: Meta does not say how long it waits for a media URL; the sandbox gives up after this.
FETCH_TIME_LIMIT_S = 10.0


def _segment(marker: int, payload: bytes) -> bytes:
    return bytes((0xFF, marker)) + struct.pack(">H", len(payload) + 2) + payload


@functools.lru_cache(maxsize=32)
def jpeg_bytes(width: int = 64, height: int = 64) -> bytes:
    """A baseline greyscale JPEG of ``width`` x ``height`` mid-grey pixels.

    Every 8x8 block has a DC difference of 0 and no AC coefficients, so each
    Huffman table needs only one 1-bit code and each block costs two bits.
    """
    jfif = b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    quant = b"\x00" + b"\x01" * 64                                   # table 0, all ones
    frame = b"\x08" + struct.pack(">HH", height, width) + b"\x01" + b"\x01\x11\x00"
    one_code = b"\x01" + b"\x00" * 15 + b"\x00"                     # one 1-bit code: symbol 0
    scan = b"\x01" + b"\x01\x00" + b"\x00\x3f\x00"
    blocks = ((width + 7) // 8) * ((height + 7) // 8)
    bits = "00" * blocks
    bits += "1" * (-len(bits) % 8)                                  # pad the last byte with ones
    data = bytes(int(bits[i:i + 8], 2) for i in range(0, len(bits), 8))
    return (b"\xff\xd8" + _segment(0xE0, jfif) + _segment(0xDB, quant) + _segment(0xC0, frame)
            + _segment(0xC4, b"\x00" + one_code) + _segment(0xC4, b"\x10" + one_code)
            + _segment(0xDA, scan) + data + b"\xff\xd9")


def described(data: bytes):
    """``{"sha256", "bytes", "width", "height", "format"}`` of an image file, or
    None when Pillow cannot read it as one: what /_sandbox/received lists."""
    import hashlib
    import io

    from PIL import Image

    try:
        image = Image.open(io.BytesIO(data))
        image.verify()
    except Exception:  # Pillow raises many kinds for a file that is not an image
        return None
    return {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data), "width": image.width,
            "height": image.height, "format": image.format}


def fetch_image(url: str, allow) -> tuple:
    """``(described(image), None)`` of the image at ``url``, or ``(None, why)``
    when it cannot be had: refused, unreachable, answered other than 2xx, larger
    than FETCH_MAX_BYTES, slower than FETCH_TIME_LIMIT_S, or not an image.

    Fetched as socialpub fetches (networks/outbound.py): public addresses only,
    or those in ``allow``, since Meta cannot reach a private network either.
    """
    try:
        data = outbound.download("instagram", url, max_bytes=FETCH_MAX_BYTES, time_limit=FETCH_TIME_LIMIT_S,
                                 timeouts=Timeouts(connect=FETCH_TIME_LIMIT_S, read=FETCH_TIME_LIMIT_S),
                                 allow=allow)
    except PublishError as err:
        return None, err.message
    image = described(data)
    return (image, None) if image is not None else (None, "not an image")


def uploaded_image(network: str, file):
    """What an uploaded image file is (image.described; {} when none), or Graph's
    refusal of one that is not an image it takes (code 324)."""
    if file is None:
        return {}
    upload = described(file.read())
    if upload is None:
        return graph_error(network, 400, 324, "(#324) Missing or invalid image file")
    if upload["format"] not in ("JPEG", "PNG", "GIF", "BMP", "TIFF"):
        return graph_error(network, 400, 324, f"(#324) Unsupported image format {upload['format']}")
    return upload
