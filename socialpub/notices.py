"""The in-app notice list (the bell in the navigation): what a person must act
on, read or not.

- "approval": a post needs your approval (admins);
- "rejected": your post was rejected, with the admin's comment (who wrote it
  or asked for approval);
- "failed" / "partly failed": a post that did not go out everywhere (admins,
  and who wrote it or asked for approval — as the e-mails go);
- "reconnect": a channel's token was refused (admins);
- "reviewed": a reviewer approved a post or asked for changes on a review link (who wrote it,
  asked for approval or made the link).

A notice is written in the transaction of the change it tells about (as
mail/notices.py queues e-mails), so the list never tells what did not happen.
Unlike e-mail it needs no server and is not a choice: the list is where one
looks, and the e-mail choice (Account page) says only what else reaches the
inbox. It lives at the top of the package, not in mail/, because the web, the
workers and the scheduler all write it and it sends nothing.
"""
from __future__ import annotations

from .mail.notices import excerpt, owners, review_words, reviewers_asked_by
from .models import Channel, Notice, Post, User, utcnow
from .networks import LABELS

APPROVAL, REJECTED, FAILED, PARTLY_FAILED, RECONNECT = "approval", "rejected", "failed", "partly_failed", "reconnect"
REVIEWED = "reviewed"
KINDS = (APPROVAL, REJECTED, FAILED, PARTLY_FAILED, RECONNECT, REVIEWED)
KIND_OF = {"post.awaiting_approval": APPROVAL, "post.rejected": REJECTED, "post.failed": FAILED,
           "post.partially_published": PARTLY_FAILED, "channel.needs_reauth": RECONNECT,
           "post.review_approved": REVIEWED, "post.changes_requested": REVIEWED}
#: The most a list shows at once: the newest first.
PAGE = 100


def tell(event_type: str, subject_id: int) -> int:
    """In the caller's transaction: the notices ``event_type`` about the post or
    channel ``subject_id`` makes; return how many."""
    kind = KIND_OF.get(event_type)
    if kind is None:
        return 0
    active = User.select(User.id, User.role).where(User.disabled == False)  # noqa: E712
    if kind == RECONNECT:
        channel = Channel.get_by_id(subject_id)
        users = [u.id for u in active if u.role == "admin"]
        label = f"{channel.name} ({LABELS.get(channel.network, channel.network)})"
        text = f"Reconnect {label}: its token was refused, so its posts fail until it is reconnected."
        rows = [{"user": u, "kind": kind, "channel": channel.id, "text": text} for u in users]
    else:
        post = Post.get_by_id(subject_id)
        wrote = owners(post.id)
        if kind == APPROVAL:
            users = [u.id for u in active if u.role == "admin"]
        elif kind == REJECTED:
            users = [u.id for u in active if u.id in wrote]
        elif kind == REVIEWED:
            asked = reviewers_asked_by(post.id)
            users = [u.id for u in active if u.id in wrote | asked]
        else:
            users = [u.id for u in active if u.role == "admin" or u.id in wrote]
        text = review_words(post) if kind == REVIEWED else {
            APPROVAL: f"Post #{post.id} needs your approval: “{excerpt(post)}”",
            REJECTED: f"Post #{post.id} was rejected: {post.review_comment}",
            FAILED: f"Post #{post.id} failed: “{excerpt(post)}” — retry it or see why on its page",
            PARTLY_FAILED: f"Post #{post.id} partly failed: “{excerpt(post)}” — retry the rest on its page",
        }[kind]
        rows = [{"user": u, "kind": kind, "post": post.id, "text": text} for u in users]
    if rows:
        now = utcnow()
        Notice.insert_many([dict(row, created_at=now) for row in rows]).execute()
    return len(rows)


def unread(user_id: int) -> int:
    return Notice.select().where((Notice.user == user_id) & Notice.read_at.is_null()).count()


def listed(user_id: int, unread_only: bool = False) -> list:
    """The user's newest notices (at most PAGE)."""
    query = Notice.select().where(Notice.user == user_id)
    if unread_only:
        query = query.where(Notice.read_at.is_null())
    return list(query.order_by(Notice.id.desc()).limit(PAGE))


def mark_read(user_id: int, notice_ids=None) -> int:
    """Mark the user's notices ``notice_ids`` read (without them, all of the
    user's); return how many were unread. Another user's notice is never touched."""
    where = (Notice.user == user_id) & Notice.read_at.is_null()
    if notice_ids is not None:
        where &= Notice.id.in_(list(notice_ids) or [0])
    return Notice.update(read_at=utcnow()).where(where).execute()


def answered(post_id: int) -> int:
    """In the transaction that ends a post's wait — an admin's answer, its
    editor's withdrawal, its deletion: every admin's "needs your approval"
    notice of it is read, as nothing is left to act on."""
    return (Notice.update(read_at=utcnow())
            .where((Notice.post == post_id) & (Notice.kind == APPROVAL) & Notice.read_at.is_null()).execute())


def link(notice: Notice) -> str | None:
    """Where the notice's action is: the post's page (its edit form, once rejected), or the channels."""
    if notice.post is not None:
        return f"/posts/{notice.post}/edit" if notice.kind == REJECTED else f"/posts/{notice.post}"
    return "/channels" if notice.channel is not None else None
