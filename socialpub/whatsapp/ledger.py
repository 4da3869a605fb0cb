"""Each WhatsApp publication's recipients (Recipient rows): who gets the
message, what was sent to them and what Meta said of it.

A row moves pending → sending (one conditional UPDATE just before the call:
the worker never sends to a row it did not move, so nobody is messaged twice,
whatever retries and redeliveries do) → sent → delivered → read; or ends
failed, window_closed (outside the 24-hour window and no template), opted_out
or skipped (no consent: never sent). "waiting" is held back by a limit until
``not_before``. A row still "sending" after the call is in doubt — the
request may have arrived — until Meta's status webhook names it (its
``biz_opaque_callback_data`` carries the row id), or the wait runs out
("unconfirmed"). Statuses from webhooks only move forward, so they may arrive
in any order, and twice. A status naming the recipient's business-scoped
user id (``recipient_user_id``) teaches it to a contact known by number only.
"""
from __future__ import annotations

import datetime as dt

from peewee import Case, fn

from ..db import MAX_ID, database, supports_row_locks, write_transaction
from ..models import Channel, Contact, Publication, Recipient, utcnow
from . import contacts

ACCEPTED = ("sent", "delivered", "read")
REFUSED = ("failed", "window_closed", "opted_out")
#: Rows a worker may still send to.
OPEN = ("pending", "waiting")
#: How far a row has gone: a status from a webhook only moves a row forward.
RANK = {"pending": 0, "waiting": 0, "sending": 1, "unconfirmed": 1, "sent": 2, "delivered": 3, "read": 4}
#: A send that may have gone and whose message id is not known: only its callback data can name it.
IN_DOUBT = ("sending", "unconfirmed")
#: What a person's retry sends again: not those who have it, opted out or never consented.
REOPENED_BY_RETRY = ("failed", "window_closed", "sending", "unconfirmed")
#: The prefix of ``biz_opaque_callback_data``: the row a status is about, even
#: when the send's answer (its message id) was lost.
CALLBACK_PREFIX = "socialpub:recipient:"


def prepare(publication_id: int, channel_id: int, audience: str | None) -> int:
    """The publication's rows, made once (a retry or a second worker finds them
    made): one per contact of ``audience``; those without consent "skipped"
    with the reason. Returns how many rows it has."""
    if Recipient.select().where(Recipient.publication == publication_id).exists():
        return Recipient.select().where(Recipient.publication == publication_id).count()
    now = utcnow()
    rows = [{"publication": publication_id, "contact": contact.id, "phone": contact.phone,
             "user_id": contact.user_id,
             "status": "skipped" if reason else "pending", "error": reason, "updated_at": now}
            for contact, reason in contacts.consenting(channel_id, audience)]
    with write_transaction():
        for start in range(0, len(rows), 500):
            Recipient.insert_many(rows[start:start + 500]).on_conflict_ignore().execute()
    return len(rows)


def due(publication_id: int, now: dt.datetime, limit: int = 100) -> list:
    """Rows to send now, with their contacts: pending, or waiting past ``not_before``."""
    return list(Recipient.select(Recipient, Contact).join(Contact, on=(Contact.id == Recipient.contact))
                .where((Recipient.publication == publication_id)
                       & ((Recipient.status == "pending")
                          | ((Recipient.status == "waiting") & (Recipient.not_before <= now))))
                .order_by(Recipient.id).limit(limit))


def mark_sending(row_id: int, attempt: int, kind: str) -> bool:
    """Take a row for one send; False when it is not open any more."""
    now = utcnow()
    return bool(Recipient.update(status="sending", attempt=attempt, kind=kind, sending_at=now, updated_at=now,
                                 not_before=None)
                .where((Recipient.id == row_id) & Recipient.status.in_(OPEN)).execute())


def record_sent(row_id: int, message_id: str):
    """Meta accepted the row's message (a webhook may have said more already)."""
    now = utcnow()
    taken_now = Recipient.status.in_(("sending", "unconfirmed"))
    Recipient.update(message_id=message_id, sent_at=fn.COALESCE(Recipient.sent_at, now), updated_at=now,
                     status=Case(None, [(taken_now, "sent")], Recipient.status),
                     # A hold's reason (a limit waited out) is no error of a message that went; what a
                     # webhook said already (a failure) stays.
                     error=Case(None, [(taken_now, None)], Recipient.error)).where(Recipient.id == row_id).execute()


def record_refused(row_id: int, status: str, code: str | None, error: str):
    """Meta refused the row's message: ``status`` is failed, window_closed or opted_out."""
    now = utcnow()
    Recipient.update(status=status, error_code=code, error=error[:1000], failed_at=now, updated_at=now
                     ).where((Recipient.id == row_id) & (Recipient.status == "sending")).execute()


def hold(row_id: int, until: dt.datetime, reason: str, was: tuple = OPEN):
    """Hold a row back until ``until`` (a limit), from ``was``."""
    Recipient.update(status="waiting", not_before=until, error=reason[:1000], updated_at=utcnow()
                     ).where((Recipient.id == row_id) & Recipient.status.in_(was)).execute()


def hold_open(publication_id: int, until: dt.datetime, reason: str) -> int:
    """Hold every open row of the publication until ``until`` at least (the
    sending number was stopped); a row already held longer keeps its time."""
    return (Recipient.update(status="waiting", not_before=until, error=reason[:1000], updated_at=utcnow())
            .where((Recipient.publication == publication_id) & Recipient.status.in_(OPEN)
                   & (Recipient.not_before.is_null() | (Recipient.not_before < until))).execute())


def reopen(row_id: int):
    """A send that surely did not arrive (refused before reaching Meta's
    queue): the row may be sent again."""
    Recipient.update(status="pending", updated_at=utcnow()).where(
        (Recipient.id == row_id) & (Recipient.status == "sending")).execute()


def settle_open(publication_id: int, status: str, code: str | None, error: str) -> int:
    """End every open row the same way, without sending (the template itself was refused)."""
    now = utcnow()
    return Recipient.update(status=status, error_code=code, error=error[:1000], failed_at=now, updated_at=now
                            ).where((Recipient.publication == publication_id)
                                    & Recipient.status.in_(OPEN)).execute()


def skip(row_id: int, reason: str, status: str = "skipped"):
    """End an open row without sending: ``status`` skipped (no consent, a rule) or window_closed."""
    Recipient.update(status=status, error=reason[:1000], updated_at=utcnow()).where(
        (Recipient.id == row_id) & Recipient.status.in_(OPEN)).execute()


def give_up_doubt(publication_id: int) -> int:
    """The rows still in doubt when the wait for Meta's statuses ran out."""
    return (Recipient.update(status="unconfirmed", updated_at=utcnow(),
                             error="no status from Meta's webhook within the wait: it may have arrived")
            .where((Recipient.publication == publication_id) & (Recipient.status == "sending")).execute())


def reopen_for_retry(publication_ids: list) -> int:
    """A person's retry: the rows that did not get the message may be sent again."""
    return (Recipient.update(status="pending", not_before=None, error=None, error_code=None, updated_at=utcnow())
            .where(Recipient.publication.in_(publication_ids) & Recipient.status.in_(REOPENED_BY_RETRY))
            .execute())


def counts(publication_id: int) -> dict:
    return dict(Recipient.select(Recipient.status, fn.COUNT(Recipient.id))
                .where(Recipient.publication == publication_id).group_by(Recipient.status).tuples())


def oldest_in_doubt(publication_id: int) -> dt.datetime | None:
    return (Recipient.select(fn.MIN(Recipient.sending_at))
            .where((Recipient.publication == publication_id) & (Recipient.status == "sending")).scalar())


def earliest_wait(publication_id: int) -> dt.datetime | None:
    return (Recipient.select(fn.MIN(Recipient.not_before))
            .where((Recipient.publication == publication_id) & (Recipient.status == "waiting")).scalar())


def outcome(tally: dict) -> tuple:
    """``(publication status, summary)`` of settled rows; None while some are open or in doubt."""
    if any(tally.get(s) for s in (*OPEN, "sending")):
        return None
    accepted = sum(tally.get(s, 0) for s in ACCEPTED)
    refused = sum(tally.get(s, 0) for s in REFUSED)
    unconfirmed, skipped = tally.get("unconfirmed", 0), tally.get("skipped", 0)
    summary = summarise(tally)
    if unconfirmed:
        return "unconfirmed", summary
    if accepted and not refused:
        return "published", summary
    if accepted:
        return "partly_failed", summary
    if not refused and skipped:
        return "failed", f"nobody to send it to: {summary}"
    return "failed", summary


def summarise(tally: dict) -> str:
    """The counts in words: "198 sent (120 delivered, 40 read), 2 failed, 3 skipped"."""
    accepted = sum(tally.get(s, 0) for s in ACCEPTED)
    parts = []
    if accepted:
        more = [f"{tally[s]} {s}" for s in ("delivered", "read") if tally.get(s)]
        parts.append(f"{accepted} sent" + (f" ({', '.join(more)} so far)" if more else ""))
    words = {"failed": "failed", "window_closed": "outside the 24-hour window (need a template)",
             "opted_out": "opted out", "skipped": "skipped (no consent)", "unconfirmed": "unconfirmed",
             "sending": "awaiting Meta's status", "waiting": "waiting for a limit", "pending": "not sent yet"}
    parts += [f"{tally[s]} {w}" for s, w in words.items() if tally.get(s)]
    return ", ".join(parts) or "no recipients"


def _row_of(phone_number_id: str, wamid: str, status: dict) -> Recipient | None:
    """The row a status is about: sent from this number (``phone_number_id``,
    the channel's account) and holding its message id; else, by the callback
    data, a row whose send is in doubt with no message id yet, to the person
    the status names. The callback alone never settles a row with another
    message id: a row id may name another send than the one Meta speaks of."""
    if not phone_number_id:
        return None
    ours = (Recipient.select().join(Publication).join(Channel, on=(Channel.id == Publication.channel))
            .where((Channel.network == "whatsapp") & (Channel.account_id == phone_number_id)))
    if wamid:
        row = ours.where(Recipient.message_id == wamid).first()
        if row is not None:
            return row
    callback = str(status.get("biz_opaque_callback_data") or "")
    row_id = callback[len(CALLBACK_PREFIX):] if callback.startswith(CALLBACK_PREFIX) else ""
    if not row_id.isdigit() or int(row_id) > MAX_ID:
        return None
    in_doubt = Recipient.message_id.is_null() & Recipient.status.in_(IN_DOUBT)
    if wamid:
        # Another status of the same message may have given the row this id since the lookup above.
        in_doubt |= Recipient.message_id == wamid
    row = ours.where((Recipient.id == int(row_id)) & in_doubt).first()
    if row is None:
        return None
    number, user_id = str(status.get("recipient_id") or ""), str(status.get("recipient_user_id") or "")
    if (number and row.phone and number.lstrip("+") != row.phone.lstrip("+")) or (
            user_id and row.user_id and user_id != row.user_id):
        return None  # the status is about someone else
    return row


def apply_status(phone_number_id: str, status: dict) -> int | None:
    """One status of Meta's webhook applied to its row (:func:`_row_of`).
    Returns the row's publication id, None for a message that is not ours
    (logged by the caller)."""
    wamid, state = str(status.get("id") or ""), str(status.get("status") or "")
    row = _row_of(phone_number_id, wamid, status)
    if row is None:
        return None
    if row.contact_id and status.get("recipient_user_id"):
        _learn_user_id(row.contact_id, str(status["recipient_user_id"]))
    at = _status_time(status)
    now = utcnow()
    changes = {"updated_at": now}
    # Written only where the row still has no message id or this one: a send's answer recorded meanwhile wins.
    same_message = Recipient.message_id.is_null()
    if wamid:
        changes["message_id"] = fn.COALESCE(Recipient.message_id, wamid)
        same_message |= (Recipient.message_id == wamid)
    if state in ("sent", "delivered", "read"):
        lower = [s for s, rank in RANK.items() if rank < RANK[state]]
        changes["status"] = Case(None, [(Recipient.status.in_(lower), state)], Recipient.status)
        changes["sent_at"] = fn.COALESCE(Recipient.sent_at, at)
        if state in ("delivered", "read"):
            changes["delivered_at"] = fn.COALESCE(Recipient.delivered_at, at)
        if state == "read":
            changes["read_at"] = fn.COALESCE(Recipient.read_at, at)
        Recipient.update(**changes).where((Recipient.id == row.id) & same_message).execute()
    elif state == "failed":
        error = (status.get("errors") or [{}])[0] if isinstance(status.get("errors"), list) else {}
        code = str(error.get("code") or "") or None
        ended = {"131047": "window_closed", "131050": "opted_out"}.get(code, "failed")
        words = str(error.get("message") or error.get("title") or "failed")
        details = (error.get("error_data") or {}).get("details") if isinstance(error.get("error_data"), dict) else None
        if details and details not in words:
            words = f"{words}: {details}"
        failed = Recipient.update(status=ended, error_code=code, error=words[:1000], failed_at=fn.COALESCE(
            Recipient.failed_at, at), **changes).where(
            (Recipient.id == row.id) & same_message
            & Recipient.status.in_(("sending", "unconfirmed", "sent"))).execute()
        if not failed:
            return row.publication_id
        if row.contact_id and ended == "opted_out":
            contact = Contact.get_or_none(Contact.id == row.contact_id)
            if contact:
                contacts.opt_out(contact.channel_id, contact.id, f"Meta: {words}")
        elif row.contact_id and ended == "window_closed":
            Contact.update(window_closed_at=at).where(Contact.id == row.contact_id).execute()
    return row.publication_id


def _status_time(status: dict) -> dt.datetime:
    """When Meta says the status happened (its ``timestamp``), else now."""
    try:
        return dt.datetime.fromtimestamp(int(status.get("timestamp")), dt.timezone.utc).replace(tzinfo=None)
    except (TypeError, ValueError, OverflowError):
        return utcnow()


def apply_statuses(statuses: list) -> tuple:
    """Many statuses of Meta's webhooks, ``[(phone_number_id, status)]`` in the
    order they came, applied as :func:`apply_status` applies each in turn, in
    the caller's transaction: the accepted ones (sent, delivered, read) of
    messages found by their id are folded per row — its furthest status, the
    first time of each — and written in one statement; a failure, or a status
    found only by its callback data, goes through :func:`apply_status` in its
    place in the order. Returns ``(publication ids touched, statuses that are
    not ours)``."""
    touched, unknown, folded = set(), [], {}
    rows = _rows_by_message({(n, str(s.get("id") or "")) for n, s in statuses
                             if n and s.get("id") and s.get("status") in ACCEPTED})
    learnt = set()
    for phone_number_id, status in statuses:
        found = rows.get((phone_number_id, str(status.get("id") or "")))
        if found is None or status.get("status") not in ACCEPTED:
            _advance(folded)  # what came before it first: the order stays Meta's
            folded = {}
            publication_id = apply_status(phone_number_id, status)
            if publication_id is None:
                unknown.append(status)
            else:
                touched.add(publication_id)
            continue
        row_id, wamid, publication_id, contact_id = found
        touched.add(publication_id)
        user_id = str(status.get("recipient_user_id") or "")
        if contact_id and user_id and (contact_id, user_id) not in learnt:
            learnt.add((contact_id, user_id))
            _learn_user_id(contact_id, user_id)
        state, at = status["status"], _status_time(status)
        fold = folded.setdefault(row_id, {"id": row_id, "message_id": wamid, "state": state, "sent_at": at,
                                          "delivered_at": None, "read_at": None})
        if RANK[state] > RANK[fold["state"]]:
            fold["state"] = state
        if state in ("delivered", "read") and fold["delivered_at"] is None:
            fold["delivered_at"] = at
        if state == "read" and fold["read_at"] is None:
            fold["read_at"] = at
    _advance(folded)
    return touched, unknown


def _rows_by_message(pairs: set) -> dict:
    """``{(phone_number_id, message id): (row id, message id, publication id, contact id)}``
    of the rows sent from those numbers with those message ids, in one query
    (the lowest row id where two share one, as :func:`_row_of`'s lookup)."""
    if not pairs:
        return {}
    numbers, wamids = {n for n, _ in pairs}, {m for _, m in pairs}
    query = (Recipient.select(Channel.account_id, Recipient.message_id, Recipient.id, Recipient.publication,
                              Recipient.contact)
             .join(Publication).join(Channel, on=(Channel.id == Publication.channel))
             .where((Channel.network == "whatsapp") & Channel.account_id.in_(sorted(numbers))
                    & Recipient.message_id.in_(sorted(wamids)))
             .order_by(Recipient.id.desc()))
    return {(number, wamid): (row_id, wamid, publication_id, contact_id)
            for number, wamid, row_id, publication_id, contact_id in query.tuples()}


#: How far each status has gone, in SQL: a row only moves to a status of a higher rank.
_RANK_SQL = "CASE {column} " + " ".join(f"WHEN '{s}' THEN {r}" for s, r in RANK.items()) + " ELSE 99 END"

#: PostgreSQL: every folded row written by one UPDATE from arrays. The rows are
#: locked first in id order, so that two batches touching the same rows wait for
#: each other instead of deadlocking. A row with nothing new is not written.
_ADVANCE_PG = (
    "SELECT 1 FROM recipient WHERE id = ANY(%(ids)s) ORDER BY id FOR UPDATE",
    "UPDATE recipient AS r SET "
    f"status = CASE WHEN {_RANK_SQL.format(column='r.status')} < v.rank THEN v.state ELSE r.status END, "
    "sent_at = COALESCE(r.sent_at, v.sent_at), delivered_at = COALESCE(r.delivered_at, v.delivered_at), "
    "read_at = COALESCE(r.read_at, v.read_at), updated_at = %(now)s "
    "FROM unnest(%(ids)s::bigint[], %(wamids)s::text[], %(states)s::text[], %(ranks)s::int[], "
    "%(sent)s::timestamp[], %(delivered)s::timestamp[], %(read)s::timestamp[]) "
    "AS v(id, message_id, state, rank, sent_at, delivered_at, read_at) "
    "WHERE r.id = v.id AND r.message_id = v.message_id "
    f"AND ({_RANK_SQL.format(column='r.status')} < v.rank OR r.sent_at IS NULL "
    "OR (r.delivered_at IS NULL AND v.delivered_at IS NOT NULL) OR (r.read_at IS NULL AND v.read_at IS NOT NULL))",
)


def _advance(folded: dict):
    """Write the folded statuses (:func:`apply_statuses`): forward only, the
    first time of each kept; on SQLite one UPDATE per row (no round trips there)."""
    if not folded:
        return
    rows = [folded[row_id] for row_id in sorted(folded)]
    now = utcnow()
    if supports_row_locks():
        values = {"ids": [r["id"] for r in rows], "wamids": [r["message_id"] for r in rows],
                  "states": [r["state"] for r in rows], "ranks": [RANK[r["state"]] for r in rows],
                  "sent": [r["sent_at"] for r in rows], "delivered": [r["delivered_at"] for r in rows],
                  "read": [r["read_at"] for r in rows], "now": now}
        for sql in _ADVANCE_PG:
            database.execute_sql(sql, values)
        return
    for r in rows:
        lower = [s for s, rank in RANK.items() if rank < RANK[r["state"]]]
        changes = {"updated_at": now, "status": Case(None, [(Recipient.status.in_(lower), r["state"])],
                                                     Recipient.status),
                   "sent_at": fn.COALESCE(Recipient.sent_at, r["sent_at"])}
        if r["delivered_at"]:
            changes["delivered_at"] = fn.COALESCE(Recipient.delivered_at, r["delivered_at"])
        if r["read_at"]:
            changes["read_at"] = fn.COALESCE(Recipient.read_at, r["read_at"])
        Recipient.update(**changes).where((Recipient.id == r["id"]) & (Recipient.message_id == r["message_id"])
                                          ).execute()


def _learn_user_id(contact_id: int, user_id: str):
    """The contact's BSUID, from a status about a message sent to its number —
    unless it has one, or another contact of the channel does (both stay as they are)."""
    if not contacts.BSUID.fullmatch(user_id):
        return
    channel_id = Contact.select(Contact.channel).where(Contact.id == contact_id).scalar()
    if Contact.select().where((Contact.channel == channel_id) & (Contact.user_id == user_id)).exists():
        return
    Contact.update(user_id=user_id).where((Contact.id == contact_id) & Contact.user_id.is_null()).execute()


#: Past this many, a publication's message ids stay in its recipients alone.
MAX_JOINED_IDS = 100


def message_ids(publication_id: int) -> str | None:
    """The accepted messages' ids, comma-joined (Publication.external_id), or
    None past MAX_JOINED_IDS: the recipients table holds them all."""
    ids = [m for (m,) in Recipient.select(Recipient.message_id).where(
        (Recipient.publication == publication_id) & Recipient.status.in_(ACCEPTED)
        & Recipient.message_id.is_null(False)).order_by(Recipient.id).limit(MAX_JOINED_IDS + 1).tuples()]
    return ",".join(ids) if 0 < len(ids) <= MAX_JOINED_IDS else None


def rows(publication_id: int, limit: int = 1000) -> list:
    return list(Recipient.select().where(Recipient.publication == publication_id).order_by(Recipient.id).limit(limit))
