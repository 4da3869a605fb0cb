"""The Meta Graph API as the adapters use it, under any ``/v<N>.0`` prefix:
Facebook Page posts, photos and feed, and the Instagram container flow and
media list (WhatsApp's messages are in whatsapp.py).

It is a little stricter than Meta in one place: ``/photos`` and ``/media``
need a ``caption`` (socialpub always has text), so an adapter that sends the
deprecated ``message`` field to ``/photos`` is caught here, not in production.

Instagram fetches the ``image_url`` of every container, as Meta does, through
socialpub's own outbound rules (image.fetch_image): a URL it cannot fetch is
refused as Meta refuses it, so that failure is met before production.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import re
import time
import urllib.parse

from flask import Blueprint, Response, jsonify, request
from werkzeug.routing import BaseConverter

from ..networks import outbound
from ..networks.base import PublishError, Timeouts
from .common import bearer_token, endpoint, is_bad_token, record, state
from .errors import graph_error, graph_param_error, graph_token_error
from .image import FETCH_TIME_LIMIT_S, fetch_image, uploaded_image
from .insights import FOLLOWERS, post_counts
from .meta_apps import APP_SECRETS, FACEBOOK_APP
from .meta_video import video_status
from .whatsapp import upload_media

bp = Blueprint("graph", __name__)
logger = logging.getLogger(__name__)

#: Instagram caption limits: "Maximum 2200 characters, 30 hashtags, and 20 @ tags".
IG_CAPTION, IG_HASHTAGS, IG_MENTIONS = 2200, 30, 20


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
        # Graph reads every parameter as text, whatever JSON type it came as: a
        # list or an object as its JSON (the encoding of Meta's Business SDK), true as "true".
        values.update({k: v if isinstance(v, str) else json.dumps(v) for k, v in body.items()})
    token = values.get("access_token") or bearer_token() or ""
    if not token or is_bad_token(token):
        return None, graph_token_error(network, token)
    refusal = issued_token_refusal(network, token, values.get("appsecret_proof"))
    return (None, refusal) if refusal else (values, None)


def issued_token_refusal(network: str, token: str, proof):
    """For a token the sandbox's Login dialogs issued: Graph's answer when it has
    expired (190, subcode 463), or when it belongs to the sandbox's Facebook app
    — which has "Require App Secret" on — and the call's ``appsecret_proof`` is
    missing or wrong; else None. Other tokens (the demo's, pasted ones) pass."""
    info = state().token_info(token)
    if info is None:
        return None
    if info["expires_at"] < time.time():
        return graph_error(network, 401 if network == "whatsapp" else 400, 190,
                           f"Error validating access token: Session has expired on "
                           f"{time.strftime('%A, %d-%b-%y %H:%M:%S UTC', time.gmtime(info['expires_at']))}.",
                           subcode=463)
    secret = APP_SECRETS.get(info["client_id"])
    if info["client_id"] == FACEBOOK_APP[0]:
        expected = hmac.new(secret.encode(), token.encode(), hashlib.sha256).hexdigest()
        if not proof:
            return graph_param_error(network, "API calls from the server require an appsecret_proof argument")
        if not hmac.compare_digest(str(proof), expected):
            return graph_error(network, 400, 100, "Invalid appsecret_proof provided in the API argument",
                               error_type="GraphMethodException")
    return None


def _count(text: str, sigil: str) -> int:
    return len(re.findall(rf"(?<!\w){re.escape(sigil)}\w", text))


@bp.post("/<gv:version>/<page_id>/feed")
@endpoint("facebook", creates_item=True)
def feed(version, page_id):
    """Create a Page post from a message and/or a link."""
    values, error = _params("facebook")
    if error:
        return error
    attached, error = _attached_media(values, page_id)
    if error:
        return error
    if not values.get("message") and not values.get("link") and not attached:
        return graph_param_error("facebook", "Missing message or attachment")
    for photo_id, upload in attached:
        state().put("uploads", f"fb-photo:{photo_id}", dict(upload, attached=True))
    post_id = f"{page_id}_{state().new_number()}"
    images = [{k: v for k, v in u.items() if k not in ("page", "attached")} for _, u in attached]
    record(post_id, page_id, values.get("message"), link=values.get("link"), images=images,
           image=f"upload:{images[0]['sha256']}" if images else None,
           image_bytes=images[0]["bytes"] if images else None, image_sha256=images[0]["sha256"] if images else None)
    return jsonify(id=post_id)


def _unpublished_photo(page_id):
    """A photo uploaded with ``published=false``: on no one's feed until a post attaches it."""
    upload = uploaded_image("facebook", request.files.get("source"))
    if isinstance(upload, Response):
        return upload
    if not upload:
        return graph_error("facebook", 400, 324, "(#324) Requires upload file")
    photo_id = str(state().new_number())
    state().put("uploads", f"fb-photo:{photo_id}", dict(upload, page=page_id, attached=False))
    return jsonify(id=photo_id)


def _attached_media(values, page_id):
    """``(uploads, None)`` of the photos a feed post attaches, in order, or ``(None, error)``.

    Graph takes them as ``attached_media[0]``, ``attached_media[1]``… each
    ``{"media_fbid": id}`` (Meta's multi-photo guide), or as one
    ``attached_media`` holding the JSON list, as Meta's Business SDK sends it.
    """
    if "attached_media" in values:
        try:
            entries = json.loads(values["attached_media"])
        except ValueError:
            entries = None
        if not isinstance(entries, list):
            return None, graph_param_error("facebook", "attached_media must be a list of {\"media_fbid\": id}")
        fields = [(f"attached_media[{i}]", entry) for i, entry in enumerate(entries)]
    else:
        fields, i = [], 0
        while f"attached_media[{i}]" in values:
            try:
                fields.append((f"attached_media[{i}]", json.loads(values[f"attached_media[{i}]"])))
            except ValueError:
                fields.append((f"attached_media[{i}]", None))
            i += 1
    found = []
    for name, entry in fields:
        photo_id = entry.get("media_fbid") if isinstance(entry, dict) else None
        if not isinstance(photo_id, (str, int)) or isinstance(photo_id, bool):
            return None, graph_param_error("facebook", f"{name} must be {{\"media_fbid\": id}}")
        photo_id = str(photo_id)
        upload = state().get("uploads", f"fb-photo:{photo_id}")
        if upload is None or upload["page"] != page_id:
            return None, graph_param_error("facebook", f"{name}: {photo_id} is not an unpublished "
                                           f"photo of this Page")
        if upload["attached"]:
            return None, graph_param_error("facebook", f"{name}: photo {photo_id} is already "
                                           f"attached to a post")
        found.append((photo_id, upload))
    return found, None


@bp.get("/<gv:version>/<page_id>/feed")
@endpoint("facebook")
def read_feed(version, page_id):
    """The Page's posts (feed and photo posts; a photo's message is its caption), newest first."""
    return _listing("facebook", page_id, "created_time",
                    lambda item: {"message": item["text"]} if item["text"] else {})


@bp.post("/<gv:version>/<page_id>/photos")
@endpoint("facebook", creates_item=True)
def photos(version, page_id):
    """Create a photo post from an image URL and a caption."""
    values, error = _params("facebook")
    if error:
        return error
    if not values.get("url") and "source" not in request.files:
        return graph_error("facebook", 400, 324, "(#324) Requires upload file")
    if values.get("published") == "false":
        return _unpublished_photo(page_id)
    if not values.get("caption"):
        hint = "; message is deprecated on /photos" if values.get("message") else ""
        return graph_param_error("facebook", f"The parameter caption is required{hint}")
    upload = uploaded_image("facebook", request.files.get("source"))
    if isinstance(upload, Response):
        return upload
    photo_id, post_id = str(state().new_number()), f"{page_id}_{state().new_number()}"
    record(post_id, page_id, values["caption"], image=values.get("url") or f"upload:{upload['sha256']}",
           image_bytes=upload.get("bytes"), image_sha256=upload.get("sha256"), images=[upload] if upload else [])
    return jsonify(id=photo_id, post_id=post_id)


@bp.get("/<gv:version>/<ig_user_id>/media")
@endpoint("instagram")
def list_media(version, ig_user_id):
    """The account's published media, newest first."""
    return _listing("instagram", ig_user_id, "timestamp",
                    lambda item: {"caption": item["text"], "media_type": _media_type(item)}, default_fields="id")


@bp.get("/<gv:version>/<ig_user_id>/content_publishing_limit")
@endpoint("instagram")
def content_publishing_limit(version, ig_user_id):
    """The account's API posts in the rolling window and the limit, in Meta's shape
    (``fields`` omitted: ``quota_usage`` alone, as Meta answers)."""
    values, error = _params("instagram")
    if error:
        return error
    limit = state().setting("instagram", "publishing_limit")
    fields = [f.strip() for f in values.get("fields", "quota_usage").split(",") if f.strip()]
    reading = {"quota_usage": _published_within(ig_user_id, limit["quota_duration"]),
               "config": {"quota_total": limit["quota_total"], "quota_duration": limit["quota_duration"]}}
    return jsonify(data=[{f: reading[f] for f in fields if f in reading}])


def _published_within(ig_user_id: str, seconds: float) -> int:
    since = time.time() - seconds
    return sum(1 for item in state().history("received", network="instagram")
               if item["account_id"] == ig_user_id and item["finished_at"] > since)


def _media_type(item: dict) -> str:
    if item.get("video"):
        return "VIDEO"  # a Reel's media_type (its media_product_type is REELS)
    return "CAROUSEL_ALBUM" if len(item.get("images") or ()) > 1 else "IMAGE"


@bp.post("/<gv:version>/<ig_user_id>/media")
@endpoint("instagram")
def create_container(version, ig_user_id):
    """Create an image container; it is FINISHED at once unless config says otherwise.
    (The same path with ``messaging_product=whatsapp`` is WhatsApp's media upload.)"""
    if request.form.get("messaging_product") == "whatsapp":

        return upload_media(ig_user_id)
    values, error = _params("instagram")
    if error:
        return error
    if values.get("media_type") == "CAROUSEL":
        return _carousel_container(ig_user_id, values)
    if values.get("media_type") in VIDEO_MEDIA_TYPES or values.get("video_url"):
        return _video_container(ig_user_id, values)
    if not values.get("image_url"):
        return graph_param_error("instagram", "The parameter image_url is required")
    if values.get("is_carousel_item") == "true":
        refusal = _fetch_refusal(values["image_url"])
        if refusal is not None:
            return refusal
        container_id = str(state().new_number())
        items = 1 + state().count("containers", lambda c: c.get("carousel_item") and c["account_id"] == ig_user_id)
        failing_from = state().setting("instagram", "fail_carousel_item")
        status = "ERROR" if failing_from is not None and items >= failing_from else "FINISHED"
        state().put("containers", container_id, {"account_id": ig_user_id, "status": status,
                                                 "image_url": values["image_url"], "caption": None,
                                                 "carousel_item": True})
        return jsonify(id=container_id)
    caption = values.get("caption")
    if not caption:
        return graph_param_error("instagram", "The parameter caption is required")
    if len(caption) > IG_CAPTION:
        return graph_error("instagram", 400, 36004, "The caption is too long: at most "
                           f"{IG_CAPTION} characters", subcode=2207010)
    if _count(caption, "#") > IG_HASHTAGS or _count(caption, "@") > IG_MENTIONS:
        return graph_param_error("instagram", f"Too many tags: at most {IG_HASHTAGS} hashtags "
                                 f"and {IG_MENTIONS} @ tags", subcode=2207040)
    refusal = _fetch_refusal(values["image_url"])
    if refusal is not None:
        return refusal
    container_id = str(state().new_number())
    state().put("containers", container_id, {"account_id": ig_user_id, "status": "FINISHED",
                                             "image_url": values["image_url"], "caption": caption})
    return jsonify(id=container_id)


def _fetch_refusal(image_url: str):
    """None when Instagram can fetch the image at ``image_url``, else Graph's
    answer to the container request: 9004, subcode 2207052 ("Media download has
    failed", Instagram's error codes page), in the words Meta's answers use.

    Meta fetches an image while the container is created ("We cURL media used
    in publishing attempts"), so the refusal is the answer to that request.
    The fetch runs in this request's thread and holds no lock of the state.
    """
    image, why = fetch_image(image_url, state().fetch_allow)
    if image is not None:
        return None
    logger.info("Sandbox Instagram could not fetch %s: %s", image_url, why)
    return graph_error("instagram", 400, 9004, "Only photo or video can be accepted as media type.",
                       subcode=2207052, user_title="Media download has failed.",
                       user_msg=f"The media could not be fetched from this uri: {image_url}")


#: The media types of a container made from a video (a Story may be a photo too).
VIDEO_MEDIA_TYPES = ("REELS", "STORIES", "VIDEO")
#: "Maximum 300 MB" for a Reel, 100 MB for a Story (the IG User Media reference).
VIDEO_MAX_BYTES = {"REELS": 300 * 10**6, "STORIES": 100 * 10**6}


def _video_container(ig_user_id, values):
    """A Reel or a Story: Instagram fetches ``video_url`` (a Story may give ``image_url``
    instead); the container is IN_PROGRESS for ``video_processing_s``, then FINISHED. A
    video it cannot fetch fails the container with Meta's code."""
    media_type = values.get("media_type")
    if media_type not in ("REELS", "STORIES"):
        return graph_param_error("instagram", "media_type must be one of {IMAGE, CAROUSEL, REELS, STORIES}")
    if media_type == "STORIES" and values.get("image_url") and not values.get("video_url"):
        refusal = _fetch_refusal(values["image_url"])
        if refusal is not None:
            return refusal
        container_id = str(state().new_number())
        state().put("containers", container_id, {"account_id": ig_user_id, "status": "FINISHED", "caption": None,
                                                 "image_url": values["image_url"], "media_type": "STORIES"})
        return jsonify(id=container_id)
    if not values.get("video_url"):
        return graph_param_error("instagram", "The parameter video_url is required")
    caption = values.get("caption") if media_type == "REELS" else None
    if caption and len(caption) > IG_CAPTION:
        return graph_error("instagram", 400, 36004, "The caption is too long: at most "
                           f"{IG_CAPTION} characters", subcode=2207010)
    try:
        data = outbound.download("instagram", values["video_url"], max_bytes=VIDEO_MAX_BYTES[media_type],
                                 time_limit=FETCH_TIME_LIMIT_S * 6, allow=state().fetch_allow,
                                 timeouts=Timeouts(connect=FETCH_TIME_LIMIT_S, read=FETCH_TIME_LIMIT_S))
        why = None if data[4:8] == b"ftyp" else (2207026, "not an MP4 or MOV file")
    except PublishError as err:
        data, why = b"", (2207052, err.message)
    container_id = str(state().new_number())
    video = {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data), "cover_url": values.get("cover_url"),
             "share_to_feed": values.get("share_to_feed", "true") != "false"}
    # Meta fetches the video while the container processes: a failed fetch ends it ERROR, read by polling.
    state().put("containers", container_id, {
        "account_id": ig_user_id, "status": "ERROR" if why else "FINISHED", "caption": caption, "image_url": None,
        "media_type": media_type, "video": video, "error": why and why[0],
        "ready_at": time.time() + state().setting("instagram", "video_processing_s")})
    if why:
        logger.info("Sandbox Instagram could not take the video at %s: %s", values["video_url"], why[1])
    return jsonify(id=container_id)


#: Items of one carousel, as Instagram documents them.
CAROUSEL_ITEMS = (2, 10)


def _carousel_container(ig_user_id, values):
    """The ``CAROUSEL`` container of 2 to 10 FINISHED item containers of this account."""
    children = _children(values.get("children") or "")
    if children is None:
        return graph_param_error("instagram", "children must be a list of container ids")
    if not CAROUSEL_ITEMS[0] <= len(children) <= CAROUSEL_ITEMS[1]:
        return graph_param_error("instagram", f"A carousel has {CAROUSEL_ITEMS[0]} to {CAROUSEL_ITEMS[1]} "
                                 f"children, not {len(children)}", subcode=2207036)
    for child_id in children:
        child = state().get("containers", child_id)
        if child is None or child["account_id"] != ig_user_id or not child.get("carousel_item"):
            return graph_param_error("instagram", f"Child {child_id} is not a carousel item container of "
                                     f"this account", subcode=2207035)
        if _container_status(child) != "FINISHED":
            return graph_error("instagram", 400, 9007, f"Child {child_id} is not ready", subcode=2207027)
    if not values.get("caption"):
        return graph_param_error("instagram", "The parameter caption is required")
    container_id = str(state().new_number())
    state().put("containers", container_id, {"account_id": ig_user_id, "status": "FINISHED", "image_url": None,
                                             "caption": values["caption"], "children": children})
    return jsonify(id=container_id)


def _children(value: str):
    """The container ids of ``children``: a comma-separated list (Meta's
    content-publishing guide), or a JSON list of ids as Meta's Business SDK
    encodes it (``["1","2"]``); None when it is JSON but not a list of ids."""
    if not value.lstrip().startswith("["):
        return [c.strip() for c in value.split(",") if c.strip()]
    try:
        ids = json.loads(value)
    except ValueError:
        return None
    if not isinstance(ids, list) or not all(isinstance(i, (str, int)) and not isinstance(i, bool) for i in ids):
        return None
    return [str(i).strip() for i in ids if str(i).strip()]


def _container_status(container: dict) -> str:
    if container["status"] == "PUBLISHED":
        return "PUBLISHED"
    if time.time() < container.get("ready_at", 0):
        return "IN_PROGRESS"
    return state().setting("instagram", "container_status") or container["status"]


def throughput_level(phone_id: str) -> dict:
    """A number's ``throughput`` as Meta names it: ``HIGH`` once upgraded (1,000 a second), else ``STANDARD``."""
    limit = state().throughput(phone_id)
    return {"level": "HIGH" if limit is None or limit >= 1000 else "STANDARD"}


#: What a read of an account's node answers, by the fields that say which kind
#: it is: a WhatsApp business number, an Instagram professional account, a Page.
ACCOUNT_NODES = (
    ("whatsapp", {"verified_name", "display_phone_number", "quality_rating", "throughput"},
     lambda node_id, base: {"id": node_id, "verified_name": "Sandbox WhatsApp",
                            "display_phone_number": "+1 650-555-0100", "quality_rating": "GREEN",
                            "code_verification_status": "VERIFIED", "throughput": throughput_level(node_id)}),
    ("instagram", {"username", "profile_picture_url"},
     lambda node_id, base: {"id": node_id, "username": "sandbox_ig", "name": "Sandbox Instagram",
                            "profile_picture_url": f"{base}/_sandbox/image.jpg?width=150&height=150"}),
    ("facebook", {"name", "picture"},
     lambda node_id, base: {"id": node_id, "name": "Sandbox Page", "picture": {"data": {
         "url": f"{base}/_sandbox/image.jpg?width=50&height=50", "height": 50, "width": 50,
         "is_silhouette": False}}}),
)


# Graph answers a node read with a trailing slash as it answers one without.
@bp.get("/<gv:version>/<container_id>", strict_slashes=False)
@endpoint("instagram")
def read_container(version, container_id):
    """Read a container's requested ``fields`` (``status_code``, ``status``) — or a
    published Page post or Instagram media (``permalink_url``, ``permalink``) — or,
    for an id that is no container, the account node those fields ask for
    (a Page's ``name,picture``, an IG user's ``username``, a phone number's
    ``verified_name``), for any numeric id."""
    values, error = _params("instagram")
    if error:
        return error
    container = state().get("containers", container_id)
    fields = {f.strip() for f in values.get("fields", "").split(",") if f.strip()}
    status = video_status(container_id) if container is None else None
    if status is not None:  # a Facebook Page video: its upload, processing and publishing phases
        return jsonify({"id": container_id, **({"status": status} if "status" in fields else {})})
    page_post = [i for i in state().history("received", "facebook") if i["item_id"] == container_id]
    if container is None and page_post:  # a Page post (or photo, or video) read back
        post = {"id": container_id, "message": page_post[0]["text"],
                "permalink_url": f"https://www.facebook.com/{container_id.replace('_', '/posts/', 1)}",
                "created_time": graph_time(page_post[0]["finished_at"])}
        return jsonify({**{k: v for k, v in post.items() if k in fields | {"id"}},
                        **post_counts(page_post[0], fields)})
    published = [i for i in state().history("received", "instagram") if i["item_id"] == container_id]
    if container is None and published:
        shortcode = base64.urlsafe_b64encode(container_id.encode()).decode().rstrip("=")[-11:]
        media = {"id": container_id, "permalink": f"https://www.instagram.com/p/{shortcode}/",
                 "caption": published[0]["text"], "media_type": "CAROUSEL_ALBUM" if len(published[0]["images"]) > 1
                 else "IMAGE", "timestamp": graph_time(published[0]["finished_at"])}
        return jsonify({k: v for k, v in media.items() if k in fields | {"id"}})
    if container is None and container_id.isdigit() and fields == {"followers_count"}:
        return jsonify(id=container_id, followers_count=FOLLOWERS)  # a Page's or an Instagram account's
    if container is None and container_id.isdigit():
        for _, kind, node in ACCOUNT_NODES:
            if fields & kind:
                answer = node(container_id, request.host_url.rstrip("/"))
                return jsonify({k: v for k, v in answer.items() if k in fields | {"id"}})
    if container is None:
        return graph_param_error("instagram", f"Unsupported get request. Object with ID "
                                 f"'{container_id}' does not exist", subcode=33)
    status_code = _container_status(container)
    known = {"status_code": status_code,
             # An ERROR container's status is its error subcode (IG Container reference).
             "status": f"Error: {container.get('error') or 2207001}"
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
    if container.get("carousel_item"):
        return graph_param_error("instagram", "A carousel item is published through its carousel container")
    limit = state().setting("instagram", "publishing_limit")
    if _published_within(ig_user_id, limit["quota_duration"]) >= limit["quota_total"]:
        return graph_error("instagram", 400, 9, "Application request limit reached", subcode=2207042,
                           user_msg="You reached the maximum number of posts that is allowed to be published "
                                    "by the Content Publishing API in 24 hours.")
    if not state().mark_published(str(container_id)):
        return graph_param_error("instagram", "This media container has already been published")
    media_id = str(state().new_number())
    urls = [state().get("containers", c)["image_url"] for c in container.get("children") or []]
    if container.get("video"):
        record(media_id, ig_user_id, container["caption"],
               video={"kind": container["media_type"].lower(), "container_id": str(container_id), **container["video"]})
        return jsonify(id=media_id)
    record(media_id, ig_user_id, container["caption"], image=container["image_url"] or urls[0],
           images=[{"url": u} for u in urls])
    return jsonify(id=media_id)


def graph_time(epoch: float) -> str:
    """Graph's time format, e.g. ``2026-11-29T10:30:15+0000``."""
    return time.strftime("%Y-%m-%dT%H:%M:%S+0000", time.gmtime(epoch))


def _cursor(item_id: str) -> str:
    return base64.urlsafe_b64encode(item_id.encode()).decode()


def _uncursor(cursor: str):
    try:
        return base64.urlsafe_b64decode(cursor.encode()).decode()
    except ValueError:  # binascii.Error and UnicodeDecodeError are ValueErrors
        return None


def _listing(network, account_id, time_field, describe, default_fields=None):
    """A Graph list of the items ``network`` accepted for ``account_id`` (``describe(item)``
    gives each one's fields besides ``id`` and ``time_field``): newest first,
    ``since`` (Unix seconds), ``limit`` (default 25, at most 100), ``after`` cursor,
    only the requested ``fields`` (plus ``id``), and ``paging.next`` when more remain.
    """
    values, error = _params(network)
    if error:
        return error
    try:
        since = float(values.get("since") or 0)
        limit = min(max(int(values.get("limit") or 25), 1), 100)
    except ValueError:
        return graph_param_error(network, "since must be Unix seconds and limit a number "
                                 "(the sandbox reads no other format)")
    items = [{"id": item["item_id"], time_field: graph_time(item["finished_at"]), **describe(item)}
             for item in reversed(state().history("received", network))
             if item["account_id"] == account_id and int(item["finished_at"]) >= since]
    if values.get("after"):
        ids = [item["id"] for item in items]
        after = _uncursor(values["after"])
        items = items[ids.index(after) + 1:] if after in ids else []
    page = items[:limit]
    fields = {f.strip() for f in (values.get("fields") or default_fields or
                                  f"id,message,{time_field}").split(",")} | {"id"}
    data = [{k: v for k, v in item.items() if k in fields} for item in page]
    paging = {"cursors": {"before": _cursor(page[0]["id"]), "after": _cursor(page[-1]["id"])}} \
        if page else {}
    if len(items) > limit:
        query = dict(request.args, after=paging["cursors"]["after"])
        paging["next"] = f"{request.base_url}?{urllib.parse.urlencode(query)}"
    return jsonify(data=data, paging=paging)
