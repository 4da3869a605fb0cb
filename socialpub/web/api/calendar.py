"""The calendar's posts: those scheduled, being published or published within
a window of at most ``MAX_DAYS``, each at its time (its scheduled time, or
when publishing was asked for), with its channels. One indexed range query
per column, so the calendar does not slow down as the history grows."""
from __future__ import annotations

import datetime as dt

from flask import request
from peewee import fn

from ...errors import InvalidInput
from ...lifecycle.queueing import free_slots
from ...models import Channel, Post, PostStatus, Publication, iso, utcnow
from .. import shapes
from ..serialize import answer
from .blueprint import bp

#: The widest window asked at once: a month view's six weeks, and some.
MAX_DAYS = 62
#: Posts one window shows at most (a busier month is cut, saying so).
MAX_POSTS = 1000
#: Drafts offered beside the calendar, to be scheduled by dragging (the latest edited).
MAX_DRAFTS = 20


def _instant(name: str) -> dt.datetime:
    raw = request.args.get(name) or ""
    try:
        moment = dt.datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput(f"{name}: an ISO 8601 instant with its offset, e.g. 2026-12-01T00:00:00+01:00",
                           field=name) from None
    if moment.tzinfo is None:
        raise InvalidInput(f"{name}: give the offset too (the calendar is in the viewer's zone)", field=name)
    return moment.astimezone(dt.timezone.utc).replace(tzinfo=None)


#: What the calendar shows of a post, read as plain rows (not models): a busy window is thousands.
_SHOWN = (Post.id, fn.SUBSTR(Post.text, 1, 140).alias("text"), Post.status, Post.scheduled_at,
          Post.publish_requested_at, Post.updated_at)


def window_posts(start: dt.datetime, end: dt.datetime) -> list:
    """Posts whose time falls in [start, end), as dicts: scheduled ones by
    ``scheduled_at``, those published without a schedule by
    ``publish_requested_at`` (drafts have no time). Each kind is read in its
    index's order and cut at the limit: a busy window costs no more than MAX_POSTS."""
    timed = Post.status != PostStatus.DRAFT
    scheduled = list(Post.select(*_SHOWN).where(timed & (Post.scheduled_at >= start) & (Post.scheduled_at < end))
                     .order_by(Post.scheduled_at).limit(MAX_POSTS + 1).dicts())
    asked = list(Post.select(*_SHOWN).where(timed & Post.scheduled_at.is_null() & (Post.publish_requested_at >= start)
                                            & (Post.publish_requested_at < end))
                 .order_by(Post.publish_requested_at).limit(MAX_POSTS + 1).dicts())
    return sorted(scheduled + asked, key=lambda p: p["scheduled_at"] or p["publish_requested_at"])[:MAX_POSTS + 1]


@bp.get("/calendar")
def calendar():
    """``?from=&to=`` (ISO instants with offsets, at most MAX_DAYS apart):
    ``{"items": [{id, text, status, at, movable, version, channels: [{id, network, name}]}], "truncated",
    "drafts": [...], "slots": [{at, channel}]}`` (the latest drafts, which have no time yet,
    and the channels' free posting times from now on)."""
    start, end = _instant("from"), _instant("to")
    if not start < end <= start + dt.timedelta(days=MAX_DAYS):
        raise InvalidInput(f"to: after from, and at most {MAX_DAYS} days later", field="to")
    posts = window_posts(start, end)
    drafts = list(Post.select(*_SHOWN).where(Post.status == PostStatus.DRAFT).order_by(Post.updated_at.desc())
                  .limit(MAX_DRAFTS).dicts())
    shown = posts[:MAX_POSTS] + drafts
    channels = {}
    for post_id, channel_id, network, name in (
            Publication.select(Publication.post, Channel.id, Channel.network, Channel.name).join(Channel)
            .where(Publication.post.in_([p["id"] for p in shown] or [0])).tuples()):
        channels.setdefault(post_id, []).append({"id": channel_id, "network": network, "name": name})

    def item(p):
        return shapes.CalendarPost(id=p["id"], text=p["text"], status=p["status"],
                                   at=iso(p["scheduled_at"] or p["publish_requested_at"]),
                                   movable=p["status"] in (PostStatus.SCHEDULED, PostStatus.DRAFT),
                                   version=iso(p["updated_at"]), channels=channels.get(p["id"], []))
    queued = list(Channel.select().where(Channel.enabled & Channel.queue.is_null(False)))
    slots = [{"at": iso(moment), "channel": {"id": c.id, "network": c.network, "name": c.name}}
             for moment, c in free_slots(queued, max(start, utcnow()), end)[:MAX_POSTS]]
    return answer(shapes.Calendar, items=[item(p) for p in posts[:MAX_POSTS]], truncated=len(posts) > MAX_POSTS,
                  drafts=[item(p) for p in drafts], slots=slots)
