"""/metrics on the web app: gauges read from the database and Redis at scrape
time, request counts, and (in one process, as here) the workers' counters,
which agree with the database. The worker registry, the metric-file folders
and where Dramatiq's Prometheus middleware goes."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import dramatiq
import redis

from socialpub import db
from socialpub.metrics import files
from socialpub.models import Attempt, Publication
from socialpub.worker import middleware
from socialpub.worker.broker import make_broker, redis_client

from tests.support.workers import database_counts, parse, total


def scrape(client):
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.content_type.startswith("text/plain")
    return parse(response.get_data(as_text=True))


def publish(client, sandbox, text):
    response = client.post("/api/posts", json={"text": text, "image_url": f"{sandbox.url}/_sandbox/image.jpg",
                                               "publish": True})
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


def test_queued_publications_show_in_the_queue_depth_status_counts_and_oldest_age(
        client, sandbox, sandbox_channels):
    publish(client, sandbox, "waiting for a worker")
    time.sleep(0.05)
    samples = scrape(client)
    # Four publications, and the fetch of the post's image into the media store (sent when it was made).
    assert total(samples, "socialpub_queue_messages", queue="publish", state="ready") == 5
    assert total(samples, "socialpub_queue_messages", queue="publish", state="dead") == 0
    assert total(samples, "socialpub_queue_messages", queue="maintenance", state="ready") == 0
    for network in ("facebook", "instagram", "linkedin", "whatsapp"):
        assert total(samples, "socialpub_publications_by_status", network=network, status="queued") == 1
        assert total(samples, "socialpub_publications_by_status", network=network, status="published") == 0
        assert total(samples, "socialpub_channels_needing_reauth", network=network) == 0
    assert total(samples, "socialpub_oldest_queued_publication_age_seconds") > 0
    assert total(samples, "socialpub_scrape_source_up", source="database") == 1
    assert total(samples, "socialpub_scrape_source_up", source="redis") == 1
    assert total(samples, "socialpub_http_requests_total", endpoint="api.create_post", status="201") >= 1
    assert total(samples, "socialpub_http_request_duration_seconds_count", endpoint="api.create_post") >= 1


def test_worker_counters_agree_with_the_database(client, sandbox, sandbox_client, sandbox_channels, drain):
    """In one process the web's /metrics also carries the workers' counters: what
    this workload adds to them is what it added to the database."""
    before = scrape(client)
    sandbox_client.configure(linkedin={"fail": [{"error": "bad_parameter", "times": 1}]},
                             facebook={"fail": [{"error": "rate_limit", "minutes": 0, "times": 1}]},
                             whatsapp={"fail": [{"error": "token", "times": 1}]})
    publish(client, sandbox, "agree 0")
    drain()  # WhatsApp refused the token: its channel needs re-authorisation now
    for i in (1, 2):
        publish(client, sandbox, f"agree {i}")
    drain()
    after = scrape(client)
    by_status, by_outcome, retries, waits = database_counts()

    def added(name, **labels):
        return total(after, name, **labels) - total(before, name, **labels)

    for (network, outcome), count in by_outcome.items():
        assert added("socialpub_attempts_total", network=network, outcome=outcome) == count
    assert added("socialpub_attempts_total") == sum(by_outcome.values())
    assert added("socialpub_publications_total", network="linkedin", outcome="failed") == 1
    assert added("socialpub_publications_total", network="facebook", outcome="published") == 3
    assert added("socialpub_retries_total", network="facebook", kind="rate_limited") == waits["facebook"] == 1
    assert added("socialpub_attempt_errors_total", network="whatsapp", kind="auth", code="190/460") == 1
    # WhatsApp's later publications failed without a network call (the channel needs
    # re-authorisation): the database counts them; the workers made no attempt.
    assert by_status[("whatsapp", "failed")] == 3
    assert added("socialpub_publications_total", network="whatsapp", outcome="failed") == 1
    assert total(after, "socialpub_channels_needing_reauth", network="whatsapp") == 1
    for (network, status), count in by_status.items():
        assert total(after, "socialpub_publications_by_status", network=network, status=status) == count
    assert total(after, "socialpub_publications_in_progress") == 0
    assert total(after, "socialpub_workers_alive") >= 1


def test_an_unreachable_redis_is_reported_and_the_rest_still_served(app, client, sandbox_channels):
    app.extensions["socialpub.monitor_redis"] = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=1)
    samples = scrape(client)
    assert total(samples, "socialpub_scrape_source_up", source="redis") == 0
    assert total(samples, "socialpub_scrape_source_up", source="database") == 1
    assert total(samples, "socialpub_publications_by_status", status="queued") == 0
    assert not any(name == "socialpub_queue_messages" for name, _ in samples)


def test_a_running_worker_is_registered_and_alive_and_unregistered_when_it_stops(app, broker):
    client = redis_client(app)
    worker = dramatiq.Worker(broker, worker_threads=2, worker_timeout=100)
    worker.start()
    try:
        time.sleep(0.3)  # its consumers poll Redis: Dramatiq records their heartbeat
        mine = [w for w in middleware.read_workers(client) if w["id"] == broker.broker_id]
        assert len(mine) == 1
        assert mine[0]["alive"] and mine[0]["pid"] == os.getpid() and mine[0]["threads"] == 2
        assert mine[0]["queues"] == ["maintenance", "publish", "publish-analytics", "publish-mail", "publish-media",
                                      "publish-webhooks"]
    finally:
        worker.stop()
    assert broker.broker_id not in [w["id"] for w in middleware.read_workers(client)]


def test_a_worker_that_died_unregistered_is_not_alive_and_is_forgotten_at_the_next_boot(app, broker):
    client = redis_client(app)
    started = time.time() - 3600
    client.hset(middleware.WORKERS_KEY, "dead-worker", json.dumps({"host": "gone", "pid": 1, "threads": 8,
                                                                "queues": ["publish"], "started_at": started}))
    client.zadd("dramatiq:__heartbeats__", {"dead-worker": (started + 60) * 1000})
    dead = [w for w in middleware.read_workers(client) if w["id"] == "dead-worker"]
    assert dead and not dead[0]["alive"] and dead[0]["last_seen_s"] > 3000
    worker = dramatiq.Worker(broker, worker_threads=1, worker_timeout=100)
    worker.start()
    worker.stop()
    assert "dead-worker" not in [w["id"] for w in middleware.read_workers(client)]
    client.zrem("dramatiq:__heartbeats__", "dead-worker")


def test_metric_files_of_dead_processes_are_pruned_and_fresh_dirs_are_empty(tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    for name in (f"counter_{os.getpid()}.db", f"histogram_{dead.pid}.db", f"gauge_livesum_{dead.pid}.db",
                 "notes.txt"):
        (tmp_path / name).write_text("x")
    files.prune_dead_processes(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"counter_{os.getpid()}.db", "notes.txt"]
    assert files.fresh_dir(tmp_path / "run") and files.fresh_dir(tmp_path) == str(tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_dramatiqs_prometheus_middleware_is_only_in_cli_worker_processes(settings):
    from dramatiq.middleware.prometheus import Prometheus

    assert not any(isinstance(m, Prometheus) for m in make_broker(settings).middleware)
    worker_broker = make_broker(settings, worker_metrics=True)
    assert isinstance(worker_broker.middleware[0], Prometheus)
    assert any(isinstance(m, middleware.WorkerRegistry) for m in worker_broker.middleware)
    worker_broker.close()


def test_worker_processes_use_multiprocess_metrics_in_dramatiqs_folder(tmp_path, redis_url):
    """Importing the worker module points prometheus_client at dramatiq_prom_db
    before anything imports it, and prunes files left by dead processes."""
    stale = tmp_path / "counter_999999999.db"
    stale.write_text("x")
    env = dict(os.environ, dramatiq_prom_db=str(tmp_path), DATABASE_URL=f"sqlite:///{tmp_path / 'w.db'}",
               REDIS_URL=redis_url, SOCIALPUB_INSTANCE=str(tmp_path))
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    code = ("import socialpub.worker.boot, os, prometheus_client.values as v; "
            "print(os.environ['PROMETHEUS_MULTIPROC_DIR'], v.ValueClass.__name__)")
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    folder, value_class = result.stdout.split()
    assert folder == str(tmp_path) and value_class == "MmapedValue"
    assert not stale.exists()


def test_attempt_rows_and_publication_rows_are_what_the_monitor_counts(client, sandbox, sandbox_channels, drain):
    publish(client, sandbox, "one more")
    drain()
    with db.database.connection_context():
        assert Attempt.select().count() == 4 and Publication.select().count() == 4
    data = client.get("/monitor.json").get_json()
    assert sum(t["attempts"] for t in data["attempt_times"]["last_hour"].values()) == 4
