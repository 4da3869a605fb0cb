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

A launched post is not gone yet: until a worker claims one of its
publications — the moment before its network call — a cancel, an edit, a move
or a delete takes it back (:func:`recall`) and wins; the messages already in
the delay queue then find nothing to claim.
"""
from __future__ import annotations

import datetime as dt
import logging

from peewee import Case

from .. import audit, notices, outcomes
from ..config import LAUNCH_AHEAD_S
from ..db import Prepared, Slot, supports_row_locks, write_transaction
from ..errors import BrokerUnavailable, Conflict
from ..intake.composing import check_ready, get_post
from ..intake.schedule_time import parse_schedule
from ..models import Channel, Post, Publication, iso, utcnow
from ..statuses import POST, PUBLICATION, PostStatus, PublicationStatus, moves
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
        recall(post_id)
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
    A post being published is taken back first (:func:`recall`) while no
    worker holds any of its publications; refused (409), naming the channels,
    once one of them started."""
    with write_transaction():
        recalled = recall(post_id)
        post = get_post(post_id)
        # Taken back from Publish now, it is a draft already: nothing more to undo.
        cancelled = (recalled and post.status == PostStatus.DRAFT) or (
            Post.update(status=POST["cancel"].targets[0], scheduled_at=None, schedule_zone=None,
                        approval_asked=None, approved_at=None, approved_by=None, updated_at=utcnow())
            .where((Post.id == post.id) & moves(POST, "cancel", Post.status)).execute())
        if cancelled:
            audit.record(audit.POST, post.id, "withdrawn from approval" if post.status == PostStatus.AWAITING
                         else "cancelled", was=iso(post.scheduled_at))
            notices.answered(post.id)
    if not cancelled:
        raise _started_on(post.id) or Conflict(f"post {post.id} is {post.status.replace('_', ' ')}: only a "
                                               f"scheduled post, or one awaiting approval, can be cancelled")
    return get_post(post_id)


def recallable(post: Post, publications) -> bool:
    """Whether a post being published can still be taken back (:func:`recall`):
    none of its ``publications`` claimed — launched for its time, or waiting for
    its place (pacing.py) —; the post page offers Cancel and Edit while this holds."""
    return (post.status == POST["recall"].sources[0] and bool(publications)
            and all(p.status in PUBLICATION["recall"].sources and not p.attempts for p in publications))


def recall(post_id: int) -> bool:
    """Inside the caller's transaction: take back a post being published none of
    whose publications a worker holds — launched for its time, or waiting for its
    place in its channel's spacing or quotas (pacing.py) —: they are pending
    again and the post scheduled as it was, or a draft if it had no time (its
    version unchanged: the launch did not change it either), so that the cancel,
    edit, move or delete that called wins. Its messages wait in the delay queue
    and find nothing to claim. Returns whether it was taken back (False: it is not
    being published).

    The post's row is locked first and stays locked until the caller commits, so
    that a launch cannot come between this and the caller's own change (the
    launch's UPDATE waits, then finds the post no longer scheduled, or moved).
    The publications' UPDATE and the claim are both conditional on "queued": of
    the two, the first to write wins, and a recall that finds one claimed undoes
    itself by raising.

    Raises:
      Conflict: a worker claimed one of its publications — that network's call
        has started; the message names the networks.
    """
    if supports_row_locks():  # PostgreSQL (SQLite's write transactions are one at a time)
        _LOCK_POST.execute(id=post_id)
    scheduled, draft = POST["recall"].targets
    if not (Post.update(status=Case(None, [(Post.scheduled_at.is_null(), draft)], scheduled))
            .where((Post.id == post_id) & moves(POST, "recall", Post.status)).execute()):
        return False
    (Publication.update(status=PUBLICATION["recall"].targets[0], enqueued_at=None, task_id=None)
     .where((Publication.post == post_id) & moves(PUBLICATION, "recall", Publication.status)
            & (Publication.attempts == 0)).execute())
    started = _started_on(post_id)
    if started:
        raise started  # undoes this transaction: the post goes on as launched
    audit.record(audit.POST, post_id, "taken back before it went out")
    return True


def _started_on(post_id: int) -> Conflict | None:
    """The refusal of a change to a post that started going out, naming the
    channels whose publication a worker took (None: none did)."""
    started = [name for (name,) in Publication.select(Channel.name).join(Channel).where(
        (Publication.post == post_id) & (Publication.status != PublicationStatus.PENDING)).tuples()]
    if not started:
        return None
    return Conflict(f"post {post_id} has started going out — publishing started on {', '.join(started)} — so it "
                    f"can no longer be cancelled, edited or moved; delete it on a network where it should not be")


_LOCK_POST = Prepared(lambda: Post.select(Post.id).where(Post.id == Slot("id")).for_update())


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
        # The version (updated_at) stays: a launch changes nothing a person wrote, so an edit
        # made on the version seen before it still applies (taking the launch back, recall).
        claimed = (Post.update(status=POST["launch"].targets[0], publish_requested_at=now)
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
        messages = publishing.mark_queued(post_id, pending, "launch", post_moved=True)
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

