"""Sending a queued e-mail (the ``send_email`` actor): claimed, handed to the
SMTP server, and tried again after a growing pause when the server does not
take it (six tries over about eight and a half hours), then marked failed — the
outbox's machine (outbox.py), with this policy. The body is not kept once
the e-mail is settled. The reconciler re-drives an e-mail whose message was
lost (``OUTBOX.redrive``)."""
from __future__ import annotations

import datetime as dt
import logging

import dramatiq

from ..config import Settings
from ..models import Email, utcnow
from ..outbox import Outbox
from ..statuses import EmailStatus as E
from . import smtp

logger = logging.getLogger(__name__)

#: The whole conversation with the server, however slowly it answers.
TIME_LIMIT = dt.timedelta(seconds=smtp.TIMEOUT_S * 2)
#: Retried after 1 min, 5 min, 30 min, 2 h, 6 h. An e-mail "sending" for longer
#: than the lease lost its worker: twice the time limit, so that a send still
#: running is never one. Sent or failed, its body (an invitation's single-use link) is cleared.
OUTBOX = Outbox(Email, E.SENT, schedule=tuple(dt.timedelta(seconds=s) for s in (60, 300, 1800, 7200, 21600)),
                lease=TIME_LIMIT * 2, grace=dt.timedelta(seconds=60), noun="e-mails", forget={"body": None},
                batch=200)


def send(email_id: int) -> None:
    """Send an e-mail's message (the actor is looked up on the broker by name)."""
    dramatiq.get_broker().get_actor("send_email").send(email_id)


def deliver(email_id: int, settings: Settings) -> int | None:
    """One try; return the milliseconds until the next, or None when there is none."""
    if not OUTBOX.claim(email_id, utcnow()):
        return None
    email = Email.get_by_id(email_id)
    try:
        try:
            smtp.send(settings.smtp_url, settings.mail_from, email.to, email.subject, email.body or "",
                      time_limit=TIME_LIMIT.total_seconds())
        except (ValueError, TypeError) as exc:  # a message the library will not build: a try, counted
            raise smtp.NotSent(f"the e-mail could not be composed: {exc}") from None
    except smtp.NotSent as exc:
        delay_ms = OUTBOX.retry_later(email, str(exc))
        if delay_ms is None:
            logger.error("E-mail %d to %s not sent after %d tries: %s", email_id, email.to, email.attempts, exc)
        else:
            logger.warning("E-mail %d to %s not sent (%s); trying again in %s.", email_id, email.to, exc,
                           dt.timedelta(milliseconds=delay_ms))
        return delay_ms
    OUTBOX.settle_sent(email_id, sent_at=utcnow(), last_error=None)
    return None
