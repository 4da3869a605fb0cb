"""The LinkedIn REST API as the adapter uses it: ``/rest/posts``,
``/rest/images?action=initializeUpload`` and the upload URL it hands out, and
the Videos API: ``/rest/videos?action=initializeUpload`` (the file split into
parts of 4,194,304 bytes, one upload URL each), a ``PUT`` per part answered
with its ``ETag``, ``/rest/videos?action=finalizeUpload`` (the ETags in part
order), ``GET /rest/videos/{urn}`` (WAITING_UPLOAD, then PROCESSING for the
``linkedin`` setting ``video_processing_s``, then AVAILABLE or PROCESSING_FAILED)
and a post whose ``content.media.id`` is a video, refused until it is AVAILABLE.

Like the real API it validates headers and the post schema, rejects an
identical commentary from the same author with the duplicate 422 (switch off
with ``{"linkedin": {"reject_duplicates": false}}``), and silently cuts the
text at the first unescaped parenthesis of the "little" text format, so the
recorded text shows whether the adapter escaped it.

Videos are steered and read through ``/_sandbox/linkedin/videos``: ``GET``
lists every video with what it received (parts and bytes, counted each time
a part arrives, and the SHA-256 of the assembled file once finalized); ``POST``
sets ``part_bytes`` and ``outcome`` (AVAILABLE or PROCESSING_FAILED) until
the next reset; ``POST .../expire``
makes every upload URL handed out so far answer 401. Parts wait on disk (a
temporary directory) until finalized, so a large video is never held in memory.

And the Documents API: ``/rest/documents?action=initializeUpload`` (the
document's URN and one upload URL), a ``PUT`` of the whole file to it (a PDF,
DOC, DOCX, PPT or PPTX of at most 100 MB, hashed as it comes), ``GET
/rest/documents/{urn}`` (WAITING_UPLOAD, PROCESSING for ``video_processing_s``,
then AVAILABLE, or PROCESSING_FAILED for a PDF of more than 300 pages or as
steered) and a post whose ``content.media.id`` is a document — refused until it
is AVAILABLE, or when its author does not own it. ``/_sandbox/linkedin/documents``
reads and steers them as ``/_sandbox/linkedin/videos`` does videos.
"""
from __future__ import annotations

import atexit
import datetime as dt
import hashlib
import re
import secrets
import shutil
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import quote

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
    daily = state().setting("linkedin", "daily_posts")
    if daily is not None and _posted_today(author) >= daily:
        # LinkedIn's answer past a daily limit: its throttle 429, with no Retry-After and no remaining count.
        return linkedin_error(429, "Resource level throttle limit for calls to this resource is reached.",
                              code="TOO_MANY_REQUESTS")
    video, error = _content_video(body.get("content"), author)
    if error:
        return error
    if video is not None:
        return _video_post(author, commentary, video)
    document, error = _content_document(body.get("content"), author)
    if error:
        return error
    if document is not None:
        return _document_post(author, commentary, document)
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


def _posted_today(author: str) -> int:
    """The author's posts since midnight UTC (LinkedIn's daily limits reset then)."""
    midnight = time.time() // 86400 * 86400
    return sum(1 for i in state().history("received", "linkedin") if i["account_id"] == author
               and i["finished_at"] >= midnight)


@bp.get("/rest/posts/<path:urn>")
@endpoint("linkedin")
def read_post(urn):
    """A post read back: 200 with its author and commentary, or 404."""
    error = _token_error() or version_error()
    if error:
        return error
    item = next((i for i in state().history("received", "linkedin") if i["item_id"] == urn), None)
    if item is None:
        return linkedin_error(404, f"Not found: {urn}", code="NOT_FOUND")
    return jsonify(id=urn, author=item["account_id"], commentary=item["text"], lifecycleState="PUBLISHED",
                   visibility="PUBLIC")


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


# -- Videos API ------------------------------------------------------------------------------------

#: LinkedIn's part size: a file over it is uploaded in parts of this many bytes (the last one smaller).
PART_BYTES = 4 * 1024 * 1024
#: How long the upload URLs of ``initializeUpload`` last.
UPLOAD_URLS_LIFE_S = 24 * 3600
VIDEO_OUTCOMES = ("AVAILABLE", "PROCESSING_FAILED")
#: Where the steering of ``/_sandbox/linkedin/videos`` is kept among the uploads (a reset forgets it).
_VIDEO_SETTINGS = "linkedin-video-settings"
INITIALIZE_FIELDS = {"owner", "fileSizeBytes", "uploadCaptions", "uploadThumbnail"}
FINALIZE_FIELDS = {"video", "uploadToken", "uploadedPartIds"}
VIDEO_MEDIA_FIELDS = {"id", "title", "altText"}
#: A video's record is read, changed and put back by one request at a time.
_videos_lock = threading.Lock()
_parts_root = None
_parts_root_lock = threading.Lock()


def _parts_dir(key: str) -> Path:
    """The directory a video's parts wait in until it is finalized."""
    global _parts_root
    with _parts_root_lock:
        if _parts_root is None:
            _parts_root = Path(tempfile.mkdtemp(prefix="socialpub-sandbox-videos-"))
            atexit.register(shutil.rmtree, _parts_root, True)
    folder = _parts_root / key
    folder.mkdir(exist_ok=True)
    return folder


def video_settings() -> dict:
    settings = {"part_bytes": PART_BYTES, "outcome": "AVAILABLE"}
    settings.update(state().get("uploads", _VIDEO_SETTINGS) or {})
    return settings


def _video_status(video: dict) -> str:
    """Where a video is: WAITING_UPLOAD until finalized, then PROCESSING for ``video_processing_s``."""
    if video["finalized_at"] is None:
        return "WAITING_UPLOAD"
    if time.time() < video["finalized_at"] + state().setting("linkedin", "video_processing_s"):
        return "PROCESSING"
    return video_settings()["outcome"]


def _is_count(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


@bp.post("/rest/videos")
@endpoint("linkedin")
def videos_action():
    """``?action=initializeUpload`` or ``?action=finalizeUpload``."""
    action = request.args.get("action")
    if action not in ("initializeUpload", "finalizeUpload"):
        return linkedin_error(400, "Unsupported action; expected action=initializeUpload or "
                              "action=finalizeUpload", code="BAD_REQUEST")
    body, error = _checked_request()
    if error:
        return error
    return _initialize_video(body) if action == "initializeUpload" else _finalize_video(body)


def _action_body(body: dict, name: str, fields: set, required=()):
    """``(body[name], None)`` when it is an object of ``fields`` only, ``required`` among them,
    else ``(None, LinkedIn's 422 naming the field)``."""
    value = body.get(name)
    if not isinstance(value, dict):
        return None, _unprocessable(f"/{name}", "field is required but not found and has no default value")
    unknown = sorted(set(value) - fields)
    if unknown:
        return None, _unprocessable(f"/{name}/{unknown[0]}", "unrecognized field found but not allowed")
    missing = sorted(set(required) - set(value))
    if missing:
        return None, _unprocessable(f"/{name}/{missing[0]}", "field is required but not found and has no default value")
    return value, None


def _initialize_video(body: dict):
    """Register a video of ``fileSizeBytes`` for ``owner``: its URN, one upload URL per part, the token."""
    upload, error = _action_body(body, "initializeUploadRequest", INITIALIZE_FIELDS)
    if error:
        return error
    owner, size = upload.get("owner"), upload.get("fileSizeBytes")
    if not isinstance(owner, str) or not AUTHOR.match(owner):
        return _unprocessable("/initializeUploadRequest/owner", "field is required and must be a URN")
    if not _is_count(size) or size <= 0:
        return _unprocessable("/initializeUploadRequest/fileSizeBytes", "field is required and must be a "
                              "positive number of bytes")
    for flag in ("uploadCaptions", "uploadThumbnail"):
        if not isinstance(upload.get(flag, False), bool):
            return _unprocessable(f"/initializeUploadRequest/{flag}", "not a boolean")
        if upload.get(flag):
            return linkedin_error(400, f"The sandbox does not take captions or thumbnails ({flag})",
                                  code="BAD_REQUEST")
    part = video_settings()["part_bytes"]
    key = "C5F10AQ" + secrets.token_urlsafe(12).replace("-", "x").replace("_", "y")
    urn, secret = f"urn:li:video:{key}", secrets.token_urlsafe(16)
    parts = [(first, min(first + part, size) - 1) for first in range(0, size, part)]
    token = "" if len(parts) == 1 else secrets.token_urlsafe(24)
    expires_at = time.time() + UPLOAD_URLS_LIFE_S
    state().put("uploads", urn, {
        "kind": "video", "video": urn, "owner": owner, "size": size, "parts": parts, "token": token,
        "secret": secret, "expires_at": expires_at, "etags": [None] * len(parts), "parts_received": 0,
        "bytes_received": 0, "sha256": None, "finalized_at": None, "posts": [], "created_at": time.time()})
    return jsonify(value={
        "uploadUrlsExpireAt": int(expires_at * 1000), "video": urn, "uploadToken": token,
        "uploadInstructions": [
            {"uploadUrl": f"{request.host_url}dms-uploads/sp/v2/{key}/uploadedVideo/{number}?ut={secret}",
             "firstByte": first, "lastByte": last} for number, (first, last) in enumerate(parts)]})


@bp.put("/dms-uploads/sp/v2/<key>/uploadedVideo/<int:number>")
@endpoint("linkedin")
def upload_video_part(key, number):
    """Take one part: exactly its ``firstByte``..``lastByte``; answer its ``ETag``."""
    urn = f"urn:li:video:{key}"
    video = state().get("uploads", urn)
    if video is None or video.get("kind") != "video" or not 0 <= number < len(video["parts"]):
        return linkedin_error(404, f"No upload is pending for {urn}", code="NOT_FOUND")
    if not secrets.compare_digest(request.args.get("ut", ""), video["secret"]) or video["expires_at"] < time.time():
        return linkedin_error(401, "The upload URL is invalid or has expired")
    if video["finalized_at"] is not None:
        return linkedin_error(400, f"The upload of {urn} is finalized already", code="BAD_REQUEST")
    first, last = video["parts"][number]
    path, received = _parts_dir(key) / str(number), 0
    with path.open("wb") as out:
        while True:
            chunk = request.stream.read(1024 * 1024)
            if not chunk:
                break
            received += len(chunk)
            out.write(chunk)
    with _videos_lock:
        video = state().get("uploads", urn)
        video["parts_received"] += 1
        video["bytes_received"] += received
        whole = received == last - first + 1
        etag = secrets.token_urlsafe(32) if whole else None
        video["etags"] = [*video["etags"][:number], etag, *video["etags"][number + 1:]]
        state().put("uploads", urn, video)
    if not whole:
        path.unlink(missing_ok=True)
        return linkedin_error(400, f"Part {number} of {urn} is bytes {first} to {last}: "
                              f"{last - first + 1} bytes, not {received}", code="BAD_REQUEST")
    return Response(status=200, headers={"ETag": etag})


def _finalize_video(body: dict):
    """Check the token and every part's ETag, in order; the video then goes PROCESSING."""
    request_, error = _action_body(body, "finalizeUploadRequest", FINALIZE_FIELDS, required=FINALIZE_FIELDS)
    if error:
        return error
    urn, ids = request_["video"], request_["uploadedPartIds"]
    with _videos_lock:
        video = state().get("uploads", urn) if isinstance(urn, str) else None
        if video is None or video.get("kind") != "video":
            return linkedin_error(404, f"No upload is pending for {urn!r}", code="NOT_FOUND")
        if video["finalized_at"] is not None:
            return linkedin_error(400, f"The upload of {urn} is finalized already", code="BAD_REQUEST")
        if request_["uploadToken"] != video["token"]:
            return linkedin_error(400, f"The uploadToken is not the one of {urn}", code="BAD_REQUEST")
        if not isinstance(ids, list) or len(ids) != len(video["parts"]):
            return linkedin_error(400, f"uploadedPartIds must name the {len(video['parts'])} uploaded parts "
                                  f"of {urn}, in order", code="BAD_REQUEST")
        for number, (given, etag) in enumerate(zip(ids, video["etags"])):
            if etag is None:
                return linkedin_error(400, f"Part {number} of {urn} was not uploaded", code="BAD_REQUEST")
            if given != etag:
                return linkedin_error(400, f"uploadedPartIds[{number}] is not the ETag of part {number} of {urn}",
                                      code="BAD_REQUEST")
        folder, digest = _parts_dir(urn.rsplit(":", 1)[1]), hashlib.sha256()
        for number in range(len(video["parts"])):
            with (folder / str(number)).open("rb") as part:
                for chunk in iter(lambda: part.read(1024 * 1024), b""):
                    digest.update(chunk)
        shutil.rmtree(folder, ignore_errors=True)
        video.update(sha256=digest.hexdigest(), finalized_at=time.time())
        state().put("uploads", urn, video)
    return Response(status=200)


@bp.get("/rest/videos/<path:urn>")
@endpoint("linkedin")
def get_video(urn):
    """A video: ``id``, ``owner``, ``status``."""
    return _read_media(urn, "video", _video_status)


def _read_media(urn: str, kind: str, status_of):
    """A video or a document: ``id``, ``owner``, ``status`` (404 when there is none of that kind)."""
    error = _token_error() or version_error()
    if error:
        return error
    if request.headers.get("X-Restli-Protocol-Version") != "2.0.0":
        return linkedin_error(400, "This API requires the header X-Restli-Protocol-Version: 2.0.0",
                              code="BAD_REQUEST")
    held = state().get("uploads", urn)
    if held is None or held.get("kind") != kind:
        return linkedin_error(404, f"{kind.capitalize()} {quote(urn, safe='')} does not exist", code="NOT_FOUND")
    return jsonify(id=urn, owner=held["owner"], status=status_of(held))


def _content_video(content, author):
    """``(the video record, None)`` when the post's ``content.media.id`` is a video URN the author owns,
    ``(None, None)`` when it names no video, else ``(None, the refusal)``."""
    return _content_media(content, author, "video", VIDEO_MEDIA_FIELDS, _video_status)


def _content_media(content, author, kind: str, fields: set, status_of, title_required=False):
    """``(the record, None)`` when the post's ``content.media.id`` is an uploaded ``kind`` (video,
    document) the author owns and it is AVAILABLE, ``(None, None)`` when it names none, else
    ``(None, the refusal)``."""
    media = content.get("media") if isinstance(content, dict) else None
    urn = media.get("id") if isinstance(media, dict) else None
    if not isinstance(urn, str) or not urn.startswith(f"urn:li:{kind}:"):
        return None, None
    unknown = sorted(set(media) - fields)
    if unknown:
        return None, _unprocessable(f"/content/media/{unknown[0]}", "unrecognized field found but not allowed")
    if not isinstance(media.get("title", ""), str):
        return None, _unprocessable("/content/media/title", "not a string")
    if title_required and not media.get("title", "").strip():
        return None, _unprocessable("/content/media/title", f"a {kind}'s title is required")
    held = state().get("uploads", urn)
    if held is None or held.get("kind") != kind:
        return None, _unprocessable("/content/media/id", f"{urn!r} is not an uploaded {kind}")
    if held["owner"] != author:
        return None, linkedin_error(400, f"The author {author} does not own {urn}", code="INVALID_CONTENT_OWNERSHIP")
    status = status_of(held)
    if status != "AVAILABLE":
        return None, _unprocessable("/content/media/id", f"{urn} is not AVAILABLE (its status is {status})")
    return held, None


def _video_post(author: str, commentary: str, video: dict):
    return _media_post(author, commentary, video["video"], lambda stored: {
        "video": {"kind": "video", "sha256": stored["sha256"], "bytes": stored["size"]}})


def _media_post(author: str, commentary: str, media_urn: str, recorded):
    """A post of an uploaded video or document (``media_urn``), its URN added to the media's posts;
    ``recorded(the media's record)`` says what the received item holds of it."""
    urn = f"urn:li:share:{state().new_number()}"
    earlier = state().claim_post(author, commentary, urn)
    if earlier and state().setting("linkedin", "reject_duplicates"):
        return linkedin_error(422, f"Content is a duplicate of {earlier}", code="DUPLICATE_POST")
    with _videos_lock:
        stored = state().get("uploads", media_urn)
        stored["posts"] = [*stored["posts"], urn]
        state().put("uploads", media_urn, stored)
    record(urn, author, read_little(commentary), **recorded(stored))
    return Response(status=201, headers={"x-restli-id": urn})


# -- /_sandbox/linkedin/videos: steering and reading the Videos API ---------------------------------


def _all_videos() -> list:
    return _all_of("video")


def _all_of(kind: str) -> list:
    """Every upload of ``kind`` (video, document), oldest first."""
    found = []

    def keep(value):
        if isinstance(value, dict) and value.get("kind") == kind:
            found.append(dict(value))
        return False

    state().count("uploads", keep)
    return sorted(found, key=lambda held: held["created_at"])


@bp.get("/_sandbox/linkedin/videos")
def sandbox_videos():
    """Every video, oldest first, with what the sandbox received of it."""
    return jsonify(videos=[{
        "video": v["video"], "owner": v["owner"], "status": _video_status(v), "size_bytes": v["size"],
        "parts": len(v["parts"]), "parts_received": v["parts_received"], "bytes_received": v["bytes_received"],
        "sha256": v["sha256"], "posts": v["posts"], "upload_urls_expired": v["expires_at"] < time.time(),
    } for v in _all_videos()], settings=video_settings())


@bp.post("/_sandbox/linkedin/videos")
def steer_videos():
    """Set ``part_bytes`` and ``outcome`` until the next reset (how long processing takes is the
    ``linkedin`` setting ``video_processing_s`` of ``/_sandbox/config``)."""
    body = request.get_json(force=True, silent=True)
    body = body if isinstance(body, dict) else None
    if body is None or set(body) - {"part_bytes", "outcome"}:
        return _sandbox_problem("give part_bytes or outcome")
    if "part_bytes" in body and (not _is_count(body["part_bytes"]) or body["part_bytes"] < 1):
        return _sandbox_problem("part_bytes: a whole number of bytes from 1")
    if body.get("outcome", "AVAILABLE") not in VIDEO_OUTCOMES:
        return _sandbox_problem(f"outcome: one of {', '.join(VIDEO_OUTCOMES)}")
    settings = {**video_settings(), **body}
    state().put("uploads", _VIDEO_SETTINGS, settings)
    return jsonify(settings=settings)


@bp.post("/_sandbox/linkedin/videos/expire")
def expire_video_uploads():
    """Every upload URL handed out so far expires now: its parts are answered 401."""
    with _videos_lock:
        videos = _all_videos()
        for video in videos:
            state().put("uploads", video["video"], {**video, "expires_at": 0.0})
    return jsonify(expired=len(videos))


def _sandbox_problem(message: str):
    response = jsonify(error={"code": "bad_request", "message": message})
    response.status_code = 400
    return response


# -- Documents API ---------------------------------------------------------------------------------

#: What LinkedIn's Documents API takes: "The file size cannot exceed 100MB and 300 pages."
DOCUMENT_MAX_BYTES = 100 * 10**6
DOCUMENT_MAX_PAGES = 300
#: PDF; DOC and PPT (OLE2); DOCX and PPTX (ZIP).
DOCUMENT_MAGIC = (b"%PDF-", b"\xd0\xcf\x11\xe0", b"PK\x03\x04")
DOCUMENT_MEDIA_FIELDS = {"id", "title"}
_DOCUMENT_SETTINGS = "linkedin-document-settings"


def document_settings() -> dict:
    settings = {"outcome": "AVAILABLE"}
    settings.update(state().get("uploads", _DOCUMENT_SETTINGS) or {})
    return settings


def _document_status(document: dict) -> str:
    """WAITING_UPLOAD until its bytes came, then PROCESSING for ``video_processing_s``, then its outcome."""
    if document["uploaded_at"] is None:
        return "WAITING_UPLOAD"
    if time.time() < document["uploaded_at"] + state().setting("linkedin", "video_processing_s"):
        return "PROCESSING"
    if document["pages"] is not None and document["pages"] > DOCUMENT_MAX_PAGES:
        return "PROCESSING_FAILED"
    return document_settings()["outcome"]


@bp.post("/rest/documents")
@endpoint("linkedin")
def documents_action():
    """``?action=initializeUpload``: the document's URN and the URL to PUT it to."""
    if request.args.get("action") != "initializeUpload":
        return linkedin_error(400, "Unsupported action; expected action=initializeUpload", code="BAD_REQUEST")
    body, error = _checked_request()
    if error:
        return error
    upload, error = _action_body(body, "initializeUploadRequest", {"owner"}, required={"owner"})
    if error:
        return error
    if not isinstance(upload["owner"], str) or not AUTHOR.match(upload["owner"]):
        return _unprocessable("/initializeUploadRequest/owner", "field is required and must be a URN")
    key = "D4D10AQ" + secrets.token_urlsafe(12).replace("-", "x").replace("_", "y")
    urn, secret, expires_at = f"urn:li:document:{key}", secrets.token_urlsafe(16), time.time() + UPLOAD_URLS_LIFE_S
    state().put("uploads", urn, {
        "kind": "document", "document": urn, "owner": upload["owner"], "secret": secret, "expires_at": expires_at,
        "size": None, "sha256": None, "pages": None, "puts": 0, "bytes_received": 0, "uploaded_at": None,
        "posts": [], "created_at": time.time()})
    return jsonify(value={"uploadUrlExpiresAt": int(expires_at * 1000), "document": urn,
                          "uploadUrl": f"{request.host_url}dms-uploads/sp/v2/{key}/uploaded-document/0?ut={secret}"})


@bp.put("/dms-uploads/sp/v2/<key>/uploaded-document/0")
@endpoint("linkedin")
def upload_document(key):
    """Take the whole document, hashed as it comes (kept on disk, never whole in memory)."""
    error = _token_error()
    if error:
        return error
    urn = f"urn:li:document:{key}"
    document = state().get("uploads", urn)
    if document is None or document.get("kind") != "document":
        return linkedin_error(404, f"No upload is pending for {urn}", code="NOT_FOUND")
    if not secrets.compare_digest(request.args.get("ut", ""), document["secret"]) \
            or document["expires_at"] < time.time():
        return linkedin_error(401, "The upload URL is invalid or has expired")
    if document["uploaded_at"] is not None:
        return linkedin_error(400, f"The upload of {urn} is complete already", code="BAD_REQUEST")
    digest, received, head = hashlib.sha256(), 0, b""
    with tempfile.NamedTemporaryFile(prefix="socialpub-sandbox-document-") as held:
        for chunk in iter(lambda: request.stream.read(1024 * 1024), b""):
            received += len(chunk)
            head = head or chunk[:8]
            digest.update(chunk)
            held.write(chunk)
        held.flush()
        pages = _pdf_pages(held.name) if head.startswith(b"%PDF-") else None
    with _videos_lock:
        document = state().get("uploads", urn)
        document.update(puts=document["puts"] + 1, bytes_received=document["bytes_received"] + received)
        refusal = ("is empty" if not received else f"is {received} bytes, more than {DOCUMENT_MAX_BYTES}"
                   if received > DOCUMENT_MAX_BYTES else None if head.startswith(DOCUMENT_MAGIC)
                   else "is not a PDF, DOC, DOCX, PPT or PPTX file")
        if refusal is None:
            document.update(size=received, sha256=digest.hexdigest(), pages=pages, uploaded_at=time.time())
        state().put("uploads", urn, document)
    if refusal:
        return linkedin_error(400, f"The uploaded document {refusal}", code="BAD_REQUEST")
    return Response(status=201)


def _pdf_pages(path: str):
    """A PDF's pages (None when it cannot be read)."""
    import pypdf  # here: only the sandbox's documents need it

    try:
        return len(pypdf.PdfReader(path, strict=False).pages)
    except Exception:  # noqa: BLE001 — a damaged file is LinkedIn's to fail, not the sandbox's
        return None


@bp.get("/rest/documents/<path:urn>")
@endpoint("linkedin")
def get_document(urn):
    """A document: ``id``, ``owner``, ``status``."""
    return _read_media(urn, "document", _document_status)


def _content_document(content, author):
    """``(the document record, None)`` when the post's ``content.media.id`` is a document URN the author
    owns and it is AVAILABLE, ``(None, None)`` when it names no document, else ``(None, the refusal)``."""
    return _content_media(content, author, "document", DOCUMENT_MEDIA_FIELDS, _document_status, title_required=True)


def _document_post(author: str, commentary: str, document: dict):
    return _media_post(author, commentary, document["document"], lambda stored: {
        "document": {"sha256": stored["sha256"], "bytes": stored["size"], "pages": stored["pages"]}})


@bp.get("/_sandbox/linkedin/documents")
def sandbox_documents():
    """Every document, oldest first, with what the sandbox received of it."""
    return jsonify(documents=[{
        "document": d["document"], "owner": d["owner"], "status": _document_status(d), "size_bytes": d["size"],
        "pages": d["pages"], "puts": d["puts"], "bytes_received": d["bytes_received"], "sha256": d["sha256"],
        "posts": d["posts"], "upload_url_expired": d["expires_at"] < time.time(),
    } for d in _all_of("document")], settings=document_settings())


@bp.post("/_sandbox/linkedin/documents")
def steer_documents():
    """Set ``outcome`` (AVAILABLE or PROCESSING_FAILED) until the next reset."""
    body = request.get_json(force=True, silent=True)
    if not isinstance(body, dict) or set(body) != {"outcome"} or body["outcome"] not in VIDEO_OUTCOMES:
        return _sandbox_problem(f"give outcome: one of {', '.join(VIDEO_OUTCOMES)}")
    state().put("uploads", _DOCUMENT_SETTINGS, {**document_settings(), **body})
    return jsonify(settings=document_settings())


@bp.post("/_sandbox/linkedin/documents/expire")
def expire_document_uploads():
    """Every document upload URL handed out so far expires now: its PUT is answered 401."""
    with _videos_lock:
        documents = _all_of("document")
        for document in documents:
            state().put("uploads", document["document"], {**document, "expires_at": 0.0})
    return jsonify(expired=len(documents))
