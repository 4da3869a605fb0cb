"""A post's version, so that a change made on what someone saw never overwrites
what someone else did meanwhile.

The version is the post's ``updated_at`` to the microsecond, which every change
of the post sets (and which the API shows): the API's ``ETag`` and ``If-Match``,
the edit form's hidden field, the calendar's move and the approval's
``seen_updated_at`` all carry it. The change's conditional UPDATE requires it
(``WHERE updated_at = <seen>``), so a change committed in between — another
person, another tab, a worker's outcome — makes the UPDATE match no row, whatever
the database's isolation level, and the request is refused saying what changed.

An existing column rather than a new counter: every change of a post sets
``updated_at`` already, so no change can forget to move the version; a counter
would have to be added to each of them.
"""
from __future__ import annotations

import datetime as dt

from .. import audit
from ..errors import InvalidInput, Stale
from ..models import Post, iso, utcnow

#: If-Match's "any version": the change applies to the post as it is.
ANY = "*"
#: The audit line of the change that made a version is written in that change's
#: transaction, a moment after its ``updated_at``: no later than this.
_SAME_CHANGE = dt.timedelta(seconds=1)


def tag(post: Post) -> str:
    """The post's version as an ETag (a quoted string)."""
    return f'"{iso(post.updated_at)}"'


def parse(raw, field: str) -> dt.datetime | None:
    """A version as a client sends it — an ETag, or ``updated_at`` as the API shows it —
    as the column holds it; None for none given or ``*``.

    Raises:
      InvalidInput: not a version (naming ``field``).
    """
    if raw is None or raw == ANY:
        return None
    text = raw.strip() if isinstance(raw, str) else ""
    if len(text) > 2 and text[0] == text[-1] == '"':
        text = text[1:-1]
    try:
        moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput(f"{field}: the post's version, as its ETag or its updated_at gives it "
                           f"(e.g. \"2026-03-01T09:30:00.123456+00:00\")", field=field) from None
    if moment.tzinfo is not None:
        moment = moment.astimezone(dt.timezone.utc).replace(tzinfo=None)
    return moment


def after(current: dt.datetime) -> dt.datetime:
    """The ``updated_at`` of the next version: now, but never the version it replaces
    (two changes in one microsecond, or a clock set back)."""
    now = utcnow()
    return now if now != current else current + dt.timedelta(microseconds=1)


def changes_since(post_id: int, seen: dt.datetime) -> list[dict]:
    """What was done to the post after version ``seen``, from its audit trail:
    ``[{at, by, action, fields}]``, oldest first."""
    lines = [line for line in audit.trail(audit.POST, post_id) if line["at"] >= seen]
    if lines and lines[0]["at"] - seen < _SAME_CHANGE:
        lines = lines[1:]  # the line of the change that made ``seen``
    return [{"at": iso(line["at"]), "by": line["actor"], "action": line["action"], "fields": _fields(line)}
            for line in lines]


def _fields(line: dict) -> list[str]:
    if line["action"] == "edited":
        return list(line["detail"].get("fields") or [])
    if line["action"] == "scheduled":
        return ["scheduled_at"]
    return ["status"]


def said(changes: list[dict]) -> str:
    """The latest of ``changes`` in words: "ana@example.com edited (text, link); …"."""
    return "; ".join(f"{c['by']} {c['action']}" + (f" ({', '.join(c['fields'])})" if c["action"] == "edited" else "")
                     for c in changes[-3:])


def stale(post: Post, seen: dt.datetime, field: str) -> Stale:
    """The refusal of a change made on version ``seen`` of ``post`` (as it is now)."""
    changes = changes_since(post.id, seen)
    words = said(changes)
    return Stale(f"{field}: post {post.id} was changed by someone else since you saw it"
                 f"{' (' + words + ')' if words else ''} — look at it as it is now, then make your change again",
                 field=field, current_version=tag(post), changes=changes)
