"""Review links: a post or a set of posts shown to someone without an account
(a client, a manager, legal) behind a link that expires and can be revoked
(ReviewLink, its posts ReviewLinkPost), and what they decided (ReviewDecision)."""
from __future__ import annotations

from peewee import CharField, DateTimeField, ForeignKeyField, IntegerField, TextField

from .base import BaseModel, IdField, utcnow
from .posts import Post


class ReviewLink(BaseModel):
    """A link to review posts. Only the SHA-256 of its token is kept: the link is shown once."""

    id = IdField()
    digest = CharField(max_length=64, unique=True)
    #: What the team calls it ("Week 50 for Café Luna"); the reviewer sees it as the page's title.
    label = CharField(max_length=200)
    created_by = IntegerField(null=True)
    created_at = DateTimeField(default=utcnow)
    expires_at = DateTimeField()
    revoked_at = DateTimeField(null=True)


class ReviewLinkPost(BaseModel):
    """A post a link shows, with what it said when the link was made (``content``: the digest of
    reviewing/links.content_of): a post edited since shows "changed since you were asked"."""

    id = IdField()
    link = ForeignKeyField(ReviewLink, backref="+", on_delete="CASCADE")
    post = ForeignKeyField(Post, backref="+", on_delete="CASCADE")
    content = CharField(max_length=64)

    class Meta:
        indexes = ((("link", "post"), True),)


class ReviewDecision(BaseModel):
    """A reviewer's answer about one post: approved, or changes asked with a comment; of the version they saw."""

    id = IdField()
    link = ForeignKeyField(ReviewLink, backref="+", on_delete="CASCADE")
    post = ForeignKeyField(Post, backref="+", on_delete="CASCADE")
    reviewer = CharField(max_length=100)
    #: "approved" or "changes".
    decision = CharField(max_length=16)
    comment = TextField(null=True)
    #: What the post said when it was decided on (links.content_of): an edit since makes it out of date.
    content = CharField(max_length=64)
    decided_at = DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("post", "decided_at"), False), (("link", "post"), False))
