"""A new post as people send it: validate it, adapt the text to each
network, check each network's limits (lifecycle/creating.py then stores it with
one publication per channel — all or nothing)."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from dataclasses import field as default

from .. import acting
from ..campaigns import links as tracked_links
from ..db import MAX_ID
from ..errors import InvalidInput, NotFound, Unprocessable
from ..input_checks import check_url, refuse_unstorable_text
from ..media import documents, public, renditions
from ..media.storage import store_of
from ..models import Channel, Media, MediaKind, Post, PostMedia, Publication
from ..networks import LABELS, LIMITS, NETWORKS, Content
from ..networks.base import Document, Photo, Video
from ..statuses import PUBLICATION, moves
from ..whatsapp import templates
from .schedule_time import parse_recurrence, parse_schedule

#: The longest text any network takes (Facebook); per-network limits come after.
MAX_TEXT = 63_206
#: More channels than this in one post is a mistake, not a campaign.
MAX_CHANNELS_PER_POST = 50
#: Uploaded images one post may carry (Instagram's carousel takes ten).
MAX_MEDIA_PER_POST = 10

CREATE_FIELDS = {"text", "image_url", "media_ids", "link", "networks", "channels", "overrides", "publish",
                 "scheduled_at", "timezone", "whatsapp", "versions", "video_kinds", "first_comment", "recurrence",
                 "link_tracking"}
#: What one channel's version holds (``versions.<channel id>``).
VERSION_FIELDS = {"text", "whatsapp", "video_kind", "first_comment"}
#: The longest first comment any network takes (Facebook's); each network's own comes after.
MAX_COMMENT = max(limits.max_comment for limits in LIMITS.values())


def adapt_text(network: str, text: str, link: str | None) -> str:
    """The post's text as this network gets it: Facebook takes the link as its
    own field; the others get it appended unless the text already has it."""
    if link and network != "facebook" and link not in text:
        return f"{text}\n\n{link}"
    return text


def default_video_kind(network: str) -> str:
    """How a video goes to ``network`` when nobody chose: its first kind (a Reel where there are Reels)."""
    return LIMITS[network].videos[0].kind


def content_problems(publications, image_url, link, media=(), public_media=True) -> list:
    """Every ``{"field", "network", "message"}`` a network would refuse; ``media``
    the uploaded images or video, ``public_media`` whether a network can be given their URL.
    ``publications``: ``(network, text)``, or ``(network, text, channel id, the
    field its text came from, how its video goes)`` — a problem then names the channel
    too (``channel``), and a problem of its text that field (``versions.12.text``)."""
    problems = []
    video = next((m for m in media if m.kind == MediaKind.VIDEO), None)
    document = next((Document(content_type=m.content_type, size_bytes=m.size_bytes, title="", sha256=m.sha256)
                     for m in media if m.kind == documents.KIND), None)
    photos = tuple(Photo(content_type=m.content_type, width=m.width, height=m.height) for m in media
                   if m.kind == MediaKind.IMAGE)
    for network, text, *where in publications:
        channel_id, text_field, video_kind = (where + [None, None, None])[:3]
        kind = video_kind or default_video_kind(network)
        # A kind the video does not fit takes its rendition for that kind, once one is ready.
        sent = None if video is None else renditions.version_for(video, network, kind)
        content = Content(text=text, image_url=image_url, link=link, photos=photos, document=document,
                          video=None if sent is None else
                          Video(kind=kind, content_type=sent.content_type, size_bytes=sent.size_bytes,
                                width=sent.width, height=sent.height, facts=sent.video))
        found = list(LIMITS[network].problems(content, LABELS[network]))
        if media and LIMITS[network].fetches_media and not public_media:
            found.append(("media_ids", f"{LABELS[network]} fetches media itself from a public address, and "
                                       f"this installation has none: set SOCIALPUB_PUBLIC_BASE_URL to the address "
                                       f"the internet reaches this app at, or keep media in S3 "
                                       f"(SOCIALPUB_MEDIA_STORAGE)"))
        for field, message in found:
            field = text_field if field == "text" and text_field else field
            problem = {"field": field, "network": network, "message": f"{field}: {message} ({network})"}
            if channel_id is not None:
                problem["channel"] = channel_id
            problems.append(problem)
    return problems


def check_media_ids(value, image_url) -> list:
    """The Media rows of ``media_ids``, in order (an empty list when none)."""
    if value is None:
        return []
    if not isinstance(value, list) or not all(type(i) is int for i in value):
        raise InvalidInput("media_ids: must be a list of media ids (POST /api/media gives them)", field="media_ids")
    if len(value) > MAX_MEDIA_PER_POST:
        raise InvalidInput(f"media_ids: at most {MAX_MEDIA_PER_POST} per post", field="media_ids")
    _refuse_repeats(value, "media_ids")
    if value and image_url:
        raise InvalidInput("media_ids: give uploaded media or an image_url, not both", field="media_ids")
    found = {m.id: m for m in Media.select().where(Media.id.in_([i for i in value if 0 < i <= MAX_ID]))}
    missing = [i for i in value if i not in found]
    if missing:
        raise Unprocessable(f"media_ids: no media with id {str(missing[0])[:30]}", field="media_ids")
    if len(value) > 1 and any(found[i].kind == MediaKind.VIDEO for i in value):
        raise InvalidInput("media_ids: a post carries photos or one video, not both nor two videos",
                           field="media_ids")
    if len(value) > 1 and any(found[i].kind == documents.KIND for i in value):
        raise InvalidInput("media_ids: a post carries one document alone, without photos, a video or another "
                           "document", field="media_ids")
    return [found[i] for i in value]


def parse_video_kinds(value) -> dict:
    """``video_kinds``: how the post's video goes to each network, ``{"facebook": "story"}``;
    a network left out gets its first kind (:func:`default_video_kind`)."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InvalidInput('video_kinds: an object of network: kind, such as {"facebook": "reel"}',
                           field="video_kinds")
    for network, kind in value.items():
        if network not in NETWORKS:
            raise InvalidInput(f"video_kinds: unknown network {str(network)[:40]!r} (one of {', '.join(NETWORKS)})",
                               field="video_kinds")
        check_video_kind(network, kind, f"video_kinds.{network}")
    return dict(value)


def check_video_kind(network: str, kind, field: str) -> str:
    kinds = [rules.kind for rules in LIMITS[network].videos]
    if kind not in kinds:
        raise InvalidInput(f"{field}: {LABELS[network]} takes a video as {' or '.join(map(repr, kinds))}",
                           field=field)
    return kind


def raise_if_unpublishable(problems):
    if problems:
        first = problems[0]
        raise Unprocessable("; ".join(p["message"] for p in problems), field=first["field"],
                            details=problems, code="rejected_by_network")


def parse_create_request(data) -> dict:
    """Check the shape of a create-post request; return the cleaned values."""
    if not isinstance(data, dict):
        raise InvalidInput("the body must be a JSON object")
    refuse_unstorable_text(data)
    unknown = sorted(set(data) - CREATE_FIELDS)
    if unknown:
        raise InvalidInput(f"{unknown[0]}: unknown field (expected one of {', '.join(sorted(CREATE_FIELDS))})",
                           field=unknown[0])
    text = data.get("text")
    if text is None:
        raise InvalidInput("text: is required", field="text")
    if not isinstance(text, str):
        raise InvalidInput("text: must be a string", field="text")
    if not text.strip():
        raise InvalidInput("text: must not be empty", field="text")
    if len(text) > MAX_TEXT:
        raise Unprocessable(f"text: {len(text)} characters; no network takes more than {MAX_TEXT}",
                            field="text")
    networks = data.get("networks")
    if networks is not None:
        if not isinstance(networks, list) or not all(isinstance(n, str) for n in networks):
            raise InvalidInput("networks: must be a list of network names", field="networks")
        for name in networks:
            if name not in NETWORKS:
                raise InvalidInput(f"networks: unknown network {name[:40]!r} (one of {', '.join(NETWORKS)})",
                                   field="networks")
        _refuse_repeats(networks, "networks")
    channels = data.get("channels")
    if channels is not None:
        # bool is an int in Python; JSON's true is no channel id.
        if not isinstance(channels, list) or not all(type(c) is int for c in channels):
            raise InvalidInput("channels: must be a list of channel ids", field="channels")
        if len(channels) > MAX_CHANNELS_PER_POST:
            raise InvalidInput(f"channels: at most {MAX_CHANNELS_PER_POST} per post", field="channels")
        _refuse_repeats(channels, "channels")
        unknown_ids = [c for c in channels if not 0 < c <= MAX_ID]  # no database holds such an id
        if unknown_ids:
            raise Unprocessable(f"channels: no channel with id {str(unknown_ids[0])[:30]}", field="channels")
    overrides = data.get("overrides")
    if overrides is None:
        overrides = {}
    if not isinstance(overrides, dict):
        raise InvalidInput("overrides: must be an object of network: text", field="overrides")
    for name, value in overrides.items():
        if name not in NETWORKS:
            raise InvalidInput(f"overrides: unknown network {name[:40]!r}", field="overrides")
        if not isinstance(value, str) or not value.strip():
            raise InvalidInput(f"overrides.{name}: must be non-empty text", field=f"overrides.{name}")
        if len(value) > MAX_TEXT:
            raise Unprocessable(f"overrides.{name}: {len(value)} characters; no network takes more "
                                f"than {MAX_TEXT}", field=f"overrides.{name}")
    versions = parse_versions(data.get("versions"))
    first_comment = _comment(data.get("first_comment"), "first_comment")
    publish = data.get("publish", False)
    if not isinstance(publish, bool):
        raise InvalidInput("publish: must be true or false", field="publish")
    schedule = None
    if data.get("scheduled_at") is not None or data.get("timezone") is not None:
        if publish:
            raise InvalidInput("publish: a post is published now or scheduled, not both", field="publish")
        schedule = parse_schedule(data.get("scheduled_at"), data.get("timezone"))
    image_url = check_url(data.get("image_url"), "image_url")
    return {
        "schedule": schedule,
        "text": text,
        "image_url": image_url,
        "media": check_media_ids(data.get("media_ids"), image_url),
        "video_kinds": parse_video_kinds(data.get("video_kinds")),
        "link": check_url(data.get("link"), "link"),
        "networks": networks,
        "channels": channels,
        "overrides": overrides,
        "versions": versions,
        "first_comment": first_comment,
        "recurrence": parse_recurrence(data.get("recurrence"), schedule),
        "link_tracking": tracked_links.parse(data.get("link_tracking")),
        "publish": publish,
    }


def _comment(value, where: str) -> str | None:
    """A first comment's text as sent: None (or empty: none), else text no longer than any network takes."""
    if value is None or value == "":
        return None
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(f"{where}: text to post as the first comment under the post (leave it out for none)",
                           field=where)
    if len(value) > MAX_COMMENT:
        raise Unprocessable(f"{where}: {len(value)} characters; no network takes more than {MAX_COMMENT} in a "
                            f"comment", field=where)
    return value


def parse_versions(value) -> dict:
    """``versions``: each channel's own version, keyed by its id as a string —
    ``{"12": {"text": …, "whatsapp": {…}}}`` — checked for its shape; returns
    ``{12: {"text": … or None, "whatsapp": … or None}}``. Whether each id is one
    of the post's channels, and a WhatsApp one for ``whatsapp``, is checked once
    they are resolved (:func:`check_new_post`)."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InvalidInput("versions: must be an object of channel id: {text, whatsapp}", field="versions")
    if len(value) > MAX_CHANNELS_PER_POST:
        raise InvalidInput(f"versions: at most {MAX_CHANNELS_PER_POST} channels per post", field="versions")
    versions = {}
    for key, version in value.items():
        # JSON keys are strings: a channel id written in ASCII digits, as the API shows ids.
        if not (isinstance(key, str) and key.isascii() and key.isdigit() and len(key) <= 20
                and 0 < int(key) <= MAX_ID):
            raise InvalidInput(f"versions: {str(key)[:40]!r} is not a channel id (the keys are the ids of "
                               f"the post's channels, such as \"12\")", field="versions")
        where = f"versions.{int(key)}"
        if int(key) in versions:
            raise InvalidInput(f"{where}: channel {int(key)} is given twice", field=where)
        if not isinstance(version, dict):
            raise InvalidInput(f"{where}: must be an object {{text, whatsapp}}", field=where)
        unknown = sorted(set(version) - VERSION_FIELDS)
        if unknown:
            raise InvalidInput(f"{where}.{unknown[0][:40]}: unknown field (a channel's version has text and "
                               f"whatsapp)", field=f"{where}.{unknown[0][:40]}")
        text = version.get("text")
        if text is not None:
            if not isinstance(text, str) or not text.strip():
                raise InvalidInput(f"{where}.text: must be non-empty text (leave it out to use the post's)",
                                   field=f"{where}.text")
            if len(text) > MAX_TEXT:
                raise Unprocessable(f"{where}.text: {len(text)} characters; no network takes more than "
                                    f"{MAX_TEXT}", field=f"{where}.text")
        whatsapp = version.get("whatsapp")
        if whatsapp is not None and not isinstance(whatsapp, dict):
            raise InvalidInput(f"{where}.whatsapp: an object {{template, language, body, audience}}",
                               field=f"{where}.whatsapp")
        video_kind = version.get("video_kind")
        first_comment = _comment(version.get("first_comment"), f"{where}.first_comment")
        if text is None and whatsapp is None and video_kind is None and first_comment is None:
            raise InvalidInput(f"{where}: give its text, its whatsapp message, its video_kind, its first_comment "
                               f"or more (leave the channel out to use the post's)", field=where)
        if video_kind is not None and not isinstance(video_kind, str):
            raise InvalidInput(f"{where}.video_kind: a kind of video post, such as \"reel\"",
                               field=f"{where}.video_kind")
        versions[int(key)] = {"text": text, "whatsapp": whatsapp, "video_kind": video_kind,
                              "first_comment": first_comment}
    return versions


def _refuse_repeats(items, field):
    seen = set()
    for item in items:
        if item in seen:
            raise InvalidInput(f"{field}: {item} is listed twice", field=field)
        seen.add(item)


def resolve_channels(networks, channel_ids) -> list:
    """The channels a post goes to: those named, those of the named networks,
    or, when neither is given, every enabled channel."""
    query = Channel.select().where(Channel.enabled == True)  # noqa: E712
    if channel_ids is not None:
        found = {c.id: c for c in Channel.select().where(Channel.id.in_(channel_ids or [0]))}
        missing = [i for i in channel_ids if i not in found]
        if missing:
            raise Unprocessable(f"channels: no channel with id {missing[0]}", field="channels")
        disabled = [c.id for c in found.values() if not c.enabled]
        if disabled:
            raise Unprocessable(f"channels: channel {disabled[0]} is disabled", field="channels")
        chosen = [found[i] for i in channel_ids]
    elif networks is not None:
        chosen = list(query.where(Channel.network.in_(networks)).order_by(Channel.id))
        have = {c.network for c in chosen}
        lacking = [n for n in networks if n not in have]
        if lacking:
            raise Unprocessable(f"networks: no enabled {lacking[0]} channel; add one first",
                                field="networks")
    else:
        chosen = list(query.order_by(Channel.id))
    if not chosen:
        raise Unprocessable("channels: no enabled channel to publish to; add one first", field="channels")
    if len(chosen) > MAX_CHANNELS_PER_POST:
        raise Unprocessable(f"channels: at most {MAX_CHANNELS_PER_POST} per post", field="channels")
    return chosen


@dataclass(frozen=True)
class NewPost:
    """A create-post request once checked: what lifecycle/creating.create_post stores."""

    text: str
    image_url: str | None
    link: str | None
    #: ``(channel, that network's text)`` for each publication.
    publications: list
    #: The uploaded images, in order (Media rows).
    media: list = ()
    scheduled_at: dt.datetime | None = None
    schedule_zone: str | None = None
    #: The WhatsApp message: template and parameters, audience (whatsapp/templates.check).
    whatsapp: dict | None = None
    #: ``{channel id: its own WhatsApp message}`` of the WhatsApp channels whose message is not the post's.
    channel_whatsapp: dict = default(default_factory=dict)
    #: ``{channel id: how the post's video goes to it}``; empty without a video.
    video_kinds: dict = default(default_factory=dict)
    #: ``{channel id: its first comment}`` of the channels that have one.
    first_comments: dict = default(default_factory=dict)
    #: How it repeats (schedule_time.parse_recurrence); None: it does not.
    recurrence: dict | None = None
    #: How its link is published (campaigns/links.parse); None: as typed.
    link_tracking: dict | None = None


def check_new_post(data, ready: bool = False) -> NewPost:
    """Check ``data`` (a create-post request) and adapt each network's text.
    A draft is checked for its shape only: the networks' rules (limits, the
    WhatsApp template) are checked when it is to go out — published or
    scheduled (``publish``, ``scheduled_at``, or ``ready``: it is about to be),
    here or later by :func:`check_ready`, with the same messages.
    Raises an AppError naming the field when anything is wrong."""
    values = parse_create_request(data)
    channels = resolve_channels(values["networks"], values["channels"])
    versions = values["versions"]
    _refuse_foreign_versions(versions, channels)
    # Each channel's text: its own version, else its network's override, else the post's.
    chosen_text = {c.id: versions.get(c.id, {}).get("text") or values["overrides"].get(c.network, values["text"])
                   for c in channels}
    video_kinds = _video_kinds(channels, values, versions)
    texts = [(c.network, adapt_text(c.network, chosen_text[c.id], values["link"]), c.id,
              f"versions.{c.id}.text" if versions.get(c.id, {}).get("text") else None, video_kinds.get(c.id))
             for c in channels]
    draft = not (ready or values["publish"] or values["schedule"])
    if not draft:
        raise_if_unpublishable(content_problems(texts, values["image_url"], values["link"], values["media"],
                                                public_media=_public_media() if values["media"] else True))
    scheduled_at, zone = values["schedule"] or (None, None)
    whatsapp_channels = [c for c in channels if c.network == "whatsapp"]
    own = {c.id for c in whatsapp_channels if versions.get(c.id, {}).get("whatsapp") is not None}
    if data.get("whatsapp") is not None and not whatsapp_channels:
        raise InvalidInput("whatsapp: the post goes to no WhatsApp channel", field="whatsapp")
    has_image, has_video = _media_kinds(values["media"], values["image_url"])
    # The post's message is every WhatsApp channel's without its own: checked against those channels.
    whatsapp = templates.check(data.get("whatsapp"), [c for c in whatsapp_channels if c.id not in own],
                               values["text"], values["link"], has_image=has_image, draft=draft, has_video=has_video)
    channel_whatsapp = {}
    for channel in (c for c in whatsapp_channels if c.id in own):
        mine = templates.check(versions[channel.id]["whatsapp"], [channel], chosen_text[channel.id], values["link"],
                               has_image=has_image, draft=draft, field=f"versions.{channel.id}.whatsapp",
                               has_video=has_video)
        if mine != whatsapp:  # the same as the post's is no version of its own
            channel_whatsapp[channel.id] = mine
    return NewPost(text=values["text"], image_url=values["image_url"], link=values["link"],
                   publications=[(c, text) for c, (_, text, *_) in zip(channels, texts)],
                   media=values["media"], scheduled_at=scheduled_at, schedule_zone=zone, whatsapp=whatsapp,
                   channel_whatsapp=channel_whatsapp, video_kinds=video_kinds,
                   first_comments=_first_comments(channels, values["first_comment"], versions),
                   recurrence=values["recurrence"], link_tracking=values["link_tracking"])


def comment_refusal(channel: Channel) -> str | None:
    """Why ``channel`` cannot take a first comment, in plain words; None when it can, or
    when its permissions are not known (a pasted token: its network says at send time)."""
    limits = LIMITS[channel.network]
    if not limits.max_comment:
        return f"{channel.name} is a WhatsApp number, and WhatsApp messages have no comments"
    if channel.scopes is None:
        return None
    if set(channel.scopes.replace(",", " ").split()) & set(limits.comment_scopes):
        return None
    return (f"{channel.name} was connected without the permission to comment "
            f"({' or '.join(limits.comment_scopes)}): reconnect it and allow it")


def _first_comments(channels: list, post_comment: str | None, versions: dict) -> dict:
    """``{channel id: its first comment}``: the channel's own, else the post's — for the
    channels whose network takes comments (the post's is not sent to a WhatsApp number)."""
    comments = {}
    for channel in channels:
        own = versions.get(channel.id, {}).get("first_comment")
        text, where = (own, f"versions.{channel.id}.first_comment") if own else (post_comment, "first_comment")
        limits = LIMITS[channel.network]
        if not text or (not own and not limits.max_comment):
            continue
        refused = comment_refusal(channel)
        if refused:
            raise Unprocessable(f"{where}: {refused}", field=where)
        if len(text) > limits.max_comment:
            raise Unprocessable(f"{where}: {len(text)} characters; {channel.name} takes {limits.max_comment} at "
                                f"most in a comment", field=where)
        comments[channel.id] = text
    return comments


def _video_kinds(channels: list, values: dict, versions: dict) -> dict:
    """``{channel id: how the video goes}``: the channel's version's choice, else its
    network's (``video_kinds``), else the network's first kind; {} without a video."""
    if not any(m.kind == MediaKind.VIDEO for m in values["media"]):
        if values["video_kinds"]:
            raise InvalidInput("video_kinds: the post has no video (add one with media_ids, or leave it out)",
                               field="video_kinds")
        return {}
    kinds = {}
    for channel in channels:
        own = versions.get(channel.id, {}).get("video_kind")
        if own is not None:
            kinds[channel.id] = check_video_kind(channel.network, own, f"versions.{channel.id}.video_kind")
        else:
            kinds[channel.id] = values["video_kinds"].get(channel.network) or default_video_kind(channel.network)
    return kinds


def _media_kinds(media: list, image_url) -> tuple:
    """Whether a post has an image, and whether it has a video."""
    has_video = any(m.kind == MediaKind.VIDEO for m in media)
    return bool(image_url or any(m.kind == MediaKind.IMAGE for m in media)), has_video


def _refuse_foreign_versions(versions: dict, channels: list) -> None:
    """A version names one of the post's channels; a WhatsApp message, a WhatsApp channel."""
    ours = {c.id: c for c in channels}
    for channel_id, version in versions.items():
        if channel_id not in ours:
            raise Unprocessable(f"versions.{channel_id}: channel {channel_id} is not one of the post's channels "
                                f"(tick it, or leave its version out)", field=f"versions.{channel_id}")
        if version["whatsapp"] is not None and ours[channel_id].network != "whatsapp":
            raise InvalidInput(f"versions.{channel_id}.whatsapp: channel {channel_id} ({ours[channel_id].name}) is "
                               f"not a WhatsApp number: give it a text only",
                               field=f"versions.{channel_id}.whatsapp")


def check_ready(post: Post, pending: list | None = None, media: list | None = None) -> None:
    """Check a stored post against the networks' rules as it is about to go out
    (scheduled, queued, approved or published): its publications still to be
    sent, its image or photos, its WhatsApp template — what
    :func:`check_new_post` checks of a post created to go out, with the same
    messages. A draft was stored without these checks.

    Raises:
      Unprocessable, InvalidInput: naming the field, as check_new_post does.
    """
    if pending is None:
        pending = list(Publication.select(Publication, Channel).join(Channel)
                       .where((Publication.post == post.id) & moves(PUBLICATION, "publish", Publication.status))
                       .order_by(Publication.id))
    if media is None:
        media = list(Media.select().join(PostMedia).where(PostMedia.post == post.id).order_by(PostMedia.position))
    raise_if_unpublishable(content_problems([(p.network, p.text, p.channel_id, None, p.video_kind) for p in pending],
                                            post.image_url, post.link, media,
                                            public_media=_public_media() if media else True))
    has_image, has_video = _media_kinds(media, post.image_url)
    # The post's message on the WhatsApp channels without their own; each own one on its channel.
    shared = [p.channel for p in pending if p.network == "whatsapp" and p.whatsapp is None]
    if shared:
        templates.check(post.whatsapp, shared, post.text, post.link, has_image=has_image, has_video=has_video)
    for p in pending:
        if p.network == "whatsapp" and p.whatsapp is not None:
            templates.check(p.whatsapp, [p.channel], p.text, post.link, has_image=has_image,
                            field=f"versions.{p.channel_id}.whatsapp", has_video=has_video)


def _public_media() -> bool:
    """Whether this app can give a network a public URL of an upload. Outside a
    request (a worker) it answers yes: the attempt checks again before it sends."""
    settings = acting.settings.get()
    return settings is None or public.available(settings, store_of(settings))


def get_post(post_id) -> Post:
    post = Post.get_or_none(Post.id == post_id)
    if post is None:
        raise NotFound(f"post {post_id} does not exist")
    return post
