"""Which posts a list shows: a text search, a channel, a status and a date
range (the post's time: its schedule, else when it was written), read from
the query string the same way for the pages and the API."""
from __future__ import annotations

import datetime as dt

from peewee import SQL, NodeList, Tuple, fn

from ..db import MAX_ID
from ..errors import InvalidInput
from ..models import Post, PostStatus, Publication

MAX_QUERY = 200


def _day(args, name):
    raw = (args.get(name) or "").strip()
    if not raw:
        return None
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        raise InvalidInput(f"{name}: a date such as 2026-12-01", field=name) from None


def filters_of(args) -> dict:
    """The filters of a query string: ``q``, ``channel``, ``status``, ``since``, ``until``.

    Raises:
      InvalidInput: naming the parameter.
    """
    q = (args.get("q") or "").strip()
    if len(q) > MAX_QUERY:
        raise InvalidInput(f"q: at most {MAX_QUERY} characters", field="q")
    status = args.get("status") or None
    if status is not None and status not in PostStatus.ALL:
        raise InvalidInput(f"status: must be one of {', '.join(PostStatus.ALL)}", field="status")
    channel = args.get("channel") or None
    if channel is not None:
        if not (channel.isascii() and channel.isdigit() and 0 < int(channel) <= MAX_ID):
            raise InvalidInput("channel: a channel id", field="channel")
        channel = int(channel)
    since, until = _day(args, "since"), _day(args, "until")
    if since and until and since > until:
        raise InvalidInput("until: on or after since", field="until")
    return {"q": q, "status": status, "channel": channel, "since": since, "until": until}


def matching(filters: dict):
    """A query of the posts these filters keep."""
    query = Post.select()
    if filters["q"]:
        # LIKE with its wildcards escaped: "50%" finds "50%", not every text with "50".
        escaped = filters["q"].lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        query = query.where(NodeList((fn.LOWER(Post.text), SQL("LIKE"), f"%{escaped}%", SQL("ESCAPE '\\'"))))
    if filters["status"]:
        query = query.where(Post.status == filters["status"])
    if filters["channel"]:
        query = query.where(fn.EXISTS(Publication.select(Publication.id).where(
            (Publication.post == Post.id) & (Publication.channel == filters["channel"]))))
    when = fn.COALESCE(Post.scheduled_at, Post.created_at)
    if filters["since"]:
        query = query.where(when >= dt.datetime.combine(filters["since"], dt.time()))
    if filters["until"]:
        query = query.where(when < dt.datetime.combine(filters["until"] + dt.timedelta(days=1), dt.time()))
    return query


#: Lists count their matches up to this many: past it a total says "1,000 or more"
#: (a count of every post of years of history costs more than the page it heads).
COUNT_CAP = 1_000


def capped_count(query) -> tuple:
    """``(total, capped)``: how many posts ``query`` matches, counted up to COUNT_CAP."""
    total = Post.select(fn.COUNT(SQL("*"))).from_(query.select(Post.id).limit(COUNT_CAP + 1).alias("m")).scalar()
    return min(total, COUNT_CAP), total > COUNT_CAP


def newest_first(query):
    return query.order_by(Post.created_at.desc(), Post.id.desc())


def before(query, post_id: int):
    """The posts of ``query`` listed after post ``post_id`` (newest first): a keyset page,
    as fast deep in the history as at its top.

    Raises:
      InvalidInput: no post has that id.
    """
    cursor = Post.select(Post.created_at, Post.id).where(Post.id == post_id).tuples().first()
    if cursor is None:
        raise InvalidInput(f"before: no post with id {post_id} (give the `next` of the previous page)",
                           field="before")
    return query.where(Tuple(Post.created_at, Post.id) < Tuple(*cursor))
