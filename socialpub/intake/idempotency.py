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

The semantics follow the IETF HTTPAPI draft "The Idempotency-Key HTTP Header
Field".
"""
from __future__ import annotations

import datetime as dt
import hashlib
import time
from dataclasses import dataclass

from peewee import IntegrityError

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


@dataclass(frozen=True)
class Answer:
    status: int
    body: str
    location: str | None = None


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


def begin(user_id: int, key: str, request_fingerprint: str) -> Answer | None:
    """Take ``key`` for this request (None: carry it out, then :func:`finish`),
    or return the answer the first request with it got.

    Raises:
      Unprocessable: the key was used for another request.
      Conflict: the first request with the key is still running.
    """
    try:
        with write_transaction():
            IdempotencyKey.insert(user=user_id, key=key, fingerprint=request_fingerprint,
                                  created_at=utcnow()).execute()
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
        if time.monotonic() > deadline:
            raise Conflict(f"{HEADER}: the first request with this key is still being carried out; "
                           f"ask again in a moment", field=HEADER)
        time.sleep(_POLL_S)


def finish(user_id: int, key: str, answer: Answer) -> None:
    """Keep the answer of a request that was carried out (an error of ours,
    5xx, gives the key back instead: nothing was done)."""
    if answer.status >= 500:
        return release(user_id, key)
    with write_transaction():
        (IdempotencyKey.update(status=answer.status, body=answer.body, location=answer.location)
         .where((IdempotencyKey.user == user_id) & (IdempotencyKey.key == key)).execute())


def release(user_id: int, key: str) -> None:
    """Give the key back: the request did nothing, and may be sent again with it."""
    with write_transaction():
        IdempotencyKey.delete().where((IdempotencyKey.user == user_id) & (IdempotencyKey.key == key)).execute()


def forget_expired(now: dt.datetime | None = None) -> int:
    """Forget keys older than KEEP; return how many."""
    cutoff = (now or utcnow()) - KEEP
    return IdempotencyKey.delete().where(IdempotencyKey.created_at < cutoff).execute()
