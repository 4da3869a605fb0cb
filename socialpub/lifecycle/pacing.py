"""What a channel may still take before a network call: its spacing — the
least time between two of its posts, the most in an hour — and the networks'
quotas, in one ledger shared by every worker and host (QuotaUse rows).

A publication takes its places before its network call (:func:`reserve`, in the
attempt, right after the claim, whatever sent it: a schedule, the queue, an
import, a calendar catching up, Publish now): one row per quota it counts
against, at the moment it may go — now, or the first moment after that its
spacing and quotas allow. A place in the future is held all the same, so that
a backlog of twenty posts leaves one gap apart, each waiting once for its own
place (the attempt's ``WaitUntil``; the post page says why and until when),
and never fails for it. A network that refused the post gives its places back
(:func:`release`); one that may have taken it keeps them.

The quotas (each with its source in docs/networks.md):

- Instagram's posts per rolling window (``content_publishing_limit``): the
  limit and the window are read from Meta before a post when the last reading
  is older than ``READING_FRESH`` — never assumed —, and Meta's count of posts
  made elsewhere holds places the ledger does not know of; a post Meta still
  refuses for the limit (9/2207042) waits again, the count taken as full;
- Facebook's Reels per Page per rolling 24 hours (30, from the Reels
  publishing guide; Graph has no endpoint that says it);
- LinkedIn's posts per day, which it does not publish: learned from its 429s.
  A post still refused with 429 once its waits for the rate limit are used up
  (attempt.py) counts the channel's posts since midnight UTC — LinkedIn's
  daily limits reset then — as the day's most, and waits for midnight instead
  of failing; the posts after it wait with it.

WhatsApp's messaging limit stays with its broadcast (whatsapp/broadcast.py): it
counts people, not posts.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from dataclasses import dataclass

from peewee import JOIN

from ..db import Prepared, Slot, supports_row_locks, write_transaction
from ..models import Channel, Publication, QuotaUse, utcnow
from ..statuses import PublicationStatus as P

logger = logging.getLogger(__name__)

#: The quotas of the ledger: every post of a channel (its spacing), and each network's own.
SPACING, INSTAGRAM_POSTS, FACEBOOK_REELS, LINKEDIN_POSTS = "posts", "instagram_posts", "facebook_reels", "linkedin_posts"
#: "30 API-published Reels per Page per rolling 24 h" (Meta, Reels publishing guide).
FACEBOOK_REELS_PER_DAY = 30
DAY, HOUR = dt.timedelta(hours=24), dt.timedelta(hours=1)
#: A reading of a network's count older than this is read again before a post.
READING_FRESH = dt.timedelta(minutes=10)
#: The longest a network-counted window is kept longer than the network's (counted_by_network).
MARGIN = dt.timedelta(minutes=5)
#: How far back the ledger is read: as long as it is kept (retention.py), beyond every window.
KEPT = dt.timedelta(days=QuotaUse.KEPT_DAYS)
#: Refusals by which a network says a quota is full: (network, code, subcode) -> quota.
_FULL = {("instagram", "9", "2207042"): INSTAGRAM_POSTS}
#: Networks whose daily limit is learned from the 429s that outlast the rate-limit waits.
DAILY_LEARNED = {"linkedin": LINKEDIN_POSTS}
#: Publications whose future places are void: taken back (a cancel, an edit) or given up before going out.
_VOID = (P.PENDING, P.FAILED, P.EXPIRED)


@dataclass(frozen=True)
class Limit:
    """At most ``most`` places of ``quota`` in any ``window``; ``others`` more that the
    network counts and the ledger does not hold (posts made elsewhere), as of ``others_at``.
    ``label`` and ``period`` say it to a person ("Instagram posts", "the last 24 h")."""

    quota: str
    most: int
    window: dt.timedelta
    label: str
    period: str
    others: int = 0
    others_at: dt.datetime | None = None
    #: A day from midnight UTC, not a rolling window (LinkedIn's daily limits); ``window`` is then a day.
    daily: bool = False


def counted_by_network(quota: str, most: int, window: dt.timedelta, label: str) -> Limit:
    """A limit the network counts: it counts a post when it publishes it, a moment after
    its place was taken (a container made, a video uploaded), so the ledger keeps the
    window a tenth longer (five minutes at most) and a post never reaches it early."""
    return Limit(quota, most, window + min(window / 10, MARGIN), label, f"the last {_span(window)}")


@dataclass(frozen=True)
class Place:
    """When a publication may go; ``reason``: why not now, in plain words (None: it goes now)."""

    at: dt.datetime
    reason: str | None = None


def spacing_of(min_gap_s, max_per_hour, settings) -> tuple[dt.timedelta, int]:
    """A channel's gap and most per hour: its own, else the settings' (0: none)."""
    gap = settings.channel_min_gap_s if min_gap_s is None else min_gap_s
    per_hour = settings.channel_max_per_hour if max_per_hour is None else max_per_hour
    return dt.timedelta(seconds=gap), per_hour


def limits(network: str, video_kind: str | None, readings: dict | None, per_hour: int) -> list[Limit]:
    """The window limits a publication counts against (its gap aside)."""
    found = []
    if per_hour:
        found.append(Limit(SPACING, per_hour, HOUR, "posts of this channel", "the last hour"))
    reading = (readings or {}).get(INSTAGRAM_POSTS) if network == "instagram" else None
    if reading:
        found.append(counted_by_network(INSTAGRAM_POSTS, int(reading["total"]),
                                        dt.timedelta(seconds=int(reading["window_s"])), "Instagram posts"))
    if network == "facebook" and video_kind == "reel":
        found.append(counted_by_network(FACEBOOK_REELS, FACEBOOK_REELS_PER_DAY, DAY, "Facebook Reels"))
    learned = (readings or {}).get(LINKEDIN_POSTS) if network == "linkedin" else None
    if learned:
        found.append(Limit(LINKEDIN_POSTS, int(learned["total"]), DAY, "LinkedIn posts", "today (UTC)", daily=True))
    return found


def learn_daily_limit(channel_id: int, quota: str, now=None) -> dict | None:
    """The network refused a post for a daily limit it does not publish: the channel's
    posts published since midnight UTC are taken as the day's most (one at least); the readings then."""
    now = now or utcnow()
    midnight = dt.datetime.combine(now.date(), dt.time())
    today = (Publication.select().where((Publication.channel == channel_id) & (Publication.status == P.PUBLISHED)
                                        & (Publication.published_at >= midnight)).count())
    return note_reading(channel_id, quota, today, max(1, today), int(DAY.total_seconds()), now)


def applies(network: str, video_kind: str | None, readings: dict | None, min_gap_s, max_per_hour,
            settings) -> bool:
    """Whether a publication has any place to take (none: the attempt skips the ledger)."""
    gap, per_hour = spacing_of(min_gap_s, max_per_hour, settings)
    return bool(gap) or bool(limits(network, video_kind, readings, per_hour))


def reading_due(readings: dict | None, quota: str, now: dt.datetime) -> bool:
    """Whether the network's count of ``quota`` is to be read before a post."""
    reading = (readings or {}).get(quota)
    return reading is None or dt.datetime.fromisoformat(reading["read_at"]) < now - READING_FRESH


def note_reading(channel_id: int, quota: str, used: int, total: int, window_s: int, now=None) -> dict | None:
    """Keep the network's count of ``quota`` as read now; the channel's readings then."""
    now = now or utcnow()
    with write_transaction():
        channel = Channel.select(Channel.quota_readings).where(Channel.id == channel_id).first()
        if channel is None:
            return None
        readings = dict(channel.quota_readings or {})
        readings[quota] = {"used": used, "total": total, "window_s": window_s, "read_at": now.isoformat()}
        Channel.update(quota_readings=readings).where(Channel.id == channel_id).execute()
    return readings


def full_quota(error) -> str | None:
    """The quota a network's refusal says is full, if it says so."""
    return _FULL.get((error.network, error.code, error.subcode))


def note_full(channel_id: int, quota: str, now=None) -> None:
    """The network refused a post for ``quota``: its count taken as full as of now."""
    channel = Channel.select(Channel.quota_readings).where(Channel.id == channel_id).first()
    reading = ((channel.quota_readings or {}) if channel else {}).get(quota)
    if reading:
        note_reading(channel_id, quota, int(reading["total"]), int(reading["total"]), int(reading["window_s"]), now)


def release(publication_id: int) -> None:
    """The network refused the post: its places are free again."""
    QuotaUse.delete().where(QuotaUse.publication == publication_id).execute()


def reserve(publication_id: int, channel_id: int, network: str, video_kind: str | None, settings,
            now=None) -> Place | None:
    """Take the publication's places: at ``now`` when its spacing and quotas allow, else
    at the first moment they do (``Place.reason`` says why it waits). Places taken by an
    earlier attempt of it are kept. None: nothing limits this channel."""
    with write_transaction():
        if supports_row_locks():  # PostgreSQL: one reservation of a channel at a time (SQLite: one writer)
            _LOCK_CHANNEL.execute(id=channel_id)
        # Read once the channel is ours: a place another worker took while this one waited is then in the past.
        now = now or utcnow()
        channel = (Channel.select(Channel.name, Channel.min_gap_s, Channel.max_per_hour, Channel.quota_readings)
                   .where(Channel.id == channel_id).first())
        held = [at for (at,) in QuotaUse.select(QuotaUse.at).where(QuotaUse.publication == publication_id).tuples()]
        if held:
            at = max(held)
            # Woken early (a retry message may come a second early): it waits for the rest.
            return Place(now) if at <= now else Place(at, f"waits for its place: goes out at {_clock(at)}")
        gap, per_hour = spacing_of(channel.min_gap_s, channel.max_per_hour, settings)
        found = _with_others(channel_id, limits(network, video_kind, channel.quota_readings, per_hour),
                             channel.quota_readings)
        if not gap and not found:
            return None
        places = _places(channel_id, now)
        at, reason = _earliest(now, gap, found, places)
        quotas = {SPACING} | {limit.quota for limit in found}
        QuotaUse.insert_many([{"channel": channel_id, "quota": q, "publication": publication_id, "at": at}
                              for q in sorted(quotas)]).execute()
    if at <= now:
        return Place(now)
    return Place(at, f"{reason}; goes out at {_clock(at)}")


def usage(channel: Channel, settings, now=None) -> dict:
    """What the channel's spacing and quotas hold now, as the compose form and the API show it:
    ``{"min_gap_s", "max_per_hour", "quotas": [{"quota", "label", "period", "used", "most", "waiting"}],
    "next_free_at"}`` — ``used``: places in the window that ends now; ``waiting``: places held for
    later; ``next_free_at``: when a post sent now would go (now, unless something holds it).
    Reads the ledger and the last reading only (no network call)."""
    now = now or utcnow()
    gap, per_hour = spacing_of(channel.min_gap_s, channel.max_per_hour, settings)
    reel = "reel" if channel.network == "facebook" else None  # Facebook's Reels quota shown beside its posts'
    found = _with_others(channel.id, limits(channel.network, reel, channel.quota_readings, per_hour),
                         channel.quota_readings)
    places = _places(channel.id, now)
    quotas = []
    for limit in found:
        ats = places.get(limit.quota, []) + [limit.others_at] * limit.others
        quotas.append({"quota": limit.quota, "label": limit.label, "period": limit.period, "most": limit.most,
                       "used": sum(1 for at in ats if at <= now and (at.date() == now.date() if limit.daily
                                                                     else now - limit.window < at)),
                       "waiting": sum(1 for at in ats if at > now)})
    posts = [limit for limit in found if limit.quota != FACEBOOK_REELS]
    return {"min_gap_s": int(gap.total_seconds()), "max_per_hour": per_hour or None, "quotas": quotas,
            "next_free_at": _earliest(now, gap, posts, places)[0]}


def _with_others(channel_id: int, found: list[Limit], readings: dict | None) -> list[Limit]:
    """Each network-read limit with the posts the network counted that the ledger does
    not hold (made elsewhere), as places at the moment of the reading: they leave the
    window by then plus the window at the latest."""
    result = []
    for limit in found:
        reading = (readings or {}).get(limit.quota)
        if reading is None:
            result.append(limit)
            continue
        read_at = dt.datetime.fromisoformat(reading["read_at"])
        ours = (QuotaUse.select().where((QuotaUse.channel == channel_id) & (QuotaUse.quota == limit.quota)
                                        & (QuotaUse.at <= read_at)
                                        & (QuotaUse.at > read_at - limit.window)).count())
        result.append(dataclasses.replace(limit, others=max(0, int(reading["used"]) - ours), others_at=read_at))
    return result


def _places(channel_id: int, now) -> dict:
    """The channel's places by quota, sorted: every one in the last ``KEPT``, and the future
    ones but those of a post deleted, taken back or given up before it went out."""
    rows = (QuotaUse.select(QuotaUse.quota, QuotaUse.at)
            .join(Publication, JOIN.LEFT_OUTER, on=(Publication.id == QuotaUse.publication))
            .where((QuotaUse.channel == channel_id) & (QuotaUse.at > now - KEPT)
                   & ((QuotaUse.at <= now) | (Publication.id.is_null(False) & Publication.status.not_in(_VOID))))
            .tuples())
    places = {}
    for quota, at in rows:
        places.setdefault(quota, []).append(at)
    return {quota: sorted(ats) for quota, ats in places.items()}


def _earliest(now, gap: dt.timedelta, found: list[Limit], places: dict) -> tuple[dt.datetime, str | None]:
    """The first moment from ``now`` at which a new place breaks neither the gap to any
    other post of the channel nor any limit in any window that holds it; and why ``now``
    is not that moment (None: it is)."""
    spaced = places.get(SPACING, [])
    candidates = {now} | {at + gap for at in spaced if at + gap > now}
    for limit in found:
        if limit.daily:  # the next midnights (UTC)
            candidates |= {dt.datetime.combine(now.date() + dt.timedelta(days=d), dt.time()) for d in (1, 2, 3)}
            continue
        ats = places.get(limit.quota, []) + [limit.others_at] * limit.others
        candidates |= {at + limit.window for at in ats if at + limit.window > now}
    reason = _broken(now, gap, found, places, spaced)
    if reason is None:
        return now, None
    for t in sorted(candidates):
        if _broken(t, gap, found, places, spaced) is None:
            return t, reason
    return max(candidates), reason  # not reached: the last candidate is past every place


def _broken(t, gap, found, places, spaced) -> str | None:
    """Why a place at ``t`` cannot be (None: it can)."""
    near = [at for at in spaced if abs(at - t) < gap]
    if near:
        return f"posts of this channel are at least {_span(gap)} apart"
    for limit in found:
        ats = sorted(places.get(limit.quota, []) + [limit.others_at] * limit.others)
        if limit.daily:
            count = sum(1 for at in ats if at.date() == t.date())
            if count + 1 > limit.most:
                return f"{limit.label}: {count} of {limit.most} {limit.period}"
            continue
        # Every window that would hold t ends at t or at one of the places after it, within a window.
        ends = [t] + [at for at in ats if t < at < t + limit.window]
        for end in ends:
            count = sum(1 for at in ats if end - limit.window < at <= end)
            if count + 1 > limit.most:
                return f"{limit.label}: {count} of {limit.most} in {limit.period}"
    return None


def _span(delta: dt.timedelta) -> str:
    seconds = int(delta.total_seconds())
    if seconds % 3600 == 0:
        return f"{seconds // 3600} h"
    return f"{seconds // 60} min" if seconds % 60 == 0 else f"{seconds} s"


def _clock(at: dt.datetime) -> str:
    return at.strftime("%H:%M:%S UTC") if at.second else at.strftime("%H:%M UTC")


_LOCK_CHANNEL = Prepared(lambda: Channel.select(Channel.id).where(Channel.id == Slot("id")).for_update())
