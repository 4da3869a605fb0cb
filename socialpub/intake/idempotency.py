"""The same request twice gets the first answer, not a second post.

A client sends ``Idempotency-Key: <unique value>`` with ``POST /api/posts``,
``…/publish`` or ``…/retry`` (the compose form carries a one-time key of its
own). The first request with a key is carried out and its answer stored; the
same key with the same request again gets that answer back, marked
``Idempotent-Replayed: true``; the same key with another request is refused
(422). A request still running when its twin arrives is waited for briefly,
then answered 409. An answer of 5xx is not kept — such a request writes
nothing — so trying again with the same key carries it out. Keys are kept for
``KEEP``; the reconciler's sweep forgets older ones.

A request holds its key under a random owner token for ``LEASE``. A web worker
that dies mid-request (killed at its timeout, out of memory) leaves its key
unanswered; past the lease, a retry takes it over with one conditional UPDATE
on the old owner (so of two retries, one does) and then either carries the
request out (nothing was committed) or answers from what was: every change a
request makes writes an audit line, and with it — in the change's own
transaction (audit.watch) — the key records the post it changed, on condition
that the request still owns the key. A request that outlived its lease thus
commits nothing more once a retry took over, and a retry never does twice what
was committed.

The semantics follow the IETF HTTPAPI draft "The Idempotency-Key HTTP Header
Field".
"""
from __future__ import annotations

import datetime as dt
import hashlib
import math
import secrets
import time
from dataclasses import dataclass

from peewee import IntegrityError, fn

from .. import acting, audit
from ..db import write_transaction
from ..errors import Conflict, InvalidInput, Unprocessable
from ..models import IdempotencyKey, utcnow

HEADER = "Idempotency-Key"
MAX_KEY = 255
#: How long a key is remembered.
KEEP = dt.timedelta(hours=24)
#: How long a twin request waits for the first one to finish before a 409.
WAIT_S = 5.0
_POLL_S = 0.025
#: How long a running request holds its key. The requests that take keys are answered
#: in about a second (create and publish); gunicorn's worker timeout (30 s) ends one
#: that hangs. Twice that: a retry takes over only from a request that is gone.
LEASE = dt.timedelta(seconds=60)


@dataclass(frozen=True)
class Answer:
    status: int
    body: str
    location: str | None = None


@dataclass(frozen=True)
class Made:
    """A request whose process died after changing ``post_id``, before its answer was kept:
    the retry that took its key over answers from the post (and keeps that answer)."""

    post_id: int


class StillRunning(Conflict):
    """The first request with the key holds it still (409); ``retry_after`` seconds at most until its lease ends."""

    def __init__(self, message, retry_after: int):
        super().__init__(message, field=HEADER)
        self.retry_after = retry_after


class LeaseLost(Conflict):
    """This request ran past its lease and a retry took its key over: what it was changing is
    undone, as the retry carries the request out or answers from what was committed (409)."""


def fingerprint(*parts: bytes | str) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part if isinstance(part, bytes) else part.encode())
        digest.update(b"\0")
    return digest.hexdigest()


def check_key(key: str) -> str:
    """The header's value, if it is one line of visible ASCII up to MAX_KEY characters."""
    if not key or len(key) > MAX_KEY or not (key.isascii() and key.isprintable()):
        raise InvalidInput(f"{HEADER}: 1 to {MAX_KEY} visible ASCII characters", field=HEADER)
    return key


def begin(user_id: int, key: str, request_fingerprint: str) -> Answer | Made | None:
    """Take ``key`` for this request (None: carry it out, then :func:`finish`),
    or return the answer the first request with it got — or, when that request
    died after changing a post, :class:`Made` (answer from it, then :func:`finish`).

    Raises:
      Unprocessable: the key was used for another request.
      StillRunning: the first request with the key is still running (within its lease).
    """
    owner = secrets.token_hex(16)
    try:
        with write_transaction():
            IdempotencyKey.insert(user=user_id, key=key, fingerprint=request_fingerprint, created_at=utcnow(),
                                  owner=owner, lease_until=utcnow() + LEASE).execute()
        _hold(user_id, key, owner)
        return None
    except IntegrityError:
        pass
    deadline = time.monotonic() + WAIT_S
    while True:
        row = IdempotencyKey.get_or_none((IdempotencyKey.user == user_id) & (IdempotencyKey.key == key))
        if row is None:  # the first request failed and gave the key back: this one goes ahead
            return begin(user_id, key, request_fingerprint)
        if row.fingerprint != request_fingerprint:
            raise Unprocessable(f"{HEADER}: already used for another request; use a new key for a new "
                                f"request", field=HEADER)
        if row.status is not None:
            return Answer(row.status, row.body or "", row.location)
        now = utcnow()
        if row.lease_until is None or row.lease_until <= now:
            if _take_over(row, owner, now):
                _hold(user_id, key, owner)
                # Read after the takeover committed: a change the old holder committed before it is seen.
                made = IdempotencyKey.get_by_id(row.id).changed_post
                return None if made is None else Made(made)
            continue  # another retry took it first, or the holder finished: look again
        if time.monotonic() > deadline:
            left = max(1, math.ceil((row.lease_until - now).total_seconds()))
            raise StillRunning(f"{HEADER}: the first request with this key is still being carried out; ask "
                               f"again in a moment (if it stopped, in {left} s its key is taken over)", left)
        time.sleep(_POLL_S)


def _take_over(row: IdempotencyKey, owner: str, now: dt.datetime) -> bool:
    """Take the key from a holder whose lease ran out: one conditional UPDATE on that holder,
    so of several retries exactly one takes it."""
    held_by = IdempotencyKey.owner == row.owner if row.owner is not None else IdempotencyKey.owner.is_null()
    with write_transaction():
        return bool(IdempotencyKey.update(owner=owner, lease_until=now + LEASE)
                    .where((IdempotencyKey.id == row.id) & IdempotencyKey.status.is_null() & held_by).execute())


def _hold(user_id: int, key: str, owner: str) -> None:
    """This request holds the key: its changes record themselves on it (see the module's doc)."""
    acting.idempotency_owner.set(owner)

    def changed(subject, subject_id):
        post = subject_id if subject == audit.POST else None
        still_ours = (IdempotencyKey.update(changed_post=fn.COALESCE(IdempotencyKey.changed_post, post))
                      .where(_ours(user_id, key)).execute())
        if not still_ours:
            raise LeaseLost(f"{HEADER}: this request took longer than its lease ({LEASE.seconds} s) and a "
                            f"retry took its key over; this one changed nothing", field=HEADER)

    audit.watch(changed)


def _ours(user_id: int, key: str):
    """The key, while this request holds it."""
    return ((IdempotencyKey.user == user_id) & (IdempotencyKey.key == key) & IdempotencyKey.status.is_null()
            & (IdempotencyKey.owner == acting.idempotency_owner.get()))


def finish(user_id: int, key: str, answer: Answer) -> None:
    """Keep the answer of a request that was carried out (an error of ours,
    5xx, gives the key back instead: nothing was done) — if it still holds the key."""
    if answer.status >= 500:
        return release(user_id, key)
    with write_transaction():
        (IdempotencyKey.update(status=answer.status, body=answer.body, location=answer.location)
         .where(_ours(user_id, key)).execute())


def release(user_id: int, key: str) -> None:
    """Give the key back: the request did nothing, and may be sent again with it."""
    with write_transaction():
        IdempotencyKey.delete().where(_ours(user_id, key)).execute()


def forget_expired(now: dt.datetime | None = None) -> int:
    """Forget keys older than KEEP; return how many."""
    cutoff = (now or utcnow()) - KEEP
    return IdempotencyKey.delete().where(IdempotencyKey.created_at < cutoff).execute()
