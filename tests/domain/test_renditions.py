"""Renditions (socialpub/media/renditions.py): real videos made by the tests with
PyAV, transcoded into what a kind of post takes — a landscape clip into a 9:16
Facebook Reel (scaled and padded, never cropped), 120 frames a second into 60,
HEVC into H.264, the index moved first — each judged again against the kind's
rules; and what a rendition cannot fix (a length) said as such."""
from __future__ import annotations

import struct
import time
from fractions import Fraction
from types import SimpleNamespace

import av
import pytest

from socialpub.media import preflight, renditions
from tests.domain.test_preflight import media_of
from tests.support.videos import make_video


def problems(rules, media) -> list:
    return rules.problems(media.video, width=media.width, height=media.height, size=media.size_bytes,
                          content_type=media.content_type)


def made(tmp_path, source, network, kind):
    """``(rendition's media, progress told, seconds taken)`` of ``source``'s rendition for the kind."""
    rules = renditions.rules_of(network, kind)
    told, started = [], time.perf_counter()
    out = tmp_path / f"{network}-{kind}.mp4"
    renditions.transcode(source, out, renditions.plan(media_of(source), rules), progress=told.append)
    return media_of(out), told, time.perf_counter() - started


def top_level_boxes(path) -> list:
    data, boxes, offset = path.read_bytes(), [], 0
    while offset < len(data):
        size, kind = struct.unpack(">I4s", data[offset:offset + 8])
        boxes.append(kind.decode())
        offset += size
    return boxes


def test_a_landscape_clip_becomes_an_upright_reel_that_facebook_takes(tmp_path):
    source = make_video(tmp_path / "landscape.mp4", seconds=4, width=1280, height=720, fps=30)
    reel = renditions.rules_of("facebook", "reel")
    assert problems(reel, media_of(source))  # 16:9 and too small for a Reel
    rendition, told, seconds = made(tmp_path, source, "facebook", "reel")
    assert problems(reel, rendition) == []
    assert (rendition.width, rendition.height) == (1080, 1920)
    assert rendition.video["video_codec"] == "h264" and rendition.video["audio_codec"] == "aac"
    assert rendition.video["frame_rate"] == 30 and abs(rendition.video["duration_s"] - 4.0) < 0.1
    assert told == sorted(told) and told[-1] == 1.0 and 0 < told[0] < 0.1
    assert seconds < 10


def test_the_picture_is_padded_never_cropped(tmp_path):
    source = make_video(tmp_path / "landscape.mp4", seconds=4, width=1280, height=720, fps=30)
    plan = renditions.plan(media_of(source), renditions.rules_of("facebook", "reel"))
    assert plan.picture == (1080, 608)  # the whole 16:9 picture, 1080 wide, black above and below
    assert plan.changes == "scaled and padded to 1080 × 1920, 30 frames a second"
    renditions.transcode(source, tmp_path / "reel.mp4", plan)
    with av.open(str(tmp_path / "reel.mp4")) as container:
        frame = next(container.decode(video=0)).to_image().convert("L")
    assert frame.getpixel((540, 20)) < 30 and frame.getpixel((540, 1900)) < 30  # the bars
    assert frame.getpixel((540, 960)) > 60  # the picture


def test_120_frames_a_second_come_out_at_60(tmp_path):
    source = make_video(tmp_path / "fast.mp4", seconds=3, width=320, height=180, fps=120)
    assert media_of(source).video["frame_rate"] == 120
    rendition, _, _ = made(tmp_path, source, "instagram", "reel")
    assert rendition.video["frame_rate"] == 60 and abs(rendition.video["duration_s"] - 3.0) < 0.1
    assert problems(renditions.rules_of("instagram", "reel"), rendition) == []


def test_an_hevc_video_becomes_h264_for_linkedin(tmp_path):
    if not {"hevc", "libx265"} & set(av.codecs_available) or not _encodes("hevc"):
        pytest.skip("this PyAV wheel has no HEVC encoder to make the source with")
    source = make_video(tmp_path / "hevc.mp4", seconds=3, width=320, height=180, fps=30, codec="hevc")
    assert media_of(source).video["video_codec"] == "hevc"
    rendition, _, _ = made(tmp_path, source, "linkedin", "video")
    assert rendition.video["video_codec"] == "h264"
    assert problems(renditions.rules_of("linkedin", "video"), rendition) == []


def _encodes(codec: str) -> bool:
    try:
        av.codec.Codec(codec, "w")
    except (av.FFmpegError, ValueError):
        return False
    return True


def test_the_rendition_has_its_index_first(tmp_path):
    source = make_video(tmp_path / "late.mp4", seconds=3, width=320, height=180, faststart=False)
    assert top_level_boxes(source).index("moov") > top_level_boxes(source).index("mdat")
    rendition, _, _ = made(tmp_path, source, "instagram", "reel")
    boxes = top_level_boxes(tmp_path / "instagram-reel.mp4")
    assert boxes.index("moov") < boxes.index("mdat") and rendition.video["moov_first"]


def test_sound_above_48_khz_is_resampled(tmp_path):
    source = make_video(tmp_path / "clip.mp4", seconds=3, width=320, height=180)
    media = media_of(source)
    media.video["audio_sample_rate"] = 96_000  # as a camera's file says; the plan aims at 48 kHz
    assert renditions.plan(media, renditions.rules_of("instagram", "reel")).audio_rate == 48_000


def test_a_length_cannot_be_fixed_and_the_preflight_says_so(tmp_path):
    long = SimpleNamespace(video={"duration_s": 300.0, "frame_rate": 30.0, "video_codec": "h264",
                                  "audio_codec": "aac", "audio_sample_rate": 48_000, "moov_first": True},
                           width=1920, height=1080, size_bytes=80 * 10**6, content_type="video/mp4")
    with pytest.raises(renditions.NotFixable, match="trim it"):
        renditions.plan(long, renditions.rules_of("facebook", "reel"))
    found = {(v.network, v.kind): v for v in preflight.check(long)}
    assert not found[("facebook", "reel")].fixable and found[("facebook", "reel")].rendition is None
    # WhatsApp's 16 MB leave 5 minutes too little for a picture (about 230 kbit/s); 2 minutes fit.
    assert not found[("whatsapp", "message")].fixable
    long.video["duration_s"] = 120.0
    whatsapp = {(v.network, v.kind): v for v in preflight.check(long)}[("whatsapp", "message")]
    assert whatsapp.fixable and "under 16 MB" in whatsapp.rendition


def test_the_preflight_offers_a_rendition_for_a_kind_it_can_fix(tmp_path):
    source = make_video(tmp_path / "landscape.mp4", seconds=4, width=1280, height=720, fps=30)
    found = {(v.network, v.kind): v for v in preflight.check(media_of(source))}
    reel = found[("facebook", "reel")]
    assert not reel.ok and reel.fixable
    assert reel.rendition == "scaled and padded to 1080 × 1920, 30 frames a second"
    assert found[("facebook", "video")].ok and not found[("facebook", "video")].fixable


@pytest.mark.parametrize("width, height, network, kind, frame", [
    (360, 640, "facebook", "reel", (540, 960)),  # upright but small: scaled up to the smallest a Reel takes
    (3840, 2160, "facebook", "reel", (1080, 1920)),  # 4K landscape: within 1080p
    (100, 400, "linkedin", "video", None),  # narrower than 1:2.4: padded to LinkedIn's range
])
def test_the_frame_is_the_shape_and_size_the_kind_takes(width, height, network, kind, frame):
    rules = renditions.rules_of(network, kind)
    media = SimpleNamespace(video={"duration_s": 10.0, "frame_rate": 30.0, "video_codec": "h264",
                                   "audio_codec": None, "audio_sample_rate": None, "moov_first": True},
                            width=width, height=height, size_bytes=10**6, content_type="video/mp4")
    plan = renditions.plan(media, rules)
    if frame is not None:
        assert (plan.width, plan.height) == frame
    low, high = rules.aspect_range
    assert low <= plan.width / plan.height <= high and plan.width % 2 == plan.height % 2 == 0
    assert plan.picture[0] <= plan.width and plan.picture[1] <= plan.height
    assert abs(Fraction(*plan.picture) - Fraction(width, height)) < Fraction(1, 20)  # its shape kept
