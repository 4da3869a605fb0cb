"""The Dramatiq broker and its middleware, built from settings.

It must be set before :mod:`socialpub.actors` is imported, because Dramatiq
binds actors to the global broker when they are declared.
"""
from __future__ import annotations

import dramatiq
from dramatiq.brokers.redis import RedisBroker
from dramatiq.middleware import (AgeLimit, Callbacks, CurrentMessage, Pipelines, Retries,
                                 ShutdownNotifications, TimeLimit)

from periodiq import PeriodiqMiddleware

from . import embedded_redis
from .config import EMBEDDED_REDIS, Settings
from .metrics import WorkerRegistry
from .middleware import RecordExpiry


def resolve_redis_url(settings: Settings) -> str:
    if settings.redis_url == EMBEDDED_REDIS:
        return embedded_redis.ensure_running(settings.instance_dir)
    return settings.redis_url


def make_broker(settings: Settings, *, worker_metrics: bool = False) -> RedisBroker:
    middleware = [
        AgeLimit(), TimeLimit(time_limit=settings.time_limit_s * 1000), ShutdownNotifications(),
        Callbacks(), Pipelines(), CurrentMessage(),
        Retries(max_retries=settings.max_retries, min_backoff=settings.min_backoff_ms,
                max_backoff=settings.max_backoff_ms),
        RecordExpiry(),
        # Periodic actors (the reconciler); a tick older than 30 s is skipped,
        # which is safe because every sweep looks at everything overdue.
        PeriodiqMiddleware(skip_delay=30),
        # Tells the monitor which Redis clients are workers (socialpub.metrics).
        WorkerRegistry(),
    ]
    if worker_metrics:
        # Dramatiq's own metrics (dramatiq_messages_total, …), first as in
        # Dramatiq 1.x. It creates them in after_process_boot, which only the
        # dramatiq CLI emits: the web app and in-process Workers go without.
        from dramatiq.middleware.prometheus import Prometheus

        middleware.insert(0, Prometheus())
    return RedisBroker(url=resolve_redis_url(settings), middleware=middleware,
                       heartbeat_timeout=settings.heartbeat_timeout_ms)


def setup_broker(settings: Settings, *, worker_metrics: bool = False) -> dramatiq.Broker:
    """Make the broker the global one and declare the actors on it (once per process)."""
    broker = make_broker(settings, worker_metrics=worker_metrics)
    dramatiq.set_broker(broker)
    from . import actors

    actors.configure(settings, broker)
    return broker
