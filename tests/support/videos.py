"""Real video files made by the tests with PyAV (FFmpeg's encoders): a phone's
9:16 H.264 clip with AAC sound, and the ways a file goes wrong."""
from __future__ import annotations

import math
from fractions import Fraction
from pathlib import Path

import av
from PIL import Image, ImageDraw


def make_video(path: Path, *, seconds: float = 2.0, width: int = 180, height: int = 320, fps: int = 30,
               codec: str = "h264", audio: str | None = "aac", faststart: bool = True,
               container_format: str = "mp4") -> Path:
    """An MP4 (or MOV) of ``seconds`` of moving colour, each frame numbered, with a
    tone when ``audio`` names a codec; ``faststart`` puts the index first."""
    options = {"movflags": "+faststart"} if faststart else {}
    with av.open(str(path), "w", format=container_format, options=options) as out:
        video = out.add_stream(codec, rate=fps)
        video.width, video.height, video.pix_fmt = width, height, "yuv420p"
        sound = out.add_stream(audio, rate=44_100) if audio else None
        frames = int(seconds * fps)
        for number in range(frames):
            picture = Image.new("RGB", (width, height), ((number * 7) % 256, 80, 160))
            ImageDraw.Draw(picture).text((10, 10), str(number), fill=(255, 255, 255))
            for packet in video.encode(av.VideoFrame.from_image(picture)):
                out.mux(packet)
        for packet in video.encode():
            out.mux(packet)
        if sound is not None:
            _tone(out, sound, seconds)
    return path


def _tone(out, sound, seconds: float) -> None:
    rate, size = sound.codec_context.sample_rate, sound.codec_context.frame_size or 1024
    for start in range(0, int(seconds * rate), size):
        samples = [0.2 * math.sin(2 * math.pi * 440 * (start + i) / rate) for i in range(size)]
        frame = av.AudioFrame(format="fltp", layout="mono", samples=size)
        frame.planes[0].update(bytes(_floats(samples)))
        frame.sample_rate, frame.pts, frame.time_base = rate, start, Fraction(1, rate)
        for packet in sound.encode(frame):
            out.mux(packet)
    for packet in sound.encode():
        out.mux(packet)


def _floats(samples) -> bytearray:
    import struct

    return bytearray(struct.pack(f"<{len(samples)}f", *samples))


def make_sound_only(path: Path, seconds: float = 1.0) -> Path:
    """An MP4 with sound and no picture."""
    with av.open(str(path), "w", format="mp4") as out:
        _tone(out, out.add_stream("aac", rate=44_100), seconds)
    return path


def padded(path: Path, extra_bytes: int) -> Path:
    """``path`` made ``extra_bytes`` larger by a trailing ``free`` box (which players skip), so
    that a short test video is sent in several parts."""
    with path.open("ab") as out:
        out.write((extra_bytes).to_bytes(4, "big") + b"free")
        out.write(b"\0" * (extra_bytes - 8))
    return path
