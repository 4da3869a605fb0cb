"""The publish actor: one claim, one network call, one write of the outcome.

It receives a publication id, never content or tokens. It is safe to run
twice: the claim is a conditional UPDATE, so a redelivered or duplicated
message finds nothing to claim and stops.
"""
from __future__ import annotations

import datetime as dt
import logging
import random

import dramatiq
from dramatiq.middleware import CurrentMessage

from . import publishing
from .config import Settings
from .db import database
from .errors import PublicationFailed
from .models import utcnow
from .networks import ErrorKind, PublishError, get_adapter
from .networks.base import Timeouts

logger = logging.getLogger(__name__)

_settings = Settings()


def configure(settings: Settings, broker: dramatiq.Broker):
    """Apply settings to the actors and declare them on ``broker``."""
    global _settings
    _settings = settings
    for actor in (publish,):
        actor.options["max_retries"] = settings.max_retries
        if actor.queue_name != settings.queue_name or actor.broker is not broker:
            actor.queue_name = settings.queue_name
            actor.broker = broker
            broker.declare_actor(actor)


def retry_delay_ms(retries: int, error: PublishError, settings: Settings) -> int:
    """Exponential backoff with jitter, never sooner than the network asked."""
    delay = settings.min_backoff_ms * (2 ** retries) * random.uniform(1.0, 1.5)
    delay = min(delay, settings.max_backoff_ms)
    if error.retry_after:
        delay = max(delay, error.retry_after * 1000)
    return int(delay)


@dramatiq.actor(queue_name="publish", throws=(PublicationFailed,))
def publish(publication_id: int):
    """Publish one publication to its network and record what happened."""
    with database.connection_context():
        job = publishing.claim(publication_id)
        if job is None:
            logger.info("Publication %d is not claimable (done, taken or not due); skipping.",
                        publication_id)
            return
        started = utcnow()
        adapter = get_adapter(job.network, Timeouts(_settings.connect_timeout, _settings.read_timeout))
        try:
            receipt = adapter.publish(job.target, job.content)
        except PublishError as exc:
            error = exc
        except Exception as exc:  # a bug or an unforeseen answer: recorded, then retried
            logger.exception("Publication %d: unexpected error.", publication_id)
            error = PublishError(job.network, f"unexpected error: {exc!r}", kind=ErrorKind.TRANSIENT)
        else:
            publishing.record_published(job, receipt, started)
            logger.info("Publication %d published to %s as %s.", publication_id, job.network,
                        receipt.external_id)
            return

        message = CurrentMessage.get_current_message()
        retries = message.options.get("retries", 0) if message else _settings.max_retries
        if error.kind.retryable and retries < _settings.max_retries:
            delay = retry_delay_ms(retries, error, _settings)
            publishing.record_retry(job, error, started, utcnow() + dt.timedelta(milliseconds=delay))
            logger.warning("Publication %d: %s; retry %d in %d ms.", publication_id, error,
                           retries + 1, delay)
            raise dramatiq.Retry(str(error), delay=delay)
        publishing.record_failed(job, error, started)
        raise PublicationFailed(f"publication {publication_id}: {error}")
