"""Review links: a set of posts (one, a campaign, a week of the calendar)
shown to someone without an account behind a link that expires and can be
revoked.

A link's token is 32 random bytes (``secrets.token_urlsafe``), shown once;
only its SHA-256 is kept, so neither the database nor its backups hold a
working link, and a guessed or altered token finds nothing. The link shows
its own posts and nothing else: each of them as its channels will publish it,
and the photos of those posts alone. Each post's version when the link was
made is kept (``content_of``: a digest of what it says, where, when and with
which media — not of its status, which publishing changes), so a post edited
since says so to the reviewer and needs a new decision.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import secrets

from .. import audit
from ..db import write_transaction
from ..errors import InvalidInput, NotFound
from ..input_checks import refuse_unstorable_text
from ..models import FirstComment, Post, PostMedia, Publication, iso, utcnow
from ..models.reviews import ReviewDecision, ReviewLink, ReviewLinkPost

#: How long a link lives by default, and at most.
DEFAULT_DAYS, MAX_DAYS = 14, 60
#: Posts one link shows at most.
MAX_POSTS = 100
MAX_LABEL = 200


class LinkClosed(Exception):
    """The link cannot be opened: ``reason`` in plain words for the reviewer (no post is named); ``gone``:
    it existed (withdrawn or expired), else it never did."""

    def __init__(self, reason: str, gone: bool):
        super().__init__(reason)
        self.reason, self.gone = reason, gone


def digest(token: str) -> str:
    return hashlib.sha256((token or "").encode()).hexdigest()


def content_of(post: Post) -> str:
    """A digest of what the post publishes: its text, link, image, time and zone, each channel's text, message
    and kind of video, its media in order, and its first comments."""
    publications = list(Publication.select(Publication.id, Publication.channel, Publication.text,
                                           Publication.whatsapp, Publication.video_kind)
                        .where(Publication.post == post.id).order_by(Publication.channel))
    comments = dict(FirstComment.select(FirstComment.publication, FirstComment.text)
                    .where(FirstComment.publication.in_([p.id for p in publications] or [0])).tuples())
    media = [m for (m,) in PostMedia.select(PostMedia.media).where(PostMedia.post == post.id)
             .order_by(PostMedia.position).tuples()]
    said = {"text": post.text, "link": post.link, "image_url": post.image_url, "at": iso(post.scheduled_at),
            "zone": post.schedule_zone, "whatsapp": post.whatsapp, "media": media,
            "channels": [[p.channel_id, p.text, p.whatsapp, p.video_kind, comments.get(p.id)] for p in publications]}
    return hashlib.sha256(json.dumps(said, sort_keys=True, default=str).encode()).hexdigest()


def make(post_ids, label, days=None, by: int | None = None) -> tuple[ReviewLink, str]:
    """A link to the posts ``post_ids`` (kept in that order) for ``days`` days; return it and its token.

    Raises:
      InvalidInput: naming the field (no posts, too many, a post that does not exist, a bad label or days).
    """
    if not isinstance(post_ids, list) or not post_ids or not all(type(i) is int for i in post_ids):
        raise InvalidInput("post_ids: the ids of the posts to review, at least one", field="post_ids")
    ids = list(dict.fromkeys(post_ids))
    if len(ids) > MAX_POSTS:
        raise InvalidInput(f"post_ids: at most {MAX_POSTS} posts in one link", field="post_ids")
    if not isinstance(label, str) or not label.strip() or len(label) > MAX_LABEL:
        raise InvalidInput(f"label: what the reviewer sees as the page's title, 1 to {MAX_LABEL} characters",
                           field="label")
    refuse_unstorable_text(label, "label")
    days = DEFAULT_DAYS if days is None else days
    if type(days) is not int or not 1 <= days <= MAX_DAYS:
        raise InvalidInput(f"days: how long the link works, 1 to {MAX_DAYS} days", field="days")
    token = secrets.token_urlsafe(32)
    now = utcnow()
    with write_transaction():
        posts = {p.id: p for p in Post.select().where(Post.id.in_(ids))}
        missing = [i for i in ids if i not in posts]
        if missing:
            raise InvalidInput(f"post_ids: no post {missing[0]}", field="post_ids")
        link = ReviewLink.create(digest=digest(token), label=label.strip(), created_by=by, created_at=now,
                                 expires_at=now + dt.timedelta(days=days))
        ReviewLinkPost.insert_many([{"link": link.id, "post": i, "content": content_of(posts[i])}
                                    for i in ids]).execute()
        for i in ids:
            audit.record(audit.POST, i, "review link made", link=link.id, expires_at=link.expires_at.isoformat())
    return link, token


def opened(token: str, now: dt.datetime | None = None) -> ReviewLink:
    """The live link behind ``token``.

    Raises:
      LinkClosed: unknown, revoked or expired — each said plainly, nothing else shown.
    """
    link = ReviewLink.get_or_none(ReviewLink.digest == digest(token)) if token and len(token) <= 100 else None
    if link is None:
        raise LinkClosed("This review link does not exist. Check that it was copied whole, or ask for a new one.",
                         gone=False)
    if link.revoked_at is not None:
        raise LinkClosed("This review link was withdrawn by the team that sent it. Ask them for a new one.",
                         gone=True)
    if link.expires_at <= (now or utcnow()):
        raise LinkClosed("This review link has expired. Ask the team that sent it for a new one.", gone=True)
    return link


def revoke(link_id: int) -> ReviewLink:
    """Stop a link at once.

    Raises:
      NotFound: no such link, or it was revoked already.
    """
    with write_transaction():
        if not (ReviewLink.update(revoked_at=utcnow())
                .where((ReviewLink.id == link_id) & ReviewLink.revoked_at.is_null()).execute()):
            raise NotFound(f"no open review link {link_id}")
        for (post_id,) in ReviewLinkPost.select(ReviewLinkPost.post).where(ReviewLinkPost.link == link_id).tuples():
            audit.record(audit.POST, post_id, "review link withdrawn", link=link_id)
    return ReviewLink.get_by_id(link_id)


def posts_of(link: ReviewLink) -> list:
    """The link's posts in its order: ``(post, what it said when asked, the reviewer's latest decision or None)``."""
    asked = list(ReviewLinkPost.select(ReviewLinkPost, Post).join(Post)
                 .where(ReviewLinkPost.link == link.id).order_by(ReviewLinkPost.id))
    latest = {}
    for decision in (ReviewDecision.select().where(ReviewDecision.link == link.id)
                     .order_by(ReviewDecision.decided_at, ReviewDecision.id)):
        latest[decision.post_id] = decision
    return [(row.post, row.content, latest.get(row.post_id)) for row in asked]


def of_post(post_id: int) -> list:
    """The links a post is on, newest first, each with its state and the decisions made on it about the post."""
    links = list(ReviewLink.select().join(ReviewLinkPost).where(ReviewLinkPost.post == post_id)
                 .order_by(ReviewLink.id.desc()))
    decisions = {}
    for d in (ReviewDecision.select().where(ReviewDecision.post == post_id)
              .order_by(ReviewDecision.decided_at, ReviewDecision.id)):
        decisions.setdefault(d.link_id, []).append(d)
    now = utcnow()
    return [{"link": link, "state": state(link, now), "decisions": decisions.get(link.id, [])} for link in links]


def state(link: ReviewLink, now: dt.datetime) -> str:
    """"open", "expired" or "revoked"."""
    return "revoked" if link.revoked_at else "expired" if link.expires_at <= now else "open"


def on_link(link: ReviewLink, post_id: int) -> ReviewLinkPost:
    """The link's row of ``post_id``.

    Raises:
      NotFound: the post is not on this link (or no longer exists).
    """
    row = ReviewLinkPost.get_or_none((ReviewLinkPost.link == link.id) & (ReviewLinkPost.post == post_id))
    if row is None:
        raise NotFound("this post is not part of this review")
    return row
