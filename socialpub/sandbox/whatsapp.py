"""The WhatsApp Cloud API's ``/{phone-number-id}/messages``, under any ``/v<N>.0``
prefix: one text, image, video or template message per request, validated like
Meta does; and ``/{phone-number-id}/media``, the uploads messages name by id
(images, and videos within Meta's types and 16 MB, kept by their SHA-256 and
size: ``GET /_sandbox/whatsapp/media/<id>``).
"""
from __future__ import annotations

import hashlib
import time

from flask import Blueprint, Response, g, jsonify, request

from .common import bearer_token, endpoint, is_bad_token, record, state
from .errors import graph_error, graph_param_error, graph_token_error
from .image import uploaded_image
from .wa_business import (
    after_accept,
    digits,
    limit_refusal,
    media_upload_error,
    refusal_for,
    rendered,
    template_refusal,
    throughput_refusal,
    world,
)

bp = Blueprint("whatsapp", __name__)

WA_TEXT, WA_CAPTION = 4096, 1024
#: What the sandbox's /media takes, by ``type``: Meta's image and video types (its documents, audio and
#: stickers are not sent by socialpub).
IMAGE_TYPES, VIDEO_TYPES = ("image/jpeg", "image/png"), ("video/mp4", "video/3gpp")
#: Meta: a video is at most 16 MB.
VIDEO_MAX_BYTES = 16 * 10**6
#: The brands of an ISO media file's ``ftyp`` box that are not MP4 or 3GPP (a QuickTime movie).
NOT_MP4_BRANDS = (b"qt  ",)


def _whatsapp_content(body: dict):
    """``(text, image, None)`` of a valid message body, else ``(None, None, error)``."""
    def refuse(message, details=None):
        return None, None, graph_param_error("whatsapp", message, details=details)

    # `to` names a number, `recipient` a business-scoped user id (BSUID); Meta takes `to` when both are there.
    address = "to" if body.get("to") or not body.get("recipient") else "recipient"
    for name in ("messaging_product", address, "type"):
        if not isinstance(body.get(name), str) or not body[name]:
            return refuse(f"The parameter {'to' if name == address else name} is required.")
    if body["messaging_product"] != "whatsapp":
        return refuse("Invalid parameter", "messaging_product must be 'whatsapp'")
    if body.get("recipient_type", "individual") != "individual":
        return refuse("Invalid parameter", "recipient_type must be 'individual'")
    if address == "to" and not any(ch.isdigit() for ch in body["to"]):
        return refuse("Invalid parameter", "'to' is not a phone number")
    if address == "recipient" and world().number_for(body["recipient"]) is None:
        return refuse("Invalid parameter", "'recipient' is not the user id of anyone who wrote to this business")
    kind, part = body["type"], body.get(body["type"])
    if kind not in ("text", "image", "video", "template") or not isinstance(part, dict):
        return refuse("Invalid parameter", f"the sandbox takes 'text', 'image', 'video' and 'template' messages, "
                                           f"not {kind!r}")
    if kind == "template" and address == "recipient" and (world().template(
            part.get("name"), (part.get("language") or {}).get("code")) or {}).get("category") == "AUTHENTICATION":
        return None, None, graph_error("whatsapp", 400, 131062, "(#131062) Business-scoped user ID recipients "
                                       "are not supported for this message", details="authentication templates "
                                       "go to phone numbers only")
    if kind == "template":
        refusal = template_refusal(body)
        return (None, None, refusal) if refusal else (rendered(body), _header_media(part), None)
    if kind == "text":
        text, image, limit, field = part.get("body"), None, WA_TEXT, "text['body']"
        if not isinstance(part.get("preview_url", False), bool):
            return refuse("Param text['preview_url'] must be a boolean")
        if not text:
            return refuse(f"The parameter {field} is required.")
    else:
        text, limit, field = part.get("caption", ""), WA_CAPTION, f"{kind}['caption']"
        image = part.get("link") or part.get("id")
        if not image:
            return refuse(f"The parameter {kind}['link'] or {kind}['id'] is required.")
    if not isinstance(text, str):
        return refuse(f"Param {field} must be a string")
    if len(text) > limit:
        return refuse(f"Param {field} must be at most {limit} characters long.")
    return text, image, None


def _header_media(template: dict):
    """A template send's header image or video: its media id or link, or None."""
    for component in template.get("components") or ():
        if isinstance(component, dict) and str(component.get("type")).lower() == "header":
            parameter = (component.get("parameters") or [{}])[0] or {}
            media = parameter.get(parameter.get("type")) if parameter.get("type") in ("image", "video") else None
            return (media or {}).get("id") or (media or {}).get("link")
    return None


def _named_media(body: dict, media):
    """The media id a message names: its image's or video's, or its template header's (None: a link, or none)."""
    if body["type"] in ("image", "video"):
        return body[body["type"]].get("id")
    return media if body["type"] == "template" and media and not str(media).startswith("http") else None


def upload_media(phone_id):
    """``POST /{phone-number-id}/media`` (routed here by graph.py, which shares the
    path with Instagram's containers): multipart ``file``, ``type``, ``messaging_product``."""
    g.sandbox_network, g.sandbox_epoch, g.started_at = "whatsapp", state().epoch, time.time()
    token = request.args.get("access_token") or bearer_token() or ""
    if not token or is_bad_token(token):
        return graph_token_error("whatsapp", token)
    file = request.files.get("file")
    if file is None or not request.form.get("type"):
        return graph_param_error("whatsapp", "The parameter file is required." if file is None
                                 else "The parameter type is required.")
    kind = request.form["type"]
    if kind not in IMAGE_TYPES + VIDEO_TYPES:
        return graph_param_error("whatsapp", "Invalid parameter",
                                 details=f"Param file must be a file with one of the following types: "
                                         f"{', '.join(IMAGE_TYPES + VIDEO_TYPES)}. Received file of type '{kind}'.")
    upload = uploaded_image("whatsapp", file) if kind in IMAGE_TYPES else uploaded_video(file, kind)
    if isinstance(upload, Response):
        return upload
    media_id = str(state().new_number())
    upload.setdefault("kind", "image")
    state().put("uploads", f"wa-media:{media_id}", dict(upload, id=media_id, content_type=kind, owner=phone_id,
                                                        network="whatsapp"))
    return jsonify(id=media_id)


def uploaded_video(file, kind: str):
    """``{"kind": "video", "content_type", "sha256", "bytes"}`` of an uploaded video,
    read a chunk at a time; or Meta's refusal (131053) of a file over 16 MB or
    not an MP4 or 3GPP file."""
    digest, size, head = hashlib.sha256(), 0, b""
    while True:
        chunk = file.stream.read(1024 * 1024)
        if not chunk:
            break
        size, head = size + len(chunk), (head + chunk)[:12] if len(head) < 12 else head
        if size > VIDEO_MAX_BYTES:
            return media_upload_error(f"the video is over {VIDEO_MAX_BYTES // 10**6} MB, Meta's largest")
        digest.update(chunk)
    if head[4:8] != b"ftyp" or head[8:12] in NOT_MP4_BRANDS:
        return media_upload_error(f"the file is not an MP4 or 3GPP video, as its type {kind} says")
    return {"kind": "video", "content_type": kind, "sha256": digest.hexdigest(), "bytes": size}


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
    by_user_id = not body.get("to")
    number = world().number_for(body["recipient"]) if by_user_id else digits(body["to"])
    # A message counts against the number's throughput in the second it came, before Meta looks further.
    refusal = throughput_refusal(phone_id) or limit_refusal(phone_id) or refusal_for(number)
    if refusal is not None:
        return refusal
    uploaded, media_id = {}, _named_media(body, image)
    if media_id:
        uploaded = state().get("uploads", f"wa-media:{media_id}")
        if uploaded is None or uploaded["owner"] != phone_id:
            return graph_param_error("whatsapp", "Invalid parameter",
                                     details=f"media id {media_id} was not uploaded by this number")
        if body["type"] in ("image", "video") and uploaded["kind"] != body["type"]:
            return media_upload_error(f"media id {media_id} is an uploaded {uploaded['kind']}; "
                                      f"a {body['type']} message names a {body['type']}")
        image = f"media:{media_id}"
    wamid = state().new_wamid()
    to = body["recipient"] if by_user_id else body["to"]
    if uploaded.get("kind") == "video":
        record(wamid, phone_id, text, to=to, video={
            "kind": "message" if body["type"] == "video" else "header", "media_id": media_id,
            **{k: uploaded[k] for k in ("sha256", "bytes", "content_type")}})
    else:
        record(wamid, phone_id, text, image=image, to=to, image_bytes=uploaded.get("bytes"),
               image_sha256=uploaded.get("sha256"),
               images=[{k: v for k, v in uploaded.items() if k not in ("owner", "network")}] if uploaded else [])
    after_accept(phone_id, wamid, number, body["type"], body.get("biz_opaque_callback_data"), by_user_id)
    message = {"id": wamid, **({"message_status": "accepted"} if body["type"] == "template" else {})}
    # Meta answers the id the send named: wa_id for a number, user_id for a BSUID.
    contact = ({"input": body["recipient"], "user_id": body["recipient"]} if by_user_id
               else {"input": body["to"], "wa_id": number})
    return jsonify(messaging_product="whatsapp", contacts=[contact],
                   messages=[message])
