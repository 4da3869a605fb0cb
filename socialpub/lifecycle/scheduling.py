"""Scheduled posts: schedule, move and cancel them, and publish the due ones
through the same path as "Publish now" (the time people give is parsed in
intake/schedule_time.py).

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

from .. import audit, notices, outcomes
from ..config import LAUNCH_AHEAD_S
from ..db import write_transaction
from ..errors import BrokerUnavailable, Conflict
from ..intake.composing import check_ready, get_post
from ..intake.schedule_time import parse_schedule
from ..models import Post, Publication, iso, utcnow
from ..statuses import POST, PUBLICATION, PostStatus, moves
from ..webhooks import events
from . import publishing, review, versions
from .rollup import roll_up

logger = logging.getLogger(__name__)

#: The sweep runs every minute; it launches what falls due before the next one.
HORIZON = dt.timedelta(seconds=LAUNCH_AHEAD_S)
def schedule(post_id: int, when, zone=None, version: dt.datetime | None = None,
             version_field: str = "If-Match") -> Post:
    """Schedule a draft, or move a scheduled post to another time; where an
    editor needs approval, or the post awaits it already, it then awaits
    approval at that time (review.py). Refused (409) once the post started
    publishing; with ``version`` (versions.py), refused (Stale, naming
    ``version_field``) when the post changed since that version."""
    instant, label = parse_schedule(when, zone)
    with write_transaction():
        if version is not None:
            # First, one conditional UPDATE on the version seen: it fails if anything changed
            # the post since, and holds the row until this move commits.
            taken = (Post.update(updated_at=versions.after(version))
                     .where((Post.id == post_id) & (Post.updated_at == version)).execute())
            if not taken:
                raise versions.stale(get_post(post_id), version, version_field)
        post = get_post(post_id)
        if post.status == PostStatus.DRAFT:
            # A draft was saved whatever the networks' rules: they hold from here on.
            check_ready(post)
        waiting, channels = review.waiting_of(post)
        if post.status == PostStatus.AWAITING or (waiting and waiting == channels):
            moved = review.submit(post, review.SCHEDULE, instant, label)
        else:
            if waiting and post.status in POST["schedule"].sources:
                # Only some of its channels wait, as a post of their own (review.split); the others are scheduled.
                review.split_off(post, waiting, review.SCHEDULE, instant, label)
            moved = (Post.update(status=POST["schedule"].targets[0], scheduled_at=instant, schedule_zone=label,
                                 updated_at=utcnow())
                     .where((Post.id == post.id) & moves(POST, "schedule", Post.status))
                     .execute())
            if moved:
                audit.record(audit.POST, post.id, "scheduled", scheduled_at=iso(instant), zone=label,
                             was=iso(post.scheduled_at))
        if not moved:
            raise Conflict(f"post {post.id} is {post.status.replace('_', ' ')}: only a draft or a "
                           f"scheduled post can be scheduled", field="scheduled_at")
    return launch_if_soon(get_post(post_id))


def launch_if_soon(post: Post) -> Post:
    """A scheduled post due before the next sweep is launched now; returns the
    post as it is then. If the queue refuses, it stays scheduled: the next
    sweep launches it."""
    if post.status != POST["launch"].sources[0] or post.scheduled_at - utcnow() > HORIZON:
        return post
    try:
        launch(post.id, post.scheduled_at, max_lateness=None)
    except BrokerUnavailable as exc:
        logger.warning("Post %d is left to the next sweep: %s", post.id, exc)
    return get_post(post.id)


def cancel(post_id: int) -> Post:
    """Take a scheduled post back to draft, or withdraw a request for approval.
    Refused (409) once it started publishing."""
    with write_transaction():
        post = get_post(post_id)
        cancelled = (Post.update(status=POST["cancel"].targets[0], scheduled_at=None, schedule_zone=None,
                                 approval_asked=None, approved_at=None, approved_by=None, updated_at=utcnow())
                     .where((Post.id == post.id) & moves(POST, "cancel", Post.status)).execute())
        if cancelled:
            audit.record(audit.POST, post.id, "withdrawn from approval" if post.status == PostStatus.AWAITING
                         else "cancelled", was=iso(post.scheduled_at))
            notices.answered(post.id)
    if not cancelled:
        raise Conflict(f"post {post.id} is {post.status.replace('_', ' ')}: only a scheduled post, or one "
                       f"awaiting approval, can be cancelled")
    return get_post(post_id)


def sweep(max_lateness: dt.timedelta, now=None) -> int:
    """Launch every scheduled post due before the next sweep; return how many."""
    now = now or utcnow()
    due = list(Post.select(Post.id, Post.scheduled_at)
               .where(moves(POST, "launch", Post.status) & (Post.scheduled_at <= now + HORIZON))
               .order_by(Post.scheduled_at).tuples())
    return sum(1 for post_id, at in due if launch(post_id, at, max_lateness, now=now))


def launch(post_id: int, scheduled_at: dt.datetime, max_lateness: dt.timedelta | None,
           now=None) -> bool:
    """Claim a scheduled post and send its messages to leave at its time, or,
    if it is later than ``max_lateness`` allows (None: no limit), mark it missed. Returns
    whether this call claimed it (a second scheduler's call does not).

    Raises:
      BrokerUnavailable: the queue refused; the post is scheduled again.
    """
    now = now or utcnow()
    late = now - scheduled_at
    with write_transaction():
        claimed = (Post.update(status=POST["launch"].targets[0], publish_requested_at=now, updated_at=now)
                   .where((Post.id == post_id) & moves(POST, "launch", Post.status)
                          & (Post.scheduled_at == scheduled_at))
                   .execute())
        if not claimed:
            return False
        audit.record(audit.POST, post_id, "publishing started", actor=None, scheduled_at=iso(scheduled_at))
        if max_lateness is not None and late > max_lateness:
            _miss(post_id, late, max_lateness, now)
            return True
        pending = publishing.publications_of(post_id, PUBLICATION["launch"].sources)
        messages = publishing.mark_queued(post_id, pending, "launch")
    delay_ms = max(0, int((scheduled_at - utcnow()).total_seconds() * 1000))
    try:
        publishing.send(post_id, pending, messages, delay_ms=delay_ms)
    except BrokerUnavailable:
        # The rows were put back to pending; the post waits for the next sweep.
        (Post.update(status=POST["relaunch later"].targets[0])
         .where((Post.id == post_id) & moves(POST, "relaunch later", Post.status)).execute())
        raise
    logger.info("Post %d launched to leave in %d ms (scheduled %s UTC).", post_id, delay_ms, scheduled_at)
    return True


def _miss(post_id, late, max_lateness, now):
    reason = (f"missed its scheduled time by {_duration(late)} (the scheduler was not running); "
              f"the allowed lateness is {_duration(max_lateness)} — retry it to publish it now")
    missed = [p.id for p in Publication.select(Publication.id).where(
        (Publication.post == post_id) & moves(PUBLICATION, "miss", Publication.status))]
    (Publication.update(status=PUBLICATION["miss"].targets[0], last_error=reason, finished_at=now,
                        updated_at=now)
     .where(Publication.id.in_(missed) & moves(PUBLICATION, "miss", Publication.status)).execute())
    for publication_id in missed:
        outcomes.tell(events.PUBLICATION_FAILED, publication_id)
    roll_up(post_id)
    logger.warning("Post %d %s", post_id, reason)


def _duration(delta: dt.timedelta) -> str:
    seconds = int(delta.total_seconds())
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 7200:
        return f"{seconds // 60} min"
    return f"{seconds // 3600} h {seconds % 3600 // 60} min"

