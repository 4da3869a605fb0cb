"""Links that count (campaigns/links.py): a post's short link per channel, where it goes, and how many
times it was followed — nothing about who followed it."""
from __future__ import annotations

from peewee import CharField, DateTimeField, ForeignKeyField, IntegerField, TextField

from .base import BaseModel, IdField, JSONField, utcnow
from .posts import Post


class ShortLink(BaseModel):
    id = IdField()
    #: The path's code (``/l/<code>``): random, never reused.
    code = CharField(max_length=16, unique=True)
    post = ForeignKeyField(Post, backref="+", on_delete="CASCADE")
    channel_id = IntegerField()
    network = CharField(max_length=16)
    #: Where it goes: the post's link with its UTM parameters.
    target = TextField()
    clicks = IntegerField(default=0)
    created_at = DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("post", "channel_id"), True),)


class Snippet(BaseModel):
    """A saved text the compose form inserts — a signature, a disclaimer, a hashtag group — by its menu or by
    typing ``/<shortcut>``; with a variant per network where a network needs its own words
    (campaigns/snippets.py)."""

    id = IdField()
    name = CharField(max_length=60)
    shortcut = CharField(max_length=30, unique=True)
    #: "text" or "hashtags" (a hashtag group: counted against each network's hashtag limit like any text).
    kind = CharField(max_length=16, default="text")
    body = TextField()
    #: ``{network: its own text}`` for the networks that need other words.
    variants = JSONField(default=dict)
    created_by = IntegerField(null=True)
    created_at = DateTimeField(default=utcnow)
    updated_at = DateTimeField(default=utcnow)
