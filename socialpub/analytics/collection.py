"""Collecting the numbers: each published item read on an age-banded schedule,
each account once a day, as jobs.

Every minute the scheduler's ``collect_metrics`` job (``plan``) enrols the
items published since its last run (a PostMetrics row each, due at once),
takes the due ones — at most ``PER_CHANNEL`` a channel a run, so a channel's
reads are spread over the hour and stay within the network's rate limit (the
Graph API's is 200 calls an hour per account) — with one conditional UPDATE
(a lease: a second scheduler's run does not take them again), and sends one
``read_metrics`` message per channel. The actor (``read_items``) reads each
item from its network, keeps the reading when something changed (history),
moves the latest numbers and schedules the next read by the item's age
(``BANDS``): every 15 minutes in its first six hours, hourly to two days,
every six hours to a week, daily to a month, weekly to 90 days, then never.

Nothing a network answers fails the job: a retired metric is dropped (a log
line, networks/insights.py); a threshold (Instagram's "not enough viewers")
or a missing permission is a note in plain words and the item is read again
at its next time; a rate limit postpones the channel's reads; an account
that needs reconnecting is read again a day later.

WhatsApp's numbers are socialpub's own — the messages Meta says were
delivered (reach) and read (views), from the recipients' statuses; its
"followers" are the contacts who opted in.
"""
from __future__ import annotations

import datetime as dt
import logging

from peewee import Value, fn

from ..config import Settings
from ..db import write_transaction
from ..errors import SecretUnreadable
from ..lifecycle import delivery
from ..models import Channel, ChannelState, Contact, Publication, Recipient, utcnow
from ..models.analytics import ChannelMetrics, MetricReading, PostMetrics
from ..networks import get_adapter
from ..networks.base import ErrorKind, PublishError, Timeouts
from ..networks.insights import ACCOUNT_METRICS, METRICS, Numbers
from ..statuses import PublicationStatus as P
from ..webhooks import events

logger = logging.getLogger(__name__)

#: (age below which, read every): an item is read often while its numbers move, then less.
BANDS = ((dt.timedelta(hours=6), dt.timedelta(minutes=15)),
         (dt.timedelta(days=2), dt.timedelta(hours=1)),
         (dt.timedelta(days=7), dt.timedelta(hours=6)),
         (dt.timedelta(days=30), dt.timedelta(days=1)),
         (dt.timedelta(days=90), dt.timedelta(days=7)))
#: Items of one channel read per run (one a run is 60 an hour; a Facebook item costs two calls).
PER_CHANNEL = 3
#: Items taken per run across all channels.
BATCH = 300
#: How long a taken item is left to its message before it is due again (a lost message).
LEASE = dt.timedelta(minutes=10)
#: Publications this old or newer are enrolled (the job runs every minute: a day covers an outage).
ENROL_WITHIN = dt.timedelta(days=1)
#: A rate-limited channel's reads wait at least this long.
RATE_LIMIT_PAUSE = dt.timedelta(hours=1)
#: An account that cannot be read (to reconnect) is tried again this much later.
UNREADABLE_PAUSE = dt.timedelta(days=1)
#: An account's numbers are read once a day; a failed read is tried again after this.
ACCOUNT_RETRY = dt.timedelta(hours=1)
#: The statuses whose items exist at the network (WhatsApp: some messages went).
PUBLISHED = (P.PUBLISHED, P.PARTLY_FAILED)


def next_read(published_at: dt.datetime, now: dt.datetime, speed: float = 1.0) -> dt.datetime | None:
    """When an item published at ``published_at`` is read after ``now``; None past the last band. ``speed``
    (ANALYTICS_CLOCK_SPEED) ages items that much faster: the demo's sandbox grows their numbers so."""
    age = (now - published_at) * speed
    for below, every in BANDS:
        if age < below:
            return now + every / speed
    return None


def plan(settings: Settings, send_items, send_account, now: dt.datetime | None = None) -> int:
    """The scheduler's run: enrol new items, take the due ones and send ``send_items(channel_id, ids)``
    per channel, and ``send_account(channel_id)`` for each account not read today; return the items taken."""
    now = now or utcnow()
    enrol(now)
    taken = take_due(now)
    for channel_id, ids in taken.items():
        send_items(channel_id, ids)
    for channel_id in accounts_due(now):
        send_account(channel_id)
    return sum(len(ids) for ids in taken.values())


def enrol(now: dt.datetime) -> int:
    """A PostMetrics row, due at once, for each item published lately that has none."""
    published_at = fn.COALESCE(Publication.published_at, Publication.finished_at)
    known = PostMetrics.alias("known")  # not the INSERT's own table name, which SQLite would take it for
    fresh = (Publication.select(Publication.id, Publication.channel, Publication.network, published_at, published_at,
                                Value(0))
             .where((Publication.finished_at > now - ENROL_WITHIN) & Publication.status.in_(PUBLISHED)
                    & ~fn.EXISTS(known.select(known.publication).where(known.publication == Publication.id))))
    with write_transaction():
        return (PostMetrics.insert_from(fresh, [PostMetrics.publication, PostMetrics.channel, PostMetrics.network,
                                                PostMetrics.published_at, PostMetrics.next_read_at,
                                                PostMetrics.reads])
                .on_conflict_ignore().execute()) or 0


def take_due(now: dt.datetime) -> dict:
    """The due items, at most ``PER_CHANNEL`` per channel, leased; ``{channel_id: [publication ids]}``."""
    due = (PostMetrics.select(PostMetrics.publication, PostMetrics.channel)
           .where(PostMetrics.next_read_at <= now).order_by(PostMetrics.next_read_at).limit(BATCH).tuples())
    chosen: dict = {}
    for publication_id, channel_id in due:
        ids = chosen.setdefault(channel_id, [])
        if len(ids) < PER_CHANNEL:
            ids.append(publication_id)
    taken: dict = {}
    for channel_id, ids in chosen.items():
        with write_transaction():
            won = [row.publication_id for row in PostMetrics.update(next_read_at=now + LEASE)
                   .where(PostMetrics.publication.in_(ids) & (PostMetrics.next_read_at <= now))
                   .returning(PostMetrics.publication).execute()]
        if won:
            taken[channel_id] = won
    return taken


def accounts_due(now: dt.datetime) -> list:
    """The channels whose account numbers were not read today, each claimed for ``ACCOUNT_RETRY``
    (``Channel.metrics_due_at``): one message a day each, or one an hour while reads fail."""
    due = [c.id for c in Channel.select(Channel.id).where(
        (Channel.enabled == True) & (Channel.state == ChannelState.ACTIVE)  # noqa: E712
        & (Channel.metrics_due_at.is_null() | (Channel.metrics_due_at <= now)))]
    claimed = []
    for channel_id in due:
        with write_transaction():
            if (Channel.update(metrics_due_at=now + ACCOUNT_RETRY)
                    .where((Channel.id == channel_id)
                           & (Channel.metrics_due_at.is_null() | (Channel.metrics_due_at <= now))).execute()):
                claimed.append(channel_id)
    return claimed


def read_items(settings: Settings, channel_id: int, publication_ids: list, now: dt.datetime | None = None) -> int:
    """The ``read_metrics`` actor's work: read these items of one channel and keep what they say;
    return how many items' numbers changed."""
    speed = settings.analytics_clock_speed
    channel = Channel.get_or_none(Channel.id == channel_id)
    rows = list(PostMetrics.select(PostMetrics, Publication).join(Publication)
                .where(PostMetrics.publication.in_(publication_ids)).order_by(PostMetrics.published_at))
    if channel is None or not rows:
        return 0
    changed = 0
    if channel.network == "whatsapp":
        for row in rows:
            changed += keep(row, _whatsapp_numbers(row.publication_id), now or utcnow(), speed)
        return changed
    adapter = get_adapter(channel.network, Timeouts(settings.connect_timeout, settings.read_timeout))
    try:
        target = delivery.target_of(channel, channel.token, settings.app_secrets().get(channel.connected_via) or None,
                                    settings.linkedin_api_version)
    except SecretUnreadable:
        _postpone(rows, (now or utcnow()) + UNREADABLE_PAUSE, "the channel's token cannot be read: reconnect it")
        return 0
    for position, row in enumerate(rows):
        publication = row.publication
        try:
            numbers = adapter.read_metrics(target, publication.external_id, publication.video_kind)
        except PublishError as exc:
            when = now or utcnow()
            if _below_threshold(exc):
                numbers = Numbers(note="Instagram shows no numbers until enough people have seen the post; "
                                       "read again later")
            elif exc.kind is ErrorKind.RATE_LIMITED:
                pause = max(RATE_LIMIT_PAUSE, dt.timedelta(seconds=exc.retry_after or 0))
                logger.info("Channel %d: %s asks to slow down; its numbers are read again after %s.",
                            channel.id, channel.network, when + pause)
                _postpone(rows[position:], when + pause, None)
                break
            elif _unpermitted(exc) or exc.kind is ErrorKind.AUTH:
                # The channel's every item is refused alike: all wait a day (reconnected sooner, they still wait).
                logger.info("Channel %d: %s refused to show its posts' numbers: %s", channel.id, channel.network, exc)
                _postpone(rows[position:], when + UNREADABLE_PAUSE, _NO_PERMISSION if _unpermitted(exc) else
                          "the network refused the channel's token: reconnect the channel to see its numbers")
                break
            else:
                logger.info("Publication %d: its numbers could not be read this time: %s", publication.id, exc)
                numbers = Numbers(note="the network did not answer; read again at the next time"
                                  if exc.kind is ErrorKind.TRANSIENT else
                                  "the network showed no numbers this time; read again at the next time")
        changed += keep(row, numbers, now or utcnow(), speed)
    return changed


def keep(row: PostMetrics, numbers: Numbers, now: dt.datetime, speed: float = 1.0) -> int:
    """The reading of one item: the history row when a number changed, the latest numbers, the next read,
    and the ``post.metrics_updated`` event; fenced by the row's read count (a late duplicate does nothing)."""
    values = {name: numbers.values[name] for name in METRICS if numbers.values.get(name) is not None}
    latest = {name: getattr(row, name) for name in METRICS}
    moved = bool(values) and any(latest[name] != values.get(name, latest[name]) for name in METRICS)
    merged = {**latest, **values}  # a number the network skipped this time keeps its last value
    with write_transaction():
        fenced = (PostMetrics.update(**merged, read_at=now, reads=PostMetrics.reads + 1,
                                     next_read_at=next_read(row.published_at, now, speed),
                                     note=None if values else numbers.note)
                  .where((PostMetrics.publication == row.publication_id) & (PostMetrics.reads == row.reads))
                  .execute())
        if not fenced or not moved:
            return 0
        MetricReading.insert(publication=row.publication_id, taken_at=now, **merged).execute()
        events.emit(events.POST_METRICS_UPDATED, row.publication.post_id)
    return 1


def _postpone(rows: list, until: dt.datetime, note: str | None):
    ids = [row.publication_id for row in rows]
    with write_transaction():
        PostMetrics.update(next_read_at=until, **({"note": note} if note else {})) \
            .where(PostMetrics.publication.in_(ids)).execute()


_NO_PERMISSION = ("the channel was connected without the permission to read its posts' numbers: reconnect it "
                  "and allow it")


def _below_threshold(error: PublishError) -> bool:
    """Instagram's (#10) "Not enough viewers for the media to show insights": no numbers yet, no fault."""
    return str(error.code) == "10" and "enough viewers" in str(error)


def _unpermitted(error: PublishError) -> bool:
    """A token without the permission to read insights: Graph's (#10) or (#200), LinkedIn's 403."""
    return str(error.code) in ("10", "200") or (error.network == "linkedin" and error.http_status == 403)


def _whatsapp_numbers(publication_id: int) -> Numbers:
    """Reach: messages Meta said were delivered (or read); views: those read."""
    tally = dict(Recipient.select(Recipient.status, fn.COUNT(Recipient.id))
                 .where(Recipient.publication == publication_id).group_by(Recipient.status).tuples())
    return Numbers(values={"reach": tally.get("delivered", 0) + tally.get("read", 0), "views": tally.get("read", 0)})


def read_account(settings: Settings, channel_id: int, now: dt.datetime | None = None) -> bool:
    """The ``read_account_metrics`` actor's work: today's numbers of one account; whether they were kept."""
    now = now or utcnow()
    channel = Channel.get_or_none(Channel.id == channel_id)
    if channel is None:
        return False
    if channel.network == "whatsapp":
        numbers = Numbers(values={"followers": Contact.select().where(
            (Contact.channel == channel.id) & Contact.opted_in_at.is_null(False)
            & Contact.opted_out_at.is_null()).count()})
    else:
        adapter = get_adapter(channel.network, Timeouts(settings.connect_timeout, settings.read_timeout))
        try:
            target = delivery.target_of(channel, channel.token,
                                        settings.app_secrets().get(channel.connected_via) or None,
                                        settings.linkedin_api_version)
            numbers = adapter.read_account(target)
        except (PublishError, SecretUnreadable) as exc:
            logger.info("Channel %d: its account's numbers could not be read this time: %s", channel.id, exc)
            return False
    values = {name: numbers.values.get(name) for name in ACCOUNT_METRICS}
    with write_transaction():
        (ChannelMetrics.insert(channel=channel.id, day=now.date(), taken_at=now, **values)
         .on_conflict(conflict_target=[ChannelMetrics.channel, ChannelMetrics.day],
                      update={**values, ChannelMetrics.taken_at: now}).execute())
        tomorrow = dt.datetime.combine(now.date() + dt.timedelta(days=1), dt.time(0, 5))
        Channel.update(metrics_due_at=tomorrow).where(Channel.id == channel.id).execute()
    return True
