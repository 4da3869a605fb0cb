"""Counts kept instead of counted: publication tallies and deltas, recent outcomes and attempt times."""
from __future__ import annotations

from peewee import AutoField, CharField, CompositeKey, DateTimeField, FloatField, IntegerField

from .base import BaseModel


class PublicationTally(BaseModel):
    """How many publications a network has in a status, as of the last fold
    (metrics/tally.py); the deltas since are in PublicationDelta."""

    network = CharField(max_length=16)
    status = CharField(max_length=16)
    count = IntegerField(default=0)

    class Meta:
        primary_key = CompositeKey("network", "status")


class PublicationDelta(BaseModel):
    """+1 or −1 for a network and status, written by the database's trigger in
    the transaction of each change of a publication (metrics/tally.py); with
    the publication's finished_at, for the recent outcomes (metrics/recent.py)."""

    #: A plain key, not an IdField: a delta is folded and deleted within a minute and never
    #: named outside the database; reusing its id harms nothing, and spares every change of
    #: a publication a write to SQLite's sqlite_sequence.
    id = AutoField()
    network = CharField(max_length=16)
    status = CharField(max_length=16)
    change = IntegerField()
    finished_at = DateTimeField(null=True)


class AttemptDelta(BaseModel):
    """An attempt's network, end and duration, written by the database's
    trigger when the attempt is recorded (metrics/recent.py)."""

    id = AutoField()  # plain, as PublicationDelta's
    network = CharField(max_length=16)
    finished_at = DateTimeField()
    seconds = FloatField()


class RecentOutcome(BaseModel):
    """Publications that reached a final status in one minute or one hour of
    the last day, by network and status (metrics/recent.py)."""

    span = CharField(max_length=6)
    start = DateTimeField()
    network = CharField(max_length=16)
    status = CharField(max_length=16)
    count = IntegerField(default=0)

    class Meta:
        primary_key = CompositeKey("span", "start", "network", "status")


class RecentAttempts(BaseModel):
    """Attempts that ended in one minute or one hour of the last day, by network
    and by duration bucket (each 5 % wide): how many, and their seconds (metrics/recent.py)."""

    span = CharField(max_length=6)
    start = DateTimeField()
    network = CharField(max_length=16)
    bucket = IntegerField()
    count = IntegerField(default=0)
    seconds = FloatField(default=0)

    class Meta:
        primary_key = CompositeKey("span", "start", "network", "bucket")
