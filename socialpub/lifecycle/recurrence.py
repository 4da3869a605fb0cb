"""Recurring posts: "every Monday 09:00", "every 14 days" — each occurrence a
post of its own, with its own publications and outcomes.

A post scheduled with a ``recurrence`` (intake/schedule_time.parse_recurrence)
is the first of its series. Once an occurrence has gone out — launched at its
time, missed, or published by hand — the scheduler's minute (:func:`extend`)
makes the next one: a copy of it (text, photos, channels, each channel's
version, first comments), scheduled at the next time of the rule's grid from
that occurrence's own time, in its zone — so the series never drifts, keeps
its wall-clock time across summer time, and skips the times a scheduler down
for days missed rather than sending them all at once (the channels' spacing
paces what is left). The old occurrence's ``next_in_series`` is set in the
same transaction, by a conditional UPDATE: two schedulers make it once (0:
the series ended there).

- Edit the next occurrence to change every one after it (each is copied from
  the one before); cancel or delete it, or set ``recurrence`` to null, to stop;
  :func:`skip` moves it to the time after, keeping the series.
- An occurrence that cannot be made — a channel disabled since, a rule whose
  ``until`` has passed — ends the series, with a line in the audit trail.
"""
from __future__ import annotations

import datetime as dt
import logging

from .. import audit
from ..db import write_transaction
from ..errors import AppError, Conflict, InvalidInput
from ..intake.composing import get_post
from ..intake.schedule_time import next_occurrence, zone_of
from ..models import Post, iso, utcnow
from ..statuses import PostStatus
from . import creating, editing, scheduling

logger = logging.getLogger(__name__)

#: Occurrences made per minute at most; the next minute makes the rest.
BATCH = 100
#: What a post may be once it has gone out (its next occurrence is then due).
GONE = (PostStatus.PUBLISHING, PostStatus.PUBLISHED, PostStatus.PARTIAL, PostStatus.FAILED)


def extend(now=None) -> int:
    """Make the next occurrence of every recurring post that went out without one; how many."""
    now = now or utcnow()
    due = list(Post.select(Post.id).where(Post.recurrence.is_null(False) & Post.next_in_series.is_null()
                                          & Post.status.in_(list(GONE))).order_by(Post.id).limit(BATCH))
    return sum(1 for post in due if _next(post.id, now))


def _next(post_id: int, now) -> bool:
    post = get_post(post_id)
    at = next_occurrence(post.recurrence, post.scheduled_at or post.publish_requested_at or now,
                         post.schedule_zone or "UTC", max(now, post.scheduled_at or now))
    if at is None:
        return _end(post, "its rule's last day has passed")
    request = editing.as_request(post)
    request.update(_when(at, post), recurrence=post.recurrence)
    try:
        with write_transaction():
            # Ours to make only if no other scheduler made it first (the row stays locked till the commit).
            if not (Post.update(next_in_series=0).where((Post.id == post.id) & Post.next_in_series.is_null())
                    .execute()):
                return False
            # Not launched here even if due soon: the sweep launches it once this commits.
            made = creating.create_post(request, launch=False)
            Post.update(series_of=post.series_of or post.id).where(Post.id == made.id).execute()
            Post.update(next_in_series=made.id).where(Post.id == post.id).execute()
            audit.record(audit.POST, made.id, "made as the next occurrence", actor=None, after=post.id,
                         scheduled_at=iso(at))
    except AppError as exc:
        return _end(post, exc.message)
    logger.info("Post %d repeats as post %d at %s UTC.", post.id, made.id, at)
    return True


def _when(at: dt.datetime, post: Post) -> dict:
    """``scheduled_at`` and ``timezone`` for ``at`` (UTC) in the post's zone: a named zone's wall-clock
    time with the name beside it, else the instant with its offset."""
    label = post.schedule_zone or "UTC"
    local = at.replace(tzinfo=dt.timezone.utc).astimezone(zone_of(label))
    if label[0] in "+-":
        return {"scheduled_at": local.isoformat(), "timezone": None}
    return {"scheduled_at": local.replace(tzinfo=None).isoformat(), "timezone": label}


def _end(post: Post, why: str) -> bool:
    """The series ends at ``post``: no next occurrence, saying why."""
    with write_transaction():
        if Post.update(next_in_series=0).where((Post.id == post.id) & Post.next_in_series.is_null()).execute():
            audit.record(audit.POST, post.id, "series ended", actor=None, reason=why)
    logger.warning("Post %d: its series ends: %s", post.id, why)
    return False


def skip(post_id: int) -> Post:
    """Move a scheduled occurrence to the time after on its grid, keeping the series.

    Raises:
      Conflict: it is not a scheduled occurrence of a recurring post.
    """
    post = get_post(post_id)
    if not post.recurrence or post.status not in (PostStatus.SCHEDULED, PostStatus.PUBLISHING):
        raise Conflict(f"post {post.id} is not a scheduled occurrence of a recurring post: nothing to skip")
    at = next_occurrence(post.recurrence, post.scheduled_at, post.schedule_zone or "UTC", post.scheduled_at)
    if at is None:
        raise InvalidInput(f"post {post.id} is its series' last occurrence: cancel it instead", field="recurrence")
    when = _when(at, post)
    moved = scheduling.schedule(post.id, when["scheduled_at"], when["timezone"])
    with write_transaction():
        audit.record(audit.POST, post.id, "occurrence skipped", skipped=iso(post.scheduled_at), now=iso(at))
    return moved
