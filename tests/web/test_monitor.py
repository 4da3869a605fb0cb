"""The monitor page and /monitor.json show the right numbers for a known
workload: success and failure per network, attempt times, what is being sent,
queue depth, workers, channels needing re-authorisation and the latest
failures in the networks' words. The page's screenshot in docs/ comes from
here (written when missing, or refreshed with SOCIALPUB_SCREENSHOTS=docs)."""
from __future__ import annotations

import math
import os
import shutil
import subprocess
from pathlib import Path

import pytest
import requests

from socialpub import db
from socialpub.models import Attempt, Publication

from tests.support.workers import ServedApp, wait_for

DOCS = Path(__file__).resolve().parents[2] / "docs"


def publish(client, sandbox, text):
    response = client.post("/api/posts", json={"text": text, "image_url": f"{sandbox.url}/_sandbox/image.jpg",
                                               "publish": True})
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


@pytest.fixture
def known_workload(client, sandbox, sandbox_client, sandbox_channels, drain):
    """Three posts to the four networks, one after the other: LinkedIn refuses
    the first, Instagram's first try fails with a 5xx (then publishes), and
    WhatsApp refuses the third's token (its channel then needs re-authorisation)."""
    sandbox_client.configure(linkedin={"fail": [{"error": "bad_parameter", "times": 1}]},
                             instagram={"latency": 0.2, "fail": [{"error": "server_error", "times": 1}]},
                             facebook={"latency": 0.1})
    ids = [publish(client, sandbox, "monitor one")]
    drain()
    ids.append(publish(client, sandbox, "monitor two"))
    drain()
    sandbox_client.configure(whatsapp={"fail": [{"error": "token", "times": 1}]})
    ids.append(publish(client, sandbox, "monitor three"))
    drain()
    return ids


def test_the_monitor_json_shows_the_known_workload(client, known_workload, worker):
    data = client.get("/monitor.json").get_json()
    for window in ("last_hour", "last_day"):
        outcomes = data["outcomes"][window]
        assert outcomes["facebook"] == {"finished": 3, "published": 3, "partly_failed": 0, "failed": 0, "expired": 0,
                                        "unconfirmed": 0, "success_pct": 100.0, "failure_pct": 0.0}
        assert outcomes["instagram"]["published"] == 3 and outcomes["instagram"]["success_pct"] == 100.0
        for network in ("linkedin", "whatsapp"):
            assert outcomes[network]["finished"] == 3 and outcomes[network]["failed"] == 1
            assert outcomes[network]["success_pct"] == 66.7 and outcomes[network]["failure_pct"] == 33.3

    # Attempt times: one row per call; Instagram's 5xx made a fourth.
    with db.database.connection_context():
        rows = list(Attempt.select(Attempt, Publication).join(Publication))
    for network, count in {"facebook": 3, "instagram": 4, "linkedin": 3, "whatsapp": 3}.items():
        durations = sorted((a.finished_at - a.started_at).total_seconds() for a in rows
                           if a.publication.network == network)
        times = data["attempt_times"]["last_day"][network]
        assert times["attempts"] == count == len(durations)
        assert times["avg_s"] == pytest.approx(sum(durations) / count, abs=0.001)
        # The recent counts keep durations in buckets 5 % wide (metrics/recent.py).
        assert times["p95_s"] == pytest.approx(durations[math.ceil(0.95 * count) - 1], rel=0.05)
    assert data["attempt_times"]["last_day"]["instagram"]["avg_s"] >= 0.2  # the sandbox's latency

    [channel] = data["channels_needing_reauth"]
    assert channel["network"] == "whatsapp" and "session has been invalidated" in channel["reason"]
    whatsapp, linkedin = data["latest_failures"][:2]
    assert (whatsapp["network"], whatsapp["status"], whatsapp["error_code"]) == ("whatsapp", "failed", "190/460")
    assert whatsapp["post_id"] == known_workload[2]
    assert (linkedin["network"], linkedin["error_code"]) == ("linkedin", "UNPROCESSABLE_ENTITY")
    assert '"SECRET" is not an enum symbol' in linkedin["error"]
    assert data["in_progress"] == [] and data["oldest_queued_age_s"] is None
    assert data["queues"]["publish"] == {"ready": 0, "in_flight": 0, "delayed": 0, "dead": 2}
    assert data["workers"]["alive"] >= 1 and os.getpid() in [w["pid"] for w in data["workers"]["items"]]
    assert data["redis_error"] is None


def test_the_monitor_page_shows_the_same_numbers(client, known_workload, worker):
    page = client.get("/monitor")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'aria-current="page">Monitor</a>' in html
    linkedin_row = html.split('<tr data-network="linkedin">', 1)[1].split("</tr>", 1)[0]
    assert "66.7 %" in linkedin_row and "33.3 %" in linkedin_row
    assert "1 · 0 · 0" in linkedin_row  # failed · expired · unconfirmed over 24 h
    assert "&#34;SECRET&#34; is not an enum symbol" in html
    assert "session has been invalidated" in html  # the channel to re-authorise, in WhatsApp's words
    assert "Nothing is being sent." in html and "Nothing is waiting for a worker." in html


def test_publications_waiting_for_a_worker_show_as_queue_depth_and_age(client, sandbox, sandbox_channels):
    publish(client, sandbox, "no worker yet")
    data = client.get("/monitor.json").get_json()
    # Four publications, and the fetch of the post's image into the media store (sent when it was made).
    assert data["queues"]["publish"]["ready"] == 5
    assert data["waiting"]["queued"] == {"facebook": 1, "instagram": 1, "linkedin": 1, "whatsapp": 1}
    assert data["oldest_queued_age_s"] >= 0
    html = client.get("/monitor").get_data(as_text=True)
    assert '<tr data-queue="publish"><th scope="row"><code>publish</code></th><td class="num">5</td>' in html
    assert "Waiting — Facebook: 1 queued, 0 waiting to retry · Instagram: 1 queued" in html


def test_a_publication_being_sent_shows_with_its_network_and_running_time(
        client, sandbox, sandbox_client, sandbox_channels, worker, drain):
    sandbox_client.configure(facebook={"hold": True})
    post_id = publish(client, sandbox, "held on facebook")
    try:
        wait_for(lambda: requests.get(f"{sandbox.url}/_sandbox/held", timeout=5).json().get("facebook", 0) > 0,
                 30, "Facebook's request to be held")
        wait_for(lambda: len(client.get("/monitor.json").get_json()["in_progress"]) == 1, 10,
                 "only Facebook to be left in progress")
        [sending] = client.get("/monitor.json").get_json()["in_progress"]
        assert (sending["network"], sending["post_id"], sending["attempt"]) == ("facebook", post_id, 1)
        assert sending["running_s"] >= 0
        html = client.get("/monitor").get_data(as_text=True)
        assert f"Post #{post_id}</a>" in html.split('id="in-progress"', 1)[1]
    finally:
        sandbox_client.configure(facebook={"hold": False})
    drain()
    assert client.get("/monitor.json").get_json()["in_progress"] == []


def test_without_redis_the_monitor_says_so_and_still_shows_the_database(app, client, sandbox_channels):
    import redis

    app.extensions["socialpub.monitor_redis"] = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=1)
    data = client.get("/monitor.json").get_json()
    assert data["redis_error"].startswith("Redis did not answer")
    assert data["queues"] == {} and data["workers"]["alive"] == 0
    assert data["outcomes"]["last_hour"]["facebook"]["finished"] == 0
    page = client.get("/monitor").get_data(as_text=True)
    assert "queues and workers are unknown" in page


def screenshot(url, path):
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if not browser:
        pytest.skip("no chromium for the screenshot")
    subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                    "--window-size=1280,1500", "--lang=en-GB", f"--screenshot={path}", url],
                   check=True, capture_output=True, timeout=60)


def test_the_monitor_page_screenshot_for_the_docs(app, client, sandbox, sandbox_client, known_workload,
                                                  tmp_path, drain):
    """docs/monitor.png: the known workload, with Instagram still being sent."""
    target = DOCS / "monitor.png"
    if target.exists() and os.environ.get("SOCIALPUB_SCREENSHOTS") != "docs":
        target = tmp_path / "monitor.png"
    sandbox_client.configure(instagram={"hold": True})
    publish(client, sandbox, "monitor four")
    try:
        wait_for(lambda: requests.get(f"{sandbox.url}/_sandbox/held", timeout=5).json().get("instagram", 0) > 0,
                 30, "Instagram's request to be held")
        with ServedApp(app, as_test_user=True) as web:
            screenshot(f"{web.url}/monitor", target)
    finally:
        sandbox_client.configure(instagram={"hold": False})
    drain()
    assert target.stat().st_size > 10_000


def test_dead_lettered_messages_are_explained_and_can_be_cleared(app, form_client, sandbox_channels,
                                                                 sandbox_client, publish_and_drain):
    from socialpub.worker.broker import redis_client

    sandbox_client.configure(facebook={"fail": {"error": "bad_parameter"}})
    publish_and_drain(networks=["facebook"])
    page = form_client.get("/monitor").get_data(as_text=True)
    dead = page.split('id="stat-dead"')[1].split("</li>")[0]
    assert '<span class="value">1</span>' in dead and "a retry sends a new message" in dead
    cleared = form_client.post("/monitor/dead-letters/clear", follow_redirects=True).get_data(as_text=True)
    assert "Cleared 1 dead-lettered message." in cleared
    settings = app.extensions["socialpub"]
    assert redis_client(app).zcard(f"dramatiq:{settings.queue_name}.XQ") == 0
