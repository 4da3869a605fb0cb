"""Soak run of the delivery guarantees on this machine: PostgreSQL + Redis,
real `dramatiq` worker processes, the sandbox injecting faults on every
network, and a worker process killed with SIGKILL every few seconds. Ends by
itself; prints counts by status and the duplicates the sandbox saw (must be 0).

    .venv/bin/python benchmarks/soak.py [--posts 200] [--kill-every 5] [--workers 2]
        [--database postgresql://postgres@127.0.0.1:5432/socialpub_soak]
        [--redis redis://127.0.0.1:6379/7]

The database named in --database is dropped and created anew.
"""
from __future__ import annotations

import argparse
import collections
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from tempfile import mkdtemp

import dramatiq
import psycopg2
import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from socialpub import db, schema  # noqa: E402
from socialpub.config import Settings  # noqa: E402
from socialpub.intake.channels import create_channel, sandbox_channels  # noqa: E402
from socialpub.lifecycle import reconciler
from socialpub.models import Publication, PublicationStatus  # noqa: E402
from socialpub.sandbox import create_sandbox_app  # noqa: E402
from socialpub.sandbox.server import serve_in_thread  # noqa: E402
from socialpub.web.app import create_app

FAULTS = [
    {"error": "server_error", "rate": 0.15},
    {"error": "rate_limit", "rate": 0.05, "retry_after": 1, "minutes": 0},
    {"error": "drop_after_record", "rate": 0.03},
    {"error": "timeout_after_record", "rate": 0.02, "seconds": 4},
]
NETWORKS = ("facebook", "instagram", "linkedin", "whatsapp")


def fresh_database(url):
    base, name = url.rsplit("/", 1)
    conn = psycopg2.connect(f"{base}/postgres")
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        cur.execute(f'CREATE DATABASE "{name}"')
    conn.close()


def worker_children(pid):
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == pid:
                out.append(int(stat.parent.name))
        except (OSError, IndexError, ValueError):
            continue
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=200)
    parser.add_argument("--kill-every", type=float, default=5.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--interval", type=float, default=0.1, help="seconds between posts")
    parser.add_argument("--database", default="postgresql://postgres@127.0.0.1:5432/socialpub_soak")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/7")
    parser.add_argument("--deadline", type=float, default=600, help="seconds before giving up")
    args = parser.parse_args()

    fresh_database(args.database)
    instance = mkdtemp(prefix="socialpub-soak-")
    settings = Settings(database_url=args.database, redis_url=args.redis, instance_dir=instance,
                        secret_key="soak", max_retries=6, max_rate_limit_waits=10, min_backoff_ms=200,
                        max_backoff_ms=2000, read_timeout=2, time_limit_s=10, processing_lease_s=15,
                        requeue_after_s=20, heartbeat_timeout_ms=5000)
    app = create_app(settings)
    client = app.test_client()
    dramatiq.get_broker().flush_all()
    sandbox = serve_in_thread(create_sandbox_app({n: 0.3 for n in NETWORKS}))
    config = {n: {"fail": FAULTS} for n in NETWORKS}
    # Meta's daily publishing limit would hold back all but 50 Instagram posts: the soak measures the engine.
    config["instagram"]["publishing_limit"] = {"quota_total": 10**6, "quota_duration": 86400}
    requests.post(f"{sandbox.url}/_sandbox/config", json=config, timeout=5).raise_for_status()
    with db.database.connection_context():
        schema.upgrade()
        for definition in sandbox_channels(sandbox.url):
            create_channel(definition)

    env = dict(os.environ, DATABASE_URL=settings.database_url, REDIS_URL=settings.redis_url,
               SOCIALPUB_INSTANCE=instance, PUBLISH_MAX_RETRIES="6", PUBLISH_MIN_BACKOFF_MS="200",
               PUBLISH_MAX_BACKOFF_MS="2000", HTTP_READ_TIMEOUT="2", PUBLISH_TIME_LIMIT_S="10",
               PUBLISH_PROCESSING_LEASE_S="15", DRAMATIQ_HEARTBEAT_TIMEOUT_MS="5000",
               # The soak sends many posts to each channel: it measures the engine, not the channels' spacing.
               SOCIALPUB_CHANNEL_MIN_GAP_S="0", SOCIALPUB_CHANNEL_MAX_PER_HOUR="0",
               dramatiq_worker_timeout="100")
    log = open(Path(instance) / "workers.log", "a")

    def start_worker():
        return subprocess.Popen([sys.executable, "-m", "dramatiq", "socialpub.worker.boot", "--processes",
                                 str(args.workers), "--threads", "8"], env=env, stdout=log,
                                stderr=subprocess.STDOUT)

    stop = threading.Event()

    def reconcile_loop():
        from socialpub.worker.actors import publish
        while not stop.wait(2.0):
            try:
                with db.database.connection_context():
                    reconciler.reconcile(settings, publish)
            except Exception as exc:
                print("reconcile failed:", exc)

    threading.Thread(target=reconcile_loop, daemon=True).start()
    cli = start_worker()
    started = time.monotonic()
    published = threading.Event()

    def publish_posts():
        # A steady stream, so that workers are killed with work in flight.
        for i in range(args.posts):
            post = client.post("/api/posts", json={"text": f"soak post {i} {time.time_ns()}",
                                                    "image_url": f"{sandbox.url}/_sandbox/image.jpg",
                                                    "publish": True})
            assert post.status_code == 201, post.get_json()
            time.sleep(args.interval)
        published.set()

    threading.Thread(target=publish_posts, daemon=True).start()
    kills, last_kill = 0, time.monotonic()
    while True:
        with db.database.connection_context():
            open_count = Publication.select().where(Publication.status.not_in(PublicationStatus.FINAL)).count()
        if (published.is_set() and open_count == 0) or time.monotonic() - started > args.deadline:
            break
        if cli.poll() is not None:  # the CLI stops when one of its processes dies
            cli = start_worker()
        elif time.monotonic() - last_kill > args.kill_every:
            children = worker_children(cli.pid)
            if children:
                os.kill(children[0], signal.SIGKILL)
                kills += 1
            last_kill = time.monotonic()
        time.sleep(0.2)
    elapsed = time.monotonic() - started
    stop.set()
    cli.send_signal(signal.SIGTERM)
    cli.wait(timeout=60)

    with db.database.connection_context():
        by_status = collections.Counter(p.status for p in Publication.select())
        attempts = sum(p.attempts for p in Publication.select())
    received = requests.get(f"{sandbox.url}/_sandbox/received", timeout=10).json()
    refused = requests.get(f"{sandbox.url}/_sandbox/requests", timeout=10).json()
    keys = collections.Counter((r["network"], r["text"]) for r in received)
    duplicates = {k: n for k, n in keys.items() if n > 1}
    print(f"elapsed {elapsed:.1f} s; publications {sum(by_status.values())}; attempts {attempts}; "
          f"worker processes killed {kills}; faulty answers from the sandbox {len(refused)}")
    print(f"final statuses: {dict(by_status)}")
    print(f"items received by the sandbox: {len(received)}; duplicates: {len(duplicates)}")
    for (network, text), count in duplicates.items():
        print(f"  sent {count} times to {network}: {text[:60]!r}")
    sandbox.stop()
    dramatiq.get_broker().flush_all()
    sys.exit(1 if duplicates or any(s not in PublicationStatus.FINAL for s in by_status) else 0)


if __name__ == "__main__":
    main()
