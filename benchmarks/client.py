"""The benchmark's load client, in a process of its own so that its CPU is
neither the server's nor hidden: ``concurrency`` threads, each with one
keep-alive HTTP connection, POST to ``path`` for every id until none is left.

    echo '{"base": "http://127.0.0.1:5000", "ids": [1, 2, 3], "concurrency": 2}' > job.json
    python -m benchmarks.client job.json result.json

Reads its job from the first file (JSON); writes to the second one JSON
object: each call's start (epoch seconds), latency (ms) and status, plus the
client's own CPU seconds and wall time.
"""
from __future__ import annotations

import collections
import http.client
import json
import sys
import threading
import time
from urllib.parse import urlsplit


def run(job: dict) -> dict:
    url = urlsplit(job["base"])
    path = job.get("path", "/api/posts/{id}/publish")
    body = job.get("body", "{}").encode()
    headers = {"Content-Type": "application/json", "Connection": "keep-alive"}
    if job.get("token"):
        headers["Authorization"] = f"Bearer {job['token']}"
    pending = collections.deque(job["ids"])
    concurrency = max(1, min(job.get("concurrency", 1), len(pending) or 1))
    ready = threading.Barrier(concurrency + 1)
    calls, errors = [], []

    def client():
        conn = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
        conn.connect()
        mine = []
        ready.wait()
        while True:
            try:
                post_id = pending.popleft()
            except IndexError:
                break
            started, t0 = time.time(), time.perf_counter()
            conn.request("POST", path.format(id=post_id), body=body, headers=headers)
            response = conn.getresponse()
            text = response.read()
            mine.append((started, (time.perf_counter() - t0) * 1000, response.status))
            if response.status >= 300 and len(errors) < 5:
                errors.append(f"{response.status} {text[:300]!r}")
        conn.close()
        calls.extend(mine)

    threads = [threading.Thread(target=client, daemon=True) for _ in range(concurrency)]
    for t in threads:
        t.start()
    cpu0, wall0 = time.process_time(), time.perf_counter()
    ready.wait()
    for t in threads:
        t.join()
    calls.sort()
    return {
        "calls": [[round(s, 6), round(ms, 3), status] for s, ms, status in calls],
        "errors": errors,
        "cpu_s": round(time.process_time() - cpu0, 3),
        "wall_s": round(time.perf_counter() - wall0, 3),
    }


if __name__ == "__main__":
    with open(sys.argv[1]) as job_file:
        result = run(json.load(job_file))
    with open(sys.argv[2], "w") as result_file:
        json.dump(result, result_file)
