"""`python -m benchmarks.analytics`: the analytics reads people make — a post's
page with its numbers and curves, the Analytics page, a channel's numbers and
best times, and their API twins — timed against a PostgreSQL database filled
with a year of history: posts spread over the year (benchmarks/scale.py's
fill), each published item with its latest numbers and 50 readings over its
life, each channel's followers every day. At each size asked (100 k and
1 M readings by default: ten times the posts) the reads should cost the same:
they read what they show (one post's readings; the period's items), not the
history.

The web runs as in production (gunicorn, benchmarks/stack.py); each read is
called ``--calls`` times after one warm-up, its median and slowest kept.
Prints a table and writes JSON to benchmarks/results/analytics-<time>.json.

    python -m benchmarks.analytics [--sizes 100000,1000000] [--calls 20]
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import requests

from benchmarks import scale
from benchmarks.scale import timed
from benchmarks.stack import Stack

ROOT = Path(__file__).resolve().parents[1]
#: Readings kept per item over its life (an item is read about 120 times; one that moved is kept).
READINGS_PER_ITEM = 50

#: SQL that gives every published item its numbers and readings, and every channel a year of days.
ANALYTICS_FILL = (
    """INSERT INTO postmetrics (publication_id, channel_id, network, published_at, read_at, next_read_at, reads,
                                views, reach, reactions, comments, shares, saves, clicks)
       SELECT id, channel_id, network, published_at, published_at + interval '30 days', NULL, 120,
              500 + id %% 2500, 300 + id %% 1500, 20 + id %% 90, id %% 17, id %% 13,
              CASE WHEN network = 'instagram' THEN id %% 11 END,
              CASE WHEN network IN ('facebook', 'linkedin') THEN id %% 29 END
       FROM publication WHERE status = 'published'""",
    """INSERT INTO metricreading (publication_id, taken_at, views, reach, reactions, comments, shares, saves, clicks)
       SELECT m.publication_id, m.published_at + n * interval '90 minutes',
              m.views * n / %(per_item)s, m.reach * n / %(per_item)s, m.reactions * n / %(per_item)s,
              m.comments * n / %(per_item)s, m.shares * n / %(per_item)s, m.saves * n / %(per_item)s,
              m.clicks * n / %(per_item)s
       FROM postmetrics m CROSS JOIN generate_series(1, %(per_item)s) n""",
    """INSERT INTO channelmetrics (channel_id, day, followers, reach, views, taken_at)
       SELECT c.id, d::date, 1000 + (d::date - date '2025-01-01') * 3, 400, 900, d
       FROM channel c CROSS JOIN generate_series((now() AT TIME ZONE 'utc')::date - 365,
                                                 (now() AT TIME ZONE 'utc')::date, interval '1 day') d""",
    "ANALYZE",
)


def fill(stack: Stack, readings: int) -> float:
    started = time.monotonic()
    posts = max(10, round(readings / READINGS_PER_ITEM / 4 / 0.95))
    scale.fill(stack, posts * 4, 365)
    with stack.pg.cursor() as cur:
        for statement in ANALYTICS_FILL:
            cur.execute(statement, {"per_item": READINGS_PER_ITEM})
    return time.monotonic() - started


def reads(stack: Stack, calls: int) -> dict:
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {stack.token}"

    def get(path):
        def call():
            session.get(f"{stack.web}{path}", timeout=60).raise_for_status()
        return call

    with stack.pg.cursor() as cur:
        cur.execute("SELECT count(*) FROM metricreading")
        kept = cur.fetchone()[0]
        cur.execute("SELECT p.id FROM post p JOIN publication u ON u.post_id = p.id JOIN postmetrics m "
                    "ON m.publication_id = u.id ORDER BY p.id DESC LIMIT 1")
        recent = cur.fetchone()[0]
        cur.execute("SELECT min(id) FROM channel")
        channel = cur.fetchone()[0]
    return {"readings": kept, "reads": {
        "GET /posts/<id> (page, with its numbers and curve)": timed(get(f"/posts/{recent}"), calls),
        "GET /api/posts/<id>/metrics": timed(get(f"/api/posts/{recent}/metrics"), calls),
        "GET /analytics (page, last 28 days)": timed(get("/analytics"), calls),
        "GET /api/analytics (last 28 days)": timed(get("/api/analytics"), calls),
        "GET /api/analytics?days: last 90 (from/to)": timed(get("/api/analytics?from=" + time.strftime(
            "%Y-%m-%d", time.gmtime(time.time() - 89 * 86400))), calls),
        "GET /analytics/channels/<id> (page)": timed(get(f"/analytics/channels/{channel}"), calls),
        "GET /api/channels/<id>/best-times": timed(get(f"/api/channels/{channel}/best-times"), calls),
    }}


def table(results: dict) -> str:
    sizes = list(results["sizes"])
    names = list(dict.fromkeys(n for s in sizes for n in results["sizes"][s]["reads"]))
    lines = ["| read | " + " | ".join(f"{results['sizes'][s]['readings']:,} readings" for s in sizes) + " |",
             "|---|" + "---|" * len(sizes)]
    for name in names:
        lines.append(f"| {name} | " + " | ".join(
            f"{results['sizes'][s]['reads'][name]['p50_ms']:g} ms" for s in sizes) + " |")
    return "\n".join(lines) + f"\n\np50 of {results['calls']} calls each (PostgreSQL, gunicorn)."


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100000,1000000", help="readings per database [100000,1000000]")
    parser.add_argument("--calls", type=int, default=20)
    parser.add_argument("--database", default=os.environ.get(
        "BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/socialpub_analytics"))
    parser.add_argument("--redis", default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/8"))
    parser.add_argument("--out", help="JSON file [benchmarks/results/analytics-<time>.json]")
    args = parser.parse_args(argv)
    results = {"calls": args.calls, "machine": {"cpus": os.cpu_count()}, "sizes": {}}
    for size in (int(s) for s in args.sizes.split(",")):
        stack = Stack(args.database, args.redis)
        try:
            print(f"[analytics] {size:,} readings: starting the stack and filling…", file=sys.stderr, flush=True)
            stack.start()
            fill_s = fill(stack, size)
            measured = reads(stack, args.calls)
            results["sizes"][str(size)] = {"fill_s": round(fill_s, 1), **measured}
        finally:
            stack.stop()
    out = Path(args.out or ROOT / "benchmarks" / "results" / f"analytics-{time.strftime('%Y%m%d-%H%M%S')}.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=1))
    print(table(results))
    print(f"\nJSON: {out}")


if __name__ == "__main__":
    main()
