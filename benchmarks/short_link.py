"""`python -m benchmarks.short_link`: how fast a short link answers (``GET /l/<code>``: the click counted by
one UPDATE … RETURNING, then a 302), on the production-mode stack (gunicorn, PostgreSQL; benchmarks/stack.py),
over keep-alive HTTP from one client: ``--calls`` redirects after a warm-up, their p50, p99 and slowest.

    python -m benchmarks.short_link [--calls 500]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path

import requests

from benchmarks.stack import Stack

ROOT = Path(__file__).resolve().parents[1]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=500)
    parser.add_argument("--database", default=os.environ.get(
        "BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/socialpub_shortlink"))
    parser.add_argument("--redis", default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/8"))
    args = parser.parse_args(argv)
    stack = Stack(args.database, args.redis)
    try:
        stack.start()
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {stack.token}"
        post = session.post(f"{stack.web}/api/posts", json={"text": "Short link bench", "networks": ["linkedin"],
                                                             "link": "https://example.com/menu"}, timeout=30)
        post.raise_for_status()
        with stack.pg.cursor() as cur:  # the row the attempt makes when the post goes out
            cur.execute("INSERT INTO shortlink (code, post_id, channel_id, network, target, clicks, created_at) "
                        "VALUES ('benchcode', %s, 1, 'linkedin', 'https://example.com/menu?utm_source=linkedin', 0, "
                        "now())", (post.json()["id"],))
        anonymous = requests.Session()
        url = f"{stack.web}/l/benchcode"
        for _ in range(20):  # warm-up: connections, the statement's plan
            anonymous.get(url, allow_redirects=False, timeout=10)
        times = []
        for _ in range(args.calls):
            started = time.perf_counter()
            response = anonymous.get(url, allow_redirects=False, timeout=10)
            times.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 302
        with stack.pg.cursor() as cur:
            cur.execute("SELECT clicks FROM shortlink WHERE code = 'benchcode'")
            clicks = cur.fetchone()[0]
    finally:
        stack.stop()
    times.sort()
    result = {"calls": args.calls, "p50_ms": round(statistics.median(times), 2),
              "p99_ms": round(times[int(len(times) * 0.99) - 1], 2), "max_ms": round(times[-1], 2),
              "clicks_counted": clicks, "machine": {"cpus": os.cpu_count()}}
    out = ROOT / "benchmarks" / "results" / f"short-link-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1))
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
