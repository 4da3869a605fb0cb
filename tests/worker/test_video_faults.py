"""kill -9 of a real `dramatiq` worker in the middle of a video's upload, on each network: when a
worker comes back, the upload goes on from what the network holds — one video per network, the same
bytes, nothing sent twice beyond the part that was cut."""
from __future__ import annotations

import hashlib

import pytest
import requests

from socialpub import db
from socialpub.models import Publication
from tests.support.processes import FAST, Reconciling, WorkerCLI
from tests.support.videos import make_video, padded
from tests.web.test_media import upload
from tests.worker.test_faults import kill_while_held

#: Facebook's parts are 8 MiB, LinkedIn's 4 MiB: a 17 MiB file is several of each.
EXTRA_BYTES = 17 * 2**20
FACEBOOK_PART = 8 * 2**20


@pytest.fixture(scope="module")
def big_reel(tmp_path_factory) -> bytes:
    path = make_video(tmp_path_factory.mktemp("video") / "reel.mp4", seconds=4, width=540, height=960)
    return padded(path, EXTRA_BYTES).read_bytes()


@pytest.mark.settings(**FAST)
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
@pytest.mark.parametrize("network,hold", [
    # Killed while the second part is on its way: Facebook is asked how many bytes it holds.
    ("facebook", {"path": "/video-upload/", "after": 1}),
    # Killed while finishing (every byte sent): the finish is not sent twice.
    ("facebook", {"path": "/video_reels", "after": 1}),
    # Killed while the third part is on its way: the first two parts are not sent again.
    ("linkedin", {"path": "/uploadedVideo/2"}),
    # Killed while media_publish is on its way: the container says whether it went out.
    ("instagram", {"path": "/media_publish"}),
])
def test_killing_a_worker_mid_video_upload_resumes_it_and_makes_one_video(
        client, sandbox, sandbox_client, sandbox_channels, settings, tmp_path, big_reel, public_server, network,
        hold):
    media = upload(client, big_reel, name="reel.mp4").get_json()
    response = client.post("/api/posts", json={"text": f"kill at {hold['path']}", "media_ids": [media["id"]],
                                               "networks": [network]})
    assert response.status_code == 201, response.get_json()
    post_id = response.get_json()["id"]
    cli = WorkerCLI(settings, tmp_path / "worker.log")
    try:
        with Reconciling(settings):
            kill_while_held(client, cli, sandbox, sandbox_client, network, hold, post_id, {"hold": False})
    finally:
        cli.stop()
    with db.database.connection_context():
        [pub] = Publication.select().where(Publication.post == post_id)
    assert pub.status == "published", (pub.status, pub.last_error)
    [item] = [r for r in sandbox_client.received() if r["network"] == network]  # one video
    assert item["item_id"] in pub.external_id
    assert item["video"]["sha256"] == hashlib.sha256(big_reel).hexdigest()
    if network == "facebook":
        [sent] = requests.get(f"{sandbox.url}/_sandbox/videos", timeout=5).json()["videos"]
        assert len(big_reel) <= sent["bytes_sent"] <= len(big_reel) + FACEBOOK_PART
    if network == "linkedin":
        [video] = requests.get(f"{sandbox.url}/_sandbox/linkedin/videos", timeout=5).json()["videos"]
        assert video["bytes_received"] <= len(big_reel) + 4 * 2**20, video
