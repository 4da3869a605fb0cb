"""Links that count (campaigns/links.py): a post's short link per channel, where it goes, and how many
times it was followed — nothing about who followed it."""
from __future__ import annotations

from peewee import CharField, DateTimeField, ForeignKeyField, IntegerField, TextField

from .base import BaseModel, IdField, utcnow
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
