"""The audit trail: who created, edited, scheduled, published, retried,
cancelled and deleted which post, who changed which channel or user, and when.

A line is written by the code that makes the change, in the same transaction
as the change, so the trail never shows what did not happen (nor misses what
did). The actor is the signed-in user or the API token's user of the request
being served; outside a request (the workers, the scheduler) it is socialpub
itself, shown as "socialpub".
"""
from __future__ import annotations

from peewee import JOIN

from . import acting
from .db import Prepared, Slot
from .models import Event, User, utcnow

POST, CHANNEL, USER, INVITATION, WEBHOOK = "post", "channel", "user", "invitation", "webhook"
#: Lines a trail shows, newest last; older ones stay in the table.
SHOWN = 500


def actor_id() -> int | None:
    """The user behind the request being served, or None for socialpub itself."""
    user = acting.user.get()
    return user.id if user is not None else None


def record(subject: str, subject_id: int, action: str, actor: int | None = -1, **detail) -> None:
    """Write one line (call it inside the change's transaction). ``actor``:
    a user id, None for socialpub, or by default the request's user."""
    _INSERT.execute(at=utcnow(), actor=actor_id() if actor == -1 else actor, subject=subject,
                    subject_id=subject_id, action=action, detail=Event.detail.db_value(detail or None))
    watcher = acting.audit_watcher.get()
    if watcher is not None:
        watcher(subject, subject_id)


def watch(callback) -> None:
    """For the rest of the request being served, ``callback(subject, subject_id)``
    runs after each line is written — inside the change's own transaction, so what
    it writes commits with the change or not at all, and an error it raises undoes
    the change (intake/idempotency.py: a request holding a key records there what it
    changed, and one that lost its key changes nothing)."""
    acting.audit_watcher.set(callback)


#: Compiled once: every change writes a line, the publish call among them.
_INSERT = Prepared(lambda: Event.insert({f: Slot(f.name) for f in (
    Event.at, Event.actor, Event.subject, Event.subject_id, Event.action, Event.detail)}))


def _lines(where, limit: int) -> list[dict]:
    """Lines matching ``where``, newest first, each ``{id, at, actor, subject,
    subject_id, action, detail}`` (``actor`` an e-mail address, or "socialpub")."""
    rows = (Event.select(Event.id, Event.at, Event.subject, Event.subject_id, Event.action, Event.detail,
                         User.email)
            .join(User, on=(User.id == Event.actor), join_type=JOIN.LEFT_OUTER)
            .where(where).order_by(Event.id.desc()).limit(limit).objects())
    return [{"id": e.id, "at": e.at, "actor": e.email or "socialpub", "subject": e.subject,
             "subject_id": e.subject_id, "action": e.action, "detail": e.detail or {}} for e in rows]


def trail(subject: str, subject_id: int) -> list[dict]:
    """The subject's lines, oldest first (the latest SHOWN)."""
    return _lines((Event.subject == subject) & (Event.subject_id == subject_id), SHOWN)[::-1]


def latest(subjects: tuple, limit: int) -> list[dict]:
    """The latest lines about any of ``subjects`` (kinds), newest first."""
    return _lines(Event.subject.in_(list(subjects)), limit)
