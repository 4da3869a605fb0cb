"""When a post must wait for approval, and putting it there.

An editor's post to channels marked "needs approval" (or to any channel,
with REQUIRE_APPROVAL) does not go out there when they publish or schedule
it: it waits, *awaiting approval*, with what they asked for, until an admin
approves or rejects it (approval.py). Only those channels wait: when some of
a post's channels need approval and others do not, the waiting ones move to
a post of their own (``split_off``: a new post, with ``split_from`` naming
the first), and the others go out as asked. A split rather than a waiting
status per publication, because approval is of a post — its version, its
image, its edit form, its one answer — and a post half published could no
longer be edited, approved or rejected as one; the split keeps every one of
those a single conditional UPDATE on one post, as before. Admins' own posts, and socialpub's own steps
(the scheduler, the workers), never wait. An approval holds until the post is
edited: an editor's edit after it asks again. A post's image_url is fetched
into the media store as it starts waiting (``waiting``, which also tells the
admins): the
approval is of that copy.

The checks run inside the lifecycle's own functions (creating, publishing,
scheduling, editing), so every way in — the API, the pages, the calendar,
"Add to queue", a CSV import — passes them.
"""
from __future__ import annotations

from .. import acting, audit, outcomes
from ..media import remote
from ..models import Channel, Post, PostMedia, Publication, iso, utcnow
from ..statuses import POST, PostStatus, PublicationStatus, moves

PUBLISH, SCHEDULE = "publish", "schedule"


def _editor_asking() -> bool:
    """The request being served is an editor's (admins approve; socialpub itself never waits)."""
    user = acting.user.get()
    # The role's name, not auth.roles: importing the auth package from here,
    # as the workers import the lifecycle, would make an import cycle.
    return user is not None and user.role == "editor"


def waiting_channels(channel_ids, approved_at=None) -> set:
    """Which of ``channel_ids``, asked for now, must wait for approval: none
    for an admin, socialpub itself or an approved post; every one with
    REQUIRE_APPROVAL; else those marked "needs approval"."""
    ids = list(channel_ids)
    if approved_at is not None or not _editor_asking() or not ids:
        return set()
    if acting.settings.get().require_approval:
        return set(ids)
    return {c.id for c in Channel.select(Channel.id).where(Channel.id.in_(ids) & Channel.requires_approval)}


def required(channel_ids, approved_at=None) -> bool:
    """Whether a post to ``channel_ids``, asked for now, must wait for approval (any of them)."""
    return bool(waiting_channels(channel_ids, approved_at))


def waiting_of(post: Post) -> tuple[set, set]:
    """For a change to ``post`` (a new time; an earlier approval does not cover
    it): the channels of its pending publications that must wait, and all of them."""
    channels = {p.channel_id for p in Publication.select(Publication.channel)
                .where((Publication.post == post.id) & (Publication.status == PublicationStatus.PENDING))}
    return waiting_channels(channels), channels


def split_off(post: Post, channel_ids, asked: str, scheduled_at=None, zone=None) -> Post:
    """In the caller's transaction: the pending publications of ``post`` to
    ``channel_ids`` (some of its channels, not all) move to a new post — the
    same text, image, link, photos and WhatsApp message — which awaits
    approval of ``asked``; ``post`` keeps the others, for the caller to publish
    or schedule. Returns the new post."""
    ids = sorted(channel_ids)
    timed = asked == SCHEDULE
    post = Post.get_by_id(post.id)  # every column (publishing reads only some)
    held = Post.create(text=post.text, image_url=post.image_url, link=post.link, whatsapp=post.whatsapp,
                       scheduled_at=scheduled_at if timed else None, schedule_zone=zone if timed else None,
                       split_from=post.id, **awaiting_status(asked))
    Publication.update(post=held.id).where((Publication.post == post.id) & Publication.channel.in_(ids)
                                           & (Publication.status == PublicationStatus.PENDING)).execute()
    photos = list(PostMedia.select(PostMedia.media, PostMedia.position).where(PostMedia.post == post.id).tuples())
    if photos:
        PostMedia.insert_many([{"post": held.id, "media": media, "position": position}
                               for media, position in photos]).execute()
    audit.record(audit.POST, post.id, "split for approval", channels=ids, waiting_post=held.id)
    audit.record(audit.POST, held.id, "created", status=held.status, split_from=post.id, channels=ids,
                 photos=len(photos))
    audit.record(audit.POST, held.id, "submitted for approval", asked=asked,
                 scheduled_at=iso(scheduled_at) if timed else None)
    waiting(held)
    return held


def split(post_id: int) -> Post | None:
    """The post that waits for approval with the channels ``post_id`` split off, if any."""
    return (Post.select().where((Post.split_from == post_id) & (Post.status == PostStatus.AWAITING))
            .order_by(Post.id.desc()).first())


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
        waiting(post)
    return bool(moved)


def waiting(post: Post) -> None:
    """In the transaction that makes ``post`` await approval: the admins are
    told (a notice in the app, and e-mail as each chose), and its image_url is
    fetched into the media store once it commits, so that the reviewer sees —
    and approves — the bytes that will be published (media/remote.py)."""
    outcomes.tell(outcomes.POST_AWAITING_APPROVAL, post.id)
    if post.image_url:
        remote.request_fetch(post.id)


def awaiting_status(asked: str) -> dict:
    """The columns of a post that is created, split off or edited straight into awaiting approval."""
    return {"status": PostStatus.AWAITING, "approval_asked": asked, "submitted_by": audit.actor_id(),
            "review_comment": None}
