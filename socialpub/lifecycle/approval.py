"""An admin's answer to a post awaiting approval (review.py).

Approving does what the editor asked: "publish" publishes at once; "schedule"
schedules it at its time — and when that time has passed meanwhile, it is
published at once, and the answer and the audit trail say so. Rejecting takes
it back to a draft with the approver's comment, which the post page shows the
editor. Each answer is one conditional UPDATE on "awaiting approval", so two
admins answering at once cannot both win.
"""
from __future__ import annotations

from dataclasses import dataclass

from .. import acting, audit
from .. import notices as in_app
from .. import outcomes
from ..db import write_transaction
from ..errors import Conflict, InvalidInput
from ..input_checks import refuse_unstorable_text
from ..intake.composing import check_ready, get_post
from ..media import remote
from ..models import Post, utcnow
from ..statuses import POST, PUBLICATION, moves
from . import publishing, review, scheduling, versions

MAX_COMMENT = 2000


@dataclass
class Approved:
    post: Post
    #: The publish results when it was published at once, else None.
    results: list | None
    #: Why it was published at once though it was to be scheduled, else None.
    note: str | None = None


def approve(post_id: int, seen: str | None = None, seen_image: str | None = None) -> Approved:
    """Approve what the editor asked for, and do it — in the same transaction,
    so no edit slips in between the approval and the publishing. ``seen``: the
    post's ``updated_at`` as the approver saw it (ISO 8601); a post changed
    since is refused, to be looked at again. A post with an image_url is
    approved only once its image is in the media store (media/remote.py), and —
    with ``seen_image``, the SHA-256 the approver was shown — only as that copy:
    publishing then sends exactly those bytes.

    Raises:
      NotFound, Conflict: no such post, it is not awaiting approval (answered
        already), or it changed since the approver saw it.
      BrokerUnavailable: the queue refused; the post stays approved, as a draft, for Publish now.
    """
    seen = versions.parse(seen, "seen_updated_at")
    now = utcnow()
    with write_transaction():
        post = get_post(post_id)
        if seen is not None and seen != post.updated_at:
            raise _changed(post, seen)
        if post.status in POST["approve"].sources:
            # An edit may have kept it waiting as a draft is saved: the networks' rules hold from here on.
            check_ready(post)
            remote.check_reviewed(acting.settings.get(), post, seen_image)
        draft, scheduled = POST["approve"].targets
        due_later = post.approval_asked == review.SCHEDULE and post.scheduled_at and post.scheduled_at > now
        # On the version read (the one seen): under READ COMMITTED an edit committed since
        # the read would otherwise be approved — and published — unseen.
        moved = (Post.update(status=scheduled if due_later else draft, approved_at=now,
                             approved_by=audit.actor_id(), approval_asked=None, review_comment=None,
                             scheduled_at=post.scheduled_at if due_later else None,
                             schedule_zone=post.schedule_zone if due_later else None,
                             updated_at=versions.after(post.updated_at))
                 .where((Post.id == post.id) & moves(POST, "approve", Post.status)
                        & (Post.updated_at == post.updated_at)).execute())
        if not moved:
            current = get_post(post.id)
            if current.status in POST["approve"].sources:
                raise _changed(current, post.updated_at)
            raise _not_awaiting(current)
        note = None
        if post.approval_asked == review.SCHEDULE and not due_later:
            note = "its scheduled time had passed, so it is published now"
        audit.record(audit.POST, post.id, "approved", asked=post.approval_asked, note=note)
        in_app.answered(post.id)
        if not due_later:
            pending = publishing.publications_of(post.id, PUBLICATION["publish"].sources)
            messages = publishing.mark_queued(post.id, pending, "publish")
            audit.record(audit.POST, post.id, "publish requested", networks=sorted({p.network for p in pending}))
    if due_later:
        return Approved(scheduling.launch_if_soon(get_post(post.id)), None)
    results = publishing.send(post.id, pending, messages)
    return Approved(get_post(post.id), results, note)


def reject(post_id: int, comment) -> Post:
    """Send it back to its editor as a draft, saying why.

    Raises:
      InvalidInput: no comment, one too long, or one no database can store (naming the field).
      NotFound, Conflict: no such post, or it is not awaiting approval.
    """
    # NUL (PostgreSQL refuses it) and lone surrogates (not UTF-8) would fail as a 500 when stored.
    refuse_unstorable_text(comment, "comment")
    if not isinstance(comment, str) or not comment.strip():
        raise InvalidInput("comment: say what to change, so the editor knows", field="comment")
    comment = comment.strip()
    if len(comment) > MAX_COMMENT:
        raise InvalidInput(f"comment: at most {MAX_COMMENT} characters", field="comment")
    with write_transaction():
        post = get_post(post_id)
        moved = (Post.update(status=POST["reject"].targets[0], review_comment=comment, approval_asked=None,
                             approved_at=None, approved_by=None, updated_at=utcnow())
                 .where((Post.id == post.id) & moves(POST, "reject", Post.status)).execute())
        if not moved:
            raise _not_awaiting(post)
        audit.record(audit.POST, post.id, "rejected", comment=comment)
        # Its author is told (a notice in the app, and e-mail as they chose), with the comment.
        in_app.answered(post.id)
        outcomes.tell(outcomes.POST_REJECTED, post.id)
    return get_post(post_id)


def _changed(post: Post, seen) -> Conflict:
    """An approval of a version that is no longer the post's: what changed, in words."""
    words = versions.said(versions.changes_since(post.id, seen))
    return Conflict(f"seen_updated_at: post {post.id} was changed since you opened it"
                    f"{' (' + words + ')' if words else ''}: look at it again before approving",
                    field="seen_updated_at")


def _not_awaiting(post: Post) -> Conflict:
    return Conflict(f"post {post.id} is {post.status.replace('_', ' ')}: it is not awaiting approval "
                    f"(someone answered already, or it was withdrawn)")
