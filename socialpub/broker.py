"""The Dramatiq broker and its middleware, built from settings.

It must be set before :mod:`socialpub.actors` is imported, because Dramatiq
binds actors to the global broker when they are declared.
"""
from __future__ import annotations

from uuid import uuid4

import dramatiq
import redis
from dramatiq.brokers.redis import RedisBroker
from dramatiq.common import current_millis, dq_name
from dramatiq.middleware import (AgeLimit, Callbacks, CurrentMessage, Pipelines, Retries,
                                 ShutdownNotifications, TimeLimit)

from periodiq import PeriodiqMiddleware

from . import embedded_redis
from .config import EMBEDDED_REDIS, Settings
from .metrics import WorkerRegistry
from .middleware import RecordExpiry


#: Seconds a Redis command may take before it fails (and the publish answers 503).
REDIS_TIMEOUT_S = 5


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
    # Timeouts: a Redis that accepts connections but never answers must not
    # hang a publish request or a worker for ever (redis-py waits forever by
    # default). Dramatiq's Redis commands are short scripts, never blocking reads.
    client = redis.Redis.from_url(resolve_redis_url(settings), socket_timeout=REDIS_TIMEOUT_S,
                                  socket_connect_timeout=REDIS_TIMEOUT_S)
    return RedisBroker(client=client, middleware=middleware, heartbeat_timeout=settings.heartbeat_timeout_ms)


def setup_broker(settings: Settings, *, worker_metrics: bool = False) -> dramatiq.Broker:
    """Make the broker the global one and declare the actors on it (once per process)."""
    broker = make_broker(settings, worker_metrics=worker_metrics)
    dramatiq.set_broker(broker)
    from . import actors

    actors.configure(settings, broker)
    return broker


def enqueue_all(broker: dramatiq.Broker, messages, delay: int | None = None) -> list:
    """Enqueue ``messages`` (``delay`` ms from now if given) in one Redis round
    trip, where Dramatiq's RedisBroker.enqueue makes one per message: the same
    copies, middleware hooks and ``dispatch`` script, sent as one pipeline.
    Other brokers enqueue one by one. Returns the enqueued messages.

    Raises:
      redis.RedisError: Redis refused or is unreachable; some messages may have
        been enqueued (their workers find nothing to claim if the rows are put back).
    """
    if not isinstance(broker, RedisBroker):
        return [broker.enqueue(message, delay=delay) for message in messages]
    enqueued = []
    for message in messages:
        # As RedisBroker.enqueue: an id of its own in Redis, and the delay queue for a delay.
        message = message.copy(options={"redis_message_id": str(uuid4())})
        if delay is not None:
            message = message.copy(queue_name=dq_name(message.queue_name),
                                   options={"eta": current_millis() + delay})
        broker.emit_before("enqueue", message, delay)
        enqueued.append(message)
    script = broker.scripts["dispatch"]
    calls = [_dispatch_args(broker, m) for m in enqueued]
    pipe = broker.client.pipeline(transaction=False)
    for args in calls:
        pipe.evalsha(script.sha, 1, broker.namespace, *args)
    for args, result in zip(calls, pipe.execute(raise_on_error=False)):
        if isinstance(result, redis.exceptions.NoScriptError):
            script(keys=[broker.namespace], args=args)  # Redis lost its script cache: loads it again
        elif isinstance(result, Exception):
            raise result
    for message in enqueued:
        broker.emit_after("enqueue", message, delay)
    return enqueued


def _dispatch_args(broker: RedisBroker, message) -> list:
    """The arguments of Dramatiq's ``dispatch`` script for an enqueue (see
    RedisBroker._dispatch in dramatiq 2.x, whose layout this follows)."""
    return ["enqueue", current_millis(), message.queue_name, broker.broker_id, broker.heartbeat_timeout,
            broker.dead_message_ttl, broker._should_do_maintenance("enqueue"), broker._max_unpack_size(),
            message.options["redis_message_id"], message.encode()]
