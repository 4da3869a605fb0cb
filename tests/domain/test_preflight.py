"""A video's pre-flight (socialpub/media/preflight.py): each network's kinds of
video post checked against the facts of a real file, pass or fail with the
reason and the fix in plain words — a phone's upright clip passes everywhere, a
five-minute landscape video fails Facebook Reels and is offered a feed video."""
from __future__ import annotations

from types import SimpleNamespace

from socialpub.media import preflight, videos
from tests.support.videos import make_video


def media_of(path):
    judged = videos.judge(path)
    facts = {"duration_s": judged.duration_s, "frame_rate": judged.frame_rate, "video_codec": judged.video_codec,
             "audio_codec": judged.audio_codec, "audio_sample_rate": judged.audio_sample_rate,
             "moov_first": judged.moov_first}
    return SimpleNamespace(video=facts, width=judged.width, height=judged.height, size_bytes=judged.size_bytes,
                           content_type=judged.content_type)


def verdicts(media) -> dict:
    return {(v.network, v.kind): v for v in preflight.check(media)}


def test_an_upright_phone_clip_passes_every_kind_of_post(tmp_path):
    clip = media_of(make_video(tmp_path / "clip.mp4", seconds=4, width=540, height=960, fps=30))
    found = verdicts(clip)
    assert set(found) == {("facebook", "reel"), ("facebook", "story"), ("facebook", "video"),
                          ("instagram", "reel"), ("instagram", "story"), ("linkedin", "video"),
                          ("whatsapp", "message")}
    assert {key: v.problems for key, v in found.items() if not v.ok} == {}


def test_a_five_minute_landscape_video_fails_facebook_reels_and_is_offered_a_feed_video():
    landscape = SimpleNamespace(
        video={"duration_s": 300.0, "frame_rate": 30.0, "video_codec": "h264", "audio_codec": "aac",
               "audio_sample_rate": 48_000, "moov_first": True},
        width=1920, height=1080, size_bytes=80 * 10**6, content_type="video/mp4")
    found = verdicts(landscape)
    reel = found[("facebook", "reel")]
    assert not reel.ok
    assert "it is 5 min long; a Facebook Reel takes 90 s at most: trim it, or post it as a feed video" in reel.problems
    assert any("16:9" in p and "9:16" in p for p in reel.problems)
    assert found[("facebook", "video")].ok and found[("linkedin", "video")].ok
    assert found[("instagram", "reel")].ok
    assert not found[("whatsapp", "message")].ok  # 80 MB: WhatsApp takes 16 MB


def test_an_index_at_the_end_fails_instagram_saying_how_to_export_it(tmp_path):
    late = media_of(make_video(tmp_path / "late.mp4", seconds=4, width=540, height=960, faststart=False))
    problems = verdicts(late)[("instagram", "reel")].problems
    assert problems == ("an Instagram Reel needs the video's index at the start of the file: export it again "
                        "with \"fast start\" (or \"optimise for web\") ticked",)
    assert verdicts(late)[("linkedin", "video")].ok


def test_hevc_in_a_mov_fails_linkedin_and_whatsapp_but_not_instagram(tmp_path):
    mov = media_of(make_video(tmp_path / "clip.mov", seconds=4, width=540, height=960, codec="hevc",
                              container_format="mov"))
    found = verdicts(mov)
    assert found[("instagram", "reel")].ok
    assert any("takes H264" in p for p in found[("linkedin", "video")].problems)
    assert any("MP4" in p for p in found[("whatsapp", "message")].problems)


def test_a_photo_has_no_pre_flight():
    assert preflight.check(SimpleNamespace(video=None)) == []
