"""Between HTML forms and the use cases: a submitted form becomes the same
request the JSON API takes, and an AppError's field and details become
messages next to the form's fields. No check is made here that the use cases
do not make themselves.
"""
from __future__ import annotations

import re
import secrets
from collections import Counter, defaultdict

from ..db import MAX_ID
from ..errors import AppError
from ..intake import idempotency
from ..intake.composing import adapt_text
from ..models import Channel, Media, MediaKind
from ..networks import NETWORKS
from .blueprint import NETWORK_LABELS, enabled_channels

#: Where a problem is shown when it names no field of the form.
FORM = "form"


def clean_text(value) -> str:
    """A textarea's value with the browser's CRLF line breaks back to LF, so
    lengths are counted as the page counted them."""
    return (value or "").replace("\r\n", "\n").replace("\r", "\n")


def override_field(network: str) -> str:
    return f"override_{network}"


def version_field(channel_id: int) -> str:
    return f"version_{channel_id}"


def video_kind_field(channel_id: int) -> str:
    """The select of how the post's video goes to a channel (``video_kind_12``: ``versions.12.video_kind``)."""
    return f"video_kind_{channel_id}"


_VERSION = re.compile(r"version_(\d{1,20})")
_VIDEO_KIND = re.compile(r"video_kind_(\d{1,20})")
_OWN_WHATSAPP = re.compile(r"whatsapp_(?:template|audience)_(\d{1,20})")


def pane_fields(channels) -> dict:
    """``{channel id: the form field of its pane's text}``: the network's
    (``override_facebook``, its text for the network, as the form always had
    it) where the network has one of ``channels``, else the channel's own
    (``version_12``, sent as ``versions.12.text``)."""
    per_network = Counter(c.network for c in channels)
    return {c.id: override_field(c.network) if per_network[c.network] == 1 else version_field(c.id)
            for c in channels}


def whatsapp_suffixes(channels) -> dict:
    """``{WhatsApp channel id: what its block's fields end with}``: nothing for
    the one number (``whatsapp_template``: the post's message), ``_12`` for
    each of several (``whatsapp_template_12``: that number's own message,
    sent as ``versions.12.whatsapp``)."""
    numbers = [c.id for c in channels if c.network == "whatsapp"]
    return {i: "" if len(numbers) == 1 else f"_{i}" for i in numbers}


def channel_labels(channels) -> dict:
    """How a message names each channel: its network, or, where a network has
    several of ``channels``, the network and the channel's name."""
    per_network = Counter(c.network for c in channels)
    return {c.id: NETWORK_LABELS[c.network] if per_network[c.network] == 1
            else f"{NETWORK_LABELS[c.network]} {c.name}" for c in channels}


def post_values(form) -> dict:
    """What the compose form holds, as it is shown again when refused."""
    return {
        "text": clean_text(form.get("text")),
        "image_url": (form.get("image_url") or "").strip(),
        "link": (form.get("link") or "").strip(),
        "first_comment": clean_text(form.get("first_comment")),
        "repeat": (form.get("repeat") or "").strip(),
        "link_utm": form.get("link_utm") == "on",
        "link_short": form.get("link_short") == "on",
        "link_campaign": (form.get("link_campaign") or "").strip(),
        "channels": ids_of(form.getlist("channels")),
        # The photos already uploaded (by the page's script), in their order.
        "media_ids": ids_of(form.getlist("media_ids")),
        "overrides": {n: clean_text(form.get(override_field(n))) for n in NETWORKS},
        # A datetime-local value (wall-clock time) and the browser's IANA zone.
        "scheduled_at": (form.get("scheduled_at") or "").strip(),
        "timezone": (form.get("timezone") or "").strip() or "UTC",
        "form_key": _form_key(form) or new_form_key(),
        "whatsapp": whatsapp_values(form),
        # Each channel's own pane (where its network has several channels): {channel id: text as typed}.
        "versions": {int(m[1]): clean_text(value) for name, value in form.items()
                     if (m := _VERSION.fullmatch(name))},
        # Each number's own WhatsApp block (where there are several numbers): {channel id: its choice}.
        "channel_whatsapp": {i: whatsapp_values(form, f"_{i}") for i in _own_whatsapp_blocks(form)},
        # How the post's video goes to each channel (its pane's select): {channel id: kind}.
        "video_kinds": {int(m[1]): value.strip() for name, value in form.items()
                        if (m := _VIDEO_KIND.fullmatch(name)) and value.strip()},
    }


def _own_whatsapp_blocks(form) -> list:
    """The channel ids of the form's own WhatsApp blocks (``whatsapp_template_12``…), in order."""
    found = (_OWN_WHATSAPP.fullmatch(name) for name in form)
    return list(dict.fromkeys(int(m[1]) for m in found if m))


def whatsapp_values(form, suffix: str = "") -> dict:
    """A WhatsApp block: the template chosen ("name|language", empty: free-form),
    its body parameters in order, the audience (empty: every opted-in contact).
    ``suffix``: the block's (``_12`` for channel 12's own, see :func:`whatsapp_suffixes`)."""
    name, _, language = (form.get(f"whatsapp_template{suffix}") or "").partition("|")
    return {"template": name or None, "language": language or None,
            "body": [clean_text(v) for v in form.getlist(f"whatsapp_body{suffix}")] if name else [],
            "audience": (form.get(f"whatsapp_audience{suffix}") or "").strip() or None}


def ids_of(values) -> list:
    """ASCII digits, at most 20 (int() fails from 4,300); composing refuses ids past 64 bits."""
    return [int(v) for v in values if v.isascii() and v.isdigit() and len(v) <= 20]


def new_form_key() -> str:
    """A one-time key for a compose form: sent twice, it makes one post."""
    return secrets.token_hex(16)


def _form_key(form) -> str | None:
    key = form.get("form_key") or ""
    return key if len(key) == 32 and all(c in "0123456789abcdef" for c in key) else None


def submission_key(form) -> str | None:
    """The idempotency key of a submitted compose form: its one-time key and
    everything it holds, so that the same form sent twice gives the same key,
    and one edited after going back in the browser a new one."""
    key = _form_key(form)
    if key is None:
        return None
    fields = sorted((name, value) for name, value in form.items(multi=True) if name != "csrf_token")
    return "form:" + idempotency.fingerprint(key, *(f"{name}={value}" for name, value in fields))


def post_request(values: dict, schedule: bool = False) -> dict:
    """The create-post request (as :func:`lifecycle.creating.create_post` takes it) for
    the form's values: a network's pane as its ``overrides``, a channel's own
    pane and WhatsApp block as its ``versions`` (of the ticked channels only).
    A pane left as the page filled it in — empty, the main text, or the main
    text as adapted for that network — is no override and no version."""
    text, link = values["text"], values["link"] or None

    def own(network, value):
        return value.strip() and value not in (text, adapt_text(network, text, link))

    overrides = {network: value for network, value in values["overrides"].items() if own(network, value)}
    ticked = dict(Channel.select(Channel.id, Channel.network)
                  .where(Channel.id.in_([i for i in values["channels"] if 0 < i <= MAX_ID] or [0])).tuples())
    versions = {}
    for channel_id, value in (values.get("versions") or {}).items():
        if channel_id in ticked and own(ticked[channel_id], value):
            versions[str(channel_id)] = {"text": value}
    for channel_id, choice in (values.get("channel_whatsapp") or {}).items():
        # Free-form to everyone is no choice at all: the number sends the post's message.
        if ticked.get(channel_id) == "whatsapp" and (choice.get("template") or choice.get("audience")):
            versions.setdefault(str(channel_id), {})["whatsapp"] = choice
    if values.get("video_kinds") and _has_video(values["media_ids"]):
        # Each ticked channel's select, as shown (a post without a video has none to send).
        for channel_id, kind in values["video_kinds"].items():
            if channel_id in ticked:
                versions.setdefault(str(channel_id), {})["video_kind"] = kind
    request = {"text": text, "image_url": values["image_url"] or None, "link": link,
               "channels": values["channels"], "overrides": overrides, "media_ids": values["media_ids"] or None,
               # The form shows every channel's version: what it sends replaces what was stored.
               "versions": versions or None, "first_comment": values.get("first_comment", "").strip() or None}
    whatsapp = values.get("whatsapp") or {}
    if "whatsapp" in values:
        # Free-form to everyone is no choice at all; a choice for a post that goes to no
        # WhatsApp channel (its pane hidden, the block with it) is none either.
        chosen = whatsapp.get("template") or whatsapp.get("audience")
        request["whatsapp"] = whatsapp if chosen and "whatsapp" in ticked.values() else None
    if schedule:
        request.update(scheduled_at=values["scheduled_at"], timezone=values["timezone"])
    rule = recurrence_of(values.get("repeat", ""))
    if rule is not None:  # without a time it is refused, naming the field
        request["recurrence"] = rule
    if values.get("link_utm") or values.get("link_short"):
        request["link_tracking"] = {"utm": bool(values.get("link_utm")), "short": bool(values.get("link_short")),
                                    "campaign": values.get("link_campaign") or None}
    return request


#: The compose form's Repeat choices: (value, words); the value is "<every> <unit>".
REPEATS = (("", "Does not repeat"), ("1 day", "Every day"), ("1 week", "Every week, the same day"),
           ("2 week", "Every two weeks"), ("4 week", "Every four weeks"))


def recurrence_of(choice: str) -> dict | None:
    """The API's ``recurrence`` for a Repeat choice ("1 week"); None for none. A value the
    form does not offer is sent as it is, for composing to refuse naming the field."""
    if not choice:
        return None
    every, _, unit = choice.partition(" ")
    return {"every": int(every) if every.isdigit() else every, "unit": unit}


def repeat_choice(rule: dict | None) -> str:
    """A stored ``recurrence`` as the form's Repeat choice ("" for none)."""
    return f"{rule['every']} {rule['unit']}" if rule else ""


def _has_video(media_ids) -> bool:
    ids = [i for i in media_ids or [] if 0 < i <= MAX_ID]
    return bool(ids) and Media.select().where(Media.id.in_(ids), Media.kind == MediaKind.VIDEO).exists()


def without_prefix(message: str, field: str | None) -> str:
    """"text: must not be empty" → "Must not be empty": the field is where it is shown."""
    if field and message.startswith(f"{field}: "):
        message = message[len(field) + 2:]
    return message[:1].upper() + message[1:]


def post_errors(exc: AppError, channels=None) -> dict:
    """``{form field: [messages]}`` for a refused create-post request, the
    form showing ``channels`` (default: the enabled ones). A complaint about a
    channel's text goes to that channel's pane (``versions.12.text``, or the
    text of a problem naming its channel), a network's to its network's pane
    (which names it), a number's WhatsApp message to its block; elsewhere the
    message starts with the network's name (and the channel's, where the
    network has several)."""
    channels = enabled_channels() if channels is None else channels
    panes, labels = pane_fields(channels), channel_labels(channels)
    blocks = {i: f"whatsapp{suffix}" for i, suffix in whatsapp_suffixes(channels).items()}
    errors = defaultdict(list)
    for item in exc.details or [{"field": exc.field, "message": exc.message}]:
        field, network, channel = item.get("field"), item.get("network"), item.get("channel")
        message = without_prefix(item["message"], field)
        if network and message.endswith(f" ({network})"):
            message = message[:-len(network) - 3]
        parts = (field or "").split(".")
        if parts[0] == "versions" and len(parts) > 1 and parts[1].isdigit():
            channel = int(parts[1])
            key = (blocks.get(channel, FORM) if parts[2:3] == ["whatsapp"] else
                   video_kind_field(channel) if parts[2:3] == ["video_kind"] and channel in panes else
                   panes.get(channel, FORM))
        elif channel in panes and (field == "video_kind" or field == "media_ids" and message.startswith("The video:")):
            # What the channel's kind of video post would refuse: beside its pane's select, with the other kinds.
            key = video_kind_field(channel)
        elif field == "text" and network:
            key = panes.get(channel) or override_field(network)
        elif field and field.startswith("overrides.") and field[len("overrides."):] in NETWORKS:
            key = override_field(field[len("overrides."):])
        elif field in ("text", "image_url", "link", "first_comment", "scheduled_at", "media_ids"):
            key = field
        elif field and field.split(".")[0] == "recurrence":
            key = "recurrence"
        elif field and field.split(".")[0] == "link_tracking":
            key = "link"
        elif field == "timezone":
            key = "scheduled_at"
        elif field in ("channels", "networks"):
            key = "channels"
        elif parts[0] == "whatsapp":
            key = "whatsapp"
        else:
            key = FORM
        shown_by_channel = (key.startswith(("override_", "video_kind_")) or key in panes.values()
                            or key in blocks.values())
        if (channel in labels or network) and not shown_by_channel:
            message = f"{labels.get(channel) or NETWORK_LABELS[network]}: {message[:1].lower()}{message[1:]}"
        errors[key].append(message)
    return dict(errors)


def channel_request(form, network: str) -> dict:
    """The create/update-channel request for a channel form. Fields that the
    page shows only for another network are left out."""
    data = {
        "name": (form.get("name") or "").strip(),
        "account_id": (form.get("account_id") or "").strip(),
        "token": (form.get("token") or "").strip(),
        "base_url": (form.get("base_url") or "").strip() or None,
        "enabled": bool(form.get("enabled")),
        "requires_approval": bool(form.get("requires_approval")),
        "min_gap_s": (form.get("min_gap_s") or "").strip() or None,
        "max_per_hour": (form.get("max_per_hour") or "").strip() or None,
    }
    if network == "linkedin":
        data["api_version"] = (form.get("api_version") or "").strip() or None
    if network == "whatsapp":
        raw = clean_text(form.get("recipients")).replace(",", "\n")
        data["recipients"] = [line.strip() for line in raw.split("\n") if line.strip()]
        data["default_country"] = (form.get("default_country") or "").strip() or None
        data["send_rate"] = (form.get("send_rate") or "").strip() or None
    return data


def channel_errors(exc: AppError) -> dict:
    """``{form field: [messages]}`` for a refused channel request."""
    fields = {"network", "name", "account_id", "token", "base_url", "api_version", "recipients", "queue",
              "default_country", "send_rate", "min_gap_s", "max_per_hour"}
    field = "queue" if (exc.field or "").startswith("queue") else exc.field
    key = field if field in fields else FORM
    return {key: [without_prefix(exc.message, exc.field)]}
