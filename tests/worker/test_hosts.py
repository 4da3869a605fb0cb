"""Workers on three machines — network namespaces of their own, made and
removed here — against one Redis and one PostgreSQL; one machine is cut off
mid-publish. Its messages go to the others after the heartbeat timeout, its
claimed publications after their lease; every publication ends published,
once at the sandbox; the monitor shows the three hosts, the cut one lost."""
from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from socialpub import db
from socialpub.intake.channels import create_channel, sandbox_channels
from socialpub.models import Publication
from tests.support.netns import BRIDGE_ADDRESS, Hosts, why_not_available
from tests.support.processes import Reconciling, wait_for

UNAVAILABLE = why_not_available()
#: Seconds: a silent worker is dead after HEARTBEAT_MS; a claimed publication is free again after LEASE_S.
HEARTBEAT_MS, LEASE_S = 3000, 8
TIMINGS = dict(heartbeat_timeout_ms=HEARTBEAT_MS, processing_lease_s=LEASE_S, time_limit_s=6, read_timeout=3,
               requeue_after_s=2, min_backoff_ms=100, max_backoff_ms=500, max_retries=5)
POSTS = 150  # two networks each: 300 publications


def statuses() -> dict:
    with db.database.connection_context():
        rows = Publication.select(Publication.status).tuples()
        out = {}
        for (status,) in rows:
            out[status] = out.get(status, 0) + 1
        return out


@pytest.mark.skipif(UNAVAILABLE is not None, reason=f"three worker hosts: {UNAVAILABLE}")
@pytest.mark.settings(**TIMINGS)
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
@pytest.mark.timeout(240)
def test_three_worker_hosts_one_cut_off_mid_publish_lose_nothing_and_send_nothing_twice(
        client, app, sandbox, sandbox_client, settings, redis_url, tmp_path):
    hosts = Hosts(3, f"sp{os.getpid() % 10000}")
    procs = []
    try:
        sandbox_port = hosts.forward(0, sandbox.port)
        redis_port = hosts.forward(0, int(redis_url.rsplit(":", 1)[1].split("/")[0]))
        pg_port = hosts.forward(0, 5432)
        seen_from_hosts = f"http://{BRIDGE_ADDRESS}:{sandbox_port}"
        with db.database.connection_context():
            ids = [create_channel(c).id for c in sandbox_channels(seen_from_hosts)
                   if c["network"] in ("facebook", "linkedin")]
        database = settings.database_url.rsplit("/", 1)[1]
        env = dict(os.environ, PUBLISH_QUEUE=settings.queue_name, SOCIALPUB_INSTANCE=settings.instance_dir,
                   REDIS_URL=f"redis://{BRIDGE_ADDRESS}:{redis_port}/{redis_url.rsplit('/', 1)[1]}",
                   # A transaction left open by a machine that vanished ends after 5 s, its locks with it.
                   DATABASE_URL=f"postgresql://postgres@{BRIDGE_ADDRESS}:{pg_port}/{database}"
                                f"?connect_timeout=3&options=-c%20idle_in_transaction_session_timeout%3D5000",
                   DRAMATIQ_HEARTBEAT_TIMEOUT_MS=str(HEARTBEAT_MS), PUBLISH_PROCESSING_LEASE_S=str(LEASE_S),
                   PUBLISH_TIME_LIMIT_S="6", HTTP_READ_TIMEOUT="3", HTTP_CONNECT_TIMEOUT="2",
                   PUBLISH_MIN_BACKOFF_MS="100", PUBLISH_MAX_BACKOFF_MS="500", PUBLISH_MAX_RETRIES="5",
                   OUTBOUND_ALLOW_NETWORKS=f"{BRIDGE_ADDRESS}/32", dramatiq_worker_timeout="100",
                   # Forty posts to each channel at once: the engine is measured, not the channels' spacing.
                   SOCIALPUB_CHANNEL_MIN_GAP_S="0", SOCIALPUB_CHANNEL_MAX_PER_HOUR="0")
        logs = [open(tmp_path / f"host{i}.log", "ab") for i in (1, 2, 3)]
        for i in (1, 2, 3):
            procs.append(hosts.run(i, [sys.executable, "-m", "dramatiq", "socialpub.worker.boot", "--processes", "1",
                                       "--threads", "4"], env=env, stdout=logs[i - 1], stderr=subprocess.STDOUT))
        wait_for(lambda: len(client.get("/monitor.json").get_json()["workers"]["items"]) == 3, 60,
                 "three workers to register")
        assert {w["host"] for w in client.get("/monitor.json").get_json()["workers"]["items"]} == set(hosts.names)

        sandbox_client.configure(facebook={"latency": 0.15}, linkedin={"latency": 0.15})
        with Reconciling(settings):
            for n in range(POSTS):
                response = client.post("/api/posts", json={"text": f"Three hosts, post {n}", "channels": ids,
                                                            "publish": True})
                assert response.status_code == 201, response.get_json()
            wait_for(lambda: statuses().get("published", 0) >= 60, 60, "a fifth published")
            hosts.cut(1)
            cut_at = time.monotonic()
            wait_for(lambda: statuses() == {"published": 2 * POSTS}, 150,
                     "every publication published by the two hosts left", interval=0.5)
            recovered_s = time.monotonic() - cut_at
        monitor = client.get("/monitor.json").get_json()["workers"]
        assert {w["host"] for w in monitor["items"]} == set(hosts.names[1:])
        # (Workers of earlier tests may linger in the registry until a worker boots after them.)
        assert [w["host"] for w in monitor["lost"] if w["host"] in hosts.names] == [hosts.names[0]]
    finally:
        hosts.close()
        for proc in procs:
            proc.kill()
            proc.wait(10)
    with db.database.connection_context():
        # What the cut host had claimed was taken again by another after its lease (the network then asked).
        taken_over = Publication.select().where(Publication.attempts > 1).count()
    assert taken_over > 0, "the cut host had nothing in flight: the test proved nothing"
    received = sandbox_client.received()
    texts = [(r["network"], r["text"]) for r in received]
    assert len(texts) == len(set(texts)) == 2 * POSTS, "a post reached the sandbox twice, or never"
    print(f"\nthree hosts, one cut: {2 * POSTS} publications, each once ({taken_over} taken over from the cut "
          f"host); all published {recovered_s:.1f} s after the cut (heartbeat {HEARTBEAT_MS} ms, lease {LEASE_S} s)")
