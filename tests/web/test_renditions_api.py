"""Renditions through the API, the workers and the library page (issue 31,
item 2's fix): a landscape video asked for as a Facebook Reel is 202 at once,
made by the ``make_rendition`` actor in a worker with its progress in Redis,
then ready as a new video of the library linked to its source; asked twice,
one message and one video; a claim held by another worker makes the message
wait; a failure is told in plain words; what a rendition cannot fix is a 422."""
from __future__ import annotations

import pytest

from socialpub import db
from socialpub.media import library, rendition_jobs
from socialpub.models import Media
from socialpub.web.monitor.stats import queue_depths
from tests.support.videos import make_video
from tests.web.test_media import upload


def uploaded(client, path) -> int:
    """The video at ``path`` sent to the library; its media id."""
    response = upload(client, path.read_bytes(), path.name)
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


@pytest.fixture
def landscape(client, tmp_path) -> int:
    """A 16:9 clip of 320 × 180 in the library: too wide and too small for a Facebook Reel."""
    return uploaded(client, make_video(tmp_path / "wide.mp4", seconds=3, width=320, height=180))


@pytest.fixture
def made(broker, settings):
    """``made()``: wait until every rendition message has been handled (the worker must be running)."""
    def made():
        broker.join(f"{settings.queue_name}-media", timeout=60_000)
    return made


def ask(client, media_id, network="facebook", kind="reel"):
    return client.post(f"/api/media/{media_id}/renditions", json={"network": network, "kind": kind})


def renditions_of(media_id) -> list:
    with db.database.connection_context():
        return list(Media.select().where(Media.rendition_of == media_id))


@pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)
def test_a_reel_is_asked_for_made_by_a_worker_and_ready_as_a_new_video(client, landscape, worker, made):
    asked = ask(client, landscape)
    assert asked.status_code == 202, asked.get_json()
    body = asked.get_json()
    assert (body["status"], body["label"], body["media_id"]) == ("queued", "a Facebook Reel", None)
    assert body["changes"] == "scaled and padded to 540 × 960, 30 frames a second"
    made()
    [item] = client.get(f"/api/media/{landscape}/renditions").get_json()["items"]
    assert item["status"] == "ready" and item["progress"] == 1.0, item
    new = client.get(f"/api/media/{item['media_id']}").get_json()
    assert (new["kind"], new["width"], new["height"]) == ("video", 540, 960)
    assert new["video"]["video_codec"] == "h264" and new["video"]["moov_first"]
    [row] = renditions_of(landscape)
    assert (row.id, row.rendition_for) == (item["media_id"], "facebook/reel")
    preflight = {(v["network"], v["kind"]): v for v in
                 client.get(f"/api/media/{item['media_id']}/preflight").get_json()["items"]}
    assert preflight[("facebook", "reel")]["ok"]
    again = ask(client, landscape)
    assert again.status_code == 200 and again.get_json()["media_id"] == item["media_id"]
    assert client.delete(f"/api/media/{landscape}").status_code == 204  # the rendition stays, on its own
    with db.database.connection_context():
        assert Media.get_by_id(item["media_id"]).rendition_of_id is None


def test_asked_twice_it_is_one_message_and_one_video(client, landscape, settings, broker, request, made):
    first, second = ask(client, landscape), ask(client, landscape)
    assert (first.status_code, second.status_code) == (202, 202)
    assert queue_depths(broker.client, [f"{settings.queue_name}-media"])[f"{settings.queue_name}-media"][
        "ready"] == 1
    request.getfixturevalue("worker")
    made()
    assert len(renditions_of(landscape)) == 1
    assert ask(client, landscape).status_code == 200


@pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)
def test_a_rendition_another_worker_is_making_is_not_made_again(client, landscape, settings, broker):
    claim = rendition_jobs._claim_key(landscape, "facebook/reel")
    broker.client.set(claim, b"another-worker", px=60_000)
    with pytest.raises(rendition_jobs.Busy):
        rendition_jobs.make(settings, landscape, "facebook", "reel", 60)
    assert renditions_of(landscape) == [] and broker.client.get(claim) == b"another-worker"
    broker.client.delete(claim)  # its lease ended (the worker died): the next message makes it
    rendition_jobs.make(settings, landscape, "facebook", "reel", 60)
    [row] = renditions_of(landscape)
    rendition_jobs.make(settings, landscape, "facebook", "reel", 60)  # redelivered: done already
    assert [r.id for r in renditions_of(landscape)] == [row.id] and not broker.client.exists(claim)


def test_a_rendition_that_could_not_be_made_says_why(client, landscape, settings, worker, made):
    with db.database.connection_context():
        library.store_of(settings).delete(Media.get_by_id(landscape).storage_key)
    assert ask(client, landscape).status_code == 202
    made()
    [item] = client.get(f"/api/media/{landscape}/renditions").get_json()["items"]
    assert item["status"] == "failed" and item["media_id"] is None
    assert item["reason"] == "the media store did not give or take the video; ask again in a moment"
    assert ask(client, landscape).status_code == 202  # asked again: sent again


def test_the_preflight_says_which_failing_kinds_a_version_would_fix(client, landscape):
    items = {(v["network"], v["kind"]): v for v in
             client.get(f"/api/media/{landscape}/preflight").get_json()["items"]}
    reel = items[("facebook", "reel")]
    assert (reel["ok"], reel["fixable"]) == (False, True)
    assert reel["rendition"] == "scaled and padded to 540 × 960, 30 frames a second"
    story = items[("instagram", "story")]  # 3 s, 16:9: it fits as it is
    assert (story["ok"], story["fixable"], story["rendition"]) == (True, False, None)


@pytest.mark.parametrize("payload, status, words", [
    ({"network": "facebook", "kind": "video"}, 422, "fits a Facebook video as it is"),
    ({"network": "linkedin", "kind": "reel"}, 400, "linkedin takes these kinds of video post: video"),
    ({"network": "facebook"}, 400, "kind: is required"),
])
def test_what_a_rendition_cannot_be_asked_for_is_refused_saying_why(client, landscape, payload, status, words):
    response = client.post(f"/api/media/{landscape}/renditions", json=payload)
    assert response.status_code == status and words in response.get_json()["error"]["message"]


def test_a_length_out_of_range_is_refused_trim_it(client, tmp_path):
    media_id = uploaded(client, make_video(tmp_path / "short.mp4", seconds=1, width=320, height=180))
    response = ask(client, media_id, "instagram", "reel")
    assert response.status_code == 422
    assert response.get_json()["error"]["message"] == ("a new version cannot lengthen it: an Instagram Reel takes "
                                                       "at least 3 s")


def test_the_library_page_offers_a_version_and_shows_it_made(client, form_client, landscape, worker, made):
    page = client.get("/media").get_data(as_text=True)
    assert "Make a version for a Facebook Reel" in page and "(scaled and padded to 540 × 960" in page
    response = form_client.post(f"/media/{landscape}/renditions", data={"network": "facebook", "kind": "reel"})
    assert response.status_code == 302
    made()
    page = client.get("/media").get_data(as_text=True)
    [row] = renditions_of(landscape)
    assert f'A version for it is ready: <a href="#media-{row.id}">video {row.id}</a>' in page
    assert f'Made for a Facebook Reel from <a href="#media-{landscape}">video {landscape}</a>' in page


def test_a_post_takes_the_rendition_made_for_a_kind_its_video_does_not_fit(
        client, landscape, worker, made, drain, sandbox_channels, sandbox_client):
    """Refused as a Facebook Reel until a version for it is ready; then published, Facebook holding the
    version's bytes."""
    post = {"text": "Landscape reel", "media_ids": [landscape], "networks": ["facebook"], "publish": True}
    refused = client.post("/api/posts", json=post)
    assert refused.status_code == 422 and "a Facebook Reel" in refused.get_json()["error"]["message"]
    assert ask(client, landscape).status_code == 202
    made()
    [version] = renditions_of(landscape)
    published = client.post("/api/posts", json=post)
    assert published.status_code == 201, published.get_json()
    drain()
    [item] = sandbox_client.received()
    assert item["video"]["sha256"] == version.sha256 and item["video"]["kind"] == "reel"
