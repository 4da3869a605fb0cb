"""Prometheus metrics: what the workers count as they publish, what the web app
counts as it answers, and what is read from the database and Redis whenever
Prometheus scrapes the web app's ``/metrics``.

Where each is served:

* **Workers** (``dramatiq socialpub.worker``): Dramatiq's exposition server,
  which the ``dramatiq`` CLI forks on ``dramatiq_prom_host:dramatiq_prom_port``
  (default 0.0.0.0:9191), sums what every worker process wrote to the
  memory-mapped files in ``dramatiq_prom_db``: ours (``socialpub_publications_total``,
  ``socialpub_attempts_total``, …) and Dramatiq's own (``dramatiq_messages_total``, …).
* **Web** (``GET /metrics``): request counts and latency, and gauges computed at
  scrape time: publications by status, channels needing re-authorisation and
  the oldest queued publication (database), queue depth and workers alive (Redis).
  Gunicorn with several workers needs ``PROMETHEUS_MULTIPROC_DIR`` (an empty
  folder per run), or each scrape would see one worker's counts.

prometheus_client chooses between in-process and multiprocess values when it is
first imported, so ``PROMETHEUS_MULTIPROC_DIR`` must be in the environment
before this module is imported (``socialpub.worker`` sets it for workers).

Increments are all the hot path pays: no database or Redis call is made for a
metric while publishing.
"""
from __future__ import annotations

import json
import logging
import os
import re
import shutil
import socket
import time
from contextlib import contextmanager
from pathlib import Path

import redis
from dramatiq.middleware import Middleware
from prometheus_client import (CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram,
                               disable_created_metrics, generate_latest)
from prometheus_client.core import GaugeMetricFamily

from .delivery import error_code
from .networks.base import NETWORKS

logger = logging.getLogger(__name__)

# No *_created series: they double the series count and no panel uses them.
disable_created_metrics()

#: socialpub's metrics, apart from prometheus_client's default registry (which,
#: in a single process, also carries process and platform collectors).
REGISTRY = CollectorRegistry()

#: Final outcomes a worker records after calling a network ("adopted": an
#: earlier attempt whose answer was lost turned out to have published it).
PUBLICATION_OUTCOMES = ("published", "adopted", "failed", "unconfirmed")
#: Outcomes of one call to a network, as in the Attempt rows.
ATTEMPT_OUTCOMES = ("published", "adopted", "retrying", "failed", "unconfirmed")
#: Why a publication waits for another try (networks.ErrorKind values).
RETRY_KINDS = ("transient", "rate_limited")

#: Network calls take from tens of milliseconds to the time limit (300 s).
ATTEMPT_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2, 3, 4, 5, 7.5, 10, 15, 20, 30, 60, 120, 300)
#: Web requests answer in milliseconds (a publish only enqueues).
REQUEST_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)

PUBLICATIONS = Counter(
    "socialpub_publications_total",
    "Publications a worker finished after calling their network, by final outcome.",
    ["network", "outcome"], registry=REGISTRY)
ATTEMPTS = Counter(
    "socialpub_attempts_total",
    "Calls made to a network (one Attempt row each), by outcome.",
    ["network", "outcome"], registry=REGISTRY)
ATTEMPT_ERRORS = Counter(
    "socialpub_attempt_errors_total",
    "Failed calls to a network, by error kind and the network's error code.",
    ["network", "kind", "code"], registry=REGISTRY)
RETRIES = Counter(
    "socialpub_retries_total",
    "Publications put back to wait for another try: transient errors and rate-limit waits.",
    ["network", "kind"], registry=REGISTRY)
ATTEMPT_SECONDS = Histogram(
    "socialpub_attempt_duration_seconds",
    "Time spent calling a network for one attempt.",
    ["network"], buckets=ATTEMPT_BUCKETS, registry=REGISTRY)
IN_PROGRESS = Gauge(
    "socialpub_publications_in_progress",
    "Publications a worker is calling a network for right now.",
    ["network"], multiprocess_mode="livesum", registry=REGISTRY)
HTTP_REQUESTS = Counter(
    "socialpub_http_requests_total",
    "Web requests answered, by Flask endpoint and status code.",
    ["endpoint", "status"], registry=REGISTRY)
HTTP_SECONDS = Histogram(
    "socialpub_http_request_duration_seconds",
    "Time to answer a web request, by Flask endpoint (publishing: api.publish_post, web.publish, …).",
    ["endpoint"], buckets=REQUEST_BUCKETS, registry=REGISTRY)


# ----------------------------------------------------------------- worker side

@contextmanager
def network_call(network: str):
    """Count a call to ``network`` as in progress and time it, however it ends."""
    in_progress = IN_PROGRESS.labels(network)
    in_progress.inc()
    start = time.perf_counter()
    try:
        yield
    finally:
        ATTEMPT_SECONDS.labels(network).observe(time.perf_counter() - start)
        in_progress.dec()


def published(network: str, outcome: str):
    """The network has the item (``outcome`` "published" or "adopted")."""
    ATTEMPTS.labels(network, outcome).inc()
    PUBLICATIONS.labels(network, outcome).inc()


def retrying(network: str, error):
    """A transient error or a rate limit: the publication waits for another try."""
    ATTEMPTS.labels(network, "retrying").inc()
    RETRIES.labels(network, error.kind.value).inc()
    _count_error(network, error)


def gave_up(network: str, status: str, error):
    """A final failure: ``status`` is "failed", "unconfirmed" or "expired" (a wait past the maximum age)."""
    ATTEMPTS.labels(network, status).inc()
    PUBLICATIONS.labels(network, status).inc()
    _count_error(network, error)


def _count_error(network, error):
    # Error codes are the networks' own (Graph codes, HTTP statuses): a bounded set.
    ATTEMPT_ERRORS.labels(network, error.kind.value, (error_code(error) or "none")[:32]).inc()


def initialise_worker_series():
    """Create every network × outcome series at zero, so that rates and alerts
    see a zero, not a missing series, before the first publication."""
    for network in NETWORKS:
        for outcome in PUBLICATION_OUTCOMES:
            PUBLICATIONS.labels(network, outcome)
        for outcome in ATTEMPT_OUTCOMES:
            ATTEMPTS.labels(network, outcome)
        for kind in RETRY_KINDS:
            RETRIES.labels(network, kind)
        ATTEMPT_SECONDS.labels(network)
        IN_PROGRESS.labels(network)


#: Redis hash of the worker processes alive or recently so: Dramatiq broker id → JSON.
WORKERS_KEY = "socialpub:workers"


class WorkerRegistry(Middleware):
    """Registers each worker process in Redis under its Dramatiq broker id.

    Dramatiq's ``dramatiq:__heartbeats__`` sorted set scores every broker that
    talks to Redis — the web app and the scheduler too, whenever they enqueue.
    Its entries for the ids registered here are the workers: a worker is alive
    while its heartbeat is younger than the broker's ``heartbeat_timeout``, the
    same rule by which Dramatiq redelivers a dead worker's messages.
    """

    def after_worker_boot(self, broker, worker):
        initialise_worker_series()
        client = getattr(broker, "client", None)
        if client is None:  # not a RedisBroker
            return
        info = {"host": socket.gethostname(), "pid": os.getpid(), "threads": worker.worker_threads,
                "queues": sorted(worker.consumer_whitelist or broker.get_declared_queues()),
                "started_at": time.time()}
        try:
            client.hset(WORKERS_KEY, broker.broker_id, json.dumps(info))
            self._forget_dead(client, broker)
        except redis.RedisError as exc:
            logger.warning("Could not register this worker in Redis (%s); the monitor will not count it.", exc)

    def before_worker_shutdown(self, broker, worker):
        client = getattr(broker, "client", None)
        if client is None:
            return
        try:
            client.hdel(WORKERS_KEY, broker.broker_id)
        except redis.RedisError:
            logger.debug("Could not unregister this worker from Redis.", exc_info=True)

    @staticmethod
    def _forget_dead(client, broker):
        """Drop entries of workers that died without unregistering (kill -9)."""
        timeout_s = broker.heartbeat_timeout / 1000
        now = time.time()
        for worker in read_workers(client, now):
            if not worker["alive"] and now - worker["started_at"] > timeout_s \
                    and (worker["last_seen_s"] is None or worker["last_seen_s"] > timeout_s):
                client.hdel(WORKERS_KEY, worker["id"])


def read_workers(client, now: float | None = None, heartbeat_timeout_ms: int = 60_000) -> list:
    """The registered workers, each with ``alive`` and ``last_seen_s`` from
    Dramatiq's heartbeats (``last_seen_s`` None: no heartbeat recorded).

    Raises:
      redis.RedisError: Redis is unreachable.
    """
    now = time.time() if now is None else now
    entries = client.hgetall(WORKERS_KEY)
    ids = [key.decode() if isinstance(key, bytes) else key for key in entries]
    pipe = client.pipeline(transaction=False)
    for worker_id in ids:
        pipe.zscore("dramatiq:__heartbeats__", worker_id)
    scores = pipe.execute() if ids else []
    workers = []
    for worker_id, raw, score in zip(ids, entries.values(), scores):
        try:
            info = json.loads(raw)
        except ValueError:
            continue
        last_seen = None if score is None else max(0.0, now - score / 1000)
        info.update(id=worker_id, last_seen_s=last_seen,
                    alive=last_seen is not None and last_seen * 1000 < heartbeat_timeout_ms)
        workers.append(info)
    return sorted(workers, key=lambda w: (w.get("host", ""), w.get("pid", 0)))


# --------------------------------------------------------------- process setup

_PID_FILE = re.compile(r"_(\d+)\.db$")


def fresh_dir(path) -> str:
    """Empty ``path`` (creating it): metric files of an earlier run must not be
    summed into this one, nor a reused pid continue a dead process's values."""
    shutil.rmtree(path, ignore_errors=True)
    Path(path).mkdir(parents=True, exist_ok=True)
    return str(path)


def prune_dead_processes(path):
    """Remove the metric files of processes that are gone: ``dramatiq`` stops
    all its workers when one dies, so such files belong to an earlier run."""
    for file in Path(path).glob("*.db"):
        match = _PID_FILE.search(file.name)
        if match and not _alive(int(match.group(1))):
            file.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


def multiprocess_dir() -> str | None:
    """The folder prometheus_client shares between processes, if it does (it
    reads this variable itself)."""
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


# ------------------------------------------------------------------- web side

class StateCollector:
    """Gauges read from the database and Redis when Prometheus scrapes.

    Runs inside the ``/metrics`` request (its database connection is open).
    A source that does not answer is reported by ``socialpub_scrape_source_up``
    instead of failing the scrape.
    """

    def __init__(self, settings, redis_client, queues):
        self.settings, self.redis, self.queues = settings, redis_client, queues

    def collect(self):
        from peewee import PeeweeException

        from .monitor import stats

        up = GaugeMetricFamily("socialpub_scrape_source_up",
                               "1 if the source answered this scrape (database, redis).", labels=["source"])
        try:
            yield from self._database_gauges(stats)
            up.add_metric(["database"], 1)
        except PeeweeException as exc:
            logger.warning("Metrics: the database did not answer (%s).", exc)
            up.add_metric(["database"], 0)
        try:
            yield from self._redis_gauges(stats)
            up.add_metric(["redis"], 1)
        except (redis.RedisError, OSError) as exc:
            logger.warning("Metrics: Redis did not answer (%s).", exc)
            up.add_metric(["redis"], 0)
        yield up

    def _database_gauges(self, stats):
        # Computed in full before anything is yielded: a failing query yields nothing.
        counts = stats.publication_counts()
        reauth = stats.channels_needing_reauth()
        oldest = stats.oldest_queued_age_s()
        by_status = GaugeMetricFamily("socialpub_publications_by_status",
                                      "Publications in each status now (database).",
                                      labels=["network", "status"])
        for (network, status), count in sorted(counts.items()):
            by_status.add_metric([network, status], count)
        channels = GaugeMetricFamily("socialpub_channels_needing_reauth",
                                     "Channels whose token the network refused (database).",
                                     labels=["network"])
        for network in NETWORKS:
            channels.add_metric([network], sum(1 for c in reauth if c["network"] == network))
        age = GaugeMetricFamily("socialpub_oldest_queued_publication_age_seconds",
                                "Age of the oldest publication queued and not yet taken by a worker "
                                "(0 when none waits).")
        age.add_metric([], oldest or 0.0)
        return [by_status, channels, age]

    def _redis_gauges(self, stats):
        depths = stats.queue_depths(self.redis, self.queues)
        workers = [w for w in read_workers(self.redis, heartbeat_timeout_ms=self.settings.heartbeat_timeout_ms)
                   if w["alive"]]
        queue = GaugeMetricFamily("socialpub_queue_messages",
                                  "Dramatiq messages in Redis: ready (waiting for a worker), in_flight "
                                  "(fetched, not yet acknowledged), delayed (retries and delays), dead "
                                  "(dead-lettered).", labels=["queue", "state"])
        for name, states in sorted(depths.items()):
            for state, count in states.items():
                queue.add_metric([name, state], count)
        alive = GaugeMetricFamily("socialpub_workers_alive",
                                  "Worker processes whose Dramatiq heartbeat is recent.")
        alive.add_metric([], len(workers))
        threads = GaugeMetricFamily("socialpub_worker_threads", "Worker threads in the live worker processes.")
        threads.add_metric([], sum(w.get("threads", 0) for w in workers))
        return [queue, alive, threads]


class _Forward:
    """Serves another registry's metrics from a scrape registry."""

    def __init__(self, registry):
        self.registry = registry

    def collect(self):
        return self.registry.collect()


def redis_client(app):
    """A Redis client with short timeouts for reading the queue's state (one per app)."""
    client = app.extensions.get("socialpub.monitor_redis")
    if client is None:
        from .broker import resolve_redis_url

        settings = app.extensions["socialpub"]
        client = redis.Redis.from_url(resolve_redis_url(settings), socket_timeout=2, socket_connect_timeout=2)
        app.extensions["socialpub.monitor_redis"] = client
    return client


def declared_queues(settings) -> list:
    import dramatiq

    try:
        queues = dramatiq.get_broker().get_declared_queues()
    except Exception:  # no broker set up in this process
        queues = set()
    return sorted(queues | {settings.queue_name})


def render(app) -> tuple[bytes, str]:
    """The web process's metrics text and its content type."""
    settings = app.extensions["socialpub"]
    registry = CollectorRegistry()
    folder = multiprocess_dir()
    if folder:
        from prometheus_client import multiprocess

        multiprocess.MultiProcessCollector(registry, path=folder)
    else:
        registry.register(_Forward(REGISTRY))
    registry.register(StateCollector(settings, redis_client(app), declared_queues(settings)))
    return generate_latest(registry), CONTENT_TYPE_LATEST


def init_app(app):
    """Serve ``/metrics`` and time every request."""
    from flask import Response, g, request

    folder = multiprocess_dir()
    if folder:
        os.makedirs(folder, exist_ok=True)

    @app.before_request
    def start_timer():
        g.metrics_started = time.perf_counter()

    @app.after_request
    def count_request(response):
        started = g.pop("metrics_started", None)
        if started is not None:
            endpoint = request.endpoint or "unmatched"
            HTTP_SECONDS.labels(endpoint).observe(time.perf_counter() - started)
            HTTP_REQUESTS.labels(endpoint, str(response.status_code)).inc()
        return response

    def metrics_view():
        """Prometheus' scrape target for the web side."""
        body, content_type = render(app)
        return Response(body, content_type=content_type)

    app.add_url_rule("/metrics", "metrics", metrics_view)
