"""Real `dramatiq` worker processes export their metrics through Dramatiq's
exposition server, summed over the processes, and what they count agrees with
the database: publications by outcome, Attempt rows, retries and rate-limit
waits, Dramatiq's own message counters. `socialpub up` serves both the web's
and the workers' metrics, on a port it prints."""
import re
from pathlib import Path

import pytest
import requests
from prometheus_client.multiprocess import MultiProcessCollector

from socialpub.networks.base import NETWORKS
from socialpub.worker.broker import redis_client
from socialpub.worker.middleware import read_workers
from tests.support.processes import all_final, wait_for
from tests.support.workers import (
    FAULTS,
    MetricsWorkerCLI,
    ServedApp,
    SocialpubUp,
    database_counts,
    free_port,
    parse,
    publish_posts,
    total,
)

POSTS = 8


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_two_worker_processes_export_summed_counters_that_agree_with_the_database(
        app, sandbox, sandbox_client, sandbox_channels, settings, tmp_path):
    sandbox_client.configure(**FAULTS)
    workers = MetricsWorkerCLI(settings, tmp_path / "worker.log", tmp_path / "metrics")
    workers.start()
    try:
        workers.wait_ready(redis_client(app))
        with ServedApp(app) as web:
            publish_posts(web, sandbox, POSTS, "metrics agree")
            wait_for(all_final, 60, "every publication to reach a final state", interval=0.2)
        samples = workers.scrape()
        pids = set(workers.worker_pids()) & {w["pid"] for w in read_workers(redis_client(app))}
    finally:
        workers.stop()

    by_status, by_outcome, retries, waits = database_counts()
    assert sum(by_status.values()) == POSTS * 4
    # Publications: each final status in the database was counted once by a worker
    # ("adopted" ones are published in the database).
    for network in NETWORKS:
        counted = {outcome: total(samples, "socialpub_publications_total", network=network, outcome=outcome)
                   for outcome in ("published", "adopted", "failed", "unconfirmed")}
        assert counted["published"] + counted["adopted"] == by_status.get((network, "published"), 0), network
        assert counted["failed"] == by_status.get((network, "failed"), 0), network
        assert counted["unconfirmed"] == by_status.get((network, "unconfirmed"), 0), network
        # Every Attempt row, by outcome.
        for outcome in ("published", "adopted", "retrying", "failed", "unconfirmed"):
            assert total(samples, "socialpub_attempts_total", network=network, outcome=outcome) \
                == by_outcome.get((network, outcome), 0), (network, outcome)
        assert total(samples, "socialpub_retries_total", network=network, kind="transient") == retries[network]
        assert total(samples, "socialpub_retries_total", network=network, kind="rate_limited") \
            == waits[network]
        assert total(samples, "socialpub_attempt_duration_seconds_count", network=network) \
            == sum(n for (net, _), n in by_outcome.items() if net == network)
        assert total(samples, "socialpub_publications_in_progress", network=network) == 0

    # The sandbox's faults, as the metrics show them.
    assert by_status[("linkedin", "failed")] == 1
    assert total(samples, "socialpub_attempt_errors_total", network="linkedin", kind="permanent") == 1
    assert total(samples, "socialpub_retries_total", network="instagram", kind="transient") == 2
    assert total(samples, "socialpub_retries_total", network="facebook", kind="rate_limited") == 1
    errors = total(samples, "socialpub_attempt_errors_total")
    assert errors == sum(n for (_, outcome), n in by_outcome.items() if outcome not in ("published", "adopted"))

    # Dramatiq's own middleware counts the same messages.
    attempts = sum(by_outcome.values())
    retried = sum(n for (_, outcome), n in by_outcome.items() if outcome == "retrying")
    assert total(samples, "dramatiq_messages_total", actor_name="publish") >= attempts
    # Dramatiq counts a delayed retry twice: enqueued on the delay queue, then
    # moved back to the queue when due (both carry the "retries" option).
    assert total(samples, "dramatiq_message_retries_total", actor_name="publish") == 2 * retried
    assert total(samples, "dramatiq_message_rejects_total", actor_name="publish") == 1  # LinkedIn's refusal
    assert total(samples, "dramatiq_message_duration_milliseconds_count", actor_name="publish") >= attempts

    # Summed: both processes did part of the work, and their shares add up.
    assert len(pids) == 2
    shares = []
    for pid in pids:
        files = [str(f) for f in Path(tmp_path / "metrics").glob(f"*_{pid}.db")]
        share = {(s.name, frozenset(s.labels.items())): s.value
                 for m in MultiProcessCollector.merge(files) for s in m.samples}
        shares.append(total(share, "socialpub_attempts_total"))
    assert all(share > 0 for share in shares), f"one process did nothing: {shares}"
    assert sum(shares) == attempts


def test_socialpub_up_serves_web_and_worker_metrics_on_the_port_it_prints(tmp_path):
    metrics_port = free_port()
    with SocialpubUp(tmp_path, "--latency", "facebook=0.1,instagram=0.1,linkedin=0.1,whatsapp=0.1",
                     "--worker-processes", "2", "--worker-threads", "2", "--metrics-port", str(metrics_port)) as up:
        base, api = up.url, up.session
        wait_for(lambda: up.answers(f"http://127.0.0.1:{metrics_port}/metrics"), 60, "the workers' exporter")
        created = api.post(f"{base}/api/posts", json={
            "text": "Hello metrics", "image_url": f"{up.sandbox_url}/_sandbox/image.jpg",
            "publish": True}, timeout=5)
        assert created.status_code == 201
        post_id = created.json()["id"]
        wait_for(lambda: api.get(f"{base}/api/posts/{post_id}/status", timeout=5).json()["by_status"][
            "published"] == 4, 30, "all four networks to publish")
        workers = parse(requests.get(f"http://127.0.0.1:{metrics_port}/metrics", timeout=5).text)
        web_metrics = parse(requests.get(f"{base}/metrics", timeout=5).text)
        monitor = api.get(f"{base}/monitor.json", timeout=5).json()
    output = up.output
    assert up.returncode == 0, output
    assert re.search(rf"workers http://127\.0\.0\.1:{metrics_port}/metrics", output), output
    assert total(workers, "socialpub_publications_total", outcome="published") == 4
    assert total(workers, "dramatiq_messages_total", actor_name="publish") == 4
    # Gunicorn's two workers share their counts through the run's metrics folder.
    assert total(web_metrics, "socialpub_http_requests_total", endpoint="api.create_post", status="201") == 1
    assert total(web_metrics, "socialpub_publications_by_status", status="published") == 4
    assert total(web_metrics, "socialpub_workers_alive") == 2
    assert total(web_metrics, "socialpub_scrape_source_up") == 2
    # The web side serves no worker counters: they would be counted twice.
    assert not any(name == "socialpub_publications_total" for name, _ in web_metrics)
    assert monitor["workers"]["alive"] == 2
    assert {p.name for p in (tmp_path / "instance" / "metrics").iterdir()} == {"web", "workers", "scheduler"}
