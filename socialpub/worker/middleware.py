"""Dramatiq middleware of socialpub's own: RecordExpiry (a message too old to
run expires its publication) and WorkerRegistry (which Redis clients are
workers, for the monitor and /metrics; read_workers reads it)."""
from __future__ import annotations

import datetime as dt
import json
import logging
import os
import socket
import time

import redis
from dramatiq.middleware import Middleware

from ..db import database
from ..lifecycle import delivery
from ..metrics.series import initialise_worker_series

logger = logging.getLogger(__name__)


class RecordExpiry(Middleware):
    """Dramatiq's AgeLimit drops a too-old message without running the actor
    (it dead-letters it and skips). Record that in the database, so that no
    publication waits "queued" or "retrying" for a message that will never come."""

    def after_skip_message(self, broker, message):
        if message.actor_name != "publish" or not message.args:
            return
        max_age = message.options.get("max_age") or broker.get_actor("publish").options.get("max_age")
        hours = (max_age or 0) / 3_600_000
        with database.connection_context():
            if delivery.expire(message.args[0], f"not published within {hours:g} h of being queued; "
                                                f"retry it if it should still go out",
                               dt.timedelta(milliseconds=max_age or 0)):
                logger.warning("Publication %s expired: its message was older than %g h.",
                               message.args[0], hours)


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
