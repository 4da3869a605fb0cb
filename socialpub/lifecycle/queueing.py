""""Add to queue": a post is scheduled at the next free posting time of its
channels — the earliest slot of any of them, within ``HORIZON``, at which
that channel has no other post scheduled, and whose spacing and quota windows
(pacing.py) the posts already scheduled there leave room in: a slot at which
the post would only wait for its place is skipped. The scheduling itself is
scheduling.schedule's (a conditional update; refused once it went out)."""
from __future__ import annotations

import datetime as dt

from .. import acting
from ..config import Settings
from ..errors import Unprocessable
from ..intake.composing import check_ready, get_post
from ..intake.queue_slots import instants
from ..models import Channel, Post, PostStatus, Publication, iso, utcnow
from . import pacing, scheduling

#: How far ahead a free slot is looked for.
HORIZON = dt.timedelta(days=28)
#: A slot closer than this is not offered: it would be in the past by the time it is saved.
LEAD = dt.timedelta(minutes=1)


def taken(channel_ids, start: dt.datetime, end: dt.datetime) -> set:
    """``{(channel id, instant)}`` already scheduled (or going out) in [start, end)."""
    return set(Publication.select(Publication.channel, Post.scheduled_at).join(Post)
               .where(Publication.channel.in_(list(channel_ids) or [0])
                      & Post.status.in_([PostStatus.SCHEDULED, PostStatus.PUBLISHING])
                      & (Post.scheduled_at >= start) & (Post.scheduled_at < end)).tuples())


def free_slots(channels, start: dt.datetime, end: dt.datetime) -> list:
    """``[(instant, channel)]``: the channels' posting times in [start, end) that no post takes and
    whose spacing and quotas leave room, in order."""
    queued = [c for c in channels if c.queue]
    settings = acting.settings.get() or Settings()
    # Posts scheduled up to a day before the window count in the windows of its first slots.
    busy = taken([c.id for c in queued], start - pacing.DAY, end)
    by_channel = {}
    for channel_id, moment in busy:
        by_channel.setdefault(channel_id, []).append(moment)
    return sorted(((moment, c) for c in queued for moment in instants(c.queue, start, end)
                   if (c.id, moment) not in busy and _room(c, moment, sorted(by_channel.get(c.id, [])), settings)),
                  key=lambda pair: (pair[0], pair[1].id))


def _room(channel: Channel, moment: dt.datetime, scheduled: list, settings) -> bool:
    """Whether a post at ``moment`` keeps the channel's gap to its scheduled posts and stays within
    each window limit they share (its posts per hour, Instagram's limit as last read)."""
    gap, per_hour = pacing.spacing_of(channel.min_gap_s, channel.max_per_hour, settings)
    if any(abs(at - moment) < gap for at in scheduled):
        return False
    limits = pacing.limits(channel.network, None, channel.quota_readings, per_hour)
    return all(sum(1 for at in scheduled if moment - limit.window < at <= moment) < limit.most for limit in limits)


def add_to_queue(post_id: int, now=None) -> Post:
    """Schedule the post at its channels' next free posting time.

    Raises:
      NotFound, Conflict: no such post, or it went out already.
      Unprocessable: none of its channels has a free posting time within HORIZON, or a
        draft breaks a network's rules (composing.check_ready, naming the field).
    """
    post = get_post(post_id)
    if post.status == PostStatus.DRAFT:
        check_ready(post)  # what stops it going out is said before any posting time is looked for
    channels = list(Channel.select().join(Publication).where(Publication.post == post.id).distinct())
    start = (now or utcnow()) + LEAD
    slots = free_slots(channels, start, start + HORIZON)
    if not slots:
        raise Unprocessable(f"post {post.id}: none of its channels has a free posting time in the next "
                            f"{HORIZON.days} days; set posting times on the Channels page, or schedule it by hand",
                            field="queue")
    moment, channel = slots[0]
    return scheduling.schedule(post.id, iso(moment), channel.queue["zone"])
