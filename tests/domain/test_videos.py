"""Videos judged by their content (socialpub/media/videos.py), on real files the
tests make with PyAV: what a phone's clip is (codec, length, frame rate, size,
sound, index first or last), a poster frame, and every way a file is refused —
each with the reason and the fix in plain words."""
from __future__ import annotations

import io

import pytest
from PIL import Image

from socialpub.media import videos
from tests.support.videos import make_sound_only, make_video


def test_a_phones_clip_is_read_for_what_the_networks_ask(tmp_path):
    judged = videos.judge(make_video(tmp_path / "clip.mp4", seconds=2, width=180, height=320, fps=30))
    assert (judged.content_type, judged.video_codec, judged.audio_codec) == ("video/mp4", "h264", "aac")
    assert (judged.width, judged.height, judged.frame_rate) == (180, 320, 30.0)
    assert judged.aspect == videos.Fraction(9, 16)
    assert 1.9 <= judged.duration_s <= 2.1
    assert judged.audio_sample_rate == 44_100
    assert judged.moov_first is True
    assert judged.size_bytes == (tmp_path / "clip.mp4").stat().st_size


def test_an_index_written_at_the_end_is_seen(tmp_path):
    judged = videos.judge(make_video(tmp_path / "late.mp4", faststart=False))
    assert judged.moov_first is False


def test_hevc_without_sound_and_quicktime_are_taken(tmp_path):
    judged = videos.judge(make_video(tmp_path / "clip.mov", codec="hevc", audio=None, container_format="mov"))
    assert (judged.content_type, judged.video_codec, judged.audio_codec) == ("video/quicktime", "hevc", None)


def test_the_poster_is_the_frame_asked_for_and_the_thumbnail_fits(tmp_path):
    path = make_video(tmp_path / "clip.mp4", seconds=2, width=180, height=320)
    poster, thumbnail = videos.poster(path, at_s=1.0)
    full, small = Image.open(io.BytesIO(poster)), Image.open(io.BytesIO(thumbnail))
    assert full.format == small.format == "JPEG"
    assert full.size == (180, 320) and max(small.size) <= 320
    first, _ = videos.poster(path, at_s=0.0)
    assert first != poster  # frame 0 and frame 30 differ in colour


def written(data: bytes):
    def make(path):
        path.write_bytes(data)
        return path
    return make


@pytest.mark.parametrize("make, words, status", [
    (written(b""), "empty", 422),
    (written(b"%PDF-1.7\n" + b"x" * 2000), "not a video", 415),
    (written(b"\x89PNG\r\n\x1a\n" + b"\0" * 100), "not a video", 415),
    (lambda p: make_sound_only(p), "no video picture", 422),
    (lambda p: make_video(p, codec="mpeg4", audio=None), "coded as MPEG4", 422),
])
def test_what_is_not_a_video_the_networks_take_is_refused_saying_why(tmp_path, make, words, status):
    path = make(tmp_path / "upload.mp4")
    with pytest.raises(videos.VideoRefused) as refused:
        videos.judge(path)
    assert words in refused.value.message and refused.value.status == status
    assert refused.value.message.startswith("file: ")


@pytest.mark.parametrize("keep", [0.5, 0.9])
def test_a_cut_short_video_is_refused_as_cut_short(tmp_path, keep):
    whole = make_video(tmp_path / "whole.mp4", seconds=2).read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(whole[:int(len(whole) * keep)])
    with pytest.raises(videos.VideoRefused) as refused:
        videos.judge(cut)
    assert "cut short" in refused.value.message


def test_a_file_of_countless_tiny_boxes_is_refused_without_reading_them_all(tmp_path):
    path = tmp_path / "boxes.mp4"
    path.write_bytes(b"\0\0\0\x10ftypisom\0\0\0\0" + b"\0\0\0\x08free" * 200_000)
    with pytest.raises(videos.VideoRefused) as refused:
        videos.judge(path)
    assert refused.value.status == 415
