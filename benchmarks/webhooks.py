"""Meta's status webhooks at Meta's pace: a WhatsApp publication already sent
to 1,000 recipients (rows with message ids, stored directly), then its 3,000
signed status webhooks (sent, delivered, read for each message) POSTed to
``/webhooks/meta`` by a few client threads as fast as they go, on the
production-mode stack (benchmarks/stack.py: gunicorn, `dramatiq` workers,
PostgreSQL, Redis). Measures each POST's latency and the time from the first
POST until every notification is applied and every recipient reads "read":
statuses applied per second; then the applying alone, of a second broadcast's
3,000 statuses stored beforehand with a message each (the web's part taken
out). Prints the figures and writes them as JSON.

    .venv/bin/python -m benchmarks.webhooks [--recipients 1000] [--clients 4] [--processes 2 --threads 8]
        [--database postgresql://postgres@127.0.0.1:5432/socialpub_bench_webhooks]
        [--redis redis://127.0.0.1:6379/9] [--out benchmarks/results/webhooks-<time>.json]

The database named in --database is dropped, created anew and dropped at the
end; the Redis db in --redis is flushed at the start and the end.
"""
from __future__ import annotations

import argparse
import collections
import datetime as dt
import hashlib
import hmac
import http.client
import json
import os
import signal
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

from benchmarks.demo_timing import percentile
from benchmarks.stack import ROOT, CpuMeter, Stack
from socialpub import db
from socialpub.models import Channel, MetaNotification, Post, Publication, Recipient

APP_SECRET = "bench-meta-app-secret"
STATES = ("sent", "delivered", "read")


def make_broadcast(recipients: int) -> tuple:
    """A published WhatsApp publication whose ``recipients`` rows were all sent;
    returns (its phone-number id, the message ids)."""
    now = dt.datetime.utcnow()
    with db.database.connection_context(), db.database.atomic():
        channel = Channel.get(Channel.network == "whatsapp")
        post = Post.create(text="webhook benchmark", status="published", finished_at=now)
        publication = Publication.create(post=post, channel=channel, network="whatsapp", text=post.text,
                                         status="published", published_at=now)
        ids = [f"wamid.bench-{publication.id}-{i:06d}" for i in range(recipients)]
        rows = [{"publication": publication.id, "phone": f"+3361{i:07d}", "status": "sent", "kind": "template",
                 "message_id": wamid, "sending_at": now, "sent_at": now, "updated_at": now}
                for i, wamid in enumerate(ids)]
        for start in range(0, len(rows), 500):
            Recipient.insert_many(rows[start:start + 500]).execute()
    return channel.account_id, ids


def bodies(phone_number_id: str, message_ids: list) -> list:
    """One signed body per status, in Meta's order: every message's "sent",
    then every "delivered", then every "read"."""
    out = []
    stamp = int(time.time())
    for step, state in enumerate(STATES):
        for wamid in message_ids:
            body = {"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": [{
                "field": "messages", "value": {
                    "messaging_product": "whatsapp",
                    "metadata": {"display_phone_number": "15550783881", "phone_number_id": phone_number_id},
                    "statuses": [{"id": wamid, "status": state, "timestamp": str(stamp + step),
                                  "recipient_id": "3361000000",
                                  "conversation": {"id": "c1", "origin": {"type": "marketing"}},
                                  "pricing": {"billable": True, "pricing_model": "CBP", "category": "marketing"}}]}}]}]}
            raw = json.dumps(body).encode()
            out.append((raw, "sha256=" + hmac.new(APP_SECRET.encode(), raw, hashlib.sha256).hexdigest()))
    return out


def post_all(base: str, signed: list, clients: int) -> list:
    """POST every body with ``clients`` threads, one keep-alive connection each;
    returns [(start epoch s, latency ms, HTTP status)]."""
    url = urlsplit(base)
    pending = collections.deque(signed)
    ready = threading.Barrier(clients + 1)
    calls = []

    def client():
        conn = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
        conn.connect()
        mine = []
        ready.wait()
        while True:
            try:
                raw, signature = pending.popleft()
            except IndexError:
                break
            started, t0 = time.time(), time.perf_counter()
            conn.request("POST", "/webhooks/meta", body=raw, headers={
                "Content-Type": "application/json", "X-Hub-Signature-256": signature})
            response = conn.getresponse()
            response.read()
            mine.append((started, (time.perf_counter() - t0) * 1000, response.status))
        conn.close()
        calls.extend(mine)

    threads = [threading.Thread(target=client, daemon=True) for _ in range(clients)]
    for t in threads:
        t.start()
    ready.wait()
    for t in threads:
        t.join()
    return sorted(calls)


def wait_applied(stack: Stack, notifications: int, recipients: int, timeout: float) -> float:
    """Wait until ``notifications`` are applied and every recipient reads "read"; returns the epoch time."""
    deadline = time.monotonic() + timeout
    while True:
        (applied, read), = stack.query(
            "SELECT (SELECT count(*) FROM metanotification WHERE applied_at IS NOT NULL), "
            "(SELECT count(*) FROM recipient WHERE status = 'read')")
        if applied >= notifications and read >= recipients:
            return time.time()
        stack.check_alive()
        if time.monotonic() > deadline:
            raise TimeoutError(f"{applied} of {notifications} notifications applied, {read} of {recipients} "
                               f"recipients read after {timeout:g} s")
        time.sleep(0.02)


def phase_backlog(stack: Stack, args) -> dict:
    """The applying alone: the statuses of a second broadcast stored as the web
    stores them (rows of metanotification), then one apply message per row
    sent in one round trip, as the POSTs would have; timed from the send until
    every one is applied."""
    from socialpub.config import Settings
    from socialpub.worker.broker import setup_broker

    phone_number_id, message_ids = make_broadcast(args.recipients)
    stored = [raw.decode() for raw, _ in bodies(phone_number_id, message_ids)]
    with db.database.connection_context(), db.database.atomic():
        now = dt.datetime.utcnow()
        ids = [i for (i,) in MetaNotification.insert_many([{"body": b, "received_at": now} for b in stored])
               .returning(MetaNotification.id).tuples().execute()]
    broker = setup_broker(Settings(database_url=args.database, redis_url=args.redis))
    actor = broker.get_actor("apply_meta_notification")
    total = stack.query("SELECT count(*) FROM metanotification")[0][0]
    started = time.time()
    with broker.batch():
        for notification_id in ids:
            actor.send(notification_id)
    done = wait_applied(stack, total, 2 * args.recipients, args.timeout)
    return {"webhooks": len(ids), "applied_s": round(done - started, 3),
            "applied_per_s": round(len(ids) / (done - started), 1)}


def run(args) -> dict:
    stack = Stack(args.database, args.redis)
    stack.env["SOCIALPUB_WHATSAPP_APP_SECRET"] = APP_SECRET
    results = {"started_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
               "machine": {"cpus": os.cpu_count(), "loadavg_start": _loadavg()},
               "config": {k: v for k, v in vars(args).items() if k != "out"}}
    try:
        step("starting the stack")
        stack.start()
        db.bind(args.database)
        stack.start_workers(args.processes, args.threads)
        phone_number_id, message_ids = make_broadcast(args.recipients)
        signed = bodies(phone_number_id, message_ids)
        step(f"POSTing {len(signed)} status webhooks with {args.clients} clients")
        meter = CpuMeter(stack)
        calls = post_all(stack.web, signed, args.clients)
        bad = [c for c in calls if c[2] != 200]
        if bad:
            raise RuntimeError(f"{len(bad)} POSTs were not answered 200, e.g. {bad[:3]}")
        posted = max(s + ms / 1000 for s, ms, _ in calls)
        done = wait_applied(stack, len(signed), args.recipients, args.timeout)
        cpu = meter.stop()
        first = calls[0][0]
        ms = [c[1] for c in calls]
        results.update({
            "webhooks": len(signed), "recipients": args.recipients,
            "post": {"p50_ms": round(percentile(ms, 50), 2), "p99_ms": round(percentile(ms, 99), 2),
                     "max_ms": round(max(ms), 2), "per_s": round(len(calls) / (posted - first), 1)},
            "posting_s": round(posted - first, 3), "applied_s": round(done - first, 3),
            "applied_per_s": round(len(signed) / (done - first), 1),
            "cpu_s": cpu, "cpu_ms_per_webhook": {g: round(s * 1000 / len(signed), 3) for g, s in cpu.items()},
        })
        step("the applying alone: a stored backlog of as many")
        results["backlog"] = phase_backlog(stack, args)
    finally:
        step("stopping")
        stack.stop()
    results["machine"]["loadavg_end"] = _loadavg()
    return results


def _loadavg() -> list:
    return [float(x) for x in Path("/proc/loadavg").read_text().split()[:3]]


def step(what):
    print(f"[webhooks {time.strftime('%H:%M:%S')}] {what}", file=sys.stderr, flush=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipients", type=int, default=1000, help="recipients of the broadcast [1000]")
    parser.add_argument("--clients", type=int, default=4, help="client threads POSTing [4]")
    parser.add_argument("--processes", type=int, default=2, help="worker processes [2]")
    parser.add_argument("--threads", type=int, default=8, help="threads per worker process [8]")
    parser.add_argument("--timeout", type=float, default=100, help="give up on the applying after this many s")
    parser.add_argument("--database", default=os.environ.get(
        "BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/socialpub_bench_webhooks"))
    parser.add_argument("--redis", default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/9"))
    parser.add_argument("--out", help="JSON file [benchmarks/results/webhooks-<time>.json]")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, lambda signum, frame: (_ for _ in ()).throw(KeyboardInterrupt(signum)))
    results = run(args)
    out = Path(args.out or ROOT / "benchmarks" / "results" / f"webhooks-{time.strftime('%Y%m%d-%H%M%S')}.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=1))
    post = results["post"]
    print(f"{results['webhooks']} status webhooks of a {results['recipients']}-recipient broadcast: "
          f"POST p50 {post['p50_ms']} ms, p99 {post['p99_ms']} ms (max {post['max_ms']} ms, {post['per_s']}/s); "
          f"all applied {results['applied_s']} s after the first POST: {results['applied_per_s']} statuses/s")
    backlog = results["backlog"]
    print(f"the applying alone, {backlog['webhooks']} stored with a message each: {backlog['applied_s']} s, "
          f"{backlog['applied_per_s']} statuses/s")
    print("CPU ms per webhook: " + ", ".join(f"{g} {v}" for g, v in results["cpu_ms_per_webhook"].items()))
    print(f"JSON: {out}")


if __name__ == "__main__":
    main()
