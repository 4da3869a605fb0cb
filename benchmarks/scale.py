"""`make bench-scale`: the reads people and Prometheus make, timed against a
PostgreSQL database filled with history the way a busy team makes it — posts
spread over a year (``--same-density``: over as many years as it takes to
keep the 100 k one's posts per day), four publications each, ~1.1 attempts per publication,
95 % published, an audit line and a delivered webhook per post — at each size asked (100 k and 4 M
publications by default).

The web runs as in production (gunicorn 2 × 4, benchmarks/stack.py); each
read is called 10 times (after one warm-up) and its median and slowest are
kept; the monitor's three database reads are also timed alone, in-process.
Prints a table and writes JSON to benchmarks/results/scale-<time>.json.

    python -m benchmarks.scale [--sizes 100000,4000000] [--calls 10]
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import sys
import time
from pathlib import Path

import requests

from benchmarks.stack import Stack
from socialpub.db import bind
from socialpub.metrics import recent
from socialpub.web.monitor import stats

ROOT = Path(__file__).resolve().parents[1]

#: SQL that fills the history: ``%(posts)s`` posts over the last year, ids in time order.
FILL = (
    # Triggers (the publication tally) and foreign-key checks are off while filling; the tally is counted after.
    "SET session_replication_role = replica",
    """INSERT INTO post (text, status, created_at, updated_at, publish_requested_at, finished_at)
       SELECT 'Scale post ' || g || CASE WHEN g %% 7 = 0 THEN ' spring menu' ELSE ' news' END,
              CASE WHEN g %% 20 = 0 THEN 'partially_published' ELSE 'published' END, at, at, at, at + interval '6 s'
       FROM (SELECT g, (now() AT TIME ZONE 'utc') - interval '1 day' * (%(days)s * (%(posts)s - g)::float8 / %(posts)s) AS at
             FROM generate_series(1, %(posts)s) g) s""",
    """INSERT INTO publication (post_id, channel_id, network, text, status, attempts, retries, rate_limit_waits,
                                created_at, updated_at, enqueued_at, started_at, published_at, finished_at,
                                external_id, last_error, last_error_code)
       SELECT p.id, c.id, c.network, p.text, s.status, CASE WHEN (p.id + c.id) %% 10 = 0 THEN 2 ELSE 1 END, 0, 0,
              p.created_at, p.finished_at, p.created_at, p.created_at,
              CASE WHEN s.status = 'published' THEN p.finished_at END, p.finished_at,
              CASE WHEN s.status = 'published' THEN 'item_' || p.id || '_' || c.id END,
              CASE WHEN s.status <> 'published' THEN '(#100) Invalid parameter' END,
              CASE WHEN s.status <> 'published' THEN '100' END
       FROM post p CROSS JOIN channel c
       CROSS JOIN LATERAL (SELECT CASE WHEN p.status = 'published' OR c.network <> 'linkedin' THEN 'published'
                                       ELSE 'failed' END AS status) s""",
    """INSERT INTO attempt (publication_id, number, started_at, finished_at, outcome, error_code, error)
       SELECT id, n, started_at + (n - 1) * interval '2 s', started_at + (n - 1) * interval '2 s' + interval '1.2 s',
              CASE WHEN n < attempts THEN 'retrying' ELSE status END, NULL, NULL
       FROM publication CROSS JOIN LATERAL generate_series(1, attempts) n""",
    """INSERT INTO event (at, actor_id, subject, subject_id, action, detail)
       SELECT created_at, NULL, 'post', id, 'created', NULL FROM post""",
    # A webhook event per post, delivered at the first try to the one endpoint (made by fill()).
    """INSERT INTO outboxevent (msg_id, type, payload, created_at)
       SELECT 'msg_scale_' || id, 'post.published', '{"type": "post.published"}', finished_at FROM post""",
    """INSERT INTO webhookdelivery (event_id, endpoint_id, status, attempts, next_attempt_at, touched_at,
                                   last_status_code, delivered_at)
       SELECT o.id, e.id, 'delivered', 1, o.created_at, o.created_at, 200, o.created_at
       FROM outboxevent o CROSS JOIN (SELECT min(id) AS id FROM webhookendpoint) e""",
    """INSERT INTO webhookattempt (delivery_id, at, status_code, duration_ms, excerpt)
       SELECT id, delivered_at, 200, 40, 'ok' FROM webhookdelivery""",
    "SET session_replication_role = DEFAULT",
    # What the triggers would have counted.
    "DELETE FROM publicationdelta",
    "DELETE FROM publicationtally",
    """INSERT INTO publicationtally (network, status, count)
       SELECT network, status, count(*) FROM publication GROUP BY network, status""",
    "ANALYZE",
)


def fill(stack: Stack, publications: int, days: int) -> float:
    started = time.monotonic()
    posts = max(1, publications // 4)
    requests.post(f"{stack.web}/api/webhooks", json={"url": f"{stack.sandbox}/hooks/scale"},
                  headers={"Authorization": f"Bearer {stack.token}"}, timeout=30).raise_for_status()
    with stack.pg.cursor() as cur:
        for statement in FILL:
            cur.execute(statement, {"posts": posts, "days": days})
    # What the triggers would have counted of the last day, for the monitor (metrics/recent.py).
    database = _bind(stack)
    with database.connection_context(), database.atomic():
        recent.install(database)
    return time.monotonic() - started


def _bind(stack: Stack):
    os.environ.setdefault("SOCIALPUB_INSTANCE", str(stack.folder))
    return bind(stack.database_url)


def timed(call, calls: int) -> dict:
    call()  # warm-up: connections, caches
    times = []
    for _ in range(calls):
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1000)
    return {"p50_ms": round(statistics.median(times), 1), "max_ms": round(max(times), 1)}


def reads(stack: Stack, calls: int) -> dict:
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {stack.token}"
    web = stack.web

    def get(path, **params):
        def call():
            response = session.get(f"{web}{path}", params=params, timeout=60)
            response.raise_for_status()
            return response
        return call

    with stack.pg.cursor() as cur:
        cur.execute("SELECT max(id), count(*) FROM post")
        last_post, total = cur.fetchone()
        cur.execute("SELECT id FROM post WHERE id <= %s ORDER BY id DESC LIMIT 1", (last_post // 2,))
        middle_post = cur.fetchone()[0]
        cur.execute("SELECT min(id) FROM webhookendpoint")
        endpoint = cur.fetchone()[0]
    first = session.get(f"{web}/api/posts", params={"per_page": 20}, timeout=60).json()
    middle_page = max(1, min(total // 20 // 2, 500))
    now = dt.datetime.now(dt.timezone.utc)
    week = {"from": (now - dt.timedelta(days=7)).isoformat(), "to": now.isoformat()}
    measured = {
        "GET /metrics": timed(get("/metrics"), calls),
        "GET /monitor.json": timed(get("/monitor.json"), calls),
        "GET /api/posts (first page)": timed(get("/api/posts", per_page=20), calls),
        f"GET /api/posts?page={middle_page}": timed(get("/api/posts", per_page=20, page=middle_page), calls),
        "GET /api/posts?before=<middle>": timed(get("/api/posts", per_page=20, before=middle_post), calls)
        if "next" in first else None,
        "GET /api/posts?q=spring": timed(get("/api/posts", per_page=20, q="spring"), calls),
        "GET /api/calendar (a week)": timed(get("/api/calendar", **week), calls),
        "GET /api/posts/<id>": timed(get(f"/api/posts/{middle_post}"), calls),
        "GET /api/posts/<id>/status": timed(get(f"/api/posts/{middle_post}/status"), calls),
        "GET /api/posts/<id>/events": timed(get(f"/api/posts/{middle_post}/events"), calls),
        "GET /api/webhooks/<id>/deliveries": timed(get(f"/api/webhooks/{endpoint}/deliveries"), calls),
    }
    measured.update(monitor_reads(stack, calls))
    measured["POST /api/posts/<id>/publish"] = publish_calls(stack, session, calls)
    return {k: v for k, v in measured.items() if v is not None}


def monitor_reads(stack: Stack, calls: int) -> dict:
    """The monitor's database reads, alone (in this process, on the same database)."""
    database = _bind(stack)
    since = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None) - dt.timedelta(days=1)
    with database.connection_context():
        return {
            "monitor: publication counts": timed(stats.publication_counts, calls),
            "monitor: last 24 h outcomes": timed(lambda: stats.outcomes(since), calls),
            "monitor: last 24 h attempt times": timed(lambda: stats.attempt_times(since), calls),
            "monitor: latest failures": timed(stats.latest_failures, calls),
        }


def publish_calls(stack: Stack, session, calls: int) -> dict:
    """The publish call on fresh drafts (no worker runs: the messages wait in Redis)."""
    ids = []
    for i in range(calls + 1):
        response = session.post(f"{stack.web}/api/posts", json={"text": f"Scale publish {i} {time.time()}",
                                                                "networks": ["facebook", "linkedin"]}, timeout=30)
        response.raise_for_status()
        ids.append(response.json()["id"])
    pending = iter(ids)
    return timed(lambda: session.post(f"{stack.web}/api/posts/{next(pending)}/publish", timeout=30)
                 .raise_for_status(), calls)


def table(results: dict) -> str:
    sizes = list(results["sizes"])
    names = list(dict.fromkeys(n for size in sizes for n in results["sizes"][size]["reads"]))
    lines = ["| read | " + " | ".join(f"{int(s):,} publications" for s in sizes) + " |",
             "|---|" + "---|" * len(sizes)]
    for name in names:
        cells = []
        for size in sizes:
            value = results["sizes"][size]["reads"].get(name)
            cells.append(f"{value['p50_ms']:g} ms" if value else "—")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    fills = ", ".join(f"{int(s):,}: {results['sizes'][s]['fill_s']:.0f} s" for s in sizes)
    return "\n".join(lines) + f"\n\np50 of {results['calls']} calls each. Fill times: {fills}."


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100000,4000000", help="publications per database [100000,4000000]")
    parser.add_argument("--calls", type=int, default=10)
    parser.add_argument("--same-density", action="store_true",
                        help="spread each size over size/100,000 years (the 100 k one's posts per day), "
                             "instead of one year: what grows is the history alone")
    parser.add_argument("--database", default=os.environ.get(
        "BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/socialpub_scale"))
    parser.add_argument("--redis", default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/8"))
    parser.add_argument("--out", help="JSON file [benchmarks/results/scale-<time>.json]")
    args = parser.parse_args(argv)
    results = {"calls": args.calls, "machine": {"cpus": os.cpu_count()}, "same_density": args.same_density,
               "sizes": {}}
    for size in (int(s) for s in args.sizes.split(",")):
        stack = Stack(args.database, args.redis)
        try:
            print(f"[scale] {size:,} publications: starting the stack and filling…", file=sys.stderr, flush=True)
            stack.start()
            days = round(365 * size / 100_000) if args.same_density else 365
            fill_s = fill(stack, size, days)
            print(f"[scale] filled in {fill_s:.0f} s; reading…", file=sys.stderr, flush=True)
            results["sizes"][str(size)] = {"fill_s": round(fill_s, 1), "days_of_history": days,
                                           "reads": reads(stack, args.calls)}
        finally:
            stack.stop()
    out = Path(args.out or ROOT / "benchmarks" / "results" / f"scale-{time.strftime('%Y%m%d-%H%M%S')}.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=1))
    print(table(results))
    print(f"\nJSON: {out}")


if __name__ == "__main__":
    main()
