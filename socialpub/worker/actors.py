"""The actors the workers run, each a few lines around the domain call it
makes: ``publish`` (lifecycle/attempt.py), ``fetch_image`` (a post's
image_url fetched for its reviewer), ``deliver_webhook``, ``send_email`` and
``apply_meta_notification`` (Meta's WhatsApp webhook), ``post_first_comment`` (lifecycle/first_comments.py), ``make_rendition`` (a
video transcoded for a kind of post it does not fit), ``read_metrics`` and ``read_account_metrics``
(analytics/collection.py). The periodic ones are
in periodic.py.

Actors receive ids, never content or tokens, and are safe to run twice: each
begins with a claim, a conditional UPDATE, so a redelivered or duplicated
message finds nothing to claim and stops. Only here are Dramatiq's Retry
raised and follow-up messages sent.
"""
from __future__ import annotations

import logging

import dramatiq
from dramatiq.brokers.stub import StubBroker
from dramatiq.middleware import CurrentMessage, default_middleware
from peewee import InterfaceError, OperationalError
from periodiq import PeriodiqMiddleware

from ..analytics import collection
from ..config import Settings
from ..db import connection, persist
from ..errors import PublicationFailed
from ..lifecycle import attempt, delivery, first_comments
from ..mail import notices
from ..mail import sending as mail_sending
from ..media import remote, rendition_jobs
from ..networks import PublishError
from ..webhooks import sending
from ..whatsapp import inbound
from . import coalesce

logger = logging.getLogger(__name__)

#: How often a message whose database work failed (PostgreSQL restarting) is retried.
DATABASE_RETRIES = 20

#: A rendition transcodes a long video for minutes (the publish actor's limit is PUBLISH_TIME_LIMIT_S).
RENDITION_TIME_LIMIT_S = 30 * 60

#: The settings configure() was given (the process's own).
_settings = Settings()

#: Dramatiq binds an actor to a broker when it is declared: the actors are
#: declared here first, on a broker that only knows their options, and
#: configure() moves them to the real one (broker.setup_broker).
UNBOUND = StubBroker(middleware=[*(m() for m in default_middleware), PeriodiqMiddleware()])


def configure(settings: Settings, broker: dramatiq.Broker):
    """Apply settings to the actors and declare them on ``broker``."""
    global _settings
    _settings = settings
    publish.options.update(max_age=settings.max_age_s * 1000, time_limit=settings.time_limit_s * 1000)
    publish.queue_name = settings.queue_name
    fetch_image.options.update(time_limit=settings.time_limit_s * 1000)
    fetch_image.queue_name = settings.queue_name
    post_first_comment.queue_name = settings.queue_name
    deliver_webhook.queue_name = webhooks_queue(settings)
    send_email.queue_name = mail_queue(settings)
    notices.configure(settings)
    apply_meta_notification.queue_name = webhooks_queue(settings)
    make_rendition.queue_name = media_queue(settings)
    read_metrics.queue_name = read_account_metrics.queue_name = analytics_queue(settings)
    for actor in (publish, fetch_image, post_first_comment, deliver_webhook, apply_meta_notification, send_email,
                  make_rendition, read_metrics, read_account_metrics):
        actor.broker = broker
        broker.declare_actor(actor)  # idempotent; declares the queue too


def webhooks_queue(settings: Settings) -> str:
    """The webhook deliveries' queue, beside the publications' (PUBLISH_QUEUE)."""
    return f"{settings.queue_name}-webhooks"


def mail_queue(settings: Settings) -> str:
    """The e-mails' queue, beside the publications' (PUBLISH_QUEUE)."""
    return f"{settings.queue_name}-mail"


def media_queue(settings: Settings) -> str:
    """The renditions' queue, beside the publications' (PUBLISH_QUEUE): minutes of transcoding hold no post back."""
    return f"{settings.queue_name}-media"


def analytics_queue(settings: Settings) -> str:
    """The metric reads' queue, beside the publications' (PUBLISH_QUEUE): reading numbers holds no post back."""
    return f"{settings.queue_name}-analytics"


def should_retry(retries: int, exc: BaseException) -> bool:
    """Dramatiq's retry decision. The publish actor decides about network
    errors itself and raises Retry when it wants another try; a database that
    is away (a restart) is waited for; anything else is a bug, retried a little."""
    if isinstance(exc, dramatiq.Retry):
        return True
    if isinstance(exc, (OperationalError, InterfaceError)):
        return retries < DATABASE_RETRIES
    return retries < _settings.max_retries


@dramatiq.actor(broker=UNBOUND, queue_name="publish", throws=(PublicationFailed,), retry_when=should_retry)
def publish(publication_id: int):
    """Publish one publication to its network and record what happened (lifecycle/attempt.py)."""
    message = CurrentMessage.get_current_message()
    outcome = attempt.run(publication_id, _settings, message.message_timestamp if message else None)
    if isinstance(outcome, attempt.RetryIn):
        raise dramatiq.Retry(outcome.reason, delay=outcome.delay_ms)
    if isinstance(outcome, attempt.WaitUntil):
        # A new message, not a Retry: Dramatiq's maximum age would count the wait.
        publish.send_with_options(args=(publication_id,), delay=outcome.delay_ms)
    elif outcome.failure:
        raise PublicationFailed(outcome.failure)  # recorded; ends the message without a retry


@dramatiq.actor(broker=UNBOUND, queue_name="publish", max_retries=0)
def fetch_image(post_id: int):
    """A post submitted for approval: its image_url fetched into the media store,
    for its reviewer to see and approve (media/remote.py). A failure is kept on
    the fetch for the page to show; approving asks for another try."""
    try:
        remote.prefetch(_settings, post_id, run=persist)
    except PublishError as exc:
        logger.info("Post %d: its image could not be fetched for review: %s", post_id, exc.message)


@dramatiq.actor(broker=UNBOUND, queue_name="publish", max_retries=0)
def post_first_comment(comment_id: int):
    """One try of a first comment under its published item (lifecycle/first_comments.py); the next, if any,
    as a delayed message."""
    with connection():
        delay_ms = first_comments.post(comment_id, _settings)
    if delay_ms is not None:
        post_first_comment.send_with_options(args=(comment_id,), delay=delay_ms)


@dramatiq.actor(broker=UNBOUND, queue_name="webhooks", max_retries=0)
def deliver_webhook(delivery_id: int):
    """One try of a webhook delivery (webhooks/sending.py); the next, if any, as a delayed message."""
    with connection():
        delay_ms = sending.deliver(delivery_id, _settings)
    if delay_ms is not None:
        deliver_webhook.send_with_options(args=(delivery_id,), delay=delay_ms)


@dramatiq.actor(broker=UNBOUND, queue_name="webhooks", retry_when=should_retry)
def apply_meta_notification(notification_id: int):
    """Apply Meta's WhatsApp notifications (whatsapp/inbound.py): statuses, inbound messages. Each run
    takes every one waiting, in batches — ``notification_id``'s among them, unless another run has."""
    coalesce.taken(apply_meta_notification)  # before any row is read: a POST from now on sends again
    with connection():
        more, touched = inbound.apply_waiting()
        delivery.settle_after_statuses(touched, publish.send)
    if more:
        apply_meta_notification.send(notification_id)


@dramatiq.actor(broker=UNBOUND, queue_name="mail", max_retries=0)
def send_email(email_id: int):
    """One try of a queued e-mail (mail/sending.py); the next, if any, as a delayed message."""
    with connection():
        delay_ms = mail_sending.deliver(email_id, _settings)
    if delay_ms is not None:
        send_email.send_with_options(args=(email_id,), delay=delay_ms)


@dramatiq.actor(broker=UNBOUND, queue_name="media", time_limit=RENDITION_TIME_LIMIT_S * 1000,
                retry_when=should_retry)
def make_rendition(media_id: int, network: str, kind: str):
    """A version of a library video that ``network``'s ``kind`` of post takes (media/rendition_jobs.py),
    its progress in Redis; made once (a claim). While another worker holds the claim, asked again
    once its lease may have ended: a worker killed mid-way leaves it to this message."""
    try:
        rendition_jobs.make(_settings, media_id, network, kind, RENDITION_TIME_LIMIT_S)
    except rendition_jobs.Busy:
        raise dramatiq.Retry("another worker is making it", delay=rendition_jobs.LEASE_MS) from None


@dramatiq.actor(broker=UNBOUND, queue_name="analytics", max_retries=0)
def read_metrics(channel_id: int, publication_ids: list):
    """One channel's due items read from its network (analytics/collection.py). Not retried: an item not
    read stays due (its lease ends) and the scheduler takes it again."""
    with connection():
        collection.read_items(_settings, channel_id, publication_ids)


@dramatiq.actor(broker=UNBOUND, queue_name="analytics", max_retries=0)
def read_account_metrics(channel_id: int):
    """One account's numbers today (analytics/collection.py); a failed read is taken again within the hour."""
    with connection():
        collection.read_account(_settings, channel_id)
