"""Every JSON shape of the API, declared once (pydantic models).

Each model is at once what an answer is built from (``serialize.py`` fills it in
and :func:`dump` writes it out, so an answer cannot hold a field its shape does
not have), what a request body is checked against for its fields and types
(:func:`check`), and what the OpenAPI document says (:func:`json_schemas`,
``api/openapi.py``). Limits come from the constants the domain checks use, so a
limit changed there changes here. The domain rules (a network's limits, a
template's parameters, who may do what) stay in the domain: a shape says only
what a field is.
"""
from __future__ import annotations

import json
from dataclasses import asdict
from datetime import date
from typing import Annotated, Any, Literal, Optional, Union

from pydantic import BaseModel, ConfigDict, Field, RootModel, ValidationError, create_model
from pydantic.json_schema import GenerateJsonSchema, models_json_schema

from ..db import MAX_ID
from ..errors import InvalidInput
from ..input_checks import MAX_URL
from ..intake.channels import MAX_LENGTHS, MAX_RECIPIENTS
from ..intake.composing import MAX_CHANNELS_PER_POST, MAX_COMMENT, MAX_MEDIA_PER_POST, MAX_TEXT
from ..intake.queue_slots import WEEKDAYS
from ..intake.schedule_time import MAX_WHEN, MAX_ZONE
from ..lifecycle import bulk
from ..media import documents
from ..media.images import FORMATS
from ..media.rendition_jobs import Status as _RenditionStatus
from ..media.videos import CONTENT_TYPES as VIDEO_TYPES
from ..models import ChannelState, MediaKind, PostStatus, PublicationStatus
from ..networks import LIMITS, NETWORKS, explain
from ..notices import KINDS as NOTICE_KINDS
from ..notices import PAGE as NOTICE_PAGE
from ..people.roles import ROLES
from ..campaigns import snippets
from ..reviewing import links as review_links
from ..statuses import CommentStatus, DeliveryStatus
from ..webhooks.events import TYPES, WEBHOOK_TEST
from ..whatsapp import progress as broadcast_progress


def one_of(values) -> Any:
    """A string that is one of ``values`` (an enum in the document)."""
    return Literal[tuple(values)]


Time = Annotated[str, Field(json_schema_extra={"format": "date-time"})]
Id = Annotated[int, Field(ge=1, le=MAX_ID)]
Network = one_of(NETWORKS)
#: Every kind of video post of any network (each network's own are in x-network-limits).
VideoKind = one_of(sorted({rules.kind for network in NETWORKS for rules in LIMITS[network].videos}))
Role = one_of(ROLES)
EventType = one_of(TYPES)
NoticeChoice = one_of(("immediately", "digest", "off"))
Confidence = one_of(("low", "medium", "high"))
ReviewDecisionKind = one_of(("approved", "changes"))
ReviewLinkState = one_of(("open", "expired", "revoked"))
Sha256 = Annotated[str, Field(pattern="^[0-9a-f]{64}$")]
RENDITION_STATUSES = _RenditionStatus.ALL


class Shape(BaseModel):
    """A closed object: a field not declared is an error, in an answer as in a request."""
    model_config = ConfigDict(extra="forbid")


def check(shape: type[BaseModel], data: dict) -> None:
    """Refuse ``data`` unless it fits ``shape`` (strictly: "1" is not a number, nor true one), naming
    the first field at fault and what it takes, in plain words (InvalidInput)."""
    try:
        shape.model_validate(data, strict=True)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        # The field, not the list item: "ids", as the document names it, for ids[3].
        where = ".".join(str(part) for part in first["loc"] if not isinstance(part, int))[:100]
        raise InvalidInput(f"{where or 'body'}: {_said(shape, first)}", field=where or "body") from None


def check_fields(shape: type[BaseModel], data: dict) -> None:
    """Refuse a field ``shape`` does not have, for a body whose values the domain checks itself
    (a new post, a channel, a webhook: their messages and 422s are the domain's)."""
    unknown = sorted(set(data) - set(shape.model_fields))
    if unknown:
        raise InvalidInput(f"{unknown[0][:100]}: unknown field (only {', '.join(sorted(shape.model_fields))} may "
                           f"be given)", field=unknown[0][:100])


def _said(shape: type[BaseModel], error: dict) -> str:
    """What a field takes, from pydantic's error ``type`` and its context."""
    kind, ctx = error["type"], error.get("ctx") or {}
    if kind == "extra_forbidden":
        fields = sorted(shape.model_fields) if len(error["loc"]) == 1 else ()
        return (f"unknown field (only {', '.join(fields)} may be given)" if fields
                else "unknown field" if len(error["loc"]) > 1 else "unknown field (it takes no fields)")
    said = {
        "missing": "is required",
        "string_type": "must be text",
        "int_type": "must be a whole number",
        "bool_type": "must be true or false",
        "list_type": "must be a list",
        "dict_type": "must be an object",
        "model_type": "must be an object",
        "model_attributes_type": "must be an object",
        "string_too_short": "must not be empty" if ctx.get("min_length") == 1
        else f"at least {ctx.get('min_length')} characters",
        "string_too_long": f"at most {ctx.get('max_length')} characters",
        "too_short": f"at least {ctx.get('min_length')} items",
        "too_long": f"at most {ctx.get('max_length')} items",
        "greater_than_equal": f"must be {ctx.get('ge')} or more",
        "less_than_equal": f"must be {ctx.get('le')} or less",
        "literal_error": f"{str(error.get('input'))[:40]!r} is not one of {ctx.get('expected')}",
        "string_pattern_mismatch": "is not in the form it takes (see the API document)",
    }
    return said.get(kind, "is not what the field takes (see the API document)")


def dump(shape: Shape) -> dict:
    """The answer's JSON object: the fields given (an optional one left out stays out)."""
    return shape.model_dump(exclude_unset=True, by_alias=True)


# ------------------------------------------------------------------ errors


class ErrorDetail(Shape):
    field: Optional[str]
    network: Network = None
    message: str
    channel: int = Field(None, description="The channel whose version it is.")


class ErrorBody(Shape):
    code: str
    message: str = Field(description="Starts with the field at fault.")
    field: str = None
    details: list[ErrorDetail] = Field(None, description="Every problem, when there are several (422).")


class Error(Shape):
    error: ErrorBody


class Change(Shape):
    at: Time
    by: str
    action: str
    fields: list[str]


class StaleBody(Shape):
    code: Literal["stale"]
    message: str
    field: str
    current_version: str = Field(description="The post's version now: its ETag.")
    changed: list[str] = Field(description="The fields changed since the version sent.")
    changes: list[Change] = Field(description="What was done since, oldest first (from the post's audit trail).")


class StaleError(Shape):
    error: StaleBody


class Empty(Shape):
    """Nothing to give: no body, or {}."""


# ------------------------------------------------------------------ posts


class WhatsAppMessage(Shape):
    template: Optional[str] = None
    language: Optional[str] = None
    body: list[str] = None
    audience: Optional[str] = Field(None, description="An audience's name; null: every opted-in contact.")


class Failure(Shape):
    sentence: str = Field(description="What happened and what to do, in plain words.")
    who: one_of(explain.WHO) = Field(description="Who caused it.")
    who_label: str
    fix: Optional[one_of(explain.FIXES)] = Field(description="The one action that fixes it (the page's button), "
                                                             "or null.")
    said_by: Literal["network", "socialpub"] = Field(description="Whose words last_error holds.")


class Attempt(Shape):
    number: int
    started_at: Time
    finished_at: Time
    outcome: str
    error_code: Optional[str]
    error: Optional[str]


class QuotaUse(Shape):
    quota: str = Field(description="posts (the channel's most per hour), instagram_posts, facebook_reels.")
    label: str = Field(description="As a person reads it: \"Instagram posts\".")
    period: str = Field(description="The window, in words: \"the last 24 h\".")
    used: int = Field(description="Places taken in the window that ends now (posts made elsewhere that the network "
                                  "counts included).")
    most: int
    waiting: int = Field(description="Places held for posts that wait for a later moment.")


class ChannelQuotas(Shape):
    """What a channel's spacing and quotas hold now (lifecycle/pacing.py): no network call is made to say it."""
    min_gap_s: int = Field(description="The least seconds between two of its posts (0: none).")
    max_per_hour: Optional[int] = Field(description="The most posts it takes in an hour; null: no limit.")
    quotas: list[QuotaUse]
    next_free_at: Time = Field(description="When a post sent now would go out: now, unless its spacing or a quota "
                                           "holds it.")


class Metrics(Shape):
    """An item's numbers in socialpub's one vocabulary (docs/analytics.md); null: the network does not give
    it ("not available"), never 0."""
    views: Optional[int] = Field(description="Times it was seen (Instagram views, Facebook post_media_view, "
                                             "LinkedIn impressionCount; WhatsApp: messages read).")
    reach: Optional[int] = Field(description="Accounts that saw it (WhatsApp: messages delivered).")
    reactions: Optional[int] = Field(description="Likes and other reactions.")
    comments: Optional[int]
    shares: Optional[int]
    saves: Optional[int]
    clicks: Optional[int]
    watch_time_ms: Optional[int] = Field(description="A video's average watch time, in milliseconds.")


class Reading(Metrics):
    """One reading of an item's numbers, kept when they moved."""
    taken_at: Time


class ItemMetrics(Shape):
    """One published item's numbers and its curve since publishing."""
    publication_id: int
    network: Network
    channel_id: int
    published_at: Time
    read_at: Optional[Time] = Field(description="When its numbers were last read; null: not yet.")
    next_read_at: Optional[Time] = Field(description="When they are read next (often at first, then less, "
                                                     "never after 90 days); null: no more reads.")
    note: Optional[str] = Field(description="Why the network showed no numbers at the last read, in plain words.")
    metrics: Metrics
    engagement: Optional[int] = Field(description="Reactions, comments, shares, saves and clicks the network gives.")
    link_clicks: Optional[int] = Field(None, description="Clicks on its short link (this installation's count); "
                                                         "null: it has none.")
    readings: list[Reading]


class PostMetrics(Shape):
    post_id: int
    publications: list[ItemMetrics]


class Totals(Metrics):
    """The sum of each number over the items that give it (null: none does); watch time is not summed."""
    items: int = Field(description="Published items counted.")
    engagement: Optional[int]


class BestPost(Shape):
    post_id: int
    publication_id: int
    network: Network
    channel_id: int
    text: str
    published_at: Time
    metrics: Metrics
    engagement: Optional[int]


class PeriodTotals(Shape):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    from_: str = Field(alias="from", description="The period's first day (UTC).")
    to: str
    totals: Totals


class ChannelTotals(Shape):
    channel_id: int
    name: str
    network: Network
    totals: Totals
    followers: Optional[int] = Field(description="Followers on the period's last day read; null: not given.")


class Analytics(Shape):
    """A period of whole UTC days: the items published in it, their totals beside the period before's,
    each channel's, and the best posts."""
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    from_: str = Field(alias="from", description="The first day (UTC), inclusive.")
    to: str = Field(description="The last day (UTC), inclusive.")
    totals: Totals
    previous: PeriodTotals
    channels: list[ChannelTotals]
    best_posts: list[BestPost]


class AccountDay(Shape):
    day: str = Field(description="A UTC day, YYYY-MM-DD.")
    followers: Optional[int]
    reach: Optional[int]
    views: Optional[int]


class ChannelMetrics(Shape):
    """A channel's account by day, and its items published in the period."""
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    channel_id: int
    from_: str = Field(alias="from")
    to: str
    days: list[AccountDay]
    totals: Totals
    best_posts: list[BestPost]


class BestTimeCell(Shape):
    weekday: one_of(WEEKDAYS)
    hour: int = Field(ge=0, le=23)
    posts: int = Field(description="Posts published at that weekday and hour that the average rests on.")
    average_engagement: float
    confidence: Confidence = Field(description="low: 1–2 posts, medium: 3–7, high: 8+.")


class BestTimes(Shape):
    """When the channel's own posts did best, by weekday and hour in ``zone``, over the last ``days`` days."""
    zone: str
    days: int
    posts: int
    cells: list[BestTimeCell]
    suggested: list[Slot] = Field(description="The best cells resting on 2 posts or more, as posting times.")


class LinkTracking(Shape):
    """How the post's link is published (docs/api.md): with UTM parameters (the LINK_UTM template:
    utm_source={network}, utm_medium=social, utm_campaign={campaign}) and/or as a short link of this
    installation that counts clicks (PUBLIC_BASE_URL/l/<code>), made when it is sent."""
    utm: bool = False
    short: bool = False
    campaign: Optional[Annotated[str, Field(max_length=100, pattern=r"^[\w .\-+/]{1,100}$")]] = Field(
        None, description="utm_campaign; by default post-<id>.")


class Recurrence(Shape):
    """From the post's scheduled time, in its zone: "every": 1, "unit": "week" is every Monday 09:00 for a post
    first on a Monday 09:00 (the same wall-clock time across summer time)."""
    model_config = ConfigDict(json_schema_extra={"examples": [{"every": 1, "unit": "week"},
                                                              {"every": 14, "unit": "day", "until": "2027-06-30"}]})
    every: Annotated[int, Field(ge=1, le=366)] = 1
    unit: Literal["day", "week"]
    until: Optional[date] = Field(None, description="Its last day (in the post's zone); null: no end.")


class Series(Shape):
    first_post_id: int = Field(description="The first post of the series.")
    next_post_id: Optional[int] = Field(description="The occurrence made after this one, once it went out; null "
                                                    "before (or when the series ended here).")


class FirstCommentState(Shape):
    """The comment posted under a publication's item once it is out (lifecycle/first_comments.py)."""
    text: str
    status: one_of(CommentStatus.ALL) = Field(description="pending: waits for its post to be published there (or "
                                                        "for its next try); sending; posted; failed.")
    attempts: int
    external_id: Optional[str] = Field(description="The comment's id at the network, once posted.")
    posted_at: Optional[Time]
    last_error: Optional[str] = Field(description="Why its last try failed, in the network's words.")
    next_attempt_at: Optional[Time] = Field(description="When it is next tried; null while its post is not out.")


class Publication(Shape):
    id: int
    channel_id: int
    network: Network
    status: one_of(PublicationStatus.ALL)
    text: str = Field(description="The text as this channel is sent it: its own version, its network's override, "
                                  "or the post's (adapted: the link appended where it is not the network's own "
                                  "field).")
    whatsapp: Optional[WhatsAppMessage] = Field(description="A WhatsApp channel's own message "
                                                            "(versions.<channel id>.whatsapp); null: the post's "
                                                            "whatsapp.")
    video_kind: Optional[VideoKind] = Field(None, description="How the post's video goes to this channel; null "
                                                              "without a video.")
    attempts: int
    retries_used: int
    rate_limit_waits: int
    task_id: Optional[str]
    external_id: Optional[str]
    url: Optional[str]
    container_id: Optional[str]
    last_error: Optional[str]
    last_error_code: Optional[str]
    error_meaning: Optional[str] = Field(description="What the last error means and what to do.")
    failure: Optional[Failure] = Field(description="The failure in plain words, who caused it and its fix; null "
                                                   "when none.")
    next_attempt_at: Optional[Time]
    ambiguous_since: Optional[Time]
    enqueued_at: Optional[Time]
    started_at: Optional[Time]
    published_at: Optional[Time]
    confirmed_at: Optional[Time] = Field(None, description="When the network was seen holding its item, read back by "
                                                           "its id after publishing; null until then (WhatsApp: "
                                                           "confirmed by Meta's statuses instead).")
    finished_at: Optional[Time]
    first_comment: Optional[FirstCommentState] = Field(None, description="Its first comment; null when it has none.")
    history: list[Attempt] = Field(None, description="Only when one post is shown.")


class Approval(Shape):
    asked: Optional[Literal["publish", "schedule"]] = Field(description="What an editor asked for, while it "
                                                                        "awaits approval.")
    approved_at: Optional[Time] = Field(description="Voided by an edit.")
    review_comment: Optional[str] = Field(description="Why it was rejected.")
    split_from: Optional[int] = Field(description="The post whose channels that need approval this one carries, "
                                                  "waiting, while the others went out.")
    split_to: Optional[int] = Field(description="The post in which this one's channels that need approval wait, "
                                                "while the others go out.")


class PublishResult(Shape):
    publication_id: int
    network: Network
    status: Literal["enqueued"]
    task_id: str


class VideoFacts(Shape):
    """A video as judged from its content (media/videos.py)."""
    duration_s: float
    frame_rate: float
    video_codec: str
    audio_codec: Optional[str]
    audio_sample_rate: Optional[int]
    moov_first: bool = Field(description="Its index comes before its media data, as Instagram requires.")


class DocumentFacts(Shape):
    pages: int = Field(description="Its pages (LinkedIn takes 300 at most).")
    title: Optional[str] = Field(description="The title in the PDF's own metadata; null when it has none.")


class Media(Shape):
    id: int
    kind: one_of(MediaKind.ALL)
    content_type: one_of(sorted(FORMATS.values()) + sorted(VIDEO_TYPES) + [documents.CONTENT_TYPE])
    width: int
    height: int
    bytes: int
    sha256: Sha256
    original_name: Optional[str]
    created_at: str
    url: str
    thumbnail_url: str
    video: Optional[VideoFacts] = Field(description="A video's facts; null for a photo or a document.")
    document: Optional[DocumentFacts] = Field(None, description="A document's (a PDF's) facts, its width and height "
                                                                "its first page's in points; null for a photo or "
                                                                "a video.")


class Post(Shape):
    id: int
    text: str
    image_url: Optional[str]
    link: Optional[str]
    status: one_of(PostStatus.ALL)
    scheduled_at: Optional[Time] = Field(description="In the zone it was given in.")
    scheduled_at_utc: Optional[Time]
    timezone: Optional[str]
    created_at: Time
    updated_at: Time
    publish_requested_at: Optional[Time]
    finished_at: Optional[Time]
    publications: list[Publication]
    whatsapp: Optional[WhatsAppMessage] = Field(description="The WhatsApp message: a template and its parameters, "
                                                            "the audience.")
    approval: Approval
    recurrence: Optional[Recurrence] = Field(None, description="How it repeats; null: it does not.")
    link_tracking: Optional[LinkTracking] = Field(None, description="How its link is published; null: as typed.")
    series: Optional[Series] = Field(None, description="Its recurring series; null when it is in none.")
    results: list[PublishResult] = Field(None, description="Only when created with publish, or approved and "
                                                           "published.")
    note: str = Field(None, description="Approved after its scheduled time: published at once.")
    media: list[Media] = Field(None, description="The uploaded images, in order (one post only, not in lists).")


class PostPage(Shape):
    items: list[Post]
    page: int = None
    per_page: int
    total: int = Field(None, description="Counted up to 1,000 (then total_capped).")
    total_capped: bool = Field(None, description="More posts match than total says.")
    pages: int = None
    next: Optional[int] = Field(description="Give it as `before` for the next page; null on the last one.")


PublicationCounts = create_model("PublicationCounts", __base__=Shape,
                                 **{status: (int, ...) for status in PublicationStatus.ALL})


#: How far a video on its way is (serialize.video_progress).
VIDEO_STAGES = ("starting", "uploading", "processing")


class VideoProgress(Shape):
    stage: one_of(VIDEO_STAGES) = Field(
        description="uploading: the bytes are going to the network; processing: the network has them all and is "
                    "making the post (Instagram fetches the video itself, so it is processing from the start).")
    uploaded_bytes: int = 0
    size_bytes: Optional[int] = None
    percent: Optional[int] = Field(None, description="Of the bytes, while uploading.")


class BroadcastProgress(Shape):
    """How far a WhatsApp broadcast has gone (whatsapp/progress.py): every recipient is in exactly one of
    sent, sending, waiting, pending, failed and unconfirmed."""
    total: int = Field(description="Its recipients, those skipped for want of consent included.")
    sent: int = Field(description="Meta accepted the message (sent, delivered or read).")
    delivered: int = Field(description="Of those sent, it reached the phone (delivered or read).")
    read: int = Field(description="Of those sent, it was read (not every user sends read receipts).")
    sending: int = Field(description="Handed to Meta, the answer not in yet (or lost: until Meta's status "
                                     "names it).")
    waiting: int = Field(description="Held back by a limit (the messaging limit, a pair-rate pause, Meta "
                                     "stopping the number) until a later time.")
    waiting_for: Optional[one_of(broadcast_progress.WAITING_FOR)] = Field(description=(
        "The limit holding the latest of them: `messaging_limit`, Meta's unique people per 24 hours "
        "(SOCIALPUB_WHATSAPP_MESSAGING_LIMIT); `pair_rate`, about one message every 6 seconds to the same person "
        "(131056); `throughput`, the number's messages a second for the rest of a second (130429); "
        "`number_paused`, Meta stopped the number for its quality (131064, 131048); `other`; null when none "
        "waits."))
    pending: int = Field(description="Not sent yet and free to go (a held one whose time has come included).")
    failed: int = Field(description="Did not get it: refused by Meta, outside the 24-hour window, opted out, or "
                                    "skipped (no consent). A retry sends again to those Meta refused.")
    unconfirmed: int = Field(description="In doubt, and no status from Meta came within "
                                         "SOCIALPUB_WHATSAPP_STATUS_WAIT_S.")
    remaining: int = Field(description="Still to go: pending + waiting + sending.")
    resumes_at: Optional[Time] = Field(description="When the first recipient held back by a limit may go; null "
                                                   "when none waits.")
    rate: float = Field(description="Messages a second the estimate uses: the number's send rate, or the pace "
                                    "the broadcast kept over the last 10 seconds when slower.")
    expected_end: Optional[Time] = Field(description="When the last recipient should be sent it (an estimate); "
                                                     "null when nothing is left to send, or the publication is not "
                                                     "being worked on (not started, or ended).")
    expected_end_basis: Optional[one_of(broadcast_progress.BASES)] = Field(description=(
        "What expected_end rests on: `rate`, what is left at the number's send rate (its channel's send_rate, "
        "else SOCIALPUB_WHATSAPP_SEND_RATE); `pace`, at the pace kept over the last 10 seconds, slower than the "
        "rate; `limit`, the latest time a limit holds a recipient until; null with expected_end."))


class PublicationState(Shape):
    id: int
    network: Network
    channel_id: int
    status: one_of(PublicationStatus.ALL)
    attempts: int
    published_at: Optional[Time]
    external_id: Optional[str]
    url: Optional[str]
    last_error: Optional[str]
    last_error_code: Optional[str]
    error_meaning: Optional[str] = Field(description="What the last error means and what to do.")
    next_attempt_at: Optional[Time]
    failure: Optional[Failure] = Field(description="The failure in plain words, who caused it and its fix; null "
                                                   "when none.")
    channel_needs_reauth: bool = Field(description="Its channel needs re-authorisation: Reconnect, not Retry.")
    progress: Optional[BroadcastProgress] = Field(description="WhatsApp: how far its broadcast has gone and when "
                                                              "it should end; null for the other networks.")
    video: Optional[VideoProgress] = Field(None, description="How far its video's upload has gone while it is "
                                                             "being sent; null otherwise.")
    first_comment: Optional[FirstCommentState] = Field(None, description="Its first comment; null when it has none.")


class PostStatusShape(Shape):
    post_id: int
    status: one_of(PostStatus.ALL)
    changeable: bool = Field(description="Whether it can still be edited, moved, cancelled or deleted as unsent: "
                                         "a draft, a scheduled post, one awaiting approval — or one launched for "
                                         "its time until a network's call for it starts.")
    by_status: PublicationCounts
    publications: list[PublicationState]


class PublishResults(Shape):
    post_id: int
    results: list[PublishResult]
    status: Literal[PostStatus.AWAITING] = Field(None, description="When it waits for an admin's approval (no "
                                                                   "results).")
    waiting_post_id: int = Field(None, description="When only some of its channels need approval: the post in "
                                                   "which they wait (the others are in results).")


class BulkResult(Shape):
    id: int
    ok: bool
    error: str = None
    new_id: int = None


class BulkResults(Shape):
    results: list[BulkResult]


class Imported(Shape):
    created: int
    ids: list[int]


class CalendarChannel(Shape):
    id: int
    network: Network
    name: str


class CalendarPost(Shape):
    id: int
    text: str
    status: one_of(PostStatus.ALL)
    at: Optional[Time] = Field(description="Its time; null for a draft.")
    movable: bool = Field(description="Scheduled or draft: it may be moved.")
    version: Time = Field(description="The post's version (its updated_at): a move made on it is refused once the "
                                      "post changed.")
    channels: list[CalendarChannel]


class FreeSlot(Shape):
    at: Time
    channel: CalendarChannel


class Calendar(Shape):
    items: list[CalendarPost]
    truncated: bool
    drafts: list[CalendarPost] = Field(description="The latest drafts, to schedule.")
    slots: list[FreeSlot] = Field(description="The channels' free posting times, from now on.")


# ------------------------------------------------------------------ post requests

Text = Annotated[str, Field(min_length=1, max_length=MAX_TEXT,
                            description="Not blank. Each network's own limits are checked too (422).")]
Url = Annotated[Optional[str], Field(max_length=MAX_URL, description="An absolute http(s) URL; empty or null: none.")]
Overrides = create_model("Overrides", __base__=Shape, **{network: (Text, None) for network in NETWORKS})


FirstCommentText = Annotated[str, Field(min_length=1, max_length=MAX_COMMENT)]


class ChannelVersion(Shape):
    model_config = ConfigDict(json_schema_extra={"minProperties": 1})
    text: Text = Field(None, description="This channel's own text.")
    whatsapp: WhatsAppMessage = Field(None, description="A WhatsApp channel's own template, parameters and "
                                                        "audience, checked against its own templates and audiences.")
    video_kind: Optional[VideoKind] = Field(None, description="How the post's video goes to this channel; wins over "
                                                              "video_kinds.")
    first_comment: Optional[FirstCommentText] = Field(None, description="This channel's own first comment; wins "
                                                                        "over the post's first_comment.")


def _network_limits() -> dict:
    """What each network takes (text, caption, tags, photos: how many, of which types, in which
    aspect ratios), as composing checks it (networks/*.py)."""
    return {network: json.loads(json.dumps(asdict(LIMITS[network]))) for network in NETWORKS}


class EditPost(Shape):
    """The fields to change; {scheduled_at, timezone?} alone schedules or moves it, scheduled_at null makes it a
    draft."""
    model_config = ConfigDict(json_schema_extra={
        "minProperties": 1,
        "examples": [{"text": "Edited"}, {"scheduled_at": "2027-01-05T09:00:00", "timezone": "UTC"}]})
    text: Text = None
    image_url: Url = None
    link: Url = None
    media_ids: Optional[Annotated[list[Id], Field(max_length=MAX_MEDIA_PER_POST, json_schema_extra={
        "uniqueItems": True})]] = Field(None, description="Uploaded images (POST /api/media), in order, or one "
                                                          "video; not with image_url.")
    video_kinds: Optional[dict[Network, VideoKind]] = Field(
        None, description="How the post's video goes to each network (see x-network-limits' videos): "
                          "a network left out gets its first kind (a Reel on Instagram and Facebook).")
    networks: Optional[Annotated[list[Network], Field(json_schema_extra={"uniqueItems": True})]] = Field(
        None, description="Every enabled channel of these networks.")
    channels: Optional[Annotated[list[Id], Field(max_length=MAX_CHANNELS_PER_POST, json_schema_extra={
        "uniqueItems": True})]] = Field(None, description="Channel ids. With neither this nor networks: every "
                                                         "enabled channel.")
    overrides: Optional[Overrides] = Field(None, description="Another text for a network.")
    versions: Optional[Annotated[dict[Annotated[str, Field(pattern="^[0-9]{1,20}$")], ChannelVersion],
                                 Field(json_schema_extra={"maxProperties": MAX_CHANNELS_PER_POST})]] = Field(
        None, description="Each channel's own version, keyed by the channel's id (one of the post's channels): its "
                          "text wins over its network's overrides entry, which wins over text; its whatsapp over "
                          "the post's whatsapp. A bad one is refused naming it (versions.12.text).")
    scheduled_at: Optional[Annotated[str, Field(max_length=MAX_WHEN)]] = Field(
        None, description="ISO 8601, with an offset or with timezone; within a year. Not with publish.")
    timezone: Optional[Annotated[str, Field(max_length=MAX_ZONE)]] = Field(None, description="An IANA name.")
    whatsapp: Optional[WhatsAppMessage] = Field(
        None, description="WhatsApp: an APPROVED template (synced) and one text per {{n}} of its body ({text} and "
                          "{link} stand for the post's); null: free-form, only to contacts whose 24-hour window is "
                          "open. Checked against the template (400).")
    recurrence: Optional[Recurrence] = Field(
        None, description="Repeat it from scheduled_at (needed): each occurrence a post of its own, made once the one "
                          "before went out; null: it does not repeat (on an edit: it stops).")
    link_tracking: Optional[LinkTracking] = Field(
        None, description="The link with UTM parameters, and/or as a short link that counts its clicks (their "
                          "count joins the post's metrics); null: as typed.")
    first_comment: Optional[FirstCommentText] = Field(
        None, description="Posted as a comment under each Instagram, Facebook and LinkedIn item once it is out (the "
                          "hashtags, the link), as a delivery of its own; a channel that cannot take it (connected "
                          "without the permission to comment) is refused naming it. Not sent to WhatsApp.")


class CreatePost(EditPost):
    """A new post, each network's limits beside it (x-network-limits)."""
    model_config = ConfigDict(json_schema_extra=lambda schema, model: schema.update({
        "x-network-limits": _network_limits(),
        "examples": [{"text": "Hello #launch", "image_url": "https://example.com/a.jpg"},
                     {"text": "Hello", "networks": ["linkedin"], "publish": True}]}))
    text: Text
    publish: bool = Field(False, description="Publish it now, too.")


class PublishOptions(Shape):
    image_url: Url = None


class Bulk(Shape):
    action: one_of(bulk.ACTIONS)
    ids: Annotated[list[Id], Field(min_length=1, max_length=100)]


class Approve(Shape):
    seen_updated_at: Time = Field(None, description="The post's updated_at as reviewed")
    seen_image_sha256: Sha256 = Field(None, description="The SHA-256 of the image's copy as reviewed")


class Reject(Shape):
    comment: Annotated[str, Field(min_length=1, max_length=2000)]


# ------------------------------------------------------------------ uploads (multipart: documented, not JSON)


class Upload(Shape):
    file: Annotated[bytes, Field(description="A JPEG, PNG, WebP or GIF, or an MP4 or MOV video (H.264 or HEVC), "
                                             "judged by its content",
                                 json_schema_extra={"format": "binary"})]


class CsvUpload(Shape):
    file: Annotated[bytes, Field(description="UTF-8 CSV: a header naming the columns (text, networks, channels, "
                                             "scheduled_at, timezone, image_url, link), then one post per line",
                                 json_schema_extra={"format": "binary"})]
    timezone: str = Field(None, description="The zone of times given without an offset")


class PreflightItem(Shape):
    network: Network
    kind: str = Field(description="The kind of post: reel, story, video (a feed video) or message.")
    label: str
    ok: bool
    problems: list[str] = Field(description="Each reason it would be refused, with its fix, in plain words.")
    source: str = Field(description="Where the network states these rules.")
    fixable: bool = Field(False, description="A kind it fails: whether a new version made by transcoding would "
                                             "fit it (POST /api/media/{media_id}/renditions makes it); a length "
                                             "out of range is not (trim it).")
    rendition: Optional[str] = Field(None, description="What that version would change, in words: \"scaled and "
                                                       "padded to 1080 × 1920, 30 frames a second\".")


class Preflight(Shape):
    """A video checked against each kind of video post of each network; no items for a photo."""
    media_id: int
    items: list[PreflightItem]


class MediaPage(Shape):
    items: list[Media]
    next: Optional[str]


# ------------------------------------------------------------------ notices, people, audit


class Notice(Shape):
    id: int
    kind: one_of(NOTICE_KINDS)
    text: str
    post_id: Optional[int]
    channel_id: Optional[int]
    link: Optional[str] = Field(description="The page where it is acted on.")
    created_at: Time
    read_at: Optional[Time] = Field(description="Null: unread.")


class NoticeList(Shape):
    items: list[Notice]
    unread: int


class ReadNotices(Shape):
    """The notices to mark read; without ids, every one."""
    ids: Annotated[list[Id], Field(max_length=NOTICE_PAGE)] = None


class NoticesRead(Shape):
    marked: int
    unread: int


class Notifications(Shape):
    posts: NoticeChoice
    channels: NoticeChoice


class User(Shape):
    id: int
    email: str
    role: Role
    disabled: bool
    created_at: Time
    last_sign_in_at: Optional[Time]
    notifications: Notifications = Field(None, description="Only for the caller (/api/me).")


class NotificationChoices(Shape):
    posts: NoticeChoice = None
    channels: NoticeChoice = None


class ChangeMe(Shape):
    notifications: NotificationChoices


class UserList(Shape):
    items: list[User]


class ChangeUser(Shape):
    model_config = ConfigDict(json_schema_extra={"minProperties": 1})
    role: Role = None
    disabled: bool = None


class Invite(Shape):
    email: Annotated[str, Field(max_length=254, json_schema_extra={"format": "email"})]
    role: Role = "editor"


class Invitation(Shape):
    id: int
    email: str
    role: Role
    created_at: Time
    expires_at: Time
    link: str = Field(None, description="The single-use link, in the answer that made it only, when it was not "
                                        "e-mailed")
    emailed: bool = Field(None, description="Sent to the address (SOCIALPUB_SMTP_URL is set)")


class InvitationList(Shape):
    items: list[Invitation]


class Event(Shape):
    id: int
    at: Time
    actor: str = Field(description="An e-mail address, or \"socialpub\" for its workers and scheduler")
    subject: Literal["post", "channel", "user", "invitation"]
    subject_id: int
    action: str
    detail: dict


class EventList(Shape):
    items: list[Event]


# ------------------------------------------------------------------ webhooks


class Webhook(Shape):
    id: int
    url: str
    description: str
    events: list[EventType]
    enabled: bool
    disabled_reason: Optional[str]
    failing_since: Optional[Time]
    previous_secret_until: Optional[Time]
    created_at: Time
    secret: str = Field(None, description="whsec_…: only in the answer that made or rotated it")


class WebhookList(Shape):
    items: list[Webhook]


class CreateWebhook(Shape):
    url: Annotated[str, Field(max_length=2000)]
    description: Annotated[str, Field(max_length=200)] = None
    events: list[EventType] = Field(None, description="Empty or absent: every event.")
    enabled: bool = True


class ChangeWebhook(Shape):
    model_config = ConfigDict(json_schema_extra={"minProperties": 1})
    url: Annotated[str, Field(max_length=2000)] = None
    description: Annotated[str, Field(max_length=200)] = None
    events: list[EventType] = None
    enabled: bool = None


class Try(Shape):
    at: Time
    status_code: Optional[int]
    duration_ms: int
    excerpt: Optional[str]


class WebhookDelivery(Shape):
    id: int
    event_type: one_of((*TYPES, WEBHOOK_TEST)) = Field(description="webhook.test: sent by Send test event.")
    webhook_id: str
    status: one_of((DeliveryStatus.PENDING, DeliveryStatus.SENDING, DeliveryStatus.DELIVERED, DeliveryStatus.FAILED))
    attempts: int
    next_attempt_at: Optional[Time]
    last_status_code: Optional[int]
    last_error: Optional[str]
    delivered_at: Optional[Time]
    created_at: Time
    payload: dict = Field(description="The body sent: {type, timestamp, data}.")
    tries: list[Try]


class WebhookDeliveryList(Shape):
    items: list[WebhookDelivery]


# ------------------------------------------------------------------ channels


class Slot(Shape):
    weekday: one_of(WEEKDAYS)
    time: Annotated[str, Field(pattern="^([01][0-9]|2[0-3]):[0-5][0-9]$")]


class Queue(Shape):
    zone: Annotated[str, Field(max_length=64, description="An IANA time zone.")] = None
    slots: Annotated[list[Slot], Field(max_length=7 * 24)]


class Channel(Shape):
    id: int
    network: Network
    name: str
    account_id: str
    base_url: str
    recipients: list[str]
    api_version: Optional[str]
    enabled: bool
    business_account_id: Optional[str] = Field(description="WhatsApp: the business account (WABA) whose templates "
                                                           "it sends.")
    requires_approval: bool = Field(description="An editor's post to it waits for approval.")
    default_country: Optional[str] = Field(description="WhatsApp: the country (ISO 3166, such as FR) a contact's "
                                                       "number written the national way is read in; guessed from "
                                                       "the channel's own number when it is saved.")
    send_rate: Optional[int] = Field(description="WhatsApp: the messages a second this number may send (its "
                                                 "throughput at Meta); null: SOCIALPUB_WHATSAPP_SEND_RATE.")
    min_gap_s: Optional[int] = Field(description="The least seconds between two of its posts; null: "
                                                 "SOCIALPUB_CHANNEL_MIN_GAP_S.")
    max_per_hour: Optional[int] = Field(description="The most posts it takes in an hour; null: "
                                                    "SOCIALPUB_CHANNEL_MAX_PER_HOUR.")
    state: one_of(ChannelState.ALL)
    state_reason: Optional[str]
    last_published_at: Optional[Time]
    queue: Optional[Queue] = Field(description="Its posting times, for Add to queue.")
    picture_url: Optional[str] = Field(description="The account's picture, as its network gives it.")
    token_expires_at: Optional[Time] = Field(description="When the token expires, where the network said (accounts "
                                                         "connected by their OAuth flow).")
    token_set: bool = Field(description="Tokens are write-only: never shown.")
    created_at: Time
    updated_at: Time


class ChannelList(Shape):
    items: list[Channel]


def _limited(name: str, **extra) -> Any:
    """Text no longer than the channel check allows for ``name``."""
    return Annotated[str, Field(max_length=MAX_LENGTHS[name], **extra)]


AccountId = _limited("account_id", min_length=1, description="Digits (a Graph id), or a LinkedIn author URN.")
Token = _limited("token", min_length=1)
ChannelName = _limited("name")
BaseUrl = _limited("base_url")
ApiVersion = _limited("api_version")
BusinessAccountId = _limited("business_account_id")
RecipientPhone = Annotated[str, Field(pattern=r"^\+?[1-9][0-9 ]{6,20}$")]


class CreateChannel(Shape):
    model_config = ConfigDict(json_schema_extra={"examples": [
        {"network": "facebook", "account_id": "546349135390552", "token": "EAAB…"},
        {"network": "whatsapp", "account_id": "106540352242922", "token": "EAAB…", "recipients": ["+16505551234"]}]})
    network: Network
    account_id: AccountId
    token: Token
    name: Optional[ChannelName] = None
    base_url: Optional[BaseUrl] = None
    recipients: Optional[Annotated[list[RecipientPhone], Field(
        max_length=MAX_RECIPIENTS, json_schema_extra={"uniqueItems": True})]] = Field(
        None, description="WhatsApp only: E.164 phone numbers.")
    api_version: Optional[ApiVersion] = Field(None, description="LinkedIn only, such as 202601.")
    business_account_id: Optional[BusinessAccountId] = Field(
        None, description="WhatsApp only: the WhatsApp Business Account id (digits).")
    default_country: Optional[Annotated[str, Field(pattern="^[A-Za-z]{2}$")]] = Field(
        None, description="WhatsApp only: the country (two letters, such as FR) its contacts' national numbers "
                          "(06 12 34 56 78) are read in; left out, guessed from the number's own country.")
    send_rate: Optional[Annotated[int, Field(ge=1, le=1000)]] = Field(
        None, description="WhatsApp only: the messages a second this number may send — its throughput at Meta (80 "
                          "by default, 1,000 once upgraded, 20 when shared with the WhatsApp Business app); left "
                          "out or null: SOCIALPUB_WHATSAPP_SEND_RATE.")
    min_gap_s: Optional[Annotated[int, Field(ge=0, le=86_400)]] = Field(
        None, description="The least seconds between two of its posts, whatever sends them (a backlog leaves at this "
                          "pace); null: SOCIALPUB_CHANNEL_MIN_GAP_S.")
    max_per_hour: Optional[Annotated[int, Field(ge=1, le=3600)]] = Field(
        None, description="The most posts it takes in any hour; null: SOCIALPUB_CHANNEL_MAX_PER_HOUR.")
    enabled: bool = True
    requires_approval: bool = False


class ChangeChannel(Shape):
    """What to change of a channel (its account, address and token are changed on its page, where the token is
    asked again); a field set to null takes this installation's setting again."""
    model_config = ConfigDict(json_schema_extra={"minProperties": 1, "examples": [
        {"min_gap_s": 300, "max_per_hour": 4}, {"requires_approval": True}]})
    name: Optional[ChannelName] = None
    enabled: Optional[bool] = None
    requires_approval: Optional[bool] = None
    min_gap_s: Optional[Annotated[int, Field(ge=0, le=86_400)]] = Field(
        None, description="The least seconds between two of its posts; null: SOCIALPUB_CHANNEL_MIN_GAP_S.")
    max_per_hour: Optional[Annotated[int, Field(ge=1, le=3600)]] = Field(
        None, description="The most posts it takes in any hour; null: SOCIALPUB_CHANNEL_MAX_PER_HOUR.")
    send_rate: Optional[Annotated[int, Field(ge=1, le=1000)]] = Field(
        None, description="WhatsApp only: its messages a second; null: SOCIALPUB_WHATSAPP_SEND_RATE.")


# ------------------------------------------------------------------ WhatsApp contacts, templates, recipients

Phone = Annotated[str, Field(max_length=40, description="With its country code, or written the national way "
                                                        "(06 12 34 56 78) in the channel's default_country; stored "
                                                        "in E.164.")]
BusinessUserId = Annotated[str, Field(max_length=140, description="Meta's business-scoped user id (BSUID), such as "
                                                                  "US.13491208655302741918: the one way to know a "
                                                                  "person whose WhatsApp username hides their "
                                                                  "number.")]


class Contact(Shape):
    id: int
    phone: Optional[str] = Field(description="null: known by user_id alone.")
    user_id: Optional[str]
    username: Optional[str]
    shown: str = Field(description="The number, else the username and user id.")
    name: Optional[str]
    opted_in_at: Optional[Time]
    opt_in_method: Optional[str]
    opt_in_by: Optional[str]
    opt_in_evidence: Optional[str] = Field(description="What proves the consent recorded to lift an opt-out.")
    opted_out_at: Optional[Time]
    opt_out_reason: Optional[str]
    last_inbound_at: Optional[Time] = Field(description="Their last message: the 24-hour window runs from it.")
    audiences: list[str]
    created_at: Time


class Messaged(Shape):
    """How many a post actually messages (opted in, not opted out, reachable), sent by a template of each category,
    or free-form: marketing skips +1 numbers, authentication people known only by their user id, free-form those
    whose 24-hour window is closed."""
    utility: int
    marketing: int
    authentication: int
    free_form: int


class Reach(Shape):
    """Every contact: where a post without an audience goes."""
    members: int
    opted_out: int
    without_opt_in: int
    messaged: Messaged


class AudienceReach(Reach):
    """One audience's reach."""
    name: str


class ContactList(Shape):
    items: list[Contact]
    everyone: Reach
    audiences: list[AudienceReach]


class NewContact(Shape):
    model_config = ConfigDict(json_schema_extra={"anyOf": [{"required": ["phone"]}, {"required": ["user_id"]}]})
    phone: Phone = None
    user_id: BusinessUserId = None
    name: Optional[Annotated[str, Field(max_length=100)]] = None
    opted_in: bool = Field(None, description="With opt_in_method: they agreed.")
    opt_in_method: Optional[Annotated[str, Field(max_length=200)]] = Field(
        None, description="How they opted in (Meta requires a record).")
    opted_in_at: Optional[Annotated[str, Field(max_length=40)]] = Field(
        None, description="When they opted in: an ISO 8601 date, or date and time (UTC unless it has an offset); not "
                          "in the future. Default: now.")
    audiences: list[Annotated[str, Field(min_length=1, max_length=100)]] = None


class ContactBatch(Shape):
    contacts: Annotated[list[NewContact], Field(min_length=1, max_length=10_000)]


class NewContacts(RootModel[Union[NewContact, ContactBatch]]):
    """One contact, or {contacts: [...]}."""


class ContactsSaved(Shape):
    items: list[Contact]
    kept_opted_out: list[Contact] = Field(description="Those whose opt-in was not recorded: they had opted out, "
                                                      "which only they, or a new consent with its evidence, lift.")


class ContactsCsv(Shape):
    file: Annotated[bytes, Field(description="UTF-8 CSV: phone, and optionally name, opt_in_method, opted_in_at, "
                                             "audience", json_schema_extra={"format": "binary"})]


class LineProblem(Shape):
    line: int
    message: str


class KeptOptedOut(Shape):
    line: int
    contact: str
    message: str


class ContactsImported(Shape):
    saved: int
    valid: int
    problems: list[LineProblem]
    kept_opted_out: list[KeptOptedOut] = Field(description="Lines saved without their opt-in: the person had opted "
                                                           "out.")


class NewConsent(Shape):
    opt_in_method: Annotated[str, Field(min_length=1, max_length=200)]
    evidence: Annotated[str, Field(min_length=1, max_length=500, description="What proves it: a signed form's "
                                   "reference, where the message is kept…")]
    opted_in_at: Optional[Annotated[str, Field(max_length=40)]] = Field(
        None, description="When they agreed (ISO 8601); default: now. An opt-out recorded after it stands (409).")


class OptOut(Shape):
    reason: Optional[Annotated[str, Field(max_length=500)]] = None


class TemplatePreview(Shape):
    header: Optional[str]
    body: str
    footer: Optional[str]


class Template(Shape):
    name: str
    language: str
    category: str
    status: str
    header: Optional[str]
    body: int = Field(description="Its body's parameters.")
    usable: Optional[str] = Field(description="Why it cannot be sent; null: it can.")
    preview: TemplatePreview
    synced_at: Time


class TemplateList(Shape):
    items: list[Template]


class Recipient(Shape):
    id: int
    phone: Optional[str]
    user_id: Optional[str]
    to: str = Field(description="The number, else the user id (BSUID) it went to.")
    status: Literal["pending", "waiting", "sending", "sent", "delivered", "read", "failed", "window_closed",
                    "opted_out", "skipped", "unconfirmed"]
    kind: Optional[str]
    message_id: Optional[str]
    error_code: Optional[str]
    error: Optional[str]
    not_before: Optional[Time]
    sent_at: Optional[Time]
    delivered_at: Optional[Time]
    read_at: Optional[Time]
    failed_at: Optional[Time]


class RecipientList(Shape):
    publication_id: int
    status: str
    counts: dict[str, int]
    summary: str
    progress: BroadcastProgress = Field(description="The counts as a person follows them, and the expected end.")
    items: list[Recipient]


# ------------------------------------------------------------------ the document's components

#: The shapes of requests (checked as sent) and of answers (as written), by their name in the document.
REQUESTS = (CreatePost, EditPost, PublishOptions, Bulk, Approve, Reject, Upload, CsvUpload, ReadNotices, ChangeMe,
            ChangeUser, Invite, CreateWebhook, ChangeWebhook, Queue, CreateChannel, ChangeChannel, NewContacts,
            ContactsCsv, NewConsent, OptOut, Empty)
ANSWERS = (Error, StaleError, Post, PostPage, PostStatusShape, PublishResults, BulkResults, Imported, Calendar,
           Media, MediaPage, Preflight, Notice, NoticeList, NoticesRead, User, UserList, Invitation, InvitationList,
           Event, EventList, Webhook, WebhookList, WebhookDelivery, WebhookDeliveryList, Channel, ChannelList,
           ChannelQuotas, Contact, ContactList, ContactsSaved, ContactsImported, Template, TemplateList, Recipient, RecipientList,
           WhatsAppMessage, Failure, Attempt, Publication, PublishResult, CalendarPost, PostMetrics, Analytics,
           ChannelMetrics, BestTimes)
#: Names the document gives where a class's own name would say less.
RENAMED = {"PostStatusShape": "PostStatus"}


def name_of(shape: type[BaseModel]) -> str:
    """The shape's name in the document."""
    return RENAMED.get(shape.__name__, shape.__name__)


class _Document(GenerateJsonSchema):
    """JSON Schema as the document shows it: without the titles pydantic adds to every field."""

    def field_title_should_be_set(self, schema) -> bool:
        return False

    def normalize_name(self, name: str) -> str:
        return RENAMED.get(name, name)


def json_schemas() -> dict:
    """``components.schemas`` of the OpenAPI document: every shape and those it refers to."""
    models = [(model, "validation") for model in REQUESTS] + [(model, "serialization") for model in ANSWERS]
    _, defs = models_json_schema(models, ref_template="#/components/schemas/{model}", schema_generator=_Document)
    schemas = defs["$defs"]
    for schema in schemas.values():
        schema.pop("title", None)
        for field in schema.get("properties", {}).values():
            if field.get("default", ...) is None and not _takes_null(field):
                del field["default"]  # "left out", not a null the field would refuse
    return schemas


def _takes_null(schema: dict) -> bool:
    return schema.get("type") == "null" or any(_takes_null(s) for s in schema.get("anyOf", ()))


# ------------------------------------------------------------------ renditions (media/rendition_jobs.py)

class RenditionRequest(Shape):
    network: Network
    kind: VideoKind = Field(description="A kind of video post of that network (see the pre-flight).")


class Rendition(Shape):
    """A version of a video made for a kind of post it does not fit, by a worker."""
    network: Network
    kind: VideoKind
    label: str = Field(description="The kind of post, in words: \"a Facebook Reel\".")
    status: one_of(RENDITION_STATUSES)
    progress: Optional[float] = Field(ge=0, le=1, description="While it is made: how far (0 to 1).")
    media_id: Optional[int] = Field(description="Once ready: the new video's id in the media library.")
    reason: Optional[str] = Field(description="Once failed: why, in plain words.")
    changes: Optional[str] = Field(description="What the new version changes, in words.")
    summary: str = Field(description="Its state as the library page says it: \"Making it: 42 %\".")


class RenditionList(Shape):
    media_id: int
    items: list[Rendition]


REQUESTS += (RenditionRequest,)
ANSWERS += (Rendition, RenditionList)


# ------------------------------------------------------------------ review links


class CreateReviewLink(Shape):
    """A link for someone without an account to review posts (docs/team.md)."""
    post_ids: Annotated[list[Id], Field(min_length=1, max_length=review_links.MAX_POSTS,
                                        description="The posts it shows, in this order.")]
    label: Annotated[str, Field(min_length=1, max_length=review_links.MAX_LABEL,
                                description="The page's title, as the reviewer reads it.")]
    days: Annotated[int, Field(ge=1, le=review_links.MAX_DAYS,
                               description=f"How long it works; {review_links.DEFAULT_DAYS} by default.")] = None


class ReviewAnswer(Shape):
    post_id: int
    reviewer: str
    decision: ReviewDecisionKind
    comment: Optional[str]
    decided_at: Time
    current: bool = Field(description="Whether it is about the post as it is now (false: the post was edited since).")


class ReviewLink(Shape):
    id: int
    label: str
    post_ids: list[int]
    state: ReviewLinkState
    created_at: Time
    expires_at: Time
    revoked_at: Optional[Time]
    url: Optional[str] = Field(None, description="The link to send: in the answer that made it only, never again.")
    answers: list[ReviewAnswer]


class ReviewLinkList(Shape):
    items: list[ReviewLink]


REQUESTS += (CreateReviewLink,)
ANSWERS += (ReviewLink, ReviewLinkList)


# ------------------------------------------------------------------ snippets


SnippetKind = one_of(snippets.KINDS)
SnippetText = Annotated[str, Field(min_length=1, max_length=snippets.MAX_TEXT)]


class ChangeSnippet(Shape):
    """A saved text the compose form inserts by its menu or by typing /shortcut (docs/web.md)."""
    name: Annotated[str, Field(min_length=1, max_length=snippets.MAX_NAME)] = None
    shortcut: Annotated[str, Field(pattern=snippets.SHORTCUT.pattern)] = None
    kind: SnippetKind = Field(None, description="text, or hashtags (a hashtag group).")
    body: SnippetText = None
    variants: dict[Network, SnippetText] = Field(None, description="A network's own text, inserted into its version.")


class NewSnippet(ChangeSnippet):
    name: Annotated[str, Field(min_length=1, max_length=snippets.MAX_NAME)]
    shortcut: Annotated[str, Field(pattern=snippets.SHORTCUT.pattern)]
    body: SnippetText


class Snippet(Shape):
    id: int
    name: str
    shortcut: str
    kind: SnippetKind
    body: str
    variants: dict[str, str]
    updated_at: Time


class SnippetList(Shape):
    items: list[Snippet]


REQUESTS += (NewSnippet, ChangeSnippet)
ANSWERS += (Snippet, SnippetList)
