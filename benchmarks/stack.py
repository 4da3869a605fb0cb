"""The production-mode stack the benchmark runs on this machine: gunicorn web,
`dramatiq` worker processes, the sandbox (gunicorn, one process, many threads),
against the machine's PostgreSQL (a database of its own) and Redis (a db number
of its own), each on a free loopback port. Every process it starts is in a
session of its own, so that stopping it stops its children too.

It also measures: CPU seconds by process group, and the RSS of each worker
process.
"""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil
import psycopg2
import redis
import requests

from benchmarks.soak import NETWORKS, fresh_database

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent

#: A sandbox Instagram limit no run reaches.
UNLIMITED_INSTAGRAM = {"quota_total": 10**6, "quota_duration": 86400}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(check, timeout, what):
    """Call ``check`` until it returns something true; raise TimeoutError after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            value = check()
            if value:
                return value
        except (requests.RequestException, OSError, psycopg2.Error):
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what}: not ready after {timeout:g} s")
        time.sleep(0.05)


@dataclass
class Stack:
    """Services of one benchmark run. ``start()`` then the phases, ``stop()`` always."""

    database_url: str
    redis_url: str
    web_workers: int = 2
    web_threads: int = 4
    sandbox_threads: int = 160
    folder: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="socialpub-bench-")))
    procs: dict = field(default_factory=dict)
    token: str | None = None
    worker_processes: int = 0
    logs: dict = field(default_factory=dict)

    def __post_init__(self):
        self.web_port, self.sandbox_port = free_port(), free_port()
        self.web = f"http://127.0.0.1:{self.web_port}"
        self.sandbox = f"http://127.0.0.1:{self.sandbox_port}"
        self.env = dict(os.environ, DATABASE_URL=self.database_url, REDIS_URL=self.redis_url,
                        SOCIALPUB_INSTANCE=str(self.folder), SECRET_KEY="bench", PYTHONUNBUFFERED="1",
                        dramatiq_worker_timeout="100",
                        # Every post goes to the same five people, which Meta's pair rate would spread over
                        # minutes: the bench measures the engine, not Meta's limits.
                        SOCIALPUB_WHATSAPP_PAIR_PAUSE_S="0",
                        SOCIALPUB_CHANNEL_MIN_GAP_S="0", SOCIALPUB_CHANNEL_MAX_PER_HOUR="0",
                        # The sandbox is on loopback, which the outbound guard refuses otherwise.
                        OUTBOUND_ALLOW_NETWORKS="127.0.0.1/32")
        self.redis = redis.Redis.from_url(self.redis_url)
        self.pg = None

    # ------------------------------------------------------------- lifecycle

    def start(self):
        fresh_database(self.database_url)
        self.redis.flushdb()
        self._cli("db", "upgrade")
        self._spawn("sandbox", ["gunicorn", "--bind", f"127.0.0.1:{self.sandbox_port}", "--workers", "1",
                                "--worker-class", "gthread", "--threads", str(self.sandbox_threads),
                                "--keep-alive", "30", "socialpub.sandbox:create_sandbox_app()"])
        wait_until(lambda: requests.get(f"{self.sandbox}/_sandbox/config", timeout=2).ok, 30, "sandbox")
        self._cli("seed-sandbox-channels", "--sandbox-url", self.sandbox)
        self.token = self._api_token()
        metrics = self.folder / "web-metrics"
        metrics.mkdir()
        self._spawn("web", ["gunicorn", "--bind", f"127.0.0.1:{self.web_port}", "--workers",
                            str(self.web_workers), "--threads", str(self.web_threads), "wsgi:app"],
                    PROMETHEUS_MULTIPROC_DIR=str(metrics))
        wait_until(lambda: requests.get(f"{self.web}/healthz", timeout=2).ok, 60, "web")
        self.pg = psycopg2.connect(self.database_url)
        self.pg.autocommit = True

    def stop(self):
        for name in list(self.procs):
            self._stop(name)
        if self.pg is not None:
            self.pg.close()
        try:
            self.redis.flushdb()
        except redis.RedisError:
            pass
        _drop_database(self.database_url)

    def start_workers(self, processes, threads):
        """(Re)start `dramatiq socialpub.worker.boot` with ``processes`` × ``threads``; wait until
        every process has announced itself to Redis (its heartbeat)."""
        self._stop("workers")
        self.worker_processes = processes
        metrics = self.folder / f"worker-metrics-{time.monotonic_ns()}"
        metrics.mkdir()
        self._spawn("workers", [sys.executable, "-m", "dramatiq", "socialpub.worker.boot", "--processes",
                                str(processes), "--threads", str(threads)],
                    dramatiq_prom_db=str(metrics), dramatiq_prom_host="127.0.0.1",
                    dramatiq_prom_port=str(free_port()))
        wait_until(lambda: self._workers_ready(processes), 60, "workers")

    def _workers_ready(self, processes):
        """Every worker process has booted: the CLI logs "Worker process is ready" per process."""
        self.check_alive()
        log = self.logs["workers"].read_text(errors="replace")
        return log.count("Worker process is ready for action") >= processes

    def worker_pids(self) -> list:
        """The worker processes: the CLI's first children (its forks, such as the
        metrics exporter, start after every worker is up)."""
        cli = self.procs.get("workers")
        if cli is None:
            return []
        try:
            children = sorted(psutil.Process(cli.pid).children(), key=lambda c: c.create_time())
        except psutil.Error:
            return []
        return [c.pid for c in children[:self.worker_processes]]

    def _spawn(self, name, command, **env):
        if command[0] == "gunicorn":
            command = [str(BIN / "gunicorn")] + command[1:]
        path = self.logs[name] = self.folder / f"{name}-{time.monotonic_ns()}.log"
        log = open(path, "ab")
        self.procs[name] = subprocess.Popen(command, cwd=ROOT, env=dict(self.env, **env), stdout=log,
                                            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                            start_new_session=True)

    def _stop(self, name, grace=15.0):
        proc = self.procs.pop(name, None)
        if proc is None or proc.poll() is not None:
            return
        _signal_group(proc.pid, signal.SIGTERM)
        try:
            proc.wait(grace)
        except subprocess.TimeoutExpired:
            _signal_group(proc.pid, signal.SIGKILL)
            proc.wait(5)
        _signal_group(proc.pid, signal.SIGKILL)  # stragglers of its session, if any

    def check_alive(self):
        for name, proc in self.procs.items():
            if name != "client" and proc.poll() is not None:
                raise RuntimeError(f"{name} exited with status {proc.returncode}; see {self.logs[name]}")

    def _cli(self, *args, capture=False):
        result = subprocess.run([str(BIN / "socialpub"), *args], cwd=ROOT, env=self.env,
                                stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120)
        if result.returncode:
            raise RuntimeError(f"socialpub {' '.join(args)} failed: {result.stderr[-2000:]}")
        return result.stdout

    def _api_token(self):
        """A bearer token when the API asks for one (`socialpub create-token` exists), else None."""
        probe = subprocess.run([str(BIN / "socialpub"), "create-token", "--help"], cwd=ROOT, env=self.env,
                               stdin=subprocess.DEVNULL, capture_output=True, timeout=60)
        if probe.returncode:
            return None
        self._cli("create-user", "bench@example.com")
        return self._cli("create-token", "bench@example.com", "--name", "bench").strip()

    # --------------------------------------------------------------- control

    def sandbox_latency(self, seconds: dict | float):
        if not isinstance(seconds, dict):
            seconds = {n: seconds for n in NETWORKS}
        requests.post(f"{self.sandbox}/_sandbox/reset", json={}, timeout=10).raise_for_status()
        config = {n: {"latency": s} for n, s in seconds.items()}
        # Meta's publishing limit (50 a day in its reference example) would hold back all but 50 Instagram
        # posts of a run, as socialpub now keeps it before sending: the bench measures the engine.
        config.setdefault("instagram", {})["publishing_limit"] = UNLIMITED_INSTAGRAM
        requests.post(f"{self.sandbox}/_sandbox/config", json=config, timeout=10).raise_for_status()

    def clear_posts(self):
        """Forget every post (channels and users stay) and every queued message."""
        with self.pg.cursor() as cur:
            cur.execute("TRUNCATE attempt, publication, postmedia, post, quotause RESTART IDENTITY CASCADE")
        for key in self.redis.scan_iter("dramatiq:*"):
            if not key.startswith(b"dramatiq:__heartbeats__") and b".acks" not in key:
                self.redis.delete(key)

    def query(self, sql, params=()):
        with self.pg.cursor() as cur:
            cur.execute(sql, params)
            return cur.fetchall()

    # ------------------------------------------------------------ measuring

    def groups(self) -> dict:
        """{group: [pid, …]} for every process of the run, and PostgreSQL's and Redis' own."""
        out = {}
        for name in ("web", "workers", "sandbox"):
            proc = self.procs.get(name)
            if proc is not None:
                out[name] = _tree(proc.pid)
        dbname = self.database_url.rsplit("/", 1)[1]
        # Our database's backends, and the server's own processes (WAL writer,
        # checkpointer, …): on a shared server these carry others' work too.
        out["postgres"] = [pid for (pid,) in self.query(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s OR datname IS NULL", (dbname,))]
        out["redis"] = [self.redis.info("server")["process_id"]]
        return out

    def worker_rss_mb(self) -> list:
        return [round(psutil.Process(pid).memory_info().rss / 2**20, 1) for pid in self.worker_pids()]


def cpu_seconds(pids) -> dict:
    """{pid: user+system seconds} of the processes still alive."""
    out = {}
    for pid in pids:
        try:
            times = psutil.Process(pid).cpu_times()
        except psutil.Error:
            continue
        out[pid] = times.user + times.system
    return out


class CpuMeter:
    """CPU seconds each process group spent between ``__init__`` and ``stop()``
    (processes born meanwhile count from zero)."""

    def __init__(self, stack: Stack, extra: dict | None = None):
        self.stack, self.extra = stack, extra or {}
        self.before = {g: cpu_seconds(p) for g, p in self._groups().items()}

    def _groups(self):
        groups = self.stack.groups()
        groups.update(self.extra)
        return groups

    def stop(self, extra_seconds: dict | None = None) -> dict:
        spent = {}
        for group, pids in self._groups().items():
            now = cpu_seconds(pids)
            spent[group] = sum(v - self.before.get(group, {}).get(pid, 0.0) for pid, v in now.items())
        for group, seconds in (extra_seconds or {}).items():
            spent[group] = spent.get(group, 0.0) + seconds
        return {g: round(s, 3) for g, s in spent.items()}


def _tree(pid) -> list:
    try:
        proc = psutil.Process(pid)
        return [pid] + [c.pid for c in proc.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def _cmdline(proc) -> list:
    try:
        return proc.cmdline()
    except psutil.Error:
        return []


def _signal_group(pid, sig):
    try:
        os.killpg(pid, sig)
    except ProcessLookupError:
        pass


def _drop_database(url):
    base, name = url.rsplit("/", 1)
    try:
        conn = psycopg2.connect(f"{base}/postgres")
    except psycopg2.Error:
        return
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    conn.close()
