"""The reconciler: the database says what is due; this finds what no message
carries any more and sends a message for it again.

- "queued" that no worker took for ``requeue_after_s`` (Redis lost its data, or
  the process died between commit and enqueue);
- "retrying" whose retry is overdue (the delayed message was lost);
- "processing" past the lease (the worker died mid-attempt; the claim marks it
  ambiguous so the network is asked before anything is sent again).

Every re-drive is a conditional UPDATE on the row as it was read, so two
reconcilers (two schedulers, an overlapping sweep) re-drive a row once; and a
duplicate message is harmless anyway, because the claim is atomic.
"""
from __future__ import annotations

import datetime as dt
import logging
from contextlib import nullcontext

import dramatiq

from ..config import Settings
from ..db import write_transaction
from ..models import Publication, utcnow
from .delivery import claimable

logger = logging.getLogger(__name__)

#: A retry message may run late by this much before it counts as lost.
RETRY_GRACE = dt.timedelta(seconds=60)
#: Rows looked at per sweep; the next sweep takes the rest.
BATCH = 500


def overdue(settings: Settings, now: dt.datetime) -> list:
    """``(id, updated_at)`` of publications that no live message seems to carry."""
    requeue = now - dt.timedelta(seconds=settings.requeue_after_s)
    lease = now - dt.timedelta(seconds=settings.processing_lease_s)
    # What a worker could claim, with a retry allowed to run late by RETRY_GRACE;
    # never a publication behind a future schedule (its message is delayed, not lost).
    lost = claimable(due=now - RETRY_GRACE, lease_start=lease)
    # A re-drive sets updated_at: the row's new message gets requeue_after_s to
    # be taken before another is sent (workers busy with a backlog would
    # otherwise get one more message for it at every sweep).
    lost &= Publication.updated_at < requeue
    return list(Publication.select(Publication.id, Publication.status, Publication.updated_at)
                .where(lost).order_by(Publication.id).limit(BATCH).tuples())


def reconcile(settings: Settings, actor: dramatiq.Actor) -> int:
    """Re-drive what is overdue; return how many messages were sent."""
    now = utcnow()
    messages = []
    for pub_id, status, updated_at in overdue(settings, now):
        message = actor.message(pub_id)
        with write_transaction():
            # Only the sweep that still sees the row as it read it re-drives it.
            taken = (Publication.update(updated_at=now, task_id=message.message_id)
                     .where((Publication.id == pub_id) & (Publication.status == status)
                            & (Publication.updated_at == updated_at))
                     .execute())
        if taken:
            messages.append(message)
            logger.warning("Publication %d is %s with no live message; sending it again.", pub_id, status)
    if messages:
        with getattr(actor.broker, "batch", nullcontext)():  # one Redis round trip (worker/batching.py)
            dramatiq.group(messages, broker=actor.broker).run()
    return len(messages)
