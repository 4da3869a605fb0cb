"""`make bench`: brings up the production-mode stack on this machine (gunicorn,
`dramatiq` workers, PostgreSQL, Redis, the sandbox; see stack.py), measures
the publish call, end-to-end time, throughput, I/O-bound concurrency, scaling
and worker memory in one run, prints a table with each target's PASS/MISS and
writes the figures as JSON. Stops everything it started, also on Ctrl-C,
failure or its own time limit.

    .venv/bin/python -m benchmarks.bench [--quick] [--posts 1000] [--io-publications 2000]
        [--io-processes 2 --io-threads 32] [--database postgresql://postgres@127.0.0.1:5432/socialpub_bench]
        [--redis redis://127.0.0.1:6379/9] [--out benchmarks/results/….json]

The database named in --database is dropped, created anew and dropped at the
end; the Redis db in --redis is flushed at the start and the end.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

import requests

from benchmarks.demo_timing import SEED, percentile
from benchmarks.stack import ROOT, CpuMeter, Stack
from socialpub import db
from socialpub.models import Channel, Media, Post, PostMedia, Publication, PublicationStatus

#: (key in results, label, limit, "max" or "min")
TARGETS = [
    ("publish_1.p50_ms", "publish call, 1 client, p50 (ms)", 4, "max"),  # issue 30, item 4
    ("publish_1.p99_ms", "publish call, 1 client, p99 (ms)", 8, "max"),
    ("publish_32.p99_ms", "publish call, 32 clients, p99 (ms)", 60, "max"),
    ("e2e.overhead_ms", "end-to-end overhead above 5 s (ms, median)", 100, "max"),
    ("throughput_2.per_s", "publications/s, 2 worker processes", 300, "min"),
    ("io.ratio", "I/O-bound run, elapsed / ideal", 1.2, "max"),
    ("rss.max_mb", "worker RSS, largest (MB)", 80, "max"),
]
FINAL = tuple(PublicationStatus.FINAL)


def loadavg() -> list:
    return [float(x) for x in Path("/proc/loadavg").read_text().split()[:3]]


#: ``--with-photos``: each post carries an uploaded photo (the publish call then reads the post's media).
WITH_PHOTOS = False


def make_posts(stack: Stack, count: int) -> list:
    """``count`` four-network posts, stored directly (what the API would store);
    with WITH_PHOTOS, each with one uploaded photo (a library row) instead of a URL."""
    image = None if WITH_PHOTOS else f"{stack.sandbox}/_sandbox/image.jpg"
    stamp = time.time_ns()
    ids = []
    with db.database.connection_context(), db.database.atomic():
        channels = list(Channel.select().order_by(Channel.id))
        photo = Media.get_or_create(sha256="0" * 64, defaults={
            "content_type": "image/jpeg", "size_bytes": 1, "width": 1080, "height": 1080,
            "storage_key": f"{'0' * 64}.jpg", "thumbnail_key": f"thumbs/{'0' * 64}.jpg"})[0] if WITH_PHOTOS else None
        for start in range(0, count, 500):
            texts = [f"benchmark post {i} {stamp} #bench" for i in range(start, min(count, start + 500))]
            new = [row[0] for row in Post.insert_many([{"text": t, "image_url": image} for t in texts])
                   .returning(Post.id).tuples().execute()]
            Publication.insert_many([{"post": pid, "channel": c.id, "network": c.network, "text": t}
                                     for pid, t in zip(new, texts) for c in channels]).execute()
            if photo is not None:
                PostMedia.insert_many([{"post": pid, "media": photo.id, "position": 0} for pid in new]).execute()
            ids += new
    return ids


def run_client(stack: Stack, ids, concurrency, *, wait=True):
    """Start the load client on ``ids``; return its result (or the Popen and result path)."""
    folder = stack.folder
    job, result = folder / f"job-{time.monotonic_ns()}.json", folder / f"result-{time.monotonic_ns()}.json"
    job.write_text(json.dumps({"base": stack.web, "token": stack.token, "ids": list(ids),
                               "concurrency": concurrency}))
    stack._spawn("client", [sys.executable, "-m", "benchmarks.client", str(job), str(result)])
    proc = stack.procs["client"]
    if not wait:
        return proc, result
    return client_result(proc, result)


def client_result(proc, path, timeout=600):
    if proc.wait(timeout) != 0:
        raise RuntimeError(f"the load client failed (status {proc.returncode})")
    result = json.loads(Path(path).read_text())
    bad = [c for c in result["calls"] if c[2] != 202]
    if bad:
        raise RuntimeError(f"{len(bad)} publish calls failed, e.g. {result['errors'][:2]}")
    return result


def latency_summary(result, skip=0) -> dict:
    ms = [c[1] for c in result["calls"][skip:]]
    calls = len(result["calls"])
    return {"calls": len(ms), "p50_ms": round(percentile(ms, 50), 2), "p95_ms": round(percentile(ms, 95), 2),
            "p99_ms": round(percentile(ms, 99), 2), "max_ms": round(max(ms), 2),
            "per_s": round(calls / result["wall_s"], 1),
            "client_cpu_ms_per_call": round(result["cpu_s"] * 1000 / calls, 3)}


def wait_finished(stack: Stack, expected: int, timeout: float, poll=0.05):
    """Wait until ``expected`` publications are final; return (published, others, last published_at)."""
    deadline = time.monotonic() + timeout
    connections = 0
    while True:
        (done, conns), = stack.query(
            "SELECT (SELECT count(*) FROM publication WHERE status = ANY(%s)), "
            "(SELECT count(*) FROM pg_stat_activity WHERE datname = current_database())", (list(FINAL),))
        connections = max(connections, conns)
        if done >= expected:
            break
        stack.check_alive()
        if time.monotonic() > deadline:
            raise TimeoutError(f"{done} of {expected} publications finished after {timeout:g} s")
        time.sleep(poll)
    (published, last), = stack.query(
        "SELECT count(*) FILTER (WHERE status = 'published'), "
        "extract(epoch FROM max(published_at)) FROM publication")
    return published, done - published, float(last or 0), connections


#: Process group to profile with py-spy during the throughput runs (--profile).
PROFILE = None


def start_profiler(stack: Stack, group, label):
    """py-spy, sampling ``group``'s processes; its collapsed stacks go to benchmarks/results/."""
    if not group:
        return None
    out = ROOT / "benchmarks" / "results" / f"profile-{group}-{label}-{time.strftime('%H%M%S')}.txt"
    out.parent.mkdir(parents=True, exist_ok=True)
    proc = subprocess.Popen([str(Path(sys.executable).parent / "py-spy"), "record", "--format", "raw",
                             "--rate", "250", "--gil", "--subprocesses", "--output", str(out),
                             "--pid", str(stack.procs[group].pid)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    time.sleep(0.5)
    return proc


def stop_profiler(proc):
    if proc is not None:
        proc.send_signal(signal.SIGINT)
        proc.wait(30)


# ----------------------------------------------------------------- phases

def phase_publish_latency(stack: Stack, calls1, calls32) -> dict:
    """The publish call alone: no worker runs, so the web path has the machine."""
    warm = 20
    ids = make_posts(stack, warm + calls1 + 32 + calls32)
    profiler = start_profiler(stack, PROFILE if PROFILE == "web" else None, "latency")
    out = {}
    for key, chosen, concurrency in (("publish_1", ids[:warm + calls1], 1),
                                     ("publish_32", ids[warm + calls1:], 32)):
        meter = CpuMeter(stack)
        result = run_client(stack, chosen, concurrency)
        out[key] = latency_summary(result, skip=warm if concurrency == 1 else 32)
        out[key]["cpu_ms_per_call"] = cpu_per_call(meter.stop(), len(result["calls"]))
    stop_profiler(profiler)
    stack.clear_posts()
    return out


def cpu_per_call(cpu: dict, calls: int) -> dict:
    """CPU ms per call by process group (web, postgres, redis; the client's is in the summary). PostgreSQL's
    includes the server's own processes, and Redis' is the whole server's: on a shared machine both carry
    others' work too."""
    return {g: round(s * 1000 / calls, 3) for g, s in cpu.items() if g in ("web", "postgres", "redis")}


def phase_end_to_end(stack: Stack, posts, sequential=False) -> dict:
    """Seed latencies: from the publish call until all four are published; then,
    with ``sequential``, one post again with a single worker thread (the seed's
    "without queues" column: one network after the other)."""
    result = _timed_posts(stack, posts)
    if sequential:
        stack.start_workers(1, 1)
        result["sequential"] = _timed_posts(stack, 1)
    return result


def _timed_posts(stack: Stack, posts) -> dict:
    stack.sandbox_latency(SEED)
    slowest = max(SEED.values())
    http = requests.Session()
    headers = {"Authorization": f"Bearer {stack.token}"} if stack.token else {}
    rows = []
    for post_id in make_posts(stack, posts):
        started = time.time()
        http.post(f"{stack.web}/api/posts/{post_id}/publish", json={}, headers=headers,
                  timeout=10).raise_for_status()
        call_ms = (time.time() - started) * 1000
        deadline = time.monotonic() + 60
        while True:
            lines = stack.query("SELECT network, status, extract(epoch FROM published_at) FROM publication "
                                "WHERE post_id = %s", (post_id,))
            if all(status in FINAL for _, status, _ in lines):
                break
            if time.monotonic() > deadline:
                raise TimeoutError(f"post {post_id} not published after 60 s: {lines}")
            time.sleep(0.01)
        if any(status != "published" for _, status, _ in lines):
            raise RuntimeError(f"post {post_id} did not publish everywhere: " + repr(stack.query(
                "SELECT network, status, last_error FROM publication WHERE post_id = %s", (post_id,))))
        total = max(float(at) for _, _, at in lines) - started
        rows.append({"total_s": round(total, 3), "publish_call_ms": round(call_ms, 2),
                     "overhead_ms": round((total - slowest) * 1000, 1),
                     "lag_ms": {n: round((float(at) - started - SEED[n]) * 1000, 1) for n, _, at in lines}})
    stack.sandbox_latency(0)
    stack.clear_posts()
    return {"posts": rows, "total_s": round(statistics.median(r["total_s"] for r in rows), 3),
            "overhead_ms": round(statistics.median(r["overhead_ms"] for r in rows), 1),
            "overhead_max_ms": max(r["overhead_ms"] for r in rows)}


def phase_throughput(stack: Stack, posts, processes, threads, latency=0.0, concurrency=4) -> dict:
    """Publish ``posts`` four-network posts as fast as the client can; time until the last
    is published, and CPU by process group."""
    stack.start_workers(processes, threads)
    rss_idle = stack.worker_rss_mb()
    stack.sandbox_latency(latency)
    ids = make_posts(stack, posts)
    expected = posts * 4
    meter = CpuMeter(stack)
    load0 = loadavg()
    profiler = start_profiler(stack, PROFILE, f"{processes}x{threads}-{latency:g}s")
    proc, path = run_client(stack, ids, concurrency, wait=False)
    published, failed, last, connections = wait_finished(stack, expected,
                                                         timeout=60 + expected * max(latency, 0.05) * 2)
    client = client_result(proc, path)
    stop_profiler(profiler)
    if failed:
        raise RuntimeError(f"{failed} publications did not publish: " + repr(stack.query(
            "SELECT network, status, last_error FROM publication WHERE status <> 'published' LIMIT 3")))
    first = client["calls"][0][0]
    cpu = meter.stop({"client": client["cpu_s"]})
    elapsed = last - first
    out = {
        "processes": processes, "threads": threads, "latency_s": latency, "publications": expected,
        "published": published, "not_published": failed, "elapsed_s": round(elapsed, 3),
        "per_s": round(published / elapsed, 1),
        "cpu_s": cpu, "cpu_ms_per_publication": {g: round(s * 1000 / expected, 3) for g, s in cpu.items()},
        "cpu_ms_per_publication_total": round(sum(cpu.values()) * 1000 / expected, 3),
        "publish_calls": latency_summary(client), "rss_idle_mb": rss_idle,
        "postgres_connections_max": connections,
        "rss_after_mb": stack.worker_rss_mb(), "loadavg": [load0, loadavg()],
    }
    stack.clear_posts()
    return out


def run(args) -> dict:
    stack = Stack(args.database, args.redis, sandbox_threads=max(160, args.io_processes * args.io_threads + 32),
                  web_workers=args.web_workers, web_threads=args.web_threads)
    results = {"started_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
               "machine": {"cpus": os.cpu_count(), "loadavg_start": loadavg()},
               "config": {k: v for k, v in vars(args).items() if k != "out"}}
    try:
        stack.start()
        db.bind(args.database)
        results["auth"] = bool(stack.token)
        results["web"] = {"workers": stack.web_workers, "threads": stack.web_threads}
        phases = set((args.only or "latency,throughput,e2e,io").split(","))
        if "latency" in phases:
            step("publish call latency")
            results.update(phase_publish_latency(stack, args.calls, args.calls * 32 // 10))
        if "throughput" in phases:
            step("throughput, 1 worker process")
            results["throughput_1"] = phase_throughput(stack, args.posts, 1, args.threads)
            step("throughput, 2 worker processes")
            results["throughput_2"] = phase_throughput(stack, args.posts, 2, args.threads)
        if "e2e" in phases:
            step("end to end, seed latencies")
            if not stack.worker_pids():
                stack.start_workers(2, args.threads)
            results["e2e"] = phase_end_to_end(stack, args.e2e_posts, sequential=not args.quick)
        if "io" in phases:
            step(f"I/O-bound, {args.io_processes} × {args.io_threads} at 1 s")
            io = phase_throughput(stack, args.io_publications // 4, args.io_processes, args.io_threads,
                                  latency=1.0, concurrency=8)
            io["ideal_s"] = round(io["publications"] / (args.io_processes * args.io_threads), 2)
            io["ratio"] = round(io["elapsed_s"] / io["ideal_s"], 3)
            results["io"] = io
        runs = [results[k] for k in ("throughput_1", "throughput_2", "io") if k in results]
        if runs:
            results["rss"] = {"idle_mb": runs[-1]["rss_idle_mb"], "max_mb": max(
                r for run in runs for r in run["rss_idle_mb"] + run["rss_after_mb"])}
            results["rss"].update({f"after_{k}_mb": results[k]["rss_after_mb"]
                                   for k in ("throughput_2", "io") if k in results})
    finally:
        step("stopping")
        stack.stop()
    results["machine"]["loadavg_end"] = loadavg()
    return results


def step(what):
    print(f"[bench {time.strftime('%H:%M:%S')}] {what}", file=sys.stderr, flush=True)


def lookup(results, key):
    value = results
    for part in key.split("."):
        value = value[part]
    return value


def verdicts(results) -> list:
    out = []
    for key, label, limit, kind in TARGETS:
        try:
            value = lookup(results, key)
        except KeyError:
            continue  # phase not run (--only)
        ok = value <= limit if kind == "max" else value >= limit
        out.append({"key": key, "label": label, "value": value, "target": limit, "kind": kind,
                    "pass": ok})
    return out


def table(results) -> str:
    machine = results["machine"]
    lines = [
        f"socialpub bench — {results['started_at']}, {machine['cpus']} CPUs, load "
        f"{machine['loadavg_start']} → {machine['loadavg_end']}, auth {'on' if results['auth'] else 'off'}",
        "",
        "| Measure | Result | Target | |",
        "|---|---|---|---|",
    ]
    for v in verdicts(results):
        sign = "≤" if v["kind"] == "max" else "≥"
        lines.append(f"| {v['label']} | {v['value']} | {sign} {v['target']} | {'PASS' if v['pass'] else 'MISS'} |")
    lines.append("")
    for key, label in (("publish_1", "publish call, 1 client:  "), ("publish_32", "publish call, 32 clients:")):
        if key in results:
            p = results[key]
            lines.append(f"{label} p50 {p['p50_ms']} ms, p95 {p['p95_ms']} ms, p99 {p['p99_ms']} ms "
                         f"({p['calls']} calls, {p['per_s']}/s; client CPU {p['client_cpu_ms_per_call']} ms/call"
                         + "".join(f", {g} {ms}" for g, ms in p.get("cpu_ms_per_call", {}).items()) + ")")
    if "e2e" in results:
        e2e = results["e2e"]
        lines.append(f"end to end (3/5/4/2 s):   {e2e['total_s']} s median, overhead {e2e['overhead_ms']} ms "
                     f"median, {e2e['overhead_max_ms']} ms max over {len(e2e['posts'])} posts")
        if "sequential" in e2e:
            lines.append(f"  one worker thread (sequential): {e2e['sequential']['total_s']} s")
    for key in ("throughput_1", "throughput_2"):
        if key in results:
            t = results[key]
            lines.append(f"throughput, {t['processes']} × {t['threads']}:  {t['per_s']} publications/s "
                         f"({t['publications']} in {t['elapsed_s']} s)")
    if "io" in results:
        io = results["io"]
        lines.append(f"I/O-bound, {io['processes']} × {io['threads']} at 1 s: {io['elapsed_s']} s for "
                     f"{io['publications']} (ideal {io['ideal_s']} s, ×{io['ratio']}); PostgreSQL "
                     f"connections at most {io['postgres_connections_max']}")
    if "rss" in results:
        lines.append("worker RSS (MB): " + ", ".join(f"{k.removesuffix('_mb')} {v}"
                                                     for k, v in results["rss"].items()))
    for key in ("throughput_1", "throughput_2"):
        if key in results:
            t = results[key]
            lines.append(f"CPU ms per publication, {t['processes']} worker process(es), zero latency: "
                         + ", ".join(f"{g} {ms}" for g, ms in t["cpu_ms_per_publication"].items())
                         + f"; total {t['cpu_ms_per_publication_total']}")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes: the whole run in under a minute")
    parser.add_argument("--calls", type=int, help="publish calls with 1 client (32 clients: 3.2×) [1000]")
    parser.add_argument("--posts", type=int, help="four-network posts per throughput run [1000]")
    parser.add_argument("--threads", type=int, default=8, help="threads per worker process [8]")
    parser.add_argument("--e2e-posts", type=int, help="posts timed end to end [5]")
    parser.add_argument("--io-publications", type=int, help="publications in the I/O-bound run [2000]")
    parser.add_argument("--web-workers", type=int, default=2, help="gunicorn worker processes [2]")
    parser.add_argument("--web-threads", type=int, default=4, help="threads per gunicorn worker [4]")
    parser.add_argument("--io-processes", type=int, default=2)
    parser.add_argument("--io-threads", type=int, default=32)
    parser.add_argument("--database", default=os.environ.get(
        "BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/socialpub_bench"))
    parser.add_argument("--redis", default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/9"))
    parser.add_argument("--timeout", type=float, help="give up after this many seconds [900; quick 150]")
    parser.add_argument("--profile", choices=("web", "workers", "sandbox"),
                        help="sample this group with py-spy during the throughput runs")
    parser.add_argument("--with-photos", action="store_true", help="each post carries an uploaded photo")
    parser.add_argument("--only", help="comma-separated phases: latency,throughput,e2e,io [all]")
    parser.add_argument("--out", help="JSON file [benchmarks/results/bench-<time>.json]")
    args = parser.parse_args(argv)
    global PROFILE, WITH_PHOTOS
    PROFILE, WITH_PHOTOS = args.profile, args.with_photos
    sizes = dict(calls=100, posts=60, e2e_posts=1, io_publications=160, timeout=150) if args.quick else \
        dict(calls=1000, posts=1000, e2e_posts=5, io_publications=2000, timeout=900)
    for name, value in sizes.items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    if args.quick and args.io_threads == 32:
        args.io_threads = 16

    def give_up(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, give_up)
    signal.signal(signal.SIGALRM, lambda *_: (_ for _ in ()).throw(TimeoutError("bench time limit")))
    signal.alarm(int(args.timeout))
    try:
        results = run(args)
    finally:
        signal.alarm(0)
    results["verdicts"] = verdicts(results)
    out = Path(args.out or ROOT / "benchmarks" / "results" /
               f"bench-{time.strftime('%Y%m%d-%H%M%S')}{'-quick' if args.quick else ''}.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=1))
    print(table(results))
    print(f"\nJSON: {out}")


if __name__ == "__main__":
    main()
