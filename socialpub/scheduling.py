"""Scheduled posts: parse the time the user gave (an ISO 8601 instant with an
offset, or a local time and an IANA zone), store it in UTC, and publish due
posts through the same path as "Publish now".

The scheduler's sweep runs every minute (periodiq) and takes every post due
within the next ``HORIZON``: the messages go out with a delay, so the post
leaves on the second, not up to a minute late. A post scheduled closer than
that is launched the same way when it is saved. Each launch claims the post
with one conditional UPDATE, so two schedulers, a restart or an overlapping
sweep publish it once. periodiq has no catch-up: the sweep takes everything
overdue, and what is later than the allowed lateness ends expired, saying so.
"""
from __future__ import annotations

import datetime as dt
import logging
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .composing import get_post
from .config import LAUNCH_AHEAD_S
from .db import write_transaction
from .delivery import roll_up
from .errors import Conflict, InvalidInput, Unprocessable
from .models import Post, PostStatus, Publication, PubStatus, utcnow
from . import publishing

logger = logging.getLogger(__name__)

#: The sweep runs every minute; it launches what falls due before the next one.
HORIZON = dt.timedelta(seconds=LAUNCH_AHEAD_S)
#: The farthest ahead a post may be scheduled.
MAX_AHEAD = dt.timedelta(days=366)
#: Longest ``scheduled_at`` and ``timezone`` taken (an ISO 8601 time is about
#: 32 characters; the longest IANA name is 32; the column holds 64).
MAX_WHEN, MAX_ZONE = 64, 64


def parse_schedule(when, zone=None, *, now=None) -> tuple[dt.datetime, str]:
    """``(UTC naive datetime, zone label)`` from what the user sent.

    ``when`` is ISO 8601. With an offset (``2026-03-29T02:30:00+02:00``, ``…Z``)
    it is an instant and ``zone`` may name the zone to show it in; without one,
    ``zone`` (an IANA name such as ``Europe/Madrid``) is required, and a local
    time that a DST change skips or repeats is refused rather than guessed.
    """
    if not isinstance(when, str) or not when.strip():
        raise InvalidInput("scheduled_at: an ISO 8601 date and time, e.g. 2026-12-01T09:30:00+01:00",
                           field="scheduled_at")
    if len(when) > MAX_WHEN:
        raise InvalidInput(f"scheduled_at: longer than {MAX_WHEN} characters", field="scheduled_at")
    try:
        moment = dt.datetime.fromisoformat(when.strip())
    except ValueError:
        raise InvalidInput(f"scheduled_at: {when[:40]!r} is not an ISO 8601 date and time",
                           field="scheduled_at") from None
    tz = None
    if zone is not None:
        if not isinstance(zone, str) or len(zone) > MAX_ZONE:
            raise InvalidInput("timezone: an IANA time zone name such as Europe/Madrid", field="timezone")
        try:
            tz = ZoneInfo(zone)
        except (ZoneInfoNotFoundError, ValueError):
            raise InvalidInput(f"timezone: unknown time zone {zone[:40]!r} (an IANA name such as "
                               f"Europe/Madrid)", field="timezone") from None
    if moment.tzinfo is None and tz is None:
        raise InvalidInput("scheduled_at: give an offset (…+01:00 or …Z) or a timezone field; "
                           "a time without a zone is ambiguous", field="scheduled_at")
    try:
        if moment.tzinfo is None:
            moment = _localize(moment, tz, zone)
            label = zone
        else:
            label = zone or _offset_label(moment)
        instant = moment.astimezone(dt.timezone.utc).replace(tzinfo=None)
    except OverflowError:  # a time next to year 1 or 9999 that UTC takes past it
        raise Unprocessable("scheduled_at: out of range; choose a time within the next year",
                            field="scheduled_at") from None
    now = now or utcnow()
    if instant <= now:
        raise Unprocessable(f"scheduled_at: {when.strip()} is in the past; publish now instead, or "
                            f"choose a later time", field="scheduled_at")
    if instant - now > MAX_AHEAD:
        raise Unprocessable("scheduled_at: at most a year ahead", field="scheduled_at")
    return instant, label


def _localize(local: dt.datetime, tz: ZoneInfo, name: str) -> dt.datetime:
    """Attach ``tz`` to a wall-clock time, refusing times a DST change skips or repeats."""
    first, second = local.replace(tzinfo=tz, fold=0), local.replace(tzinfo=tz, fold=1)
    if first.utcoffset() != second.utcoffset():
        if _wall_clock(first, tz) != local:
            raise Unprocessable(f"scheduled_at: {local:%Y-%m-%d %H:%M} does not exist in {name} "
                                f"(the clocks skip it); choose another time", field="scheduled_at")
        raise Unprocessable(f"scheduled_at: {local:%Y-%m-%d %H:%M} happens twice in {name} (the "
                            f"clocks go back); give it with an offset", field="scheduled_at")
    return first


def _wall_clock(aware: dt.datetime, tz: ZoneInfo) -> dt.datetime:
    return aware.astimezone(dt.timezone.utc).astimezone(tz).replace(tzinfo=None)


def _offset_label(moment: dt.datetime) -> str:
    offset = moment.utcoffset() or dt.timedelta(0)
    sign, minutes = ("-" if offset < dt.timedelta(0) else "+"), abs(int(offset.total_seconds())) // 60
    return f"{sign}{minutes // 60:02d}:{minutes % 60:02d}"


def zone_of(label: str) -> dt.tzinfo:
    if label and label[0] in "+-":
        hours, minutes = int(label[1:3]), int(label[4:6])
        offset = dt.timedelta(hours=hours, minutes=minutes)
        return dt.timezone(-offset if label[0] == "-" else offset)
    return ZoneInfo(label or "UTC")


def shown(post: Post) -> str | None:
    """The scheduled instant in the zone the user gave it in (ISO 8601)."""
    if post.scheduled_at is None:
        return None
    aware = post.scheduled_at.replace(tzinfo=dt.timezone.utc)
    return aware.astimezone(zone_of(post.schedule_zone)).isoformat()


def schedule(post_id: int, when, zone=None) -> Post:
    """Schedule a draft, or move a scheduled post to another time. Refused
    (409) once the post started publishing."""
    instant, label = parse_schedule(when, zone)
    with write_transaction():
        post = get_post(post_id)
        moved = (Post.update(status=PostStatus.SCHEDULED, scheduled_at=instant, schedule_zone=label,
                             updated_at=utcnow())
                 .where((Post.id == post.id)
                        & Post.status.in_([PostStatus.DRAFT, PostStatus.SCHEDULED]))
                 .execute())
        if not moved:
            raise Conflict(f"post {post.id} is {post.status.replace('_', ' ')}: only a draft or a "
                           f"scheduled post can be scheduled", field="scheduled_at")
    if instant - utcnow() <= HORIZON:
        launch(post.id, instant, max_lateness=None)  # before the next sweep: on its way now
    return get_post(post_id)


def cancel(post_id: int) -> Post:
    """Take a scheduled post back to draft. Refused (409) once it started publishing."""
    with write_transaction():
        post = get_post(post_id)
        cancelled = (Post.update(status=PostStatus.DRAFT, scheduled_at=None, schedule_zone=None,
                                 updated_at=utcnow())
                     .where((Post.id == post.id) & (Post.status == PostStatus.SCHEDULED)).execute())
    if not cancelled:
        raise Conflict(f"post {post.id} is {post.status.replace('_', ' ')}: only a scheduled post can "
                       f"be cancelled")
    return get_post(post_id)


def sweep(max_lateness: dt.timedelta, now=None) -> int:
    """Launch every scheduled post due before the next sweep; return how many."""
    now = now or utcnow()
    due = list(Post.select(Post.id, Post.scheduled_at)
               .where((Post.status == PostStatus.SCHEDULED) & (Post.scheduled_at <= now + HORIZON))
               .order_by(Post.scheduled_at).tuples())
    return sum(1 for post_id, at in due if launch(post_id, at, max_lateness, now=now))


def launch(post_id: int, scheduled_at: dt.datetime, max_lateness: dt.timedelta | None,
           now=None) -> bool:
    """Claim a scheduled post and send its messages to leave at its time, or,
    if it is later than ``max_lateness`` allows (None: no limit), mark it missed. Returns
    whether this call claimed it (a second scheduler's call does not)."""
    now = now or utcnow()
    late = now - scheduled_at
    with write_transaction():
        claimed = (Post.update(status=PostStatus.PUBLISHING, publish_requested_at=now, updated_at=now)
                   .where((Post.id == post_id) & (Post.status == PostStatus.SCHEDULED)
                          & (Post.scheduled_at == scheduled_at))
                   .execute())
        if not claimed:
            return False
        if max_lateness is not None and late > max_lateness:
            _miss(post_id, late, max_lateness, now)
            return True
        pending = publishing.publications_of(post_id, [PubStatus.PENDING])
        messages = publishing.queue(post_id, pending, [PubStatus.PENDING])
    delay_ms = max(0, int((scheduled_at - utcnow()).total_seconds() * 1000))
    try:
        publishing.enqueue(post_id, pending, messages, delay_ms=delay_ms)
    except publishing.BrokerUnavailable:
        # The rows were put back to pending; the post waits for the next sweep.
        Post.update(status=PostStatus.SCHEDULED).where(Post.id == post_id).execute()
        raise
    logger.info("Post %d launched to leave in %d ms (scheduled %s UTC).", post_id, delay_ms, scheduled_at)
    return True


def _miss(post_id, late, max_lateness, now):
    reason = (f"missed its scheduled time by {_duration(late)} (the scheduler was not running); "
              f"the allowed lateness is {_duration(max_lateness)} — retry it to publish it now")
    (Publication.update(status=PubStatus.EXPIRED, last_error=reason, finished_at=now, updated_at=now)
     .where((Publication.post == post_id) & (Publication.status == PubStatus.PENDING)).execute())
    roll_up(post_id)
    logger.warning("Post %d %s", post_id, reason)


def _duration(delta: dt.timedelta) -> str:
    seconds = int(delta.total_seconds())
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 7200:
        return f"{seconds // 60} min"
    return f"{seconds // 3600} h {seconds % 3600 // 60} min"

