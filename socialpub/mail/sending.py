"""Sending a queued e-mail (the ``send_email`` actor): claimed with a
conditional UPDATE, handed to the SMTP server, and tried again after a
growing pause when the server does not take it (five tries over about eight
hours), then marked failed. The reconciler re-drives an e-mail whose message
was lost (:func:`redrive`)."""
from __future__ import annotations

import datetime as dt
import logging

import dramatiq

from ..config import Settings
from ..db import write_transaction
from ..models import Email, utcnow
from ..statuses import EmailStatus as E
from . import smtp

logger = logging.getLogger(__name__)

#: The pause before each retry.
SCHEDULE = tuple(dt.timedelta(seconds=s) for s in (60, 300, 1800, 7200, 21600))
#: The whole conversation with the server, however slowly it answers.
TIME_LIMIT = dt.timedelta(seconds=smtp.TIMEOUT_S * 2)
#: An e-mail "sending" for longer than this lost its worker and may be taken
#: again: twice the time limit, so that a send still running is never one.
LEASE = TIME_LIMIT * 2
GRACE = dt.timedelta(seconds=60)


def send(email_id: int) -> None:
    """Send an e-mail's message (the actor is looked up on the broker by name)."""
    dramatiq.get_broker().get_actor("send_email").send(email_id)


def deliver(email_id: int, settings: Settings) -> int | None:
    """One try; return the milliseconds until the next, or None when there is none."""
    now = utcnow()
    with write_transaction():
        claimed = (Email.update(status=E.SENDING, attempts=Email.attempts + 1, touched_at=now)
                   .where((Email.id == email_id)
                          & (((Email.status == E.PENDING) & (Email.next_attempt_at <= now + dt.timedelta(seconds=1)))
                             | ((Email.status == E.SENDING) & (Email.touched_at < now - LEASE))))
                   .execute())
    if not claimed:
        return None
    email = Email.get_by_id(email_id)
    mine = (Email.id == email_id) & (Email.status == E.SENDING)
    try:
        try:
            smtp.send(settings.smtp_url, settings.mail_from, email.to, email.subject, email.body or "",
                      time_limit=TIME_LIMIT.total_seconds())
        except (ValueError, TypeError) as exc:  # a message the library will not build: a try, counted
            raise smtp.NotSent(f"the e-mail could not be composed: {exc}") from None
    except smtp.NotSent as exc:
        if email.attempts > len(SCHEDULE):
            Email.update(status=E.FAILED, last_error=str(exc), body=None).where(mine).execute()
            logger.error("E-mail %d to %s not sent after %d tries: %s", email_id, email.to, email.attempts, exc)
            return None
        pause = SCHEDULE[email.attempts - 1]
        (Email.update(status=E.PENDING, last_error=str(exc), next_attempt_at=utcnow() + pause, touched_at=utcnow())
         .where(mine).execute())
        logger.warning("E-mail %d to %s not sent (%s); trying again in %s.", email_id, email.to, exc, pause)
        return int(pause.total_seconds() * 1000)
    # Sent: the body may hold a single-use link; it is not kept.
    Email.update(status=E.SENT, sent_at=utcnow(), body=None, last_error=None).where(mine).execute()
    return None


def redrive(send_message, now: dt.datetime | None = None, batch: int = 200) -> int:
    """Send again the e-mails no message seems to carry (pending and overdue, or a dead worker's)."""
    now = now or utcnow()
    lost = (((Email.status == E.PENDING) & (Email.next_attempt_at < now - GRACE) & (Email.touched_at < now - GRACE))
            | ((Email.status == E.SENDING) & (Email.touched_at < now - LEASE)))
    sent = 0
    for email_id, touched_at in Email.select(Email.id, Email.touched_at).where(lost).limit(batch).tuples():
        with write_transaction():
            taken = (Email.update(touched_at=now, status=E.PENDING)
                     .where((Email.id == email_id) & (Email.touched_at == touched_at)).execute())
        if taken:
            send_message(email_id)
            sent += 1
    return sent
