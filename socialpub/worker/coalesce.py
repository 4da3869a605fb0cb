"""One message for a burst: many writers each leave work in the database, and
only one message at a time goes to the actor that takes all of it (Meta's
notifications: a broadcast's statuses come back as thousands of POSTs within
seconds, and each run of ``apply_meta_notification`` applies every one
waiting, in batches).

The protocol, on a Redis key per actor: a writer, once its row has committed,
sets the key if it is not set (``SET NX``) and sends a message only when it
did; the run deletes the key *before* it reads the rows. So a writer that
finds the key set knows a run has not yet read, and will see its row; a
writer that comes after the delete sets the key again and sends. The key
expires (``TTL_MS``), so that a message lost on its way (Redis refused the
send, restarted) holds back nobody for long; the reconciler's redrive is the
last resort. Without Redis (a stub broker) every writer sends.
"""
from __future__ import annotations

import logging

import redis

logger = logging.getLogger(__name__)

#: How long a message may be on its way before writers send another (ms).
TTL_MS = 500


def _key(actor) -> str:
    return f"socialpub:coalesce:{actor.queue_name}:{actor.actor_name}"


def request(actor, *args) -> bool:
    """After the writer's commit: make sure a run of ``actor`` will come; send
    it ``args`` unless a message is already on its way. Returns whether it sent one."""
    client = getattr(actor.broker, "client", None)
    if client is not None:
        try:
            if not client.set(_key(actor), b"1", nx=True, px=TTL_MS):
                return False
        except redis.RedisError:
            logger.warning("Redis refused the coalescing key of %s; sending anyway.", actor.actor_name)
    try:
        actor.send(*args)
    except Exception:
        _forget(actor, client)  # the next writer tries again
        raise
    return True


def taken(actor) -> None:
    """The run's first step, before it reads any row: writers from now on send again."""
    _forget(actor, getattr(actor.broker, "client", None))


def _forget(actor, client) -> None:
    if client is None:
        return
    try:
        client.delete(_key(actor))
    except redis.RedisError:  # the key expires by itself
        logger.warning("Redis refused to clear the coalescing key of %s.", actor.actor_name)
