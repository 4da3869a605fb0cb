"""The Meta Graph API as the adapters use it, under any ``/v<N>.0`` prefix:
Facebook Page posts and photos, the Instagram container flow, and WhatsApp
Cloud messages.

It is a little stricter than Meta in one place: ``/photos`` and ``/media``
need a ``caption`` (socialpub always has text), so an adapter that sends the
deprecated ``message`` field to ``/photos`` is caught here, not in production.
"""
from __future__ import annotations

import re

from flask import Blueprint, jsonify, request
from werkzeug.routing import BaseConverter

from .common import bearer_token, endpoint, is_bad_token, record, state
from .errors import graph_error, graph_param_error, graph_token_error

bp = Blueprint("graph", __name__)

#: Instagram caption limits: "Maximum 2200 characters, 30 hashtags, and 20 @ tags".
IG_CAPTION, IG_HASHTAGS, IG_MENTIONS = 2200, 30, 20
WA_TEXT, WA_CAPTION = 4096, 1024


class GraphVersion(BaseConverter):
    """``v24.0`` and friends, so ``/rest/...`` and ``/_sandbox/...`` never match Graph routes."""

    regex = r"v\d+\.\d+"


def _params(network):
    """Query, form and JSON fields merged; ``(values, None)`` or ``(None, error response)``."""
    values = request.args.to_dict()
    values.update(request.form.to_dict())
    if request.is_json:
        body = request.get_json(silent=True)
        if not isinstance(body, dict):
            return None, graph_param_error(network, "The request body is not a valid JSON object")
        # Graph reads every parameter as text, whatever JSON type it came as.
        values.update({k: v if isinstance(v, str) else str(v) for k, v in body.items()})
    token = values.get("access_token") or bearer_token() or ""
    if not token or is_bad_token(token):
        return None, graph_token_error(network, token)
    return values, None


def _count(text: str, sigil: str) -> int:
    return len(re.findall(rf"(?<!\w){re.escape(sigil)}\w", text))


@bp.post("/<gv:version>/<page_id>/feed")
@endpoint("facebook", creates_item=True)
def feed(version, page_id):
    """Create a Page post from a message and/or a link."""
    values, error = _params("facebook")
    if error:
        return error
    if not values.get("message") and not values.get("link"):
        return graph_param_error("facebook", "Missing message or attachment")
    post_id = f"{page_id}_{state().new_number()}"
    record(post_id, page_id, values.get("message"), link=values.get("link"))
    return jsonify(id=post_id)


@bp.post("/<gv:version>/<page_id>/photos")
@endpoint("facebook", creates_item=True)
def photos(version, page_id):
    """Create a photo post from an image URL and a caption."""
    values, error = _params("facebook")
    if error:
        return error
    if not values.get("url") and "source" not in request.files:
        return graph_error("facebook", 400, 324, "(#324) Requires upload file")
    if not values.get("caption"):
        hint = "; message is deprecated on /photos" if values.get("message") else ""
        return graph_param_error("facebook", f"The parameter caption is required{hint}")
    photo_id, post_id = str(state().new_number()), f"{page_id}_{state().new_number()}"
    record(post_id, page_id, values["caption"], image=values.get("url"))
    return jsonify(id=photo_id, post_id=post_id)


@bp.post("/<gv:version>/<ig_user_id>/media")
@endpoint("instagram")
def create_container(version, ig_user_id):
    """Create an image container; it is FINISHED at once unless config says otherwise."""
    values, error = _params("instagram")
    if error:
        return error
    if not values.get("image_url"):
        return graph_param_error("instagram", "The parameter image_url is required")
    caption = values.get("caption")
    if not caption:
        return graph_param_error("instagram", "The parameter caption is required")
    if len(caption) > IG_CAPTION:
        return graph_error("instagram", 400, 36004, "The caption is too long: at most "
                           f"{IG_CAPTION} characters", subcode=2207010)
    if _count(caption, "#") > IG_HASHTAGS or _count(caption, "@") > IG_MENTIONS:
        return graph_param_error("instagram", f"Too many tags: at most {IG_HASHTAGS} hashtags "
                                 f"and {IG_MENTIONS} @ tags", subcode=2207040)
    container_id = str(state().new_number())
    state().put("containers", container_id, {"account_id": ig_user_id, "status": "FINISHED",
                                             "image_url": values["image_url"], "caption": caption})
    return jsonify(id=container_id)


def _container_status(container: dict) -> str:
    if container["status"] == "PUBLISHED":
        return "PUBLISHED"
    return state().setting("instagram", "container_status") or container["status"]


@bp.get("/<gv:version>/<container_id>")
@endpoint("instagram")
def read_container(version, container_id):
    """Read a container's requested ``fields`` (``status_code``, ``status``)."""
    values, error = _params("instagram")
    if error:
        return error
    container = state().get("containers", container_id)
    if container is None:
        return graph_param_error("instagram", f"Unsupported get request. Object with ID "
                                 f"'{container_id}' does not exist", subcode=33)
    status_code = _container_status(container)
    known = {"status_code": status_code,
             "status": f"Error: 2207001 (sandbox: container is {status_code})"
             if status_code in ("ERROR", "EXPIRED") else status_code}
    fields = [f.strip() for f in values.get("fields", "").split(",") if f.strip()]
    return jsonify(id=container_id, **{f: known[f] for f in fields if f in known})


@bp.post("/<gv:version>/<ig_user_id>/media_publish")
@endpoint("instagram", creates_item=True)
def media_publish(version, ig_user_id):
    """Publish a FINISHED container; the item is recorded now, with the container's caption and image."""
    values, error = _params("instagram")
    if error:
        return error
    container_id = values.get("creation_id")
    if not container_id:
        return graph_param_error("instagram", "The parameter creation_id is required")
    container = state().get("containers", str(container_id))
    if container is None or container["account_id"] != ig_user_id:
        return graph_param_error("instagram", f"Unsupported post request. Object with ID "
                                 f"'{container_id}' does not exist", subcode=33)
    status = _container_status(container)
    if status == "EXPIRED":
        return graph_error("instagram", 400, -2, "The media has expired", subcode=2207020)
    if status in ("IN_PROGRESS", "ERROR"):
        return graph_error("instagram", 400, 9007, "Media is not ready for publishing, please wait "
                           "for a moment", subcode=2207027)
    if not state().mark_published(str(container_id)):
        return graph_param_error("instagram", "This media container has already been published")
    media_id = str(state().new_number())
    record(media_id, ig_user_id, container["caption"], image=container["image_url"])
    return jsonify(id=media_id)


def _whatsapp_content(body: dict):
    """``(text, image, None)`` of a valid message body, else ``(None, None, error)``."""
    def refuse(message, details=None):
        return None, None, graph_param_error("whatsapp", message, details=details)

    for name in ("messaging_product", "to", "type"):
        if not isinstance(body.get(name), str) or not body[name]:
            return refuse(f"The parameter {name} is required.")
    if body["messaging_product"] != "whatsapp":
        return refuse("Invalid parameter", "messaging_product must be 'whatsapp'")
    if body.get("recipient_type", "individual") != "individual":
        return refuse("Invalid parameter", "recipient_type must be 'individual'")
    if not any(ch.isdigit() for ch in body["to"]):
        return refuse("Invalid parameter", "'to' is not a phone number")
    kind, part = body["type"], body.get(body["type"])
    if kind not in ("text", "image") or not isinstance(part, dict):
        return refuse("Invalid parameter", f"the sandbox takes 'text' and 'image' messages, not {kind!r}")
    if kind == "text":
        text, image, limit, field = part.get("body"), None, WA_TEXT, "text['body']"
        if not isinstance(part.get("preview_url", False), bool):
            return refuse("Param text['preview_url'] must be a boolean")
        if not text:
            return refuse(f"The parameter {field} is required.")
    else:
        text, limit, field = part.get("caption", ""), WA_CAPTION, "image['caption']"
        image = part.get("link") or part.get("id")
        if not image:
            return refuse("The parameter image['link'] or image['id'] is required.")
    if not isinstance(text, str):
        return refuse(f"Param {field} must be a string")
    if len(text) > limit:
        return refuse(f"Param {field} must be at most {limit} characters long.")
    return text, image, None


@bp.post("/<gv:version>/<phone_id>/messages")
@endpoint("whatsapp", creates_item=True)
def messages(version, phone_id):
    """Accept one text or image message for one recipient."""
    token = request.args.get("access_token") or bearer_token() or ""
    if not token or is_bad_token(token):
        return graph_token_error("whatsapp", token)
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return graph_param_error("whatsapp", "Invalid parameter",
                                 details="The request body must be a JSON object")
    text, image, error = _whatsapp_content(body)
    if error:
        return error
    wamid = state().new_wamid()
    record(wamid, phone_id, text, image=image, to=body["to"])
    wa_id = "".join(ch for ch in body["to"] if ch.isdigit())
    return jsonify(messaging_product="whatsapp", contacts=[{"input": body["to"], "wa_id": wa_id}],
                   messages=[{"id": wamid}])
