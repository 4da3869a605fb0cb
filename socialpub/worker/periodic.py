"""Every scheduled job on one screen: what the periodiq scheduler (exactly one
per installation) enqueues, and when. Each job sweeps everything overdue, so a
tick skipped while the scheduler was down is caught up by the next one.

| job | when | what |
|---|---|---|
| ``reconcile`` | every minute | re-drive what the queue lost: publications, first comments, webhook deliveries, e-mails, Meta's notifications; fold counters; forget old idempotency keys |
| ``publish_due_posts`` | every minute | launch the scheduled posts due before the next sweep; the next occurrence of each recurring post that went out |
| ``read_back_published`` | every minute | read the last day's published items back from their networks: confirmed, or flagged |
| ``collect_metrics`` | every minute | the numbers of published items due a read (by their age) and of accounts not read today, as messages |
| ``refresh_tokens`` | every 15 minutes | refresh connected tokens about to expire |
| ``send_digests`` | hourly, :05 | each user's waiting news as one e-mail |
| ``prune_media`` | hourly, :17 | uploads no post uses, past MEDIA_RETENTION_DAYS |
| ``prune_history`` | hourly, :29 | what is past its retention, in small batches |
| ``sync_whatsapp_templates`` | every six hours, :41 | each WhatsApp channel's templates as Meta now says |
"""
from __future__ import annotations

import datetime as dt
import logging

import dramatiq
from periodiq import cron

from .. import retention
from ..analytics import collection
from ..config import Settings
from ..connecting import refresh
from ..db import database
from ..intake import idempotency
from ..lifecycle import first_comments, read_back, reconciler, recurrence, scheduling
from ..mail import notices
from ..mail import sending as mail_sending
from ..media import library, partial
from ..metrics import recent, tally
from ..webhooks import sending
from ..whatsapp import inbound, templates
from .actors import (
    UNBOUND,
    apply_meta_notification,
    deliver_webhook,
    publish,
    read_account_metrics,
    read_metrics,
    send_email,
)

logger = logging.getLogger(__name__)

_settings = Settings()


def configure(settings: Settings, broker: dramatiq.Broker):
    """Apply settings to the jobs and declare them on ``broker``."""
    global _settings
    _settings = settings
    for job in JOBS:
        job.broker = broker
        broker.declare_actor(job)


@dramatiq.actor(broker=UNBOUND, queue_name="maintenance", periodic=cron("5 * * * *"), max_retries=0)
def send_digests():
    """Every hour: each user's waiting news as one e-mail (mail/notices.py)."""
    with database.connection_context():
        notices.gather_digests()


@dramatiq.actor(broker=UNBOUND, queue_name="maintenance", periodic=cron("* * * * *"), max_retries=0)
def reconcile():
    """Every minute: re-drive the publications, first comments, webhook deliveries, e-mails and
    Meta's notifications whose message was lost (reconciler.py, the outboxes of lifecycle/first_comments.py,
    webhooks/sending.py and mail/sending.py, whatsapp/inbound.py), and forget
    idempotency keys past their time."""
    with database.connection_context():
        reconciler.reconcile(_settings, publish)
        first_comments.redrive(_settings)
        sending.OUTBOX.redrive(deliver_webhook.send)
        mail_sending.OUTBOX.redrive(send_email.send)
        inbound.redrive(apply_meta_notification.send)
        tally.fold()
        recent.fold_attempts()
        idempotency.forget_expired()


@dramatiq.actor(broker=UNBOUND, queue_name="maintenance", periodic=cron("* * * * *"), max_retries=0)
def publish_due_posts():
    """Every minute: launch the scheduled posts due before the next sweep (see scheduling.py), and make the
    next occurrence of each recurring post that went out (recurrence.py)."""
    with database.connection_context():
        scheduling.sweep(dt.timedelta(seconds=_settings.schedule_max_lateness_s))
        recurrence.extend()


@dramatiq.actor(broker=UNBOUND, queue_name="maintenance", periodic=cron("17 * * * *"), max_retries=0)
def prune_media():
    """Every hour: remove the uploads no post uses past MEDIA_RETENTION_DAYS (media/library.py)."""
    with database.connection_context():
        removed = library.prune_unused(_settings)
    if removed:
        logger.info("Removed %d unused upload(s) older than %d days.", removed, _settings.media_retention_days)
    # Uploads in parts begun more than a day ago (on this instance directory: shared by the web hosts).
    abandoned = partial.prune(_settings)
    if abandoned:
        logger.info("Removed %d upload(s) in parts begun more than a day ago.", abandoned)


@dramatiq.actor(broker=UNBOUND, queue_name="maintenance", periodic=cron("* * * * *"), max_retries=0)
def read_back_published():
    """Every minute: read the items published in the last day back from their networks, confirming each
    one a network shows and flagging one it does not (lifecycle/read_back.py)."""
    with database.connection_context():
        read_back.run(_settings)


@dramatiq.actor(broker=UNBOUND, queue_name="maintenance", periodic=cron("* * * * *"), max_retries=0)
def collect_metrics():
    """Every minute: the published items due a read of their numbers, a few per channel, and the accounts not
    read today, each sent to the analytics queue (analytics/collection.py)."""
    with database.connection_context():
        collection.plan(_settings, read_metrics.send, read_account_metrics.send)


@dramatiq.actor(broker=UNBOUND, queue_name="maintenance", periodic=cron("41 */6 * * *"), max_retries=0)
def sync_whatsapp_templates():
    """Every six hours: each WhatsApp channel's templates, as Meta now says (whatsapp/templates.py)."""
    with database.connection_context():
        templates.sync_all(_settings)


@dramatiq.actor(broker=UNBOUND, queue_name="maintenance", periodic=cron("*/15 * * * *"), max_retries=0)
def refresh_tokens():
    """Every 15 minutes: refresh the connected tokens about to expire (see connecting/refresh.py)."""
    with database.connection_context():
        refresh.refresh_due(_settings)


@dramatiq.actor(broker=UNBOUND, queue_name="maintenance", periodic=cron("29 * * * *"), max_retries=0)
def prune_history():
    """Every hour: what is past its retention (retention.py), in small batches."""
    with database.connection_context():
        retention.prune(_settings)


JOBS = (reconcile, publish_due_posts, read_back_published, collect_metrics, refresh_tokens, send_digests, prune_media,
        prune_history, sync_whatsapp_templates)
