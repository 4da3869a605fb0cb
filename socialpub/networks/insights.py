"""socialpub's one metric vocabulary, and each network's names for it.

Every number socialpub keeps about a published item is one of ``METRICS``; an
account's, one of ``ACCOUNT_METRICS``. Each network's adapter asks for its own
names (``NAMES``) and maps the answer back; a number a network does not give is
absent — "not available" —, never 0. The sources of every mapping are in
docs/analytics.md.

Networks retire metric names (Instagram's ``impressions`` and ``plays`` on
2025-04-21, Facebook's ``post_impressions*`` on 2025-11-15): a name the network
refuses is dropped from the request and the request made again, with a log line
(``read_graph_insights``), so a retired name costs one call, never the reading.
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from typing import Callable

from .base import ErrorKind, PublishError

logger = logging.getLogger(__name__)

#: An item's numbers: how many times it was seen, by how many accounts, reactions (likes),
#: comments, shares (reshares, sends), saves, clicks on it, and a video's average watch time (ms).
METRICS = ("views", "reach", "reactions", "comments", "shares", "saves", "clicks", "watch_time_ms")
#: An account's numbers on a day.
ACCOUNT_METRICS = ("followers", "reach", "views")
#: What counts as engagement (the best times, the best posts).
ENGAGEMENT = ("reactions", "comments", "shares", "saves", "clicks")

#: How each metric is written for people.
METRIC_LABELS = {"views": "Views", "reach": "Reach", "reactions": "Reactions", "comments": "Comments",
                 "shares": "Shares", "saves": "Saves", "clicks": "Clicks", "watch_time_ms": "Average watch time",
                 "followers": "Followers"}

#: Instagram media insights (``GET /{ig-media-id}/insights?metric=…``), by kind of media.
INSTAGRAM_MEDIA = {"views": "views", "reach": "reach", "likes": "reactions", "comments": "comments",
                   "shares": "shares", "saved": "saves"}
INSTAGRAM_REEL = {**INSTAGRAM_MEDIA, "ig_reels_avg_watch_time": "watch_time_ms"}
INSTAGRAM_STORY = {"views": "views", "reach": "reach", "shares": "shares"}
#: Names Instagram retired for every version on 2025-04-21 (asked, they are refused with code 100).
INSTAGRAM_RETIRED = ("impressions", "plays", "clips_replays_count", "video_views", "ig_reels_aggregated_all_plays_count")

#: Facebook Page post insights (``GET /{post-id}/insights?metric=…``) since 2025-11-15.
FACEBOOK_POST = {"post_media_view": "views", "post_total_media_view_unique": "reach", "post_clicks": "clicks",
                 "post_reactions_by_type_total": "reactions"}
#: Retired by Facebook on 2025-11-15 (``impressions`` became ``media_view``).
FACEBOOK_RETIRED = ("post_impressions", "post_impressions_organic", "post_impressions_paid", "post_impressions_fan",
                    "post_impressions_viral", "post_impressions_nonviral", "page_impressions", "page_fans")
#: Retired on 2026-06-15 (``*_unique`` impressions became ``*_total_media_view_unique``).
FACEBOOK_RETIRED_2026 = ("post_impressions_unique", "page_impressions_unique")

#: LinkedIn organisation share statistics (``totalShareStatistics`` of
#: ``/rest/organizationalEntityShareStatistics``).
LINKEDIN_SHARE = {"impressionCount": "views", "uniqueImpressionsCount": "reach", "likeCount": "reactions",
                  "commentCount": "comments", "shareCount": "shares", "clickCount": "clicks"}
#: LinkedIn member post analytics (``/rest/memberCreatorPostAnalytics``): one call per ``queryType``.
LINKEDIN_MEMBER = {"IMPRESSION": "views", "MEMBERS_REACHED": "reach", "REACTION": "reactions",
                   "COMMENT": "comments", "RESHARE": "shares"}


@dataclass
class Numbers:
    """One reading of an item or an account: the vocabulary's values the network
    gave (``values``), the names it refused and that were dropped (``dropped``),
    and why it gave none (``note``: plain words, e.g. not enough viewers yet)."""

    values: dict = field(default_factory=dict)
    dropped: tuple = ()
    note: str | None = None


def refused_metric(error: PublishError, asked: list) -> str | None:
    """The one metric among ``asked`` that Graph's code-100 refusal names ("… the impressions metric is no
    longer supported …", "The metric shares is not supported for this media type"), else None."""
    if not _refuses_metric(error):
        return None
    named = [name for name in asked if re.search(rf"\b{re.escape(name)}\b", str(error))]
    return named[0] if len(named) == 1 else None


def _refuses_metric(error: PublishError) -> bool:
    """Graph's code 100 — an invalid parameter, which is how it refuses a metric it does not serve."""
    return error.kind is ErrorKind.PERMANENT and str(error.code) == "100"


def read_graph_insights(network: str, call: Callable[[list], dict], names: dict) -> tuple[dict, tuple]:
    """Ask Graph's ``/insights`` for ``names`` (the network's name → the vocabulary's), dropping
    each name Graph refuses as unknown or retired and asking again without it; return the
    vocabulary's values and the dropped names. ``call(metrics)`` makes the request.

    Graph refuses the whole request for one bad name, and does not always say which ("(#100) The value
    must be a valid insights metric"): then each name is asked alone, once, to find the ones it refuses.

    Raises:
      PublishError: any other refusal (a threshold, a permission, a rate limit).
    """
    asked, dropped = list(names), []
    while asked:
        try:
            body = call(asked)
        except PublishError as exc:
            name = refused_metric(exc, asked)
            if name is not None:
                refused = [name]
            elif _refuses_metric(exc) and len(asked) > 1:
                refused = [one for one in asked if _refused_alone(call, one)]
            else:
                raise
            if not refused:
                raise
            logger.warning("%s no longer serves the metric(s) %s (%s): dropped from the reading.",
                           network, ", ".join(refused), exc)
            asked = [name for name in asked if name not in refused]
            dropped.extend(refused)
            continue
        return _graph_values(body, names), tuple(dropped)
    return {}, tuple(dropped)


def _refused_alone(call: Callable[[list], dict], name: str) -> bool:
    try:
        call([name])
    except PublishError as exc:
        if _refuses_metric(exc):
            return True
        raise
    return False


def _graph_values(body: dict, names: dict) -> dict:
    """``{"data": [{"name", "values": [{"value"}]} | {"name", "total_value": {"value"}}]}`` in the vocabulary:
    a value that is a breakdown (reactions by type) is summed; an unknown name is ignored."""
    values = {}
    for entry in body.get("data") or ():
        if not isinstance(entry, dict) or entry.get("name") not in names:
            continue
        if isinstance(entry.get("total_value"), dict):
            value = entry["total_value"].get("value")
        else:
            series = entry.get("values") or [{}]
            value = series[-1].get("value") if isinstance(series[-1], dict) else None
        if isinstance(value, dict):
            value = sum(v for v in value.values() if isinstance(v, (int, float)))
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            values[names[entry["name"]]] = int(value)
    return values
