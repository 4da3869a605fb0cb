"""What socialpub is doing, read from the database (Publication and Attempt
rows) and Redis (Dramatiq's queues and heartbeats): for the monitor page and
for the gauges ``/metrics`` computes at scrape time.

Redis keys, as Dramatiq's Redis broker writes them (namespace ``dramatiq``):
``dramatiq:<q>`` is the list of message ids ready for a worker; ``<q>.msgs``
holds every message of the queue not yet acknowledged, including those a
worker has fetched; ``<q>.DQ.msgs`` the delayed ones (retries wait there —
workers fetch them early, so ``LLEN <q>.DQ`` is nearly always 0); ``<q>.XQ``
is the sorted set of dead-lettered ids.
"""
from __future__ import annotations

import datetime as dt

import redis
from peewee import fn

from ... import api_versions
from ...connecting.refresh import WARN_AHEAD, unrenewable
from ...metrics import recent, tally
from ...models import (
    UNSUCCESSFUL,
    Channel,
    ChannelState,
    Media,
    Publication,
    PublicationStatus,
    WebhookEndpoint,
    iso,
    utcnow,
)
from ...networks.base import NETWORKS
from ...worker.middleware import read_workers

NAMESPACE = "dramatiq"
#: Publication statuses that are not a success, as the monitor counts failure.
NOT_PUBLISHED = (PublicationStatus.FAILED, PublicationStatus.PARTLY_FAILED, PublicationStatus.EXPIRED,
                 PublicationStatus.UNCONFIRMED)


def queue_depths(client, queues) -> dict:
    """``{queue: {"ready", "in_flight", "delayed", "dead"}}``, in one round trip.

    Raises:
      redis.RedisError: Redis is unreachable.
    """
    pipe = client.pipeline(transaction=False)
    for queue in queues:
        key = f"{NAMESPACE}:{queue}"
        pipe.llen(key)
        pipe.hlen(f"{key}.msgs")
        pipe.hlen(f"{key}.DQ.msgs")
        pipe.zcard(f"{key}.XQ")
    values = pipe.execute()
    depths = {}
    for i, queue in enumerate(queues):
        ready, unacked, delayed, dead = values[4 * i:4 * i + 4]
        depths[queue] = {"ready": ready, "in_flight": max(0, unacked - ready), "delayed": delayed,
                         "dead": dead}
    return depths


def clear_dead_letters(client, queues) -> int:
    """Forget the dead-lettered messages of ``queues`` (Dramatiq keeps them a week);
    return how many. The database holds every outcome and a retry sends a new
    message, so nothing is lost: the count only says what failed since the last clear."""
    pipe = client.pipeline(transaction=True)
    for queue in queues:
        pipe.zcard(f"{NAMESPACE}:{queue}.XQ")
        pipe.delete(f"{NAMESPACE}:{queue}.XQ", f"{NAMESPACE}:{queue}.XQ.msgs")
    return sum(pipe.execute()[::2])


def publication_counts() -> dict:
    """``{(network, status): count}`` for every network and status, zeros
    included — from the tally the triggers keep (metrics/tally.py), not a count of the table."""
    counts = {(network, status): 0 for network in NETWORKS for status in PublicationStatus.ALL}
    counts.update(tally.counts())
    return counts


def channels_needing_reauth() -> list:
    return [{"id": c.id, "name": c.name, "network": c.network, "reason": c.state_reason}
            for c in Channel.select().where(Channel.state == ChannelState.NEEDS_REAUTH).order_by(Channel.id)]


def channels_expiring_soon(now=None) -> list:
    """Active channels whose token expires within refresh.WARN_AHEAD and that
    nothing will renew (no refresh token, not Instagram Login): someone must reconnect them."""
    now = now or utcnow()
    return [{"id": c.id, "name": c.name, "network": c.network, "expires_at": iso(c.token_expires_at)}
            for c in Channel.select().where((Channel.state == ChannelState.ACTIVE)
                                            & unrenewable()
                                            & (Channel.token_expires_at < now + WARN_AHEAD))
            .order_by(Channel.token_expires_at)]


def api_versions_in_use(defaults: dict, today=None) -> list:
    """Each network's API versions in use and when each stops being served
    (api_versions.py), soonest first: the configured ones (``defaults``:
    ``{"graph": …, "linkedin": …}``, what new channels and LinkedIn channels
    naming none use) and those channels are pinned to. Versions without an
    announced end come last."""
    today = today or api_versions.today()
    channels: dict = {}
    for network, base_url, pinned, count in (Channel.select(Channel.network, Channel.base_url, Channel.api_version,
                                                            fn.COUNT(Channel.id))
                                             .group_by(Channel.network, Channel.base_url, Channel.api_version)
                                             .tuples()):
        version = api_versions.channel_version(network, base_url, pinned, defaults["linkedin"])
        if version and api_versions.is_version(network, version):
            channels[(network, version)] = channels.get((network, version), 0) + count
    for network in NETWORKS:
        channels.setdefault((network, defaults[api_versions.family(network)]), 0)
    rows = []
    for (network, version), count in channels.items():
        end = api_versions.sunset(network, version)
        left = end.days_left(today)
        rows.append({"network": network, "version": version, "channels": count,
                     "sunset": end.day.isoformat() if end.day else None, "estimated": end.estimated,
                     "days_left": left, "source": end.source, "words": end.describe(today),
                     "warn": left is not None and left <= api_versions.WARN_DAYS,
                     "fix": api_versions.how_to_move(network, version, defaults)})
    return sorted(rows, key=lambda r: (r["days_left"] is None, r["days_left"] or 0, _network_order(r["network"])))


def oldest_queued_age_s(now=None) -> float | None:
    """How long the oldest publication queued (not yet taken) has waited, or None."""
    now = now or utcnow()
    oldest = (Publication.select(fn.MIN(Publication.enqueued_at))
              .where(Publication.status == PublicationStatus.QUEUED).scalar())
    return None if oldest is None else max(0.0, (now - oldest).total_seconds())


def webhooks_failing(now=None) -> list:
    """``(endpoint id, seconds its deliveries have kept failing)`` of every enabled endpoint."""
    now = now or utcnow()
    return [(e.id, max(0.0, (now - e.failing_since).total_seconds()) if e.failing_since else 0.0)
            for e in WebhookEndpoint.select(WebhookEndpoint.id, WebhookEndpoint.failing_since)
            .where(WebhookEndpoint.enabled == True).order_by(WebhookEndpoint.id)]  # noqa: E712


def in_progress(now=None) -> list:
    """Publications a worker is sending now, longest-running first."""
    now = now or utcnow()
    rows = (Publication.select(Publication.id, Publication.post, Publication.network, Publication.attempts,
                               Publication.started_at)
            .where(Publication.status == PublicationStatus.PROCESSING).order_by(Publication.started_at))
    return [{"publication_id": p.id, "post_id": p.post_id, "network": p.network, "attempt": p.attempts,
             "started_at": iso(p.started_at),
             "running_s": round((now - p.started_at).total_seconds(), 1) if p.started_at else None}
            for p in rows]


def outcomes(since) -> dict:
    """Per network, publications that reached a final status since ``since``
    (to the minute: metrics/recent.py): counts by final status, and
    success/failure percentages (None when none finished)."""
    table = {n: {"finished": 0, **{s: 0 for s in PublicationStatus.FINAL}} for n in NETWORKS}
    for (network, status), count in recent.outcomes(since).items():
        table.setdefault(network, {"finished": 0, **{s: 0 for s in PublicationStatus.FINAL}})
        table[network][status] = count
        table[network]["finished"] += count
    for row in table.values():
        finished = row["finished"]
        row["success_pct"] = round(100 * row[PublicationStatus.PUBLISHED] / finished, 1) if finished else None
        row["failure_pct"] = (round(100 * sum(row[s] for s in NOT_PUBLISHED) / finished, 1)
                              if finished else None)
    return table


def attempt_times(since) -> dict:
    """Per network: how many attempts ended since ``since`` (to the minute),
    their average duration in seconds and their 95th percentile (within 5 %:
    metrics/recent.py)."""
    times = recent.attempt_times(since)
    empty = {"attempts": 0, "avg_s": None, "p95_s": None}
    return {network: times.get(network, empty) for network in sorted(set(NETWORKS) | set(times),
                                                                      key=_network_order)}


def latest_failures(limit=10) -> list:
    """The publications that most recently failed, expired, ended unconfirmed
    or are waiting to retry, each with its network's own message."""
    rows = (Publication.select()
            # The partial index's own condition (models.UNSUCCESSFUL_INDEX), so that it is used.
            .where(Publication.status.in_(list(UNSUCCESSFUL)) & Publication.last_error.is_null(False))
            .order_by(Publication.updated_at.desc(), Publication.id.desc()).limit(limit))
    return [{"publication_id": p.id, "post_id": p.post_id, "network": p.network, "status": p.status,
             "error_code": p.last_error_code, "error": p.last_error, "at": iso(p.updated_at)}
            for p in rows]


def media_storage() -> dict:
    """How many uploads the library holds and their bytes (thumbnails and renditions aside)."""
    files, size = Media.select(fn.COUNT(Media.id), fn.COALESCE(fn.SUM(Media.size_bytes), 0)).tuples().get()
    return {"files": files, "bytes": int(size)}


def snapshot(redis_client, queues, heartbeat_timeout_ms: int, api_defaults: dict, now=None) -> dict:
    """Everything the monitor page shows, as JSON-ready data. Redis being
    unreachable leaves ``queues`` and ``workers`` empty and says why in ``redis_error``.
    ``api_defaults``: the configured API versions (see :func:`api_versions_in_use`)."""
    now = now or utcnow()
    counts = publication_counts()
    data = {
        "generated_at": iso(now),
        "in_progress": in_progress(now),
        "waiting": {status: {n: counts[(n, status)] for n in NETWORKS}
                    for status in (PublicationStatus.QUEUED, PublicationStatus.RETRYING)},
        "oldest_queued_age_s": _round(oldest_queued_age_s(now)),
        "outcomes": {"last_hour": outcomes(now - dt.timedelta(hours=1)),
                     "last_day": outcomes(now - dt.timedelta(days=1))},
        "attempt_times": {"last_hour": attempt_times(now - dt.timedelta(hours=1)),
                          "last_day": attempt_times(now - dt.timedelta(days=1))},
        "channels_needing_reauth": channels_needing_reauth(),
        "channels_expiring_soon": channels_expiring_soon(now),
        "api_versions": api_versions_in_use(api_defaults),
        "latest_failures": latest_failures(),
        "media": media_storage(),
        "queues": {},
        "workers": {"alive": 0, "threads": 0, "items": [], "lost": []},
        "redis_error": None,
    }
    try:
        data["queues"] = queue_depths(redis_client, queues)
        workers = read_workers(redis_client, heartbeat_timeout_ms=heartbeat_timeout_ms)
    except (redis.RedisError, OSError) as exc:
        data["redis_error"] = f"Redis did not answer: {exc}"
    else:
        alive = [w for w in workers if w["alive"]]
        data["workers"] = {
            "alive": len(alive), "threads": sum(w.get("threads", 0) for w in alive),
            "items": [{"host": w.get("host"), "pid": w.get("pid"), "threads": w.get("threads"),
                       "queues": w.get("queues", []),
                       "started_at": iso(dt.datetime.fromtimestamp(w["started_at"], dt.timezone.utc)
                                         .replace(tzinfo=None)) if w.get("started_at") else None,
                       "last_seen_s": _round(w["last_seen_s"])} for w in alive],
            # Registered, and silent past the heartbeat timeout: died, or cut off from Redis (their
            # messages go to the others); forgotten when a worker next starts.
            "lost": [{"host": w.get("host"), "pid": w.get("pid"), "last_seen_s": _round(w["last_seen_s"])}
                     for w in workers if not w["alive"]],
        }
    return data


def _round(value):
    return None if value is None else round(value, 1)


def _network_order(network):
    return NETWORKS.index(network) if network in NETWORKS else len(NETWORKS)
