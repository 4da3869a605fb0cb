"""How published items did: each item's latest numbers and its reading
schedule (PostMetrics, one row per publication), the readings kept as history
(MetricReading), and each account's numbers by day (ChannelMetrics).

The numbers are socialpub's one vocabulary (analytics/vocabulary.py); a
number a network does not give is NULL — "not available" —, never 0.
"""
from __future__ import annotations

from peewee import CharField, CompositeKey, DateField, DateTimeField, ForeignKeyField, IntegerField, \
    TextField

from .base import BaseModel, IdField, utcnow
from .channels import Channel
from .posts import Publication


class _Numbers(BaseModel):
    """The vocabulary's columns, shared by a reading and the latest numbers."""

    views = IntegerField(null=True)
    reach = IntegerField(null=True)
    reactions = IntegerField(null=True)
    comments = IntegerField(null=True)
    shares = IntegerField(null=True)
    saves = IntegerField(null=True)
    clicks = IntegerField(null=True)
    #: A video's average watch time, in milliseconds.
    watch_time_ms = IntegerField(null=True)


class PostMetrics(_Numbers):
    """One published item's latest numbers and when it is read next. The Analytics
    page and the best times read these rows (one per item of the period, whatever
    the history), never the readings."""

    publication = ForeignKeyField(Publication, primary_key=True, backref="+", on_delete="CASCADE")
    channel = ForeignKeyField(Channel, backref="+", on_delete="CASCADE", index=False)
    network = CharField(max_length=16)
    #: The item's publication time, copied: a period's items are found by it.
    published_at = DateTimeField()
    read_at = DateTimeField(null=True)
    #: Null once the item is past the last age band: it is read no more.
    next_read_at = DateTimeField(null=True, index=True)
    reads = IntegerField(default=0)
    #: Why the network showed no numbers at the last read, in plain words (e.g. not enough viewers yet).
    note = TextField(null=True)

    class Meta:
        indexes = ((("channel", "published_at"), False), (("published_at",), False))


class MetricReading(_Numbers):
    """One reading of one item's numbers, kept when something changed since the
    last one (an unchanged reading only moves PostMetrics.read_at): the curve
    of the post page."""

    id = IdField()
    publication = ForeignKeyField(Publication, backref="+", on_delete="CASCADE", index=False)
    taken_at = DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("publication", "taken_at"), False), (("taken_at",), False))


class ChannelMetrics(BaseModel):
    """One account's numbers on one day (UTC), read once a day."""

    channel = ForeignKeyField(Channel, backref="+", on_delete="CASCADE")
    day = DateField()
    followers = IntegerField(null=True)
    #: Accounts reached and views on that day, where the network says.
    reach = IntegerField(null=True)
    views = IntegerField(null=True)
    taken_at = DateTimeField(default=utcnow)

    class Meta:
        primary_key = CompositeKey("channel", "day")
