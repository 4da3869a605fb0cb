"""Helpers for the monitoring tests: real `dramatiq` worker processes with
their Prometheus exporter, a served web app, and a workload with known
failures."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path

import requests
from prometheus_client.parser import text_string_to_metric_families
from werkzeug.serving import make_server

from socialpub import db
from socialpub.models import Attempt, Publication
from tests.support.processes import WorkerCLI, stop_process, wait_for

#: Per network: what the sandbox does to its first item-creating requests.
#: Facebook waits once on a rate limit, Instagram fails twice with a 5xx, then
#: both publish; LinkedIn refuses the first post for good.
FAULTS = {
    "facebook": {"latency": 0.1, "fail": [{"error": "rate_limit", "minutes": 0, "times": 1}]},
    "instagram": {"latency": 0.3, "fail": [{"error": "server_error", "times": 2}]},
    "linkedin": {"latency": 0.2, "fail": [{"error": "bad_parameter", "times": 1}]},
    "whatsapp": {"latency": 0.05},
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class MetricsWorkerCLI(WorkerCLI):
    """`python -m dramatiq socialpub.worker.boot` with several processes and
    Dramatiq's exporter on a loopback port of its own, writing to ``metrics_dir``."""

    def __init__(self, settings, log_path, metrics_dir, processes=2, threads=4):
        super().__init__(settings, log_path)
        self.port, self.processes, self.threads = free_port(), processes, threads
        self.metrics_dir = metrics_dir
        self.env.update(dramatiq_prom_db=str(metrics_dir), dramatiq_prom_host="127.0.0.1",
                        dramatiq_prom_port=str(self.port))

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}/metrics"

    def start(self):
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "dramatiq", "socialpub.worker.boot", "--processes", str(self.processes),
             "--threads", str(self.threads)], env=self.env, stdout=self.log, stderr=subprocess.STDOUT)

    def wait_ready(self, redis_client, timeout=30):
        """Until the exporter answers and every worker process registered itself."""
        from socialpub.worker.middleware import read_workers

        def ready():
            try:
                requests.get(self.url, timeout=1).raise_for_status()
            except requests.RequestException:
                return False
            # The main process's children: the worker processes and the exporter.
            registered = set(self.worker_pids()) & {w["pid"] for w in read_workers(redis_client)}
            return len(registered) == self.processes
        wait_for(ready, timeout, "the worker processes and their exporter")

    def scrape(self) -> dict:
        return parse(requests.get(self.url, timeout=5).text)


def parse(text) -> dict:
    """Prometheus text → ``{(sample name, frozenset(labels.items())): value}``."""
    return {(s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def total(samples: dict, name: str, **labels) -> float:
    """The sum of ``name``'s samples whose labels include ``labels``."""
    wanted = set(labels.items())
    return sum(v for (n, ls), v in samples.items() if n == name and wanted <= ls)


class ServedApp:
    """The Flask app on a loopback port, in a thread (requests count in this process).

    ``session`` sends the test user's API token. With ``as_test_user``, every
    request that brings no credentials gets that token added on the way in
    (for a headless browser taking a screenshot, which cannot sign in).
    """

    def __init__(self, app, as_test_user=False):
        token = app.config["TEST_API_TOKEN"]
        served = app
        if as_test_user:
            def served(environ, start_response):
                environ.setdefault("HTTP_AUTHORIZATION", f"Bearer {token}")
                return app(environ, start_response)
        self.server = make_server("127.0.0.1", 0, served, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {token}"

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.thread.join()


def publish_posts(web: ServedApp, sandbox, count, tag):
    """Create and publish ``count`` posts over HTTP (the JSON API); return their ids."""
    ids = []
    for i in range(count):
        response = web.session.post(f"{web.url}/api/posts", json={
            "text": f"{tag} {i}", "image_url": f"{sandbox.url}/_sandbox/image.jpg"}, timeout=10)
        assert response.status_code == 201, response.text
        ids.append(response.json()["id"])
        published = web.session.post(f"{web.url}/api/posts/{ids[-1]}/publish", json={}, timeout=10)
        assert published.status_code == 202, published.text
    return ids


def database_counts():
    """What the database says: publications by (network, status), attempts by
    (network, outcome), and the retry budgets spent by network."""
    with db.database.connection_context():
        pubs = list(Publication.select())
        attempts = list(Attempt.select(Attempt, Publication).join(Publication))
    by_status, by_outcome, retries, waits = {}, {}, {}, {}
    for p in pubs:
        by_status[(p.network, p.status)] = by_status.get((p.network, p.status), 0) + 1
        retries[p.network] = retries.get(p.network, 0) + p.retries
        waits[p.network] = waits.get(p.network, 0) + p.rate_limit_waits
    for a in attempts:
        key = (a.publication.network, a.outcome)
        by_outcome[key] = by_outcome.get(key, 0) + 1
    return by_status, by_outcome, retries, waits


class SocialpubUp:
    """``socialpub up`` (what ``make run`` starts) on free ports and a fresh
    instance folder, stopped with Ctrl-C on exit. ``session`` carries an API
    token made with ``socialpub create-token`` for the admin ``up`` created;
    ``output`` holds everything it printed once it has stopped."""

    def __init__(self, tmp_path, *args):
        self.web, self.sandbox = free_port(), free_port()
        self.url = f"http://127.0.0.1:{self.web}"
        self.sandbox_url = f"http://127.0.0.1:{self.sandbox}"
        # Its own SQLite and embedded Redis: not the harness's, by either name.
        self.env = {k: v for k, v in os.environ.items()
                    if k not in ("DATABASE_URL", "REDIS_URL", "SOCIALPUB_DATABASE_URL", "SOCIALPUB_REDIS_URL")}
        self.env["SOCIALPUB_INSTANCE"] = str(tmp_path / "instance")
        self.log = open(tmp_path / "up.log", "w+")
        self.command = [sys.executable, "-m", "socialpub.commands.cli", "up", "--port", str(self.web),
                        "--sandbox-port", str(self.sandbox), *args]
        self.session = requests.Session()
        self.output = ""
        self.returncode = None

    def __enter__(self):
        self.proc = subprocess.Popen(self.command, env=self.env, stdout=self.log, stderr=subprocess.STDOUT,
                                     text=True)
        try:
            wait_for(lambda: self.answers(f"{self.url}/healthz"), 60, "the web app")
            token = subprocess.run([sys.executable, "-m", "socialpub.commands.cli", "create-token", "admin@localhost"],
                                   env=self.env, capture_output=True, text=True, check=True).stdout.strip()
        except BaseException:
            self.__exit__()
            raise
        self.session.headers["Authorization"] = f"Bearer {token}"
        return self

    def log_text(self) -> str:
        """What it has printed so far."""
        return Path(self.log.name).read_text()

    def answers(self, url) -> bool:
        try:
            return requests.get(url, timeout=1).ok
        except requests.RequestException:
            return False

    def __exit__(self, *exc):
        stop_process(self.proc, signal.SIGINT)
        self.returncode = self.proc.returncode
        self.log.seek(0)
        self.output = self.log.read()
