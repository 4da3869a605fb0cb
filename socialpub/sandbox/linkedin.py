"""The LinkedIn REST API as the adapter uses it: ``/rest/posts``,
``/rest/images?action=initializeUpload`` and the upload URL it hands out.

Like the real API it validates headers and the post schema, rejects an
identical commentary from the same author with the duplicate 422 (switch off
with ``{"linkedin": {"reject_duplicates": false}}``), and silently cuts the
text at the first unescaped parenthesis of the "little" text format, so the
recorded text shows whether the adapter escaped it.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import re
import time

from flask import Blueprint, Response, jsonify, request

from .. import api_versions
from .common import bearer_token, endpoint, is_bad_token, record, state
from .errors import linkedin_error
from .image import described

bp = Blueprint("linkedin", __name__)

VERSION = re.compile(r"^\d{6}(\.\d{2})?$")
AUTHOR = re.compile(r"^urn:li:(person|organization):[A-Za-z0-9_-]+$")
POST_FIELDS = {"author", "commentary", "visibility", "distribution", "content", "lifecycleState",
               "isReshareDisabledByAuthor", "contentLandingPage", "contentCallToActionLabel",
               "container", "reshareContext", "adContext"}
REQUIRED = ("author", "commentary", "visibility", "distribution", "lifecycleState")
ENUMS = {"visibility": ("PUBLIC", "CONNECTIONS", "LOGGED_IN", "CONTAINER"),
         "lifecycleState": ("PUBLISHED", "DRAFT")}
MAX_COMMENTARY = 3000
IMAGE_MAGIC = (b"\xff\xd8\xff", b"\x89PNG", b"GIF8")


def read_little(commentary: str) -> str:
    """What readers see of a little-format ``commentary``: escapes removed, and
    nothing after an unescaped parenthesis (LinkedIn drops it and still answers 201).
    """
    out, i = [], 0
    while i < len(commentary):
        ch = commentary[i]
        if ch == "\\" and i + 1 < len(commentary):
            out.append(commentary[i + 1])
            i += 2
            continue
        if ch in "()":
            break
        out.append(ch)
        i += 1
    return "".join(out)


def _active(version: str) -> bool:
    """Whether LinkedIn serves ``version`` today: released (one a month) and not past its sunset."""
    if not VERSION.match(version):
        return False
    configured = state().setting("linkedin", "today")
    today = dt.date.fromisoformat(configured) if configured else api_versions.today()
    return api_versions.refusal("linkedin", version, today) is None


def version_error():
    """The answer to a REST call without a served ``LinkedIn-Version``, else None:
    400 when it is missing, 426 when it is retired or not released yet (LinkedIn
    names a month's version by its first day)."""
    version = request.headers.get("LinkedIn-Version")
    if not version:
        return linkedin_error(400, "A version must be present. Please specify a version by "
                              "adding the LinkedIn-Version header.", code="VERSION_MISSING")
    if not _active(version):
        named = f"{version[:6]}01" if VERSION.match(version) else version
        return linkedin_error(426, f"Requested version {named} is not active", code="NONEXISTENT_VERSION")
    return None


def _unprocessable(path: str, problem: str):
    return linkedin_error(422, f"ERROR :: {path} :: {problem}", code="UNPROCESSABLE_ENTITY")


def _token_error():
    """The 401 for a missing, foreign-scheme, invalid or expired token, else None."""
    token = bearer_token()
    if token is None:
        return linkedin_error(401, "Unknown authorization header schema", code="INVALID_AUTH_SCHEMA")
    if not token:
        return linkedin_error(401, "Empty oauth2 access token", service_code=65604,
                              code="EMPTY_ACCESS_TOKEN")
    issued = state().token_info(token)
    if token.startswith("expired") or (issued is not None and issued["expires_at"] < time.time()):
        return linkedin_error(401, "The token used in the request has expired", service_code=65602,
                              code="EXPIRED_ACCESS_TOKEN")
    if is_bad_token(token):
        return linkedin_error(401, "Invalid access token", service_code=65600,
                              code="INVALID_ACCESS_TOKEN")
    return None


def _checked_request():
    """Auth, version and Rest.li headers, then the JSON body: ``(body, None)`` or ``(None, error)``."""
    error = _token_error()
    if error:
        return None, error
    error = version_error()
    if error:
        return None, error
    if request.headers.get("X-Restli-Protocol-Version") != "2.0.0":
        return None, linkedin_error(400, "This API requires the header "
                                    "X-Restli-Protocol-Version: 2.0.0", code="BAD_REQUEST")
    body = request.get_json(force=True, silent=True)
    if not isinstance(body, dict):
        return None, linkedin_error(400, "Unable to parse the request body as a JSON object",
                                    code="BAD_REQUEST")
    return body, None


def _schema_error(body: dict):
    """The 422 for a post body that breaks the Posts schema, else None."""
    unknown = sorted(set(body) - POST_FIELDS)
    if unknown:
        return _unprocessable(f"/{unknown[0]}", "unrecognized field found but not allowed")
    for name in REQUIRED:
        if name not in body:
            return _unprocessable(f"/{name}", "field is required but not found and has no default value")
    if not isinstance(body["author"], str) or not AUTHOR.match(body["author"]):
        return _unprocessable("/author", f"{body['author']!r} is not a person or organization URN")
    if not isinstance(body["commentary"], str):
        return _unprocessable("/commentary", "not a string")
    for name, allowed in ENUMS.items():
        if body[name] not in allowed:
            return _unprocessable(f"/{name}", f"{body[name]!r} is not an enum symbol")
    distribution = body["distribution"]
    if not isinstance(distribution, dict) or \
            distribution.get("feedDistribution") not in ("MAIN_FEED", "NONE"):
        return _unprocessable("/distribution/feedDistribution", "must be MAIN_FEED or NONE")
    if len(body["commentary"]) > MAX_COMMENTARY:
        return _unprocessable("/commentary", f"FIELD_LENGTH_TOO_LONG: {len(body['commentary'])} "
                              f"characters, the maximum is {MAX_COMMENTARY}")
    return None


@bp.post("/rest/posts")
@endpoint("linkedin", creates_item=True)
def create_post():
    """Create a post: 201, empty body, the URN in ``x-restli-id``."""
    body, error = _checked_request()
    if error is None:
        error = _schema_error(body)
    if error:
        return error
    author, commentary = body["author"], body["commentary"]
    urns, where, error = _content_images(body.get("content"))
    if error:
        return error
    uploads = []
    for number, urn in enumerate(urns):
        upload = state().get("uploads", urn) if isinstance(urn, str) else None
        if upload is None or upload["size"] is None:
            return _unprocessable(where.format(number), f"{urn!r} is not an uploaded image")
        if upload["owner"] != author:
            return linkedin_error(400, f"The author {author} does not own {urn}",
                                  code="INVALID_CONTENT_OWNERSHIP")
        uploads.append(upload)
    image = urns[0] if urns else None
    size, digest = (uploads[0]["size"], uploads[0]["sha256"]) if uploads else (None, None)
    urn = f"urn:li:share:{state().new_number()}"
    earlier = state().claim_post(author, commentary, urn)
    if earlier and state().setting("linkedin", "reject_duplicates"):
        return linkedin_error(422, f"Content is a duplicate of {earlier}", code="DUPLICATE_POST")
    record(urn, author, read_little(commentary), image=image, image_bytes=size, image_sha256=digest,
           images=[u["described"] for u in uploads])
    return Response(status=201, headers={"x-restli-id": urn})


def _content_images(content):
    """``(image URNs, where a bad one is, None)`` of a post's ``content`` — one
    ``media``, or a ``multiImage`` of 2 to 20 — or ``(None, None, error)``."""
    if content is None:
        return [], None, None
    if not isinstance(content, dict):
        return None, None, _unprocessable("/content", "not an object")
    if "multiImage" in content:
        images = (content["multiImage"] or {}).get("images") if isinstance(content["multiImage"], dict) else None
        if not isinstance(images, list) or not 2 <= len(images) <= 20:
            return None, None, _unprocessable("/content/multiImage/images", "a multi-image post has 2 to 20 images")
        return [i.get("id") if isinstance(i, dict) else None for i in images], \
            "/content/multiImage/images/{}/id", None
    media = content.get("media")
    return [media.get("id") if isinstance(media, dict) else None], "/content/media/id", None


@bp.post("/rest/images")
@endpoint("linkedin")
def initialize_upload():
    """Register an image for ``owner`` and hand out the URL to PUT its bytes to."""
    if request.args.get("action") != "initializeUpload":
        return linkedin_error(400, "Unsupported action; expected action=initializeUpload",
                              code="BAD_REQUEST")
    body, error = _checked_request()
    if error:
        return error
    upload = body.get("initializeUploadRequest")
    owner = upload.get("owner") if isinstance(upload, dict) else None
    if not isinstance(owner, str) or not AUTHOR.match(owner):
        return _unprocessable("/initializeUploadRequest/owner", "field is required and must be a URN")
    image = state().new_image_urn()
    state().put("uploads", image, {"owner": owner, "size": None})
    key = image.rsplit(":", 1)[1]
    return jsonify(value={"uploadUrlExpiresAt": int((time.time() + 86400) * 1000),
                          "uploadUrl": f"{request.host_url}dms-uploads/sp/v2/{key}/uploaded-image/0",
                          "image": image})


@bp.put("/dms-uploads/sp/v2/<key>/uploaded-image/0")
@endpoint("linkedin")
def upload_image(key):
    """Receive an image's bytes; only JPEG, PNG and GIF are accepted."""
    error = _token_error()
    if error:
        return error
    image = f"urn:li:image:{key}"
    upload = state().get("uploads", image)
    if upload is None:
        return linkedin_error(404, f"No upload is pending for {image}", code="NOT_FOUND")
    data = request.get_data()
    if not data.startswith(IMAGE_MAGIC):
        return linkedin_error(400, "The uploaded file is not a JPEG, PNG or GIF image",
                              code="BAD_REQUEST")
    upload.update(size=len(data), sha256=hashlib.sha256(data).hexdigest(), described=described(data))
    state().put("uploads", image, upload)
    return Response(status=201)
