"""The outbox: rows that a worker sends after the change that wrote them
commits — webhook deliveries (webhooks/sending.py) and e-mails
(mail/sending.py) — taken, retried and re-driven by one machine. Each kind
declares its :class:`Outbox` once (its table, its retry schedule, lease and
grace); what it sends and how stay with it.

A row is ``pending`` until its try is due (``next_attempt_at``), then one
worker claims it with a conditional UPDATE to ``sending`` (``attempts`` + 1,
``touched_at`` now): a message that arrives twice finds nothing to claim. A
worker that dies leaves it ``sending``; past the lease another may claim it —
so a try must end well within the lease, or the same row goes out twice. A
failed try puts it back ``pending`` after the schedule's next pause, until the
schedule is used up: then it is ``failed``. Every write after the claim is
fenced by ``sending``, so a row taken over past its lease is not settled twice.

The reconciler re-drives the rows no message carries any more — pending and
overdue past the grace, or sending past the lease — each taken by a
conditional UPDATE on the ``touched_at`` it read, so two reconcilers send it
once.

Meta's notifications (MetaNotification, whatsapp/inbound.py) are not such
rows: they come in rather than go out, have no status, tries, schedule or
lease (only ``applied_at``), and applying one again is harmless, so their
re-drive is a plain re-send of the unapplied ones; giving them this machine
would take new columns for nothing it would fence.
"""
from __future__ import annotations

import datetime as dt
import logging
import random
from dataclasses import dataclass, field

from .db import write_transaction
from .models import utcnow
from .statuses import OutboxStatus as O

logger = logging.getLogger(__name__)

#: A delayed message may arrive this early and still find its row due.
EARLY = dt.timedelta(seconds=1)


@dataclass(frozen=True)
class Outbox:
    """One kind of outbox row: ``model`` has ``status``, ``attempts``,
    ``next_attempt_at``, ``touched_at`` and ``last_error``; ``sent`` is its
    status once sent."""

    model: type
    sent: str
    #: The pause before each retry; one try more than pauses, then failed.
    schedule: tuple
    #: A row "sending" for longer than this lost its worker and may be claimed again.
    lease: dt.timedelta
    #: A message may run late by this much before its row counts as lost.
    grace: dt.timedelta
    #: What the rows are, in the reconciler's log ("e-mails").
    noun: str
    #: Each pause is the schedule's ± this fraction, so that retries do not all come back at once.
    jitter: float = 0.0
    #: What a row forgets once settled, sent or failed, unless the settling sets it: an e-mail's
    #: body (it may hold a single-use link), a delivery's earlier ``delivered_at`` (one sent again).
    forget: dict = field(default_factory=dict)
    #: Rows re-driven per sweep; the next sweep takes the rest.
    batch: int = 500

    def claim(self, row_id: int, now: dt.datetime) -> bool:
        """Take the row for one try: pending and due, or sending past its lease."""
        m = self.model
        with write_transaction():
            return bool(m.update(status=O.SENDING, attempts=m.attempts + 1, touched_at=now)
                        .where((m.id == row_id)
                               & (((m.status == O.PENDING) & (m.next_attempt_at <= now + EARLY))
                                  | ((m.status == O.SENDING) & (m.touched_at < now - self.lease))))
                        .execute())

    def settle_sent(self, row_id: int, **columns) -> bool:
        """The claimed row went out: ``sent``, with ``columns``; False when it
        is settled already (another worker took it over past the lease and finished first)."""
        return self._settle(row_id, self.sent, columns)

    def fail(self, row_id: int, error: str, **columns) -> bool:
        """The claimed row will not go out: failed, saying why, with ``columns``."""
        return self._settle(row_id, O.FAILED, {**columns, "last_error": error})

    def _settle(self, row_id: int, status: str, columns: dict) -> bool:
        m = self.model
        with write_transaction():
            return bool(m.update(status=status, touched_at=utcnow(), **{**self.forget, **columns})
                        .where((m.id == row_id) & (m.status == O.SENDING)).execute())

    def retry_later(self, row, error: str, at_least: dt.timedelta | None = None, gave_up: str | None = None,
                    **columns) -> int | None:
        """After the claimed ``row``'s failed try: pending again after the
        schedule's pause (or ``at_least``, when longer: a Retry-After), and the
        milliseconds until then; or, once the schedule is used up, failed with
        ``gave_up`` (else ``error``) and None. ``columns`` are written either way."""
        if row.attempts > len(self.schedule):
            self.fail(row.id, gave_up or error, **columns)
            return None
        pause = self.schedule[row.attempts - 1]
        if self.jitter:
            pause *= random.uniform(1 - self.jitter, 1 + self.jitter)
        if at_least is not None:
            pause = max(pause, at_least)
        m, now = self.model, utcnow()
        with write_transaction():
            (m.update(status=O.PENDING, last_error=error, next_attempt_at=now + pause, touched_at=now, **columns)
             .where((m.id == row.id) & (m.status == O.SENDING)).execute())
        return int(pause.total_seconds() * 1000)

    def redrive(self, send_message, now: dt.datetime | None = None, batch: int | None = None) -> int:
        """Send again the rows no message seems to carry: pending and overdue,
        or sending past the lease (their worker died); return how many."""
        m, now = self.model, now or utcnow()
        lost = (((m.status == O.PENDING) & (m.next_attempt_at < now - self.grace) & (m.touched_at < now - self.grace))
                | ((m.status == O.SENDING) & (m.touched_at < now - self.lease)))
        sent = 0
        for row_id, touched_at in (m.select(m.id, m.touched_at).where(lost).order_by(m.id)
                                   .limit(batch or self.batch).tuples()):
            with write_transaction():
                # A "sending" one was due when its worker claimed it: pending again, it is due now.
                taken = (m.update(touched_at=now, status=O.PENDING)
                         .where((m.id == row_id) & (m.touched_at == touched_at)).execute())
            if taken:
                send_message(row_id)
                sent += 1
        if sent:
            logger.warning("Re-drove %d %s whose message was lost.", sent, self.noun)
        return sent
