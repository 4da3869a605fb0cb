"""The Dramatiq broker and its middleware, built from settings; setup_broker
makes it the process's broker and moves the actors onto it."""
from __future__ import annotations

import dramatiq
import redis
from dramatiq.middleware import (
    AgeLimit,
    Callbacks,
    CurrentMessage,
    Pipelines,
    Retries,
    ShutdownNotifications,
    TimeLimit,
)
from periodiq import PeriodiqMiddleware

from ..config import EMBEDDED_REDIS, Settings
from . import actors, embedded_redis, periodic
from .batching import BatchingRedisBroker
from .middleware import RecordExpiry, WorkerRegistry

#: Seconds a Redis command may take before it fails (and the publish answers 503).
REDIS_TIMEOUT_S = 5


def resolve_redis_url(settings: Settings) -> str:
    if settings.redis_url == EMBEDDED_REDIS:
        return embedded_redis.ensure_running(settings.instance_dir)
    return settings.redis_url


def make_broker(settings: Settings, *, worker_metrics: bool = False) -> BatchingRedisBroker:
    middleware = [
        AgeLimit(), TimeLimit(time_limit=settings.time_limit_s * 1000), ShutdownNotifications(),
        Callbacks(), Pipelines(), CurrentMessage(),
        Retries(max_retries=settings.max_retries, min_backoff=settings.min_backoff_ms,
                max_backoff=settings.max_backoff_ms),
        RecordExpiry(),
        # Periodic actors (the reconciler); a tick older than 30 s is skipped,
        # which is safe because every sweep looks at everything overdue.
        PeriodiqMiddleware(skip_delay=30),
        # Tells the monitor which Redis clients are workers (see middleware.py).
        WorkerRegistry(),
    ]
    if worker_metrics:
        # Dramatiq's own metrics (dramatiq_messages_total, …), first as in
        # Dramatiq 1.x. It creates them in after_process_boot, which only the
        # dramatiq CLI emits: the web app and in-process Workers go without.
        from dramatiq.middleware.prometheus import Prometheus

        middleware.insert(0, Prometheus())
    # Timeouts: a Redis that accepts connections but never answers must not
    # hang a publish request or a worker for ever (redis-py waits forever by
    # default). Dramatiq's Redis commands are short scripts, never blocking reads.
    client = redis.Redis.from_url(resolve_redis_url(settings), socket_timeout=REDIS_TIMEOUT_S,
                                  socket_connect_timeout=REDIS_TIMEOUT_S)
    return BatchingRedisBroker(client=client, middleware=middleware,
                               heartbeat_timeout=settings.heartbeat_timeout_ms)


def setup_broker(settings: Settings, *, worker_metrics: bool = False) -> dramatiq.Broker:
    """Make the broker the global one and declare the actors and the periodic jobs on it (once per process)."""
    broker = make_broker(settings, worker_metrics=worker_metrics)
    dramatiq.set_broker(broker)
    actors.configure(settings, broker)
    periodic.configure(settings, broker)
    return broker


def redis_client(app):
    """A Redis client with short timeouts for reading the queue's state (one per app)."""
    client = app.extensions.get("socialpub.monitor_redis")
    if client is None:
        settings = app.extensions["socialpub"]
        client = redis.Redis.from_url(resolve_redis_url(settings), socket_timeout=2, socket_connect_timeout=2)
        app.extensions["socialpub.monitor_redis"] = client
    return client


def declared_queues(settings) -> list:
    try:
        queues = dramatiq.get_broker().get_declared_queues()
    except Exception:  # no broker set up in this process
        queues = set()
    return sorted(queues | {settings.queue_name})
