"""Between HTML forms and the use cases: a submitted form becomes the same
request the JSON API takes, and an AppError's field and details become
messages next to the form's fields. No check is made here that the use cases
do not make themselves.
"""
from __future__ import annotations

import secrets
from collections import defaultdict

from ..errors import AppError
from ..intake import idempotency
from ..intake.composing import adapt_text
from ..models import Channel
from ..networks import NETWORKS
from .blueprint import NETWORK_LABELS

#: Where a problem is shown when it names no field of the form.
FORM = "form"


def clean_text(value) -> str:
    """A textarea's value with the browser's CRLF line breaks back to LF, so
    lengths are counted as the page counted them."""
    return (value or "").replace("\r\n", "\n").replace("\r", "\n")


def override_field(network: str) -> str:
    return f"override_{network}"


def post_values(form) -> dict:
    """What the compose form holds, as it is shown again when refused."""
    return {
        "text": clean_text(form.get("text")),
        "image_url": (form.get("image_url") or "").strip(),
        "link": (form.get("link") or "").strip(),
        "channels": ids_of(form.getlist("channels")),
        # The photos already uploaded (by the page's script), in their order.
        "media_ids": ids_of(form.getlist("media_ids")),
        "overrides": {n: clean_text(form.get(override_field(n))) for n in NETWORKS},
        # A datetime-local value (wall-clock time) and the browser's IANA zone.
        "scheduled_at": (form.get("scheduled_at") or "").strip(),
        "timezone": (form.get("timezone") or "").strip() or "UTC",
        "form_key": _form_key(form) or new_form_key(),
        "whatsapp": whatsapp_values(form),
    }


def whatsapp_values(form) -> dict:
    """The WhatsApp block: the template chosen ("name|language", empty: free-form),
    its body parameters in order, the audience (empty: every opted-in contact)."""
    name, _, language = (form.get("whatsapp_template") or "").partition("|")
    return {"template": name or None, "language": language or None,
            "body": [clean_text(v) for v in form.getlist("whatsapp_body")] if name else [],
            "audience": (form.get("whatsapp_audience") or "").strip() or None}


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
    the form's values. A network pane left as the page filled it in — empty,
    the main text, or the main text as adapted for that network — is no override."""
    text, link = values["text"], values["link"] or None
    overrides = {}
    for network, override in values["overrides"].items():
        if override.strip() and override not in (text, adapt_text(network, text, link)):
            overrides[network] = override
    request = {"text": text, "image_url": values["image_url"] or None, "link": link,
               "channels": values["channels"], "overrides": overrides, "media_ids": values["media_ids"] or None}
    whatsapp = values.get("whatsapp") or {}
    if "whatsapp" in values:
        # Free-form to everyone is no choice at all; a choice for a post that goes to no
        # WhatsApp channel (its pane hidden, the block with it) is none either.
        chosen = whatsapp.get("template") or whatsapp.get("audience")
        request["whatsapp"] = whatsapp if chosen and _to_whatsapp(values["channels"]) else None
    if schedule:
        request.update(scheduled_at=values["scheduled_at"], timezone=values["timezone"])
    return request


def _to_whatsapp(channel_ids) -> bool:
    return Channel.select().where(Channel.id.in_(channel_ids or [0]) & (Channel.network == "whatsapp")).exists()


def without_prefix(message: str, field: str | None) -> str:
    """"text: must not be empty" → "Must not be empty": the field is where it is shown."""
    if field and message.startswith(f"{field}: "):
        message = message[len(field) + 2:]
    return message[:1].upper() + message[1:]


def post_errors(exc: AppError) -> dict:
    """``{form field: [messages]}`` for a refused create-post request. A
    network's complaint about the text goes to that network's pane (which
    names the network); elsewhere the message starts with the network's name."""
    errors = defaultdict(list)
    for item in exc.details or [{"field": exc.field, "message": exc.message}]:
        field, network = item.get("field"), item.get("network")
        message = without_prefix(item["message"], field)
        if network and message.endswith(f" ({network})"):
            message = message[:-len(network) - 3]
        if field == "text" and network:
            key = override_field(network)
        elif field and field.startswith("overrides.") and field[len("overrides."):] in NETWORKS:
            key = override_field(field[len("overrides."):])
        elif field in ("text", "image_url", "link", "scheduled_at", "media_ids"):
            key = field
        elif field == "timezone":
            key = "scheduled_at"
        elif field in ("channels", "networks"):
            key = "channels"
        elif field and field.split(".")[0] == "whatsapp":
            key = "whatsapp"
        else:
            key = FORM
        if network and not key.startswith("override_"):
            message = f"{NETWORK_LABELS[network]}: {message[:1].lower()}{message[1:]}"
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
    }
    if network == "linkedin":
        data["api_version"] = (form.get("api_version") or "").strip() or None
    if network == "whatsapp":
        raw = clean_text(form.get("recipients")).replace(",", "\n")
        data["recipients"] = [line.strip() for line in raw.split("\n") if line.strip()]
        data["default_country"] = (form.get("default_country") or "").strip() or None
    return data


def channel_errors(exc: AppError) -> dict:
    """``{form field: [messages]}`` for a refused channel request."""
    fields = {"network", "name", "account_id", "token", "base_url", "api_version", "recipients", "queue",
              "default_country"}
    field = "queue" if (exc.field or "").startswith("queue") else exc.field
    key = field if field in fields else FORM
    return {key: [without_prefix(exc.message, exc.field)]}
