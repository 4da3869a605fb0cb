"""The audit trail: who created, edited, scheduled, published, retried,
cancelled and deleted which post, who changed which channel or user, and when.

A line is written by the code that makes the change, in the same transaction
as the change, so the trail never shows what did not happen (nor misses what
did). The actor is the signed-in user or the API token's user of the request
being served; outside a request (the workers, the scheduler) it is socialpub
itself, shown as "socialpub".
"""
from __future__ import annotations

from dataclasses import dataclass

from peewee import JOIN

from . import acting
from .db import Prepared, Slot
from .models import ApiToken, Event, User, utcnow

POST, CHANNEL, USER, INVITATION, WEBHOOK = "post", "channel", "user", "invitation", "webhook"
SNIPPET = "snippet"
#: Lines a trail shows, newest last; older ones stay in the table.
SHOWN = 500


def actor_id() -> int | None:
    """The user behind the request being served, or None for socialpub itself."""
    user = acting.user.get()
    return user.id if user is not None else None


def record(subject: str, subject_id: int, action: str, actor: int | None = -1, **detail) -> None:
    """Write one line (call it inside the change's transaction). ``actor``:
    a user id, None for socialpub, or by default the request's user."""
    write(line(subject, subject_id, action, actor, **detail))


def write(values: dict) -> None:
    """Write the line of :func:`line`'s ``values`` (inside the change's transaction)."""
    _INSERT.execute(**values)
    recorded(values["subject"], values["subject_id"])


def line(subject: str, subject_id: int, action: str, actor: int | None = -1, **detail) -> dict:
    """The values of one line, for a statement that writes it together with the change
    (the slots of :func:`insert_line`); call :func:`recorded` once it has run."""
    return {"at": utcnow(), "actor": actor_id() if actor == -1 else actor, "subject": subject,
            "subject_id": subject_id, "action": action, "detail": Event.detail.db_value(detail or None)}


def recorded(subject: str, subject_id: int) -> None:
    """A line was written (by :func:`record`, or with the change's own statement): the watcher acts."""
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


def insert_line():
    """The INSERT of one line, its values in slots named as :func:`line`'s keys (``detail``
    already in its column's form)."""
    return Event.insert({f: Slot(f.name) for f in (
        Event.at, Event.actor, Event.subject, Event.subject_id, Event.action, Event.detail)})


#: Compiled once: every change writes a line, the publish call among them.
_INSERT = Prepared(insert_line)


# -- An actor known from a cached API token, checked in the change's own statement -------------

@dataclass(frozen=True)
class Unverified:
    """The request's user as the web process remembers its API token (web/auth/gate.py):
    the token with SHA-256 ``digest`` live, its user active and of ``role``. A change that
    takes one checks it in its first statement (:func:`role_now` beside what it reads) and
    calls :func:`check` before it writes anything."""

    digest: str
    role: str


class ActorChanged(Exception):
    """The API token the request came with was revoked, or its user disabled, deleted or given
    another role, since the web process remembered it: nothing was written; the request is
    to be let in (or not) again from the database."""


def role_now(digest):
    """A scalar subquery: the role of the active user whose live token has ``digest`` (a Slot),
    or NULL."""
    return (User.select(User.role).join(ApiToken, on=(ApiToken.user == User.id))
            .where((ApiToken.digest == digest) & ApiToken.revoked_at.is_null()
                   & (User.disabled == False)))  # noqa: E712


def check(unverified: Unverified | None, role) -> None:
    """Raise ActorChanged unless the role read now (:func:`role_now`) is the one remembered."""
    if unverified is not None and role != unverified.role:
        raise ActorChanged("the API token or its user changed since it was remembered")


def verify(unverified: Unverified | None) -> None:
    """:func:`check` in a statement of its own, for a path that read nothing to carry it."""
    if unverified is not None:
        (role,), = _ROLE_NOW.execute(digest=unverified.digest).fetchall() or [(None,)]
        check(unverified, role)


_ROLE_NOW = Prepared(lambda: role_now(Slot("digest")))


def _lines(where, limit: int) -> list[dict]:
    """Lines matching ``where``, newest first, each ``{id, at, actor, subject,
    subject_id, action, detail}`` (``actor`` an e-mail address, a reviewer's name
    — someone without an account, on a review link —, or "socialpub")."""
    rows = (Event.select(Event.id, Event.at, Event.subject, Event.subject_id, Event.action, Event.detail,
                         User.email)
            .join(User, on=(User.id == Event.actor), join_type=JOIN.LEFT_OUTER)
            .where(where).order_by(Event.id.desc()).limit(limit).objects())
    return [{"id": e.id, "at": e.at, "subject": e.subject,
             "actor": e.email or (f"{e.detail['reviewer']} (reviewer)" if (e.detail or {}).get("reviewer")
                                  else "socialpub"),
             "subject_id": e.subject_id, "action": e.action, "detail": e.detail or {}} for e in rows]


def trail(subject: str, subject_id: int) -> list[dict]:
    """The subject's lines, oldest first (the latest SHOWN)."""
    return _lines((Event.subject == subject) & (Event.subject_id == subject_id), SHOWN)[::-1]


def latest(subjects: tuple, limit: int) -> list[dict]:
    """The latest lines about any of ``subjects`` (kinds), newest first."""
    return _lines(Event.subject.in_(list(subjects)), limit)
