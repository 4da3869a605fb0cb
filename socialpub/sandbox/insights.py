"""The networks' insights, as socialpub reads them: Instagram media and account
insights, Facebook Page post insights with a post's comment and share counts
(read in graph.py's node read), a Page's, LinkedIn's organisation share
statistics, member post analytics and follower counts.

Numbers grow after publishing — quickly at first, then levelling off — on a
clock ``insights_speed`` times faster than the wall clock (the Instagram
setting, default 60: an hour of a post's life each minute), so a post's curve
can be watched in ``make run``; ``insights_later_s`` moves that clock on (tests). Each item's numbers are fixed by its id (the
same item always grows the same way). Today's metric names only: a retired one
is refused as the network refuses it (Instagram's "no longer supported",
Facebook's "must be a valid insights metric"), and an Instagram Story seen by
fewer than 5 accounts answers error 10, "Not enough viewers". ``insights_fail``
(a network's setting) makes every insights read answer an error preset — a
rate limit, a revoked token.
"""
from __future__ import annotations

import hashlib
import math
import time
from urllib.parse import unquote

from flask import Blueprint, jsonify, request

from .common import bearer_token, endpoint, state
from .errors import fault_response, graph_error, graph_param_error, linkedin_error
from .linkedin import _token_error, version_error

bp = Blueprint("insights", __name__)

#: The names each kind of item serves today (the networks' reference pages, as of 2026-12).
INSTAGRAM_MEDIA = ("views", "reach", "likes", "comments", "shares", "saved", "total_interactions", "follows",
                   "profile_visits")
INSTAGRAM_REEL = INSTAGRAM_MEDIA + ("ig_reels_avg_watch_time", "ig_reels_video_view_total_time")
INSTAGRAM_STORY = ("views", "reach", "shares", "replies", "follows", "profile_visits", "total_interactions")
INSTAGRAM_ACCOUNT = ("reach", "views", "follower_count", "accounts_engaged", "total_interactions")
INSTAGRAM_RETIRED = ("impressions", "plays", "clips_replays_count", "video_views", "ig_reels_aggregated_all_plays_count")
FACEBOOK_POST = ("post_media_view", "post_total_media_view_unique", "post_clicks", "post_reactions_by_type_total",
                 "post_reactions_like_total")
FACEBOOK_PAGE = ("page_media_view", "page_total_media_view_unique", "page_follows", "page_post_engagements")
#: Followers of every sandbox account (a Page's, an Instagram account's, an organisation's).
FOLLOWERS = 1250
#: The hours after publishing over which most of an item's numbers come (the curve's time constant).
GROWTH_HOURS = 6.0
#: Least, most of an item's final views; the other numbers are shares of its reach.
VIEWS_RANGE = (400, 3000)
SHARES_OF_REACH = {"reactions": 0.08, "comments": 0.012, "shares": 0.01, "saves": 0.015, "clicks": 0.03}


def _age_s(item: dict, now: float | None) -> float:
    """An item's age on the insights' clock: sped up, and moved on by ``insights_later_s``."""
    speed = float(state().setting("instagram", "insights_speed") or 1.0)
    return max(0.0, ((now or time.time()) - item["finished_at"]) * speed) + state().setting("instagram",
                                                                                           "insights_later_s")


def _unit(key: str) -> float:
    """A number in [0, 1) fixed by ``key``."""
    return int.from_bytes(hashlib.sha256(key.encode()).digest()[:4], "big") / 2 ** 32


def grown(item: dict, now: float | None = None) -> dict:
    """An item's numbers at ``now``: views, reach, reactions, comments, shares, saves, clicks, watch_time_ms."""
    hours = _age_s(item, now) / 3600
    share = 1 - math.exp(-hours / GROWTH_HOURS)
    views = int((VIEWS_RANGE[0] + _unit(item["item_id"]) * (VIEWS_RANGE[1] - VIEWS_RANGE[0])) * share)
    reach = int(views * (0.55 + 0.2 * _unit(item["item_id"] + "reach")))
    numbers = {"views": views, "reach": reach}
    for name, part in SHARES_OF_REACH.items():
        numbers[name] = int(reach * part * (0.5 + _unit(item["item_id"] + name)))
    numbers["comments"] += len(state().comments_of(item["item_id"]))
    numbers["watch_time_ms"] = int(4000 + 8000 * _unit(item["item_id"] + "watch")) if views else 0
    return numbers


def find_item(item_id: str, network: str | None = None):
    """The published item ``item_id``, or None."""
    return next((i for i in state().history("received", network) if i["item_id"] == item_id), None)


def _graph_series(node_id: str, name: str, value, period: str = "lifetime", total: bool = False) -> dict:
    entry = {"name": name, "period": period, "title": name.replace("_", " ").capitalize(),
             "description": f"The sandbox's {name}.", "id": f"{node_id}/insights/{name}/{period}"}
    if total:
        entry["total_value"] = {"value": value}
    else:
        entry["values"] = [{"value": value}] if period == "lifetime" else [
            {"value": value, "end_time": time.strftime("%Y-%m-%dT07:00:00+0000", time.gmtime())}]
    return entry


def _metrics() -> list:
    return [m.strip() for m in (request.args.get("metric") or "").split(",") if m.strip()]


#: The permissions with which Meta lets a token read insights (any one of them).
PERMISSIONS = {"facebook": ("read_insights",),
               "instagram": ("instagram_manage_insights", "instagram_business_manage_insights")}


def _unpermitted(network: str):
    """Meta's (#10) for a token the sandbox issued without the permission to read insights, else None."""
    issued = state().token_info(bearer_token() or "")
    if issued is None or set(PERMISSIONS[network]) & set(issued.get("scopes") or ()):
        return None
    return graph_error(network, 403, 10, "(#10) Application does not have permission for this action")


def _no_metric(network: str):
    return graph_error(network, 400, 3001, "No metric was specified to be fetched. Please specify one or more "
                       "metrics to be fetched and try again.", subcode=1504028, error_type="OAuthException")


@bp.get("/<gv:version>/<node_id>/insights")
@endpoint("instagram")
def graph_insights(version, node_id):
    """``/{ig-media-id}/insights``, ``/{post-id}/insights``, ``/{ig-user-id}/insights``, ``/{page-id}/insights``."""
    asked = _metrics()
    item = find_item(node_id)
    network = item["network"] if item else "facebook" if any(m.startswith("page_") for m in asked) else "instagram"
    if state().setting(network, "insights_fail"):
        return fault_response(network, {"error": state().setting(network, "insights_fail")})
    refused = _unpermitted(network)
    if refused is not None:
        return refused
    if item is not None and item["network"] == "instagram":
        return _instagram_media(node_id, item, asked)
    if item is not None and item["network"] == "facebook":
        return _facebook_post(node_id, item, asked)
    if not node_id.isdigit():
        return graph_param_error("instagram", f"Unsupported get request. Object with ID '{node_id}' does not exist",
                                 subcode=33)
    if any(m.startswith("page_") for m in asked):
        return _facebook_page(node_id, asked)
    return _instagram_account(node_id, asked)


def _instagram_media(node_id: str, item: dict, asked: list):
    if not asked:
        return _no_metric("instagram")
    kind = (item.get("video") or {}).get("kind")
    media_type = "REELS" if kind == "reels" else "STORY" if kind == "stories" else (
        "CAROUSEL_ALBUM" if len(item["images"]) > 1 else "IMAGE")
    served = INSTAGRAM_REEL if media_type == "REELS" else INSTAGRAM_STORY if media_type == "STORY" else INSTAGRAM_MEDIA
    for position, name in enumerate(asked):
        if name in INSTAGRAM_RETIRED:
            return graph_param_error("instagram", f"Starting from version 22 and above, the {name} metric is no "
                                     f"longer supported for the queried media ({media_type}). Please refer to the "
                                     "documentation at https://developers.facebook.com/docs/instagram-platform/"
                                     "reference/instagram-media/insights for a list of supported metrics.")
        if name not in served:
            return graph_param_error("instagram", f"metric[{position}] must be one of the following values: "
                                     f"{', '.join(served)}")
    numbers = grown(item)
    if media_type == "STORY" and numbers["reach"] < 5:
        return graph_error("instagram", 400, 10, "(#10) Not enough viewers for the media to show insights")
    values = {"views": numbers["views"], "reach": numbers["reach"], "likes": numbers["reactions"],
              "comments": numbers["comments"], "shares": numbers["shares"], "saved": numbers["saves"],
              "ig_reels_avg_watch_time": numbers["watch_time_ms"],
              "ig_reels_video_view_total_time": numbers["watch_time_ms"] * numbers["views"],
              "replies": numbers["comments"], "follows": numbers["shares"] // 2,
              "profile_visits": numbers["clicks"]}
    values["total_interactions"] = (numbers["reactions"] + numbers["comments"] + numbers["shares"]
                                    + numbers["saves"])
    return jsonify(data=[_graph_series(node_id, name, values[name]) for name in asked])


def _facebook_post(node_id: str, item: dict, asked: list):
    if not asked:
        return _no_metric("facebook")
    if any(name not in FACEBOOK_POST for name in asked):
        # One name Facebook does not serve (post_impressions since 2025-11-15, post_impressions_unique
        # since 2026-06-15) fails the whole request, without naming it.
        return graph_param_error("facebook", "The value must be a valid insights metric")
    numbers = grown(item)
    reactions = {"like": numbers["reactions"] * 3 // 4, "love": numbers["reactions"] - numbers["reactions"] * 3 // 4}
    values = {"post_media_view": numbers["views"], "post_total_media_view_unique": numbers["reach"],
              "post_clicks": numbers["clicks"], "post_reactions_by_type_total": reactions,
              "post_reactions_like_total": reactions["like"]}
    return jsonify(data=[_graph_series(node_id, name, values[name]) for name in asked])


def post_counts(item: dict, fields: set) -> dict:
    """A Page post's ``shares``, ``comments.summary(true)`` and ``reactions.summary(true)`` fields."""
    numbers, answer = grown(item), {}
    for name in fields:
        if name.startswith("comments"):
            answer["comments"] = {"data": [], "summary": {"order": "ranked", "total_count": numbers["comments"],
                                                          "can_comment": True}}
        elif name.startswith("reactions"):
            answer["reactions"] = {"data": [], "summary": {"total_count": numbers["reactions"]}}
        elif name == "shares" and numbers["shares"]:  # Graph leaves it out of a post nobody shared
            answer["shares"] = {"count": numbers["shares"]}
    return answer


def _account_numbers(account_id: str, network: str) -> dict:
    """An account's last day: the sum of its items' numbers published within it."""
    day = {"views": 0, "reach": 0}
    for item in state().history("received", network):
        if item["account_id"] == account_id and item["finished_at"] > time.time() - 86400:
            numbers = grown(item)
            day["views"] += numbers["views"]
            day["reach"] += numbers["reach"]
    return day


def _instagram_account(node_id: str, asked: list):
    if not asked:
        return _no_metric("instagram")
    for name in asked:
        if name == "impressions":
            return graph_param_error("instagram", "Starting from version 22 and above, the impressions metric is "
                                     "no longer supported for the queried user. Please refer to the documentation "
                                     "at https://developers.facebook.com/docs/instagram-api/reference/ig-user/"
                                     "insights for a list of supported metrics.")
        if name not in INSTAGRAM_ACCOUNT:
            return graph_param_error("instagram", f"metric[{asked.index(name)}] must be one of the following "
                                     f"values: {', '.join(INSTAGRAM_ACCOUNT)}")
    day = _account_numbers(node_id, "instagram")
    values = {"reach": day["reach"], "views": day["views"], "follower_count": 3, "accounts_engaged": day["reach"] // 10,
              "total_interactions": day["reach"] // 8}
    total = request.args.get("metric_type") == "total_value"
    return jsonify(data=[_graph_series(node_id, name, values[name], "day", total) for name in asked])


def _facebook_page(node_id: str, asked: list):
    if any(name not in FACEBOOK_PAGE for name in asked):
        return graph_param_error("facebook", "The value must be a valid insights metric")
    day = _account_numbers(node_id, "facebook")
    values = {"page_media_view": day["views"], "page_total_media_view_unique": day["reach"], "page_follows": FOLLOWERS,
              "page_post_engagements": day["reach"] // 8}
    return jsonify(data=[_graph_series(node_id, name, values[name], request.args.get("period") or "day")
                         for name in asked])


# -- LinkedIn ------------------------------------------------------------------------------------------------


def _linkedin_checked():
    if state().setting("linkedin", "insights_fail"):
        return fault_response("linkedin", {"error": state().setting("linkedin", "insights_fail")})
    error = _token_error() or version_error()
    if error is None and request.headers.get("X-Restli-Protocol-Version") != "2.0.0":
        error = linkedin_error(400, "This API requires the header X-Restli-Protocol-Version: 2.0.0",
                               code="BAD_REQUEST")
    return error


def _restli_list(value: str | None) -> list:
    """``List(urn%3Ali%3Ashare%3A1,…)`` as its URNs."""
    if not value or not value.startswith("List(") or not value.endswith(")"):
        return []
    return [unquote(part) for part in value[5:-1].split(",") if part]


@bp.get("/rest/organizationalEntityShareStatistics")
@endpoint("linkedin")
def share_statistics():
    """An organisation's posts' lifetime statistics (organic), one element per post asked, with
    ``rw_organization_admin``."""
    error = _linkedin_checked()
    if error:
        return error
    issued = state().token_info(bearer_token() or "")
    if issued is not None and "rw_organization_admin" not in (issued.get("scopes") or ()):
        return linkedin_error(403, "Not enough permissions to access: "
                              "organizationalEntityShareStatistics.FINDER-organizationalEntity",
                              service_code=100, code="ACCESS_DENIED")
    if request.args.get("q") != "organizationalEntity" or not request.args.get("organizationalEntity"):
        return linkedin_error(400, "Parameter 'q' must be organizationalEntity, with organizationalEntity",
                              code="ILLEGAL_ARGUMENT")
    organization = request.args["organizationalEntity"]
    elements = []
    for key, kind in (("shares", "share"), ("ugcPosts", "ugcPost")):
        for urn in _restli_list(request.args.get(key)):
            item = find_item(urn, "linkedin")
            if item is None or item["account_id"] != organization:
                continue
            numbers = grown(item)
            likes, comments, shares, clicks = (numbers["reactions"], numbers["comments"], numbers["shares"],
                                               numbers["clicks"])
            elements.append({"organizationalEntity": organization, kind: urn, "totalShareStatistics": {
                "impressionCount": numbers["views"], "uniqueImpressionsCount": numbers["reach"],
                "likeCount": likes, "commentCount": comments, "shareCount": shares, "clickCount": clicks,
                "engagement": round((likes + comments + shares + clicks) / numbers["views"], 4)
                if numbers["views"] else 0.0}})
    return jsonify(paging={"count": 10, "start": 0, "links": []}, elements=elements)


#: memberCreatorPostAnalytics' queryType → the sandbox's number.
MEMBER_QUERIES = {"IMPRESSION": "views", "MEMBERS_REACHED": "reach", "REACTION": "reactions", "COMMENT": "comments",
                  "RESHARE": "shares", "POST_SAVE": "saves"}


@bp.get("/rest/memberCreatorPostAnalytics")
@endpoint("linkedin")
def member_post_analytics():
    """A member's post's total for one ``queryType`` (``q=entity``), with ``r_member_postAnalytics``."""
    error = _linkedin_checked()
    if error:
        return error
    issued = state().token_info(bearer_token() or "")
    if issued is not None and "r_member_postAnalytics" not in (issued.get("scopes") or ()):
        return linkedin_error(403, "Not enough permissions to access: memberCreatorPostAnalytics.FINDER-entity",
                              service_code=100, code="ACCESS_DENIED")
    query = request.args.get("queryType")
    entity = request.args.get("entity") or ""
    if request.args.get("q") != "entity" or query not in MEMBER_QUERIES or ":" not in entity:
        return linkedin_error(400, "Parameters q=entity, entity and a queryType "
                              f"({', '.join(MEMBER_QUERIES)}) are required", code="ILLEGAL_ARGUMENT")
    kind, _, urn = entity.strip("()").partition(":")
    item = find_item(unquote(urn), "linkedin")
    if item is None:
        return linkedin_error(404, f"Not found: {unquote(urn)}", code="NOT_FOUND")
    return jsonify(paging={"count": 10, "start": 0, "links": []}, elements=[
        {"count": grown(item)[MEMBER_QUERIES[query]], "metricType": query, "targetEntity": {kind: unquote(urn)}}])


@bp.get("/rest/networkSizes/<path:urn>")
@endpoint("linkedin")
def network_size(urn):
    """An organisation's followers (``edgeType=COMPANY_FOLLOWED_BY_MEMBER``)."""
    error = _linkedin_checked()
    if error:
        return error
    if request.args.get("edgeType") != "COMPANY_FOLLOWED_BY_MEMBER":
        return linkedin_error(400, "edgeType must be COMPANY_FOLLOWED_BY_MEMBER", code="ILLEGAL_ARGUMENT")
    return jsonify(firstDegreeSize=FOLLOWERS)
