"""The numbers read back for people: a post's items with their curves, a
period's totals (compared with the period before), a channel's days, the best
posts, the best times to post, and a period as CSV.

Every read is bounded by what it shows, never by the history: a post's curve
is its own readings (their index: publication, time); a period's totals are
the latest numbers of the items published in it (PostMetrics by
``published_at``), summed by the database; a channel's days are its rows of
those days. A number a network does not give stays ``None`` ("not
available"): a total counts only the items that have it, and says how many.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from peewee import fn

from ..campaigns import links
from ..errors import InvalidInput
from ..models import Channel, Post, Publication, iso
from ..models.analytics import ChannelMetrics, MetricReading, PostMetrics
from ..networks.insights import ENGAGEMENT, METRICS

#: The widest period read at once (a year, and a day for the leap).
MAX_DAYS = 366
#: Best posts shown.
BEST = 5
#: The history the best times rest on.
BEST_TIMES_DAYS = 90
#: Posts a weekday-and-hour cell needs before it is offered as a posting time.
OFFERED_FROM = 2
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True)
class Period:
    """Whole UTC days ``start`` to ``end`` inclusive."""

    start: dt.date
    end: dt.date

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def bounds(self) -> tuple:
        return (dt.datetime.combine(self.start, dt.time()), dt.datetime.combine(self.end + dt.timedelta(days=1),
                                                                                 dt.time()))

    def previous(self) -> "Period":
        return Period(self.start - dt.timedelta(days=self.days), self.start - dt.timedelta(days=1))


def period(start: str | None, end: str | None, today: dt.date, default_days: int = 28) -> Period:
    """``from`` and ``to`` (ISO dates, inclusive; by default the last ``default_days`` days to today) checked.

    Raises:
      InvalidInput: naming the field.
    """
    def day(value, name, default):
        if not value:
            return default
        try:
            return dt.date.fromisoformat(str(value)[:10]) if len(str(value)) <= 40 else None
        except ValueError:
            raise InvalidInput(f"{name}: a date such as {today.isoformat()}", field=name) from None
    last = day(end, "to", today)
    first = day(start, "from", last - dt.timedelta(days=default_days - 1))
    if first is None or last is None:
        raise InvalidInput("from: a date such as " + today.isoformat(), field="from")
    if first > last:
        raise InvalidInput("from: the period starts after it ends", field="from")
    if (last - first).days + 1 > MAX_DAYS:
        raise InvalidInput(f"from: at most {MAX_DAYS} days at once", field="from")
    return Period(first, last)


def numbers_of(row) -> dict:
    """The vocabulary's values of a row (None: not available)."""
    return {name: getattr(row, name) for name in METRICS}


def engagement(numbers: dict) -> int | None:
    """Reactions, comments, shares, saves and clicks that the network gives; None when it gives none."""
    given = [numbers[name] for name in ENGAGEMENT if numbers.get(name) is not None]
    return sum(given) if given else None


def post_metrics(post_id: int) -> list:
    """Each published item of a post: its latest numbers, when they were read, and its curve."""
    rows = list(PostMetrics.select().join(Publication).where(Publication.post == post_id)
                .order_by(PostMetrics.publication))
    link_clicks = links.clicks_of(post_id)
    curves: dict = {row.publication_id: [] for row in rows}
    if rows:
        for reading in (MetricReading.select().where(MetricReading.publication.in_(list(curves)))
                        .order_by(MetricReading.publication, MetricReading.taken_at)):
            curves[reading.publication_id].append({"taken_at": iso(reading.taken_at), **numbers_of(reading)})
    return [{"publication_id": row.publication_id, "network": row.network, "channel_id": row.channel_id,
             "published_at": iso(row.published_at), "read_at": iso(row.read_at),
             "next_read_at": iso(row.next_read_at), "note": row.note, "metrics": numbers_of(row),
             "engagement": engagement(numbers_of(row)), "link_clicks": link_clicks.get(row.channel_id),
             "readings": curves[row.publication_id]} for row in rows]


def _sums(where) -> dict:
    """The totals of the items matching ``where``: each metric's sum and how many items give it."""
    columns = [fn.COUNT(PostMetrics.publication)]
    for name in METRICS:
        field = getattr(PostMetrics, name)
        columns += [fn.SUM(field), fn.COUNT(field)]
    found = PostMetrics.select(*columns).where(where).tuples().get()
    totals = {"items": found[0]}
    for position, name in enumerate(METRICS):
        total, having = found[1 + 2 * position], found[2 + 2 * position]
        totals[name] = int(total) if having else None
    totals["watch_time_ms"] = None  # an average per item: not a sum
    totals["engagement"] = engagement(totals)
    return totals


def _in(span: Period, channel_ids=None):
    start, end = span.bounds
    where = (PostMetrics.published_at >= start) & (PostMetrics.published_at < end)
    if channel_ids is not None:
        where &= PostMetrics.channel.in_(list(channel_ids))
    return where


def overview(span: Period, channel_ids=None) -> dict:
    """A period's totals, the period before's, each channel's, and the best posts."""
    per_channel = []
    channels = Channel.select(Channel.id, Channel.name, Channel.network).order_by(Channel.id)
    if channel_ids is not None:
        channels = channels.where(Channel.id.in_(list(channel_ids)))
    for channel in channels:
        totals = _sums(_in(span, [channel.id]))
        if totals["items"]:
            per_channel.append({"channel_id": channel.id, "name": channel.name, "network": channel.network,
                                "totals": totals, "followers": latest_followers(channel.id, span.end)})
    return {"from": span.start.isoformat(), "to": span.end.isoformat(), "totals": _sums(_in(span, channel_ids)),
            "previous": {"from": span.previous().start.isoformat(), "to": span.previous().end.isoformat(),
                         "totals": _sums(_in(span.previous(), channel_ids))},
            "channels": per_channel, "best_posts": best_posts(span, channel_ids)}


def best_posts(span: Period, channel_ids=None, limit: int = BEST) -> list:
    """The items of the period with the most engagement (then views), one line each."""
    score = sum(fn.COALESCE(getattr(PostMetrics, name), 0) for name in ENGAGEMENT)
    rows = (_item_rows().where(_in(span, channel_ids))
            .order_by(score.desc(), fn.COALESCE(PostMetrics.views, 0).desc(), PostMetrics.publication).limit(limit))
    return [{"post_id": row["post_id"], "publication_id": row["publication"], "network": row["network"],
             "channel_id": row["channel"], "text": row["text"], "published_at": iso(row["published_at"]),
             "metrics": {n: row[n] for n in METRICS}, "engagement": engagement(row)} for row in rows]


def _item_rows():
    """Items with their post's id and text and their channel's name, as plain rows."""
    return (PostMetrics.select(PostMetrics, Publication.post.alias("post_id"), Post.text.alias("text"),
                               Channel.name.alias("channel_name"))
            .join(Publication).join(Post).switch(PostMetrics).join(Channel).dicts())


def latest_followers(channel_id: int, on: dt.date) -> int | None:
    row = (ChannelMetrics.select(ChannelMetrics.followers)
           .where((ChannelMetrics.channel == channel_id) & (ChannelMetrics.day <= on)
                  & ChannelMetrics.followers.is_null(False))
           .order_by(ChannelMetrics.day.desc()).first())
    return row.followers if row else None


def channel_days(channel_id: int, span: Period) -> list:
    """The account's numbers on each day of the period that was read."""
    return [{"day": row.day.isoformat() if hasattr(row.day, "isoformat") else str(row.day),
             "followers": row.followers, "reach": row.reach, "views": row.views}
            for row in ChannelMetrics.select().where((ChannelMetrics.channel == channel_id)
                                                     & (ChannelMetrics.day >= span.start)
                                                     & (ChannelMetrics.day <= span.end)).order_by(ChannelMetrics.day)]


def best_times(channel: Channel, now: dt.datetime, zone: str | None = None) -> dict:
    """Engagement by weekday and hour of publishing, from the channel's own last ``BEST_TIMES_DAYS`` days, in
    its posting times' zone: each cell's average, how many posts it rests on and a confidence; and the best
    cells with at least ``OFFERED_FROM`` posts, offered as posting times."""
    zone = zone or (channel.queue or {}).get("zone") or "UTC"
    local = ZoneInfo(zone)
    rows = (PostMetrics.select(PostMetrics.published_at, *(getattr(PostMetrics, n) for n in METRICS))
            .where((PostMetrics.channel == channel.id)
                   & (PostMetrics.published_at >= now - dt.timedelta(days=BEST_TIMES_DAYS))))
    cells: dict = {}
    for row in rows:
        score = engagement(numbers_of(row))
        if score is None:
            continue
        at = row.published_at.replace(tzinfo=dt.timezone.utc).astimezone(local)
        cells.setdefault((at.weekday(), at.hour), []).append(score)
    grid = [{"weekday": WEEKDAYS[day], "hour": hour, "posts": len(scores),
             "average_engagement": round(sum(scores) / len(scores), 1), "confidence": _confidence(len(scores))}
            for (day, hour), scores in sorted(cells.items())]
    offered = sorted((c for c in grid if c["posts"] >= OFFERED_FROM),
                     key=lambda c: (-c["average_engagement"], -c["posts"]))[:3]
    return {"zone": zone, "days": BEST_TIMES_DAYS, "posts": sum(c["posts"] for c in grid), "cells": grid,
            "suggested": [{"weekday": c["weekday"], "time": f"{c['hour']:02d}:00"} for c in offered]}


def _confidence(posts: int) -> str:
    """How far a cell's average can be trusted, by how many posts it rests on."""
    return "high" if posts >= 8 else "medium" if posts >= 3 else "low"


#: The export's columns: the item, then the vocabulary.
CSV_COLUMNS = ("post_id", "publication_id", "network", "channel", "published_at", "read_at", "text", *METRICS,
               "engagement")


def export_csv(span: Period, channel_ids=None) -> str:
    """The period's items and their latest numbers, one line each (an empty cell: not available)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    rows = _item_rows().where(_in(span, channel_ids)).order_by(PostMetrics.published_at, PostMetrics.publication)
    for row in rows:
        writer.writerow([row["post_id"], row["publication"], row["network"], row["channel_name"],
                         iso(row["published_at"]), iso(row["read_at"]), _spreadsheet_safe(row["text"]),
                         *("" if row[n] is None else row[n] for n in METRICS),
                         "" if engagement(row) is None else engagement(row)])
    return out.getvalue()


def _spreadsheet_safe(text: str) -> str:
    """A cell a spreadsheet will not run as a formula (a text starting with =, +, - or @ gets a quote)."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


#: The window of the per-channel gauges.
GAUGE_DAYS = 7


def channel_gauges(now: dt.datetime) -> list:
    """Per channel: its latest followers, and the views, reach and engagement of its items of the last
    ``GAUGE_DAYS`` days — two grouped queries, whatever the history."""
    latest = (ChannelMetrics.select(ChannelMetrics.channel, fn.MAX(ChannelMetrics.day).alias("day"))
              .where(ChannelMetrics.followers.is_null(False)).group_by(ChannelMetrics.channel))
    followers = {row.channel_id: row.followers for row in ChannelMetrics.select(
        ChannelMetrics.channel, ChannelMetrics.followers).join(
        latest, on=((ChannelMetrics.channel == latest.c.channel_id) & (ChannelMetrics.day == latest.c.day)))}
    score = sum(fn.COALESCE(getattr(PostMetrics, name), 0) for name in ENGAGEMENT)
    sums = {row["channel"]: row for row in PostMetrics.select(
        PostMetrics.channel, fn.SUM(PostMetrics.views).alias("views"), fn.SUM(PostMetrics.reach).alias("reach"),
        fn.SUM(score).alias("engagement"))
        .where(PostMetrics.published_at >= now - dt.timedelta(days=GAUGE_DAYS)).group_by(PostMetrics.channel).dicts()}
    return [{"channel_id": c.id, "name": c.name, "network": c.network, "followers": followers.get(c.id),
             **{k: (int(sums[c.id][k]) if c.id in sums and sums[c.id][k] is not None else None)
                for k in ("views", "reach", "engagement")}}
            for c in Channel.select(Channel.id, Channel.name, Channel.network).order_by(Channel.id)]
