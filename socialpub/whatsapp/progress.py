"""How far a WhatsApp broadcast has gone, and when it should end: the
counts a person reads while it runs (sent, waiting, failed, to go) and the
expected end, with what the estimate rests on.

Read in one aggregate query on the publication's own recipients (grouped by
status, through the ``(publication, …)`` index), so it costs the same however
many publications went before; the post page and the API poll it.

The expected end, for a publication still being worked on:

- ``rate``: what is left to send now, at the number's messages a second
  (its channel's ``send_rate``, else WHATSAPP_SEND_RATE) — or, once the
  broadcast has sent for a few seconds, at the pace it actually kept over the
  last PACE_WINDOW when that is slower (the sends' round trips, not the rate,
  bound it: ``pace``);
- ``limit``: recipients are held back by a limit (the messaging limit, a
  pair-rate pause, Meta stopping the number) until later than that: the
  latest time one of them is held until — ``waiting_for`` says which limit,
  read from the reason broadcast.py gave the held rows;
- none (null) once nothing is left to send, or when the publication is not
  being worked on (not started, or ended with rows unsent).
"""
from __future__ import annotations

import datetime as dt
import math
from dataclasses import asdict, dataclass

from peewee import SQL, Case, fn

from ..models import Channel, Publication, Recipient, utcnow
from ..statuses import PublicationStatus
from . import broadcast, ledger

#: Statuses of a recipient that did not get the message and will not without a person's retry.
NOT_SENT = ("failed", "window_closed", "opted_out", "skipped")
#: The publication statuses of a broadcast being worked on (sending, or waiting for its next attempt).
WORKED_ON = (PublicationStatus.QUEUED, PublicationStatus.PROCESSING, PublicationStatus.RETRYING)
#: The pace is measured over the sends of the last this long…
PACE_WINDOW = dt.timedelta(seconds=10)
#: …once the broadcast has been sending at least this long and taken this many rows in it.
PACE_MIN_SPAN = dt.timedelta(seconds=2)
PACE_MIN_SENDS = 5
BASES = ("rate", "pace", "limit")
#: The limits a recipient may wait for, by how broadcast.py's reason for the hold begins.
HOLDS = (("messaging_limit", ("over the messaging limit",)),
         ("pair_rate", ("Meta's pair rate limit",)),
         ("throughput", (broadcast.THROUGHPUT_HOLD,)),
         ("number_paused", tuple(broadcast.NUMBER_STOPPED.values())))
WAITING_FOR = (*(kind for kind, _ in HOLDS), "other")


@dataclass(frozen=True)
class Progress:
    """A broadcast's counts (every recipient is in exactly one of sent,
    sending, waiting, pending, failed, unconfirmed) and its expected end."""

    total: int
    #: Meta accepted it (sent, delivered or read).
    sent: int
    #: Of those, reached the phone (delivered or read); and read.
    delivered: int
    read: int
    #: Handed to Meta, its answer not in yet (or lost: in doubt until Meta's status).
    sending: int
    #: Held back by a limit until a later time (``resumes_at`` the earliest).
    waiting: int
    #: The limit of the latest hold (one of WAITING_FOR), None when none waits.
    waiting_for: str | None
    #: Not sent yet and free to go (a held one whose time has come included).
    pending: int
    #: Did not get it: refused by Meta, outside the 24-hour window, opted out, skipped (no consent).
    failed: int
    #: In doubt, and no status from Meta came within WHATSAPP_STATUS_WAIT_S.
    unconfirmed: int
    #: Still to go: pending + waiting + sending.
    remaining: int
    resumes_at: dt.datetime | None
    #: Messages a second the estimate uses (the number's rate, or the pace kept).
    rate: float
    expected_end: dt.datetime | None
    expected_end_basis: str | None

    def as_dict(self) -> dict:
        return asdict(self)


def number_rate(channel_id: int, settings) -> int:
    """The number's messages a second: its channel's own ``send_rate``, else WHATSAPP_SEND_RATE."""
    own = Channel.select(Channel.send_rate).where(Channel.id == channel_id).scalar()
    return own or settings.whatsapp_send_rate


def _hold_kind():
    """Which limit a waiting row is held by (HOLDS), from its reason; None for the other statuses."""
    waiting = Recipient.status == "waiting"
    cases = [(waiting & _begins(prefixes), kind) for kind, prefixes in HOLDS]
    return Case(None, [*cases, (waiting, "other")], None)


def _begins(prefixes):
    found = None
    for prefix in prefixes:
        starts = fn.SUBSTR(Recipient.error, 1, len(prefix)) == prefix
        found = starts if found is None else (found | starts)
    return found


def _tally(publication_id: int, now: dt.datetime) -> list:
    """Per status (and, for waiting rows, the limit holding them): the rows, the held ones still
    in the future, their earliest and latest time, the rows taken for sending within
    PACE_WINDOW, and the earliest taken."""
    held = Recipient.not_before > now
    recent = Recipient.sending_at >= now - PACE_WINDOW
    kind = _hold_kind()
    # Grouped by position: the hold's CASE written again would be another expression to a server that
    # binds its parameters itself.
    return list(Recipient.select(
        Recipient.status, kind, fn.COUNT(Recipient.id),
        fn.SUM(Case(None, [(held, 1)], 0)),
        fn.MIN(Case(None, [(held, Recipient.not_before)], None)),
        fn.MAX(Case(None, [(held, Recipient.not_before)], None)),
        fn.SUM(Case(None, [(recent, 1)], 0)),
        fn.MIN(Case(None, [(recent, Recipient.sending_at)], None)),
    ).where(Recipient.publication == publication_id).group_by(SQL("1"), SQL("2")).tuples())


def _time(value) -> dt.datetime | None:
    """A time read from an aggregate (SQLite hands back its text)."""
    if value is None or isinstance(value, dt.datetime):
        return value
    return dt.datetime.fromisoformat(str(value))


def measure(publication: Publication, rate: float, now: dt.datetime | None = None) -> Progress:
    """``publication``'s progress (its ``status`` and ``next_attempt_at`` say whether it is being
    worked on and from when), its expected end at ``rate`` messages a second."""
    now = now or utcnow()
    counts, resumes_at, latest_hold, waiting_for, recent, recent_from = {}, None, None, None, 0, None
    held_total = 0
    for status, kind, count, held, first_hold, last_hold, taken, first_taken in _tally(publication.id, now):
        counts[status] = counts.get(status, 0) + count
        first_hold, last_hold = _time(first_hold), _time(last_hold)
        if status == "waiting" and held:
            held_total += int(held)
            resumes_at = first_hold if resumes_at is None else min(resumes_at, first_hold)
            if latest_hold is None or last_hold > latest_hold:
                latest_hold, waiting_for = last_hold, kind
        if status not in ledger.OPEN:  # a row taken, then given back, was not sent
            recent += int(taken or 0)
            first_taken = _time(first_taken)
            if first_taken is not None and (recent_from is None or first_taken < recent_from):
                recent_from = first_taken
    total = sum(counts.values())
    pending = counts.get("pending", 0) + counts.get("waiting", 0) - held_total
    sending = counts.get("sending", 0)
    used, basis = float(rate), "rate"
    if recent_from is not None and recent >= PACE_MIN_SENDS and now - recent_from >= PACE_MIN_SPAN:
        pace = recent / (now - recent_from).total_seconds()
        if pace < used:
            used, basis = pace, "pace"
    end = None
    if publication.status in WORKED_ON and (pending or held_total):
        start = max(now, publication.next_attempt_at or now) if publication.status == "retrying" else now
        end = start + dt.timedelta(seconds=math.ceil(pending / used)) if pending else None
        if latest_hold is not None and (end is None or latest_hold > end):
            end, basis = latest_hold, "limit"
    return Progress(
        total=total, sent=sum(counts.get(s, 0) for s in ledger.ACCEPTED),
        delivered=counts.get("delivered", 0) + counts.get("read", 0), read=counts.get("read", 0),
        sending=sending, waiting=held_total, waiting_for=waiting_for, pending=pending,
        failed=sum(counts.get(s, 0) for s in NOT_SENT), unconfirmed=counts.get("unconfirmed", 0),
        remaining=pending + held_total + sending,
        resumes_at=resumes_at, rate=round(used, 2), expected_end=end, expected_end_basis=basis if end else None)


def of(publication: Publication, settings, now: dt.datetime | None = None) -> Progress:
    """``publication``'s progress at its number's rate."""
    return measure(publication, number_rate(publication.channel_id, settings), now)
