"""The actors: ``publish`` (one claim, one network call, one write of the
outcome; WhatsApp's goes through whatsapp/broadcast.py), ``fetch_image`` (a
post's image_url fetched for its reviewer), ``deliver_webhook``,
``send_email``, ``apply_meta_notification`` (Meta's WhatsApp webhook), and the
periodic ones the periodiq scheduler runs: every minute ``reconcile``
(re-drives what the queue lost) and ``publish_due_posts``; every 15 minutes
``refresh_tokens`` (connected tokens about to expire); hourly ``send_digests``,
``prune_media`` and ``prune_history``; every six hours ``sync_whatsapp_templates``.

Actors receive ids, never content or tokens, and are safe to run twice: the
claim is a conditional UPDATE, so a redelivered or duplicated message finds
nothing to claim and stops.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import logging
import random
import time
from contextlib import contextmanager
from typing import NoReturn

import dramatiq
from dramatiq.brokers.stub import StubBroker
from dramatiq.middleware import CurrentMessage, default_middleware
from dramatiq.middleware.time_limit import TimeLimitExceeded
from peewee import InterfaceError, OperationalError
from periodiq import PeriodiqMiddleware, cron

from .. import retention
from ..config import Settings
from ..connecting import refresh
from ..db import database
from ..errors import PublicationFailed
from ..intake import idempotency
from ..lifecycle import delivery, reconciler, scheduling
from ..mail import notices
from ..mail import sending as mail_sending
from ..media import library, remote
from ..media.storage import StorageError
from ..metrics import recent, series, tally
from ..models import PublicationStatus, utcnow
from ..networks import ErrorKind, Published, PublishError, Unverifiable, get_adapter, outbound
from ..networks.base import Timeouts
from ..networks.explain import INTERNAL, STORE
from ..webhooks import sending
from ..whatsapp import broadcast, inbound, ledger, templates

logger = logging.getLogger(__name__)

#: How often a message whose database work failed (PostgreSQL restarting) is retried.
DATABASE_RETRIES = 20
#: How long an outcome already obtained from a network is held while the database is away.
PERSIST_PATIENCE_S = 120
#: An attempt's network calls end this long before its time limit (calls_limit).
CALLS_WRAP_UP_S = 5

_settings = Settings()

#: Dramatiq binds an actor to a broker when it is declared: the actors are
#: declared here first, on a broker that only knows their options, and
#: configure() moves them to the real one (broker.setup_broker).
_UNBOUND = StubBroker(middleware=[*(m() for m in default_middleware), PeriodiqMiddleware()])


def configure(settings: Settings, broker: dramatiq.Broker):
    """Apply settings to the actors and declare them on ``broker``."""
    global _settings
    _settings = settings
    publish.options.update(max_age=settings.max_age_s * 1000, time_limit=settings.time_limit_s * 1000)
    publish.queue_name = settings.queue_name
    fetch_image.options.update(time_limit=settings.time_limit_s * 1000)
    fetch_image.queue_name = settings.queue_name
    deliver_webhook.queue_name = webhooks_queue(settings)
    send_email.queue_name = mail_queue(settings)
    notices.configure(settings)
    apply_meta_notification.queue_name = webhooks_queue(settings)
    for actor in (publish, fetch_image, deliver_webhook, apply_meta_notification, send_email, reconcile, publish_due_posts,
                  prune_media, refresh_tokens, send_digests, sync_whatsapp_templates, prune_history):
        actor.broker = broker
        broker.declare_actor(actor)  # idempotent; declares the queue too


def webhooks_queue(settings: Settings) -> str:
    """The webhook deliveries' queue, beside the publications' (PUBLISH_QUEUE)."""
    return f"{settings.queue_name}-webhooks"


def mail_queue(settings: Settings) -> str:
    """The e-mails' queue, beside the publications' (PUBLISH_QUEUE)."""
    return f"{settings.queue_name}-mail"


def deadlines() -> delivery.Deadlines:
    return delivery.Deadlines(max_age=dt.timedelta(seconds=_settings.max_age_s),
                           lease=dt.timedelta(seconds=_settings.processing_lease_s))


def retry_delay_ms(spent: int, error: PublishError, settings: Settings) -> int:
    """Exponential backoff with jitter, never sooner than the network asked."""
    delay = settings.min_backoff_ms * (2 ** spent) * random.uniform(1.0, 1.5)
    delay = min(delay, settings.max_backoff_ms)
    if error.retry_after:
        delay = max(delay, error.retry_after * 1000)
    return int(delay)


def should_retry(retries: int, exc: BaseException) -> bool:
    """Dramatiq's retry decision. The publish actor decides about network
    errors itself and raises Retry when it wants another try; a database that
    is away (a restart) is waited for; anything else is a bug, retried a little."""
    if isinstance(exc, dramatiq.Retry):
        return True
    if isinstance(exc, (OperationalError, InterfaceError)):
        return retries < DATABASE_RETRIES
    return retries < _settings.max_retries


def persist(write, *args, **kwargs):
    """Run a database write, waiting out a database restart: the outcome it
    records came from a network and cannot be asked for again for free.

    Dramatiq's time limit interrupts the thread once, wherever it is: if that
    lands in here, the write (rolled back, or committed just before) is made
    again — the outcome must survive it, and the writes are fenced, so a write
    that had committed is not applied twice (delivery._superseded)."""
    deadline = time.monotonic() + PERSIST_PATIENCE_S
    pause = 0.1
    while True:
        try:
            with _connection():
                return write(*args, **kwargs)
        except TimeLimitExceeded:
            logger.warning("The time limit interrupted %s; writing it again.", write.__name__)
            _reset_connection()
        except (OperationalError, InterfaceError) as exc:
            if time.monotonic() > deadline:
                raise
            logger.warning("Database unavailable (%s); trying again in %.1f s.", exc, pause)
            _reset_connection()
            time.sleep(pause)
            pause = min(pause * 2, 5.0)


def _reset_connection():
    try:
        database.close()
    except Exception:  # the connection is already broken; the pool discards it
        logger.debug("Closing a broken connection failed.", exc_info=True)


@dramatiq.actor(broker=_UNBOUND, queue_name="publish", throws=(PublicationFailed,), retry_when=should_retry)
def publish(publication_id: int):
    """Publish one publication to its network and record what happened."""
    # The thread holds a pooled connection only while it uses the database, not
    # while it waits on the network: threads × processes would otherwise need as
    # many PostgreSQL connections.
    with _connection():
        job = delivery.claim(publication_id, deadlines(), _settings.app_secrets(), _settings.linkedin_api_version)
    if job is None:
        logger.info("Publication %d is not claimable (done, taken or not due).", publication_id)
        return
    with outbound.calls_within(calls_limit(_settings)):
        _deliver(job)


def calls_limit(settings: Settings) -> float:
    """Seconds an attempt's network calls may take in all: Dramatiq's time limit
    only interrupts Python code, so a call blocked in a read would outlive it (and
    the lease) by up to the read timeout; ending a little before it lets the
    attempt record its own outcome."""
    return max(settings.time_limit_s / 2, settings.time_limit_s - CALLS_WRAP_UP_S)


@contextmanager
def _connection():
    """A connection for the block: taken from the pool if the thread has none
    open, and given back at the end (an open one is left as it is)."""
    taken = database.is_closed()
    if taken:
        database.connect()
    try:
        yield
    finally:
        if taken and not database.is_closed():
            database.close()


def _deliver(job: delivery.Job):
    started = utcnow()
    adapter = get_adapter(job.network, Timeouts(_settings.connect_timeout, _settings.read_timeout))
    if job.network == "whatsapp":
        return _broadcast(job, adapter, started)
    answer = None
    try:
        job = _with_photos(job)
        with series.network_call(job.network):
            answer = _call_network(adapter, job)
    except Unverifiable as exc:
        _give_up(job, PublicationStatus.UNCONFIRMED, started, PublishError(
            job.network, f"an earlier attempt may have been delivered and it cannot be checked "
            f"({exc.message}); not sent again — check, then retry by hand if it did not arrive",
            kind=ErrorKind.PERMANENT))
    except PublishError as exc:
        error = exc.redact(job.target.token)
    except TimeLimitExceeded:
        # Interrupted after the network answered (leaving series.network_call,
        # say): the answer stands.
        if answer is None:
            error = PublishError(job.network, f"no answer within the time limit "
                                 f"({_settings.time_limit_s} s); the request may have arrived",
                                 kind=ErrorKind.TRANSIENT, ambiguous=True)
    except Exception as exc:  # a bug or an unforeseen answer: maybe after sending, so ambiguous
        logger.exception("Publication %d: unexpected error.", job.publication_id)
        error = PublishError(job.network, "socialpub met an unexpected problem (it is in the worker's log)",
                             kind=ErrorKind.TRANSIENT, code=INTERNAL, ambiguous=True)
    if answer is None:
        _after_failure(job, error, started)
        return
    receipt, outcome = answer
    persist(delivery.record_published, job, receipt, started, outcome=outcome)
    series.published(job.network, outcome)
    logger.info("Publication %d %s on %s as %s.", job.publication_id, outcome, job.network,
                receipt.external_id)


def _broadcast(job: delivery.Job, adapter, started):
    """WhatsApp: one message per consenting recipient, each taken in the
    ledger before it is sent (whatsapp/broadcast.py); the publication's status
    comes from its recipients'."""
    try:
        job = _with_photos(job)
        with series.network_call(job.network):
            outcome = broadcast.deliver(job, adapter, _settings, persist,
                                        lambda state: persist(delivery.save_checkpoint, job, state))
    except PublishError as exc:  # the image: nothing was sent with it yet
        return _after_failure(job, exc.redact(job.target.token), started)
    except TimeLimitExceeded:
        # The row being sent stays "sending": in doubt until Meta's status names it.
        outcome = persist(broadcast.settled, job.publication_id, _settings, persist)
    if outcome.kind == "retry":
        return _after_failure(job, outcome.error, started)
    if outcome.kind == "wait":
        persist(delivery.record_waiting, job, started, outcome.until, outcome.message)
        delay = max(0, int((outcome.until - utcnow()).total_seconds() * 1000))
        # A new message, not a Retry: Dramatiq's maximum age would count the wait.
        publish.send_with_options(args=(job.publication_id,), delay=delay)
        logger.info("Publication %d waits %d ms: %s", job.publication_id, delay, outcome.message)
        return
    if outcome.status == PublicationStatus.PUBLISHED:
        persist(delivery.record_published, job, Published(external_id=persist(ledger.message_ids, job.publication_id)),
                started)
        series.published(job.network, "published")
        logger.info("Publication %d sent on WhatsApp: %s.", job.publication_id, outcome.message)
        return
    _give_up(job, outcome.status, started,
             PublishError(job.network, outcome.message, kind=ErrorKind.PERMANENT))


def _with_photos(job: delivery.Job) -> delivery.Job:
    """The job with its post's images, read from the media store as this
    network takes them: the uploaded ones, or its ``image_url`` fetched once
    into the store (none: the job as it is).

    Raises:
      PublishError: the store did not give them (transient: retried), or the
        image_url could not be fetched (remote.fetched).
    """
    try:
        photos = persist(library.photos_for, _settings, job.post_id, job.network)
        if not photos and job.content.image_url and remote.worth_fetching(_settings, job.network):
            # Not inside persist: no connection is held through the download, and the
            # time limit interrupts it like any network call.
            media = remote.fetched(_settings, job.post_id, job.content.image_url, job.network, run=persist)
            photos = persist(library.photos_of, _settings, [media], job.network)
    except StorageError as exc:
        logger.warning("Publication %d: the media store did not give the post's images: %s", job.publication_id, exc)
        raise PublishError(job.network, "the media store did not give the post's images",
                           kind=ErrorKind.TRANSIENT, code=STORE) from None
    except (PublishError, TimeLimitExceeded):
        raise
    except Exception as exc:  # nothing was sent to the network yet: not ambiguous
        logger.exception("Publication %d: the post's images could not be prepared.", job.publication_id)
        raise PublishError(job.network, "the post's images could not be prepared (the worker's log says why)",
                           kind=ErrorKind.TRANSIENT, code=INTERNAL) from None
    return dataclasses.replace(job, content=dataclasses.replace(job.content, photos=photos)) if photos else job


def _call_network(adapter, job: delivery.Job):
    """Publish, unless an earlier attempt that may have arrived did: then adopt
    its item — only one that no other publication holds, and, where the network
    finds items by their text, only when no other publication of that text may
    have made it.

    Raises:
      Unverifiable: an earlier attempt may have arrived and the network cannot say.
      PublishError: the network refused or failed.
    """
    resume = job.resume
    held = functools.partial(persist, delivery.held_elsewhere, job)
    if job.ambiguous_since:
        found = adapter.find_published(job.target, job.content, job.ambiguous_since, resume=resume,
                                       held_elsewhere=held)
        if found:
            return _adopt(adapter, job, found), "adopted"
    try:
        receipt = adapter.publish(
            job.target, job.content, resume=resume,
            checkpoint=lambda state: persist(delivery.save_checkpoint, job, state))
    except PublishError as exc:
        # LinkedIn refuses a repeated text, naming the post that has it: ours
        # only if an earlier attempt of this publication may have made it.
        if exc.duplicate_of and job.ambiguous_since and not held([exc.duplicate_of.external_id]):
            return _adopt(adapter, job, exc.duplicate_of), "adopted"
        raise
    return receipt, "published"


def _adopt(adapter, job: delivery.Job, found):
    """``found``, unless another publication of the same text may have made it."""
    since = job.ambiguous_since - dt.timedelta(seconds=adapter.clock_skew)
    if adapter.finds_by_text and persist(delivery.contested, job, since):
        raise Unverifiable(job.network, f"{found.external_id} has this text, but so does another "
                           f"publication to this account that is being sent or may have been delivered; "
                           f"which one it belongs to cannot be told")
    return found


def _after_failure(job: delivery.Job, error: PublishError, started):
    """Retry within the error's budget, else record the final outcome."""
    delivered = getattr(error, "delivered", None)
    if delivered:
        # Some recipients have it (WhatsApp): a retry would send it to them again.
        _give_up(job, PublicationStatus.UNCONFIRMED, started, error,
                 f"{error.message} — already sent to {', '.join(delivered)}; not sent again to "
                 f"anyone; send it to the others by hand")
    if error.kind.retryable:
        if error.kind is ErrorKind.RATE_LIMITED:
            spent, budget = job.rate_limit_waits, _settings.max_rate_limit_waits
        else:
            spent, budget = job.retries, _settings.max_retries
        if spent < budget:
            delay = retry_delay_ms(spent, error, _settings)
            if _past_max_age(delay):
                # Dramatiq would drop the retry as too old anyway, hours from now: say so today.
                _give_up(job, PublicationStatus.EXPIRED, started, error,
                         f"{error.message} — the next try could only be in {delay // 1000} s, later than "
                         f"the {_settings.max_age_s} s a publication may wait (PUBLISH_MAX_AGE_S); not sent")
            persist(delivery.record_retry, job, error, started,
                    utcnow() + dt.timedelta(milliseconds=delay))
            series.retrying(job.network, error)
            logger.warning("Publication %d: %s; next try in %d ms.", job.publication_id, error, delay)
            raise dramatiq.Retry(str(error), delay=delay)
    if error.ambiguous or job.ambiguous_since:
        _give_up(job, PublicationStatus.UNCONFIRMED, started, error,
                 f"{error.message} — an earlier attempt may have been delivered; check, then retry by hand")
    else:
        _give_up(job, PublicationStatus.FAILED, started, error)


def _past_max_age(delay_ms: int) -> bool:
    """Whether a retry ``delay_ms`` from now would come after the message's
    maximum age (counted, as AgeLimit does, from its first enqueue)."""
    message = CurrentMessage.get_current_message()
    if message is None:
        return False
    return message.message_timestamp + _settings.max_age_s * 1000 < time.time() * 1000 + delay_ms


def _give_up(job, status, started, error, message=None) -> NoReturn:
    """Record a final outcome and end the message (raises PublicationFailed, always)."""
    persist(delivery.record_final, job, status, error, started, message)
    series.gave_up(job.network, status, error)
    raise PublicationFailed(f"publication {job.publication_id} {status}: {message or error}")


@dramatiq.actor(broker=_UNBOUND, queue_name="publish", max_retries=0)
def fetch_image(post_id: int):
    """A post submitted for approval: its image_url fetched into the media store,
    for its reviewer to see and approve (media/remote.py). A failure is kept on
    the fetch for the page to show; approving asks for another try."""
    try:
        remote.prefetch(_settings, post_id, run=persist)
    except PublishError as exc:
        logger.info("Post %d: its image could not be fetched for review: %s", post_id, exc.message)


@dramatiq.actor(broker=_UNBOUND, queue_name="webhooks", max_retries=0)
def deliver_webhook(delivery_id: int):
    """One try of a webhook delivery (webhooks/sending.py); the next, if any, as a delayed message."""
    with _connection():
        delay_ms = sending.deliver(delivery_id, _settings)
    if delay_ms is not None:
        deliver_webhook.send_with_options(args=(delivery_id,), delay=delay_ms)


@dramatiq.actor(broker=_UNBOUND, queue_name="webhooks", retry_when=should_retry)
def apply_meta_notification(notification_id: int):
    """Apply one of Meta's WhatsApp notifications (whatsapp/inbound.py): statuses, inbound messages."""
    with _connection():
        touched = inbound.apply(notification_id)
        inbound.settle(touched, _settings, publish.send)


@dramatiq.actor(broker=_UNBOUND, queue_name="mail", max_retries=0)
def send_email(email_id: int):
    """One try of a queued e-mail (mail/sending.py); the next, if any, as a delayed message."""
    with _connection():
        delay_ms = mail_sending.deliver(email_id, _settings)
    if delay_ms is not None:
        send_email.send_with_options(args=(email_id,), delay=delay_ms)


@dramatiq.actor(broker=_UNBOUND, queue_name="maintenance", periodic=cron("5 * * * *"), max_retries=0)
def send_digests():
    """Every hour: each user's waiting news as one e-mail (mail/notices.py)."""
    with database.connection_context():
        notices.gather_digests()


@dramatiq.actor(broker=_UNBOUND, queue_name="maintenance", periodic=cron("* * * * *"), max_retries=0)
def reconcile():
    """Every minute: re-drive the publications, webhook deliveries and e-mails
    whose message was lost (reconciler.py, webhooks/sending.py, mail/sending.py),
    and forget idempotency keys past their time."""
    with database.connection_context():
        reconciler.reconcile(_settings, publish)
        sending.redrive(deliver_webhook.send)
        mail_sending.redrive(send_email.send)
        inbound.redrive(apply_meta_notification.send)
        tally.fold()
        recent.fold_attempts()
        idempotency.forget_expired()


@dramatiq.actor(broker=_UNBOUND, queue_name="maintenance", periodic=cron("* * * * *"), max_retries=0)
def publish_due_posts():
    """Every minute: launch the scheduled posts due before the next sweep (see scheduling.py)."""
    with database.connection_context():
        scheduling.sweep(dt.timedelta(seconds=_settings.schedule_max_lateness_s))


@dramatiq.actor(broker=_UNBOUND, queue_name="maintenance", periodic=cron("17 * * * *"), max_retries=0)
def prune_media():
    """Every hour: remove the uploads no post uses past MEDIA_RETENTION_DAYS (media/library.py)."""
    with database.connection_context():
        removed = library.prune_unused(_settings)
    if removed:
        logger.info("Removed %d unused upload(s) older than %d days.", removed, _settings.media_retention_days)


@dramatiq.actor(broker=_UNBOUND, queue_name="maintenance", periodic=cron("41 */6 * * *"), max_retries=0)
def sync_whatsapp_templates():
    """Every six hours: each WhatsApp channel's templates, as Meta now says (whatsapp/templates.py)."""
    with database.connection_context():
        templates.sync_all(_settings)


@dramatiq.actor(broker=_UNBOUND, queue_name="maintenance", periodic=cron("*/15 * * * *"), max_retries=0)
def refresh_tokens():
    """Every 15 minutes: refresh the connected tokens about to expire (see connecting/refresh.py)."""
    with database.connection_context():
        refresh.refresh_due(_settings)


@dramatiq.actor(broker=_UNBOUND, queue_name="maintenance", periodic=cron("29 * * * *"), max_retries=0)
def prune_history():
    """Every hour: what is past its retention (retention.py), in small batches."""
    with database.connection_context():
        retention.prune(_settings)
