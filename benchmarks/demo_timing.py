"""Time the seed's demo against a running stack (`make run`, or `socialpub up`
with DATABASE_URL/REDIS_URL set for PostgreSQL + Redis).

    .venv/bin/python benchmarks/demo_timing.py [--base http://127.0.0.1:5000]
        [--sandbox http://127.0.0.1:5055] [--calls 50] [--posts 5]

Prints the publish call's latency (p50/p95/p99 over --calls single-network
posts, sandbox latency set to 0 meanwhile) and, with the seed's latencies
(3/5/4/2 s), the time from the publish call until all four networks are
published, over --posts posts.
"""
from __future__ import annotations

import argparse
import statistics
import time

import requests

SEED = {"facebook": 3.0, "instagram": 5.0, "linkedin": 4.0, "whatsapp": 2.0}


def percentile(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def create(http, base, sandbox, networks=None):
    payload = {"text": f"benchmark {time.time_ns()}", "image_url": f"{sandbox}/_sandbox/image.jpg"}
    if networks:
        payload["networks"] = networks
    response = http.post(f"{base}/api/posts", json=payload, timeout=10)
    response.raise_for_status()
    return response.json()["id"]


def wait_published(http, base, post_id, count, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = http.get(f"{base}/api/posts/{post_id}/status", timeout=10).json()
        if status["by_status"]["published"] + status["by_status"]["failed"] == count:
            return status
        time.sleep(0.02)
    raise TimeoutError(f"post {post_id} not finished after {timeout} s")


def drain(http, base, timeout=300):
    deadline = time.monotonic() + timeout
    while http.get(f"{base}/api/posts", params={"status": "publishing", "per_page": 1},
                   timeout=10).json()["total"]:
        if time.monotonic() > deadline:
            raise TimeoutError("posts still publishing after the latency run")
        time.sleep(0.1)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", default="http://127.0.0.1:5000")
    parser.add_argument("--sandbox", default="http://127.0.0.1:5055")
    parser.add_argument("--calls", type=int, default=50)
    parser.add_argument("--posts", type=int, default=5)
    args = parser.parse_args()
    http = requests.Session()

    http.post(f"{args.sandbox}/_sandbox/config",
              json={n: {"latency": 0} for n in SEED}, timeout=5).raise_for_status()
    latencies = []
    for _ in range(args.calls):
        post_id = create(http, args.base, args.sandbox)
        started = time.perf_counter()
        http.post(f"{args.base}/api/posts/{post_id}/publish", json={}, timeout=10).raise_for_status()
        latencies.append((time.perf_counter() - started) * 1000)
    print(f"publish call, 4 networks, {args.calls} calls: p50 {percentile(latencies, 50):.1f} ms, "
          f"p95 {percentile(latencies, 95):.1f} ms, p99 {percentile(latencies, 99):.1f} ms, "
          f"max {max(latencies):.1f} ms")
    drain(http, args.base)  # the timed run must not queue behind the latency run's backlog

    http.post(f"{args.sandbox}/_sandbox/config",
              json={n: {"latency": s} for n, s in SEED.items()}, timeout=5).raise_for_status()
    totals = []
    for _ in range(args.posts):
        post_id = create(http, args.base, args.sandbox)
        started = time.perf_counter()
        http.post(f"{args.base}/api/posts/{post_id}/publish", json={}, timeout=10).raise_for_status()
        status = wait_published(http, args.base, post_id, 4)
        totals.append(time.perf_counter() - started)
        assert status["by_status"]["published"] == 4, status
    print(f"all four published (seed latencies 3/5/4/2 s), {args.posts} posts: "
          f"median {statistics.median(totals):.2f} s, max {max(totals):.2f} s "
          f"(sequential would be 14 s)")


if __name__ == "__main__":
    main()
