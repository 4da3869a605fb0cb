"""Retention: what grows with every post, webhook and e-mail — attempt rows,
webhook deliveries and their tries, outbox events, e-mails, Meta's
notifications, read in-app notices, the audit trail, the places posts took in
their channels' quotas, the readings of published items' numbers — removed once
older than its retention, by
the hourly ``prune_history`` job and ``socialpub prune``.

Rows go in small batches, each its own short transaction, oldest first, so a
prune never holds a lock a publish or a worker waits on, and a run stops
after ``MAX_BATCHES`` per kind (the next run goes on). Only what is finished
goes: a delivery still to be retried, an e-mail still to be sent, a
notification not yet applied, a notice not yet read stay whatever their age. Posts and their
publications are kept (a post's record goes only when a person deletes it).
"""
from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Callable

from peewee import fn

from .db import write_transaction
from .models import (
    Attempt,
    Email,
    Event,
    MetaNotification,
    MetricReading,
    Notice,
    OutboxEvent,
    QuotaUse,
    WebhookAttempt,
    WebhookDelivery,
    utcnow,
)
from .statuses import DeliveryStatus, EmailStatus

logger = logging.getLogger(__name__)

#: Rows per batch, and batches per kind in one run.
BATCH = 1000
MAX_BATCHES = 200


@dataclass(frozen=True)
class Kind:
    """One kind of row that is pruned: ``old(cutoff)`` is the condition on its
    table; ``children`` delete what refers to a batch of its ids first."""

    name: str
    model: type
    old: Callable
    days: Callable  # settings -> days kept (0: forever)
    children: tuple = ()


def _finished_delivery(cutoff):
    return (WebhookDelivery.touched_at < cutoff) & WebhookDelivery.status.in_(DeliveryStatus.FINAL)


def _delivery_tries(ids):
    WebhookAttempt.delete().where(WebhookAttempt.delivery.in_(ids)).execute()


def _deliveries_of_events(ids):
    deliveries = WebhookDelivery.select(WebhookDelivery.id).where(WebhookDelivery.event.in_(ids))
    WebhookAttempt.delete().where(WebhookAttempt.delivery.in_(deliveries)).execute()
    WebhookDelivery.delete().where(WebhookDelivery.event.in_(ids)).execute()


KINDS = (
    Kind("attempts", Attempt, lambda cutoff: Attempt.finished_at < cutoff, lambda s: s.retention_days),
    Kind("webhook deliveries", WebhookDelivery, _finished_delivery, lambda s: s.retention_days,
         children=(_delivery_tries,)),
    # An event goes when every delivery of it goes too (those are removed with it).
    Kind("webhook events", OutboxEvent,
         lambda cutoff: (OutboxEvent.created_at < cutoff) & ~fn.EXISTS(
             WebhookDelivery.select(WebhookDelivery.id).where(
                 (WebhookDelivery.event == OutboxEvent.id) & ~_finished_delivery(cutoff))),
         lambda s: s.retention_days, children=(_deliveries_of_events,)),
    Kind("e-mails", Email, lambda cutoff: (Email.touched_at < cutoff) & Email.status.in_(EmailStatus.FINAL),
         lambda s: s.retention_days),
    Kind("Meta notifications", MetaNotification, lambda cutoff: MetaNotification.applied_at < cutoff,
         lambda s: min(s.retention_days, 7) if s.retention_days else 7),
    Kind("read notices", Notice, lambda cutoff: Notice.read_at < cutoff, lambda s: s.retention_days),
    Kind("audit trail", Event, lambda cutoff: Event.at < cutoff, lambda s: s.audit_retention_days),
    # The places posts took in their channels' spacing and quotas, once past every window.
    Kind("quota places", QuotaUse, lambda cutoff: QuotaUse.at < cutoff, lambda s: QuotaUse.KEPT_DAYS),
    # A post's curve; its latest numbers (PostMetrics) stay with it, and an account's daily row is one a day.
    Kind("metric readings", MetricReading, lambda cutoff: MetricReading.taken_at < cutoff,
         lambda s: s.analytics_retention_days),
)


@dataclass
class Pruned:
    kind: str
    cutoff: dt.datetime | None
    rows: int


def prune(settings, dry_run: bool = False, now: dt.datetime | None = None) -> list:
    """Remove (or, ``dry_run``, count) each kind's rows past its retention; one Pruned per kind."""
    now = now or utcnow()
    done = []
    for kind in KINDS:
        days = kind.days(settings)
        if not days:
            done.append(Pruned(kind.name, None, 0))
            continue
        cutoff = now - dt.timedelta(days=days)
        condition = kind.old(cutoff)
        if dry_run:
            done.append(Pruned(kind.name, cutoff, kind.model.select().where(condition).count()))
            continue
        removed = 0
        for _ in range(MAX_BATCHES):
            with write_transaction():
                ids = [i for (i,) in kind.model.select(kind.model.id).where(condition)
                       .order_by(kind.model.id).limit(BATCH).tuples()]
                if not ids:
                    break
                for child in kind.children:
                    child(ids)
                removed += kind.model.delete().where(kind.model.id.in_(ids)).execute()
        if removed:
            logger.info("Pruned %d %s older than %d days.", removed, kind.name, days)
        done.append(Pruned(kind.name, cutoff, removed))
    return done
