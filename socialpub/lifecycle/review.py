"""When a post must wait for approval, and putting it there.

An editor's post to a channel marked "needs approval" (or to any channel,
with REQUIRE_APPROVAL) does not go out when they publish or schedule it: it
waits, *awaiting approval*, with what they asked for, until an admin approves
or rejects it (approval.py). Admins' own posts, and socialpub's own steps
(the scheduler, the workers), never wait. An approval holds until the post is
edited: an editor's edit after it asks again. A post's image_url is fetched
into the media store as it starts waiting (``fetch_for_review``): the
approval is of that copy.

The checks run inside the lifecycle's own functions (creating, publishing,
scheduling, editing), so every way in — the API, the pages, the calendar,
"Add to queue", a CSV import — passes them.
"""
from __future__ import annotations

from flask import current_app, g, has_request_context

from .. import audit
from ..media import remote
from ..models import Channel, Post, Publication, iso, utcnow
from .table import POST, PostStatus, moves

PUBLISH, SCHEDULE = "publish", "schedule"


def _editor_asking() -> bool:
    """The request being served is an editor's (admins approve; socialpub itself never waits)."""
    if not has_request_context():
        return False
    user = g.get("user")
    # The role's name, not auth.roles: importing the auth package from here,
    # as the workers import the lifecycle, would make an import cycle.
    return user is not None and user.role == "editor"


def required(channel_ids, approved_at=None) -> bool:
    """Whether a post to ``channel_ids``, asked for now, must wait for approval."""
    if approved_at is not None or not _editor_asking():
        return False
    if current_app.extensions["socialpub"].require_approval:
        return True
    return Channel.select().where(Channel.id.in_(list(channel_ids)) & Channel.requires_approval).exists()


def required_for(post: Post) -> bool:
    """Whether a change to ``post`` (a new time) must wait for approval: an
    earlier approval does not cover it."""
    channels = [p.channel_id for p in Publication.select(Publication.channel).where(Publication.post == post.id)]
    return required(channels)


def submit(post: Post, asked: str, scheduled_at=None, zone=None) -> bool:
    """In the caller's transaction: the post now awaits approval of ``asked``
    (publish, or schedule at ``scheduled_at``) — a post awaiting it already
    asks again, with its new time. False if it had started publishing (another
    request moved it first)."""
    changes = {"status": POST["submit"].targets[0], "approval_asked": asked, "submitted_by": audit.actor_id(),
               "approved_at": None, "approved_by": None,
               "review_comment": None, "updated_at": utcnow()}
    if asked == SCHEDULE:
        changes.update(scheduled_at=scheduled_at, schedule_zone=zone)
    else:
        changes.update(scheduled_at=None, schedule_zone=None)
    moved = Post.update(**changes).where((Post.id == post.id) & moves(POST, "submit", Post.status)).execute()
    if moved:
        audit.record(audit.POST, post.id, "submitted for approval", asked=asked,
                     scheduled_at=iso(scheduled_at) if asked == SCHEDULE else None)
        fetch_for_review(post)
    return bool(moved)


def fetch_for_review(post: Post) -> None:
    """In the transaction that makes ``post`` await approval: its image_url is
    fetched into the media store once it commits, so that the reviewer sees —
    and approves — the bytes that will be published (media/remote.py)."""
    if post.image_url:
        remote.request_fetch(post.id)


def awaiting_status(asked: str) -> dict:
    """The columns of a post that is created or edited straight into awaiting approval."""
    return {"status": PostStatus.AWAITING, "approval_asked": asked, "submitted_by": audit.actor_id(),
            "review_comment": None}
