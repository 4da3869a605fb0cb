"""A version of a library video made for a kind of post it does not fit (a
rendition), by transcoding it with PyAV (FFmpeg, shipped in its wheels; no
binary): H.264 and AAC in an MP4 whose index comes first (``+faststart``), the
frame rate brought into the kind's range, the picture scaled — and padded,
never cropped — to the size and shape the kind needs, the sound at 48 kHz at
most, and a bitrate that keeps it under the kind's size limit.

``offer`` says whether a rendition can make a video fit a kind (a length out of
range cannot be fixed: "trim it") and in words what it would change; ``plan``
is that change, and ``transcode`` makes it, a packet at a time from the source
file to the new one (never the whole video in memory), telling ``progress`` how
far it is as a fraction of the duration. Keeping the result is rendition_jobs.py's.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Callable, Optional

from ..errors import InvalidInput
from ..models import Media
from ..networks import LIMITS
from ..networks.base import VideoRules

#: The largest picture a rendition is given (the networks' own recommendation, 1080p either way up).
MAX_LONG_SIDE, MAX_SHORT_SIDE = 1920, 1080
#: The frame rate when the source does not say (and a kind takes it).
DEFAULT_FPS = Fraction(30)
#: The highest sound sample rate a rendition keeps.
MAX_AUDIO_RATE = 48_000
#: x264's speed and quality: "veryfast" at CRF 21 looks like the source at phone sizes, and the
#: networks encode it again anyway.
PRESET, CRF = "veryfast", "21"
#: A size limit is aimed at with this margin (the bitrate is an average, the container adds a little).
SIZE_MARGIN = 0.85
#: Sound's share of a size limit (AAC's bitrate).
AUDIO_BITRATE = 128_000
#: Above this video bitrate a size limit leaves the encoder its own way (x264's CRF).
MAX_VIDEO_BITRATE = 20_000_000
#: Below this video bitrate a picture is not worth making: the kind's size limit cannot be met.
MIN_VIDEO_BITRATE = 300_000
#: Progress is told at most this often (a fraction of the duration).
PROGRESS_STEP = 0.01


def _av():
    """PyAV, loaded by the worker that transcodes (FFmpeg's libraries are large), not by every process."""
    import av
    import av.filter

    return av


def _h264_encoder() -> str:
    """libx264 when the wheel has it (PyAV's do), else the H.264 encoder FFmpeg offers."""
    return "libx264" if "libx264" in _av().codecs_available else "h264"


class NotFixable(Exception):
    """A rendition cannot make this video fit; the message says why, in words, with what to do."""


def rules_of(network: str, kind: str) -> VideoRules:
    """The rules of ``network``'s ``kind`` of video post. Raises InvalidInput (a kind it has not)."""
    if network not in LIMITS:
        raise InvalidInput(f"network: {network!r} is not one socialpub posts to", field="network")
    for rules in LIMITS[network].videos:
        if rules.kind == kind:
            return rules
    kinds = ", ".join(r.kind for r in LIMITS[network].videos) or "none"
    raise InvalidInput(f"kind: {network} takes these kinds of video post: {kinds}", field="kind")


def target(network: str, kind: str) -> str:
    """What a rendition is for, as kept (``facebook/reel``)."""
    return f"{network}/{kind}"


def ready(source: Media, rules: VideoRules, target: str) -> Media | None:
    """The rendition of ``source`` for ``target`` (``rules``'s kind): the one made for it, else
    another of its renditions that this kind takes as it is."""
    made = list(Media.select().where(Media.rendition_of == source.id).order_by(Media.id))
    for media in made:
        if media.rendition_for == target:
            return media
    return next((m for m in made if not problems_of(rules, m)), None)


def version_for(source: Media, network: str, kind: str) -> Media:
    """What goes to ``network`` as its ``kind`` of post: the video itself when that kind takes it,
    else its rendition for that kind once one is ready, else the video itself (and its refusal)."""
    rules = next((r for r in LIMITS[network].videos if r.kind == kind), None)
    if rules is None or not problems_of(rules, source):
        return source
    return ready(source, rules, target(network, kind)) or source


def problems_of(rules: VideoRules, media: Media) -> list:
    return rules.problems(media.video or {}, width=media.width, height=media.height, size=media.size_bytes,
                          content_type=media.content_type)


@dataclass(frozen=True)
class Plan:
    """What a rendition is: its frame (``width`` × ``height``), the source's picture in it
    (``picture``: width, height; centred, the rest black), its frame rate, its length, its sound's
    sample rate, a video bitrate cap (a size limit), and the change in words."""

    width: int
    height: int
    picture: tuple
    fps: Fraction
    seconds: float
    audio_rate: Optional[int]
    max_video_bitrate: Optional[int]
    changes: str


@dataclass(frozen=True)
class Offer:
    """Whether a rendition can make a video fit a kind it fails (``fixable``), and what it would change."""

    fixable: bool
    changes: Optional[str] = None


def offer(media, rules: VideoRules) -> Offer:
    """For a video that fails ``rules``: can a rendition fix it, and how (the pre-flight's offer)."""
    try:
        return Offer(True, plan(media, rules).changes)
    except NotFixable:
        return Offer(False)


def plan(media, rules: VideoRules) -> Plan:
    """The rendition of ``media`` (a video Media row) that ``rules`` takes.

    Raises:
      NotFixable: its length is out of the kind's range (trim it), or the kind's size limit
        leaves too little for a picture.
    """
    facts = media.video or {}
    seconds = facts.get("duration_s") or 0.0
    if rules.max_s is not None and seconds > rules.max_s:
        raise NotFixable(f"a new version cannot shorten it: trim it to fit {rules.label}")
    if seconds < rules.min_s:
        raise NotFixable(f"a new version cannot lengthen it: {rules.label} takes at least {rules.min_s:g} s")
    width, height, padded = _frame(media.width, media.height, rules)
    picture = _fit(media.width, media.height, width, height)
    fps = _frame_rate(facts.get("frame_rate") or 0.0, rules)
    source_rate = facts.get("audio_sample_rate")
    audio_rate = None if not facts.get("audio_codec") else min(source_rate or MAX_AUDIO_RATE, MAX_AUDIO_RATE,
                                                                 rules.max_audio_rate or MAX_AUDIO_RATE)
    bitrate = None
    if rules.max_bytes is not None:
        bitrate = int(rules.max_bytes * 8 * SIZE_MARGIN / max(seconds, 0.1)) - (AUDIO_BITRATE if audio_rate else 0)
        if bitrate < MIN_VIDEO_BITRATE:
            raise NotFixable(f"{rules.label} takes {rules.max_bytes / 10**6:g} MB at most, too little for a "
                             f"picture this long: trim it")
        if bitrate >= MAX_VIDEO_BITRATE:
            bitrate = None
    words = []
    if (width, height) != (media.width, media.height) or padded:
        words.append(f"{'scaled and padded' if padded else 'scaled'} to {width} × {height}")
    words.append(f"{float(fps):g} frames a second")
    if facts.get("video_codec") != "h264":
        words.append("coded as H.264")
    if facts.get("audio_codec") not in (None, "aac"):
        words.append("its sound coded as AAC")
    if audio_rate and source_rate and audio_rate != source_rate:
        words.append(f"its sound at {audio_rate / 1000:g} kHz")
    if rules.max_bytes is not None and media.size_bytes > rules.max_bytes:
        words.append(f"under {rules.max_bytes / 10**6:g} MB")
    if not facts.get("moov_first"):
        words.append("its index at the start")
    return Plan(width=width, height=height, picture=picture, fps=fps, seconds=seconds, audio_rate=audio_rate,
                max_video_bitrate=bitrate, changes=", ".join(words))


def _frame(width: int, height: int, rules: VideoRules) -> tuple:
    """``(width, height, padded)``: the rendition's frame — the source's shape, or the nearest the
    kind takes (``padded``: the picture gets black bars) —, within 1080p and at least the kind's
    smallest size, both sides even (as H.264's 4:2:0 pictures need)."""
    low, high = rules.aspect_range or (0.0, math.inf)
    exact = low == high
    shape = Fraction(width, height)
    if exact or not low <= width / height <= high:
        bound = low if exact or width / height < low else high
        shape = Fraction(bound).limit_denominator(64)
    padded = shape != Fraction(width, height)
    # The frame that holds the picture at its own size, then brought within 1080p and up to the minimum.
    frame_w, frame_h = max(Fraction(width), height * shape), max(Fraction(height), width / shape)
    scale = min(Fraction(1), Fraction(MAX_LONG_SIDE) / max(frame_w, frame_h),
                Fraction(MAX_SHORT_SIDE) / min(frame_w, frame_h))
    scale = max(scale, Fraction(rules.min_width or 0) / frame_w, Fraction(rules.min_height or 0) / frame_h)
    frame_w, frame_h = frame_w * scale, frame_h * scale
    if not (exact or padded):
        return _even(frame_w), _even(frame_h), False
    # Exactly the shape: whole multiples of its terms, even, and not below the kind's minimum.
    step = 1 if shape.numerator % 2 == 0 and shape.denominator % 2 == 0 else 2
    units = max(step, math.ceil(frame_h / shape.denominator / step) * step)
    while units > step and not _within(units * shape.numerator, units * shape.denominator):
        units -= step
    while units * shape.numerator < (rules.min_width or 0) or units * shape.denominator < (rules.min_height or 0):
        units += step
    width_out, height_out = units * shape.numerator, units * shape.denominator
    if not exact:  # a bound of a range, as the rules' float compares it: nudged inside when rounding says no
        while not low <= width_out / height_out <= high:
            width_out += 2 if width_out / height_out < low else -2
    return width_out, height_out, padded


def _within(width, height) -> bool:
    return max(width, height) <= MAX_LONG_SIDE and min(width, height) <= MAX_SHORT_SIDE


def _fit(width: int, height: int, frame_w: int, frame_h: int) -> tuple:
    """The picture's size in the frame: as large as fits, its shape kept, even."""
    scale = min(Fraction(frame_w, width), Fraction(frame_h, height))
    return min(frame_w, _even(width * scale)), min(frame_h, _even(height * scale))


def _even(value) -> int:
    return max(2, int(round(value / 2)) * 2)


def _frame_rate(source: float, rules: VideoRules) -> Fraction:
    """The source's rate (29.97 kept as 30000/1001) brought into the kind's range."""
    fps = Fraction(source).limit_denominator(1001) if source > 0 else DEFAULT_FPS
    if rules.max_fps and fps > rules.max_fps:
        fps = Fraction(rules.max_fps).limit_denominator(1001)
    if rules.min_fps and fps < rules.min_fps:
        fps = max(DEFAULT_FPS, Fraction(rules.min_fps).limit_denominator(1001))
    if fps > 60:  # no network wants more, whatever a kind leaves open
        fps = Fraction(60)
    return fps


def transcode(source: Path, out: Path, plan: Plan, progress: Callable[[float], None] | None = None) -> None:
    """Make ``plan``'s rendition of the video at ``source`` into ``out`` (an MP4), a packet at a
    time; ``progress(fraction)`` is told how far it is (at most every 1 %, and 1.0 at the end).

    Raises:
      av.FFmpegError: FFmpeg could not read the source or write the rendition.
    """
    av = _av()
    with av.open(str(source)) as inp, av.open(str(out), "w", format="mp4",
                                              options={"movflags": "+faststart"}) as output:
        video_in = inp.streams.video[0]
        audio_in = inp.streams.audio[0] if inp.streams.audio and plan.audio_rate else None
        video_in.thread_type = "AUTO"
        options = {"preset": PRESET, "crf": CRF}
        if plan.max_video_bitrate:
            options.update(maxrate=str(plan.max_video_bitrate), bufsize=str(plan.max_video_bitrate * 2))
        video_out = output.add_stream(_h264_encoder(), rate=plan.fps, options=options)
        video_out.width, video_out.height, video_out.pix_fmt = plan.width, plan.height, "yuv420p"
        audio_out = None
        if audio_in is not None:
            audio_out = output.add_stream("aac", rate=plan.audio_rate)
            audio_out.layout = "mono" if audio_in.codec_context.channels == 1 else "stereo"
            audio_out.bit_rate = AUDIO_BITRATE
        graph = _pictures(video_in, plan)
        start = float(video_in.start_time * video_in.time_base) if video_in.start_time is not None else 0.0
        duration = plan.seconds
        told = [0.0]

        def tell(frame) -> None:
            if progress is None or frame.time is None or duration <= 0:
                return
            done = min(1.0, max(0.0, (frame.time - start) / duration))
            if done - told[0] >= PROGRESS_STEP:
                told[0] = done
                progress(done)

        def encode(frame) -> None:
            for packet in video_out.encode(frame):
                output.mux(packet)

        for packet in inp.demux(*(s for s in (video_in, audio_in) if s is not None)):
            if packet.stream is video_in:
                for frame in packet.decode():
                    graph.vpush(frame)
                    _drain(graph, encode)
                    tell(frame)
            else:
                for frame in packet.decode():
                    frame.pts = None  # the encoder's resampler counts the samples (AAC needs whole frames)
                    for out_packet in audio_out.encode(frame):
                        output.mux(out_packet)
        graph.vpush(None)
        _drain(graph, encode)
        encode(None)
        if audio_out is not None:
            for out_packet in audio_out.encode(None):
                output.mux(out_packet)
    if progress is not None:
        progress(1.0)


def _pictures(video_in, plan: Plan):
    """The filters each picture goes through: scaled, padded (centred, black), square pixels, the
    plan's frame rate (frames dropped or repeated), 4:2:0."""
    graph = _av().filter.Graph()
    picture_w, picture_h = plan.picture
    chain = [graph.add_buffer(template=video_in),
             graph.add("scale", f"{picture_w}:{picture_h}:flags=bicubic"),
             graph.add("pad", f"{plan.width}:{plan.height}:(ow-iw)/2:(oh-ih)/2:black"),
             graph.add("setsar", "1"),
             graph.add("fps", f"{plan.fps.numerator}/{plan.fps.denominator}"),
             graph.add("format", "yuv420p"),
             graph.add("buffersink")]
    for one, following in zip(chain, chain[1:]):
        one.link_to(following)
    graph.configure()
    return graph


def _drain(graph, encode) -> None:
    """Every picture the filters have ready, to the encoder."""
    while True:
        try:
            frame = graph.vpull()
        except (_av().BlockingIOError, _av().EOFError):
            return
        encode(frame)

