"""Meta's video uploads as the adapters use them: Facebook Page Reels
(``/video_reels``) and video Stories (``/video_stories``) — a start phase that
names the video, its bytes sent to ``rupload`` with ``offset`` and ``file_size``,
a finish phase that publishes it — and feed videos through the Resumable Upload
API (``/{app-id}/uploads``, ``upload:<session>`` with ``file_offset``, then
``/{page-id}/videos`` with the file handle). A video's status
(``GET /{video-id}?fields=status``) moves from uploading to processing to ready
over ``video_processing_s``, as Meta's does.

Every byte is counted and hashed as it arrives (``GET /_sandbox/videos``), so
a test can see that a resumed upload sent nothing twice beyond the part that
was cut, and that the network holds the same bytes (SHA-256).

Where Meta's documentation gives no wording (rupload's answer to a wrong
offset), the sandbox answers in rupload's ``debug_info`` envelope, the one
rupload uses for its header checks.
"""
from __future__ import annotations

import hashlib
import threading
import time

from flask import Blueprint, jsonify, request

from .common import endpoint, is_bad_token, record, state
from .errors import graph_error, graph_param_error, graph_token_error
from .meta_apps import FACEBOOK_APP

bp = Blueprint("meta_video", __name__)

#: Each video's running SHA-256, by key: hashing part by part keeps no file in memory. The lock makes
#: a part's check of its offset and its taking one step, as two parts sent at once for one offset race.
_hashes: dict = {}
_hashes_lock = threading.Lock()
#: Graph's kinds of Page video, by the edge that starts them.
EDGES = {"video_reels": "reel", "video_stories": "story"}
#: What the finish phase of a Reel takes as ``video_state``.
VIDEO_STATES = ("PUBLISHED", "DRAFT", "SCHEDULED")
#: A Reel published as a story on a Page "can not exceed 60 seconds"; the sandbox checks sizes only.
UPLOAD_KEY = "fb-video:{}"
SESSION_KEY = "fb-session:{}"


def _values():
    values = request.args.to_dict()
    values.update(request.form.to_dict())
    if request.is_json and isinstance(request.get_json(silent=True), dict):
        values.update({k: str(v) for k, v in request.get_json().items()})
    return values


def _token(network: str = "facebook"):
    """The call's token from ``Authorization: OAuth|Bearer`` or ``access_token``; None and
    Graph's refusal when it has none or a bad one."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    token = token.strip() if scheme.lower() in ("oauth", "bearer") else ""
    token = token or _values().get("access_token", "")
    if not token or is_bad_token(token):
        return None, graph_token_error(network, token)
    return token, None


def _debug_info(status: int, kind: str, message: str):
    response = jsonify(debug_info={"retriable": False, "type": kind, "message": message})
    response.status_code = status
    return response


def _new_hash(key: str) -> None:
    with _hashes_lock:
        _hashes[key] = hashlib.sha256()


def _digest(key: str) -> str:
    with _hashes_lock:
        return (_hashes.get(key) or hashlib.sha256()).hexdigest()


def _processing_s() -> float:
    return state().setting("facebook", "video_processing_s")


# -- Reels and video Stories: start, rupload, finish ---------------------------------------------


@bp.post("/<gv:version>/<page_id>/<any(video_reels, video_stories):edge>")
@endpoint("facebook")
def page_video(version, page_id, edge):
    """``upload_phase=start`` names a new video and where its bytes go; ``finish``
    publishes the uploaded video (a Reel with ``video_state=PUBLISHED``, a Story)."""
    _, error = _token()
    if error:
        return error
    values = _values()
    phase = values.get("upload_phase")
    if phase == "start":
        video_id = str(state().new_number())
        _new_hash(UPLOAD_KEY.format(video_id))
        state().put("uploads", UPLOAD_KEY.format(video_id), {
            "page": page_id, "kind": EDGES[edge], "size": None, "received": 0, "bytes_sent": 0, "parts": 0,
            "finished_at": None, "published": False, "description": None})
        return jsonify(video_id=video_id, upload_url=f"{request.host_url}video-upload/{version}/{video_id}")
    if phase != "finish":
        return graph_param_error("facebook", "upload_phase must be one of {start, finish}")
    video_id = values.get("video_id", "")
    video = state().get("uploads", UPLOAD_KEY.format(video_id))
    if video is None or video["page"] != page_id or video["kind"] != EDGES[edge]:
        return graph_param_error("facebook", f"Unsupported post request. Object with ID '{video_id}' does not "
                                 f"exist", subcode=33)
    if EDGES[edge] == "reel" and values.get("video_state") not in VIDEO_STATES:
        return graph_param_error("facebook", f"video_state must be one of {{{', '.join(VIDEO_STATES)}}}")
    if video["size"] is None or video["received"] != video["size"]:
        return graph_error("facebook", 400, 6000, "There was a problem uploading your video file. Please try "
                           "again with another file.", subcode=1363045)
    post_id = video.get("post_id")
    video = dict(video, finishes=video.get("finishes", 0) + 1)
    state().put("uploads", UPLOAD_KEY.format(video_id), video)
    if not video["published"]:
        post_id = f"{page_id}_{state().new_number()}" if EDGES[edge] == "story" else video_id
        state().put("uploads", UPLOAD_KEY.format(video_id), dict(
            video, published=True, finished_at=time.time(), post_id=post_id, description=values.get("description")))
        _record(video_id, page_id, values.get("description"), video, post_id)
    return jsonify(success=True, post_id=post_id) if EDGES[edge] == "story" else jsonify(success=True)


def _record(video_id: str, page_id: str, text, video: dict, post_id: str) -> None:
    key = UPLOAD_KEY.format(video_id)
    record(post_id, page_id, text, video={"kind": video["kind"], "video_id": video_id, "sha256": _digest(key),
                                          "bytes": video["received"]})


@bp.post("/video-upload/<gv:version>/<video_id>")
@endpoint("facebook")
def rupload(version, video_id):
    """The bytes of a Reel or Story from ``offset`` on, of a file of ``file_size`` bytes."""
    _, error = _token()
    if error:
        return error
    key = UPLOAD_KEY.format(video_id)
    video = state().get("uploads", key)
    if video is None:
        return _debug_info(404, "NotFoundError", f"No upload session for video {video_id}")
    try:
        offset, size = int(request.headers.get("offset", "")), int(request.headers.get("file_size", ""))
    except ValueError:
        return _debug_info(400, "ParameterValidationError",
                           "HeaderValuePredicate: Header Offset not convertable to unsigned long")
    if video["size"] is not None and size != video["size"]:
        return graph_error("facebook", 400, 6000, "There was a problem uploading your video file. Please try "
                           "again with another file.", subcode=1363045)
    if offset != video["received"]:
        return _debug_info(400, "OffsetInvalidError", f"Offset {offset} is not the {video['received']} bytes "
                           f"received so far")
    return _take_bytes(key, offset, size, lambda received: jsonify(success=True))


def _take_bytes(key: str, offset: int, size: int, answer):
    """Take the request's body as the part from ``offset``: read whole first (a part whose
    connection drops is not taken at all), then, under the upload's lock and only if no other
    part took this offset meanwhile, added to the upload's hash and counts."""
    body = request.stream.read(size - offset + 1)
    if offset + len(body) > size:
        return graph_error("facebook", 400, 6000, "There was a problem uploading your video file. Please try "
                           "again with another file.", subcode=1363045)
    with _hashes_lock:
        upload = state().get("uploads", key)
        if upload["received"] != offset:
            return _debug_info(400, "OffsetInvalidError", f"Offset {offset} is not the {upload['received']} "
                               f"bytes received so far")
        _hashes.setdefault(key, hashlib.sha256()).update(body)
        received = offset + len(body)
        state().put("uploads", key, dict(upload, size=size, received=received, parts=upload["parts"] + 1,
                                         bytes_sent=upload["bytes_sent"] + len(body)))
    return answer(received)


def video_status(video_id: str):
    """``{"status": …}`` of a Page video as Meta describes its phases, or None for no such video."""
    video = state().get("uploads", UPLOAD_KEY.format(video_id))
    if video is None:
        return None
    complete = video["size"] is not None and video["received"] == video["size"]
    uploading = {"status": "complete" if complete else "in_progress", "bytes_transferred": video["received"]}
    if not video["published"]:
        return {"video_status": "upload_complete" if complete else "uploading", "uploading_phase": uploading,
                "processing_phase": {"status": "not_started"}, "publishing_phase": {"status": "not_started"}}
    ready = time.time() >= video["finished_at"] + _processing_s()
    return {"video_status": "ready" if ready else "processing", "uploading_phase": uploading,
            "processing_phase": {"status": "complete" if ready else "in_progress"},
            "publishing_phase": {"status": "complete" if ready else "not_started",
                                 "publish_status": "published" if ready else "not_published"}}


# -- Feed videos: the Resumable Upload API, then /videos -----------------------------------------


@bp.get("/<gv:version>/app")
@endpoint("facebook")
def token_app(version):
    """The app a token was granted to."""
    _, error = _token()
    if error:
        return error
    return jsonify(id=FACEBOOK_APP[0], name="Sandbox Facebook app")


@bp.post("/<gv:version>/<app_id>/uploads")
@endpoint("facebook")
def start_session(version, app_id):
    """A Resumable Upload API session for one file of ``file_length`` bytes."""
    _, error = _token()
    if error:
        return error
    values = _values()
    if app_id != FACEBOOK_APP[0]:
        return graph_param_error("facebook", f"Unsupported post request. Object with ID '{app_id}' does not exist",
                                 subcode=33)
    try:
        length = int(values.get("file_length", ""))
    except ValueError:
        return graph_param_error("facebook", "The parameter file_length is required")
    if values.get("file_type") not in ("video/mp4", "image/jpeg", "image/jpg", "image/png", "application/pdf"):
        return graph_param_error("facebook", "file_type must be one of application/pdf, image/jpeg, image/jpg, "
                                 "image/png, video/mp4")
    session = f"upload:{state().new_number()}"
    _new_hash(SESSION_KEY.format(session))
    state().put("uploads", SESSION_KEY.format(session), {"size": length, "received": 0, "bytes_sent": 0,
                                                         "parts": 0, "handle": None})
    return jsonify(id=session)


@bp.route("/<gv:version>/upload:<session>", methods=["GET", "POST"])
@endpoint("facebook")
def session_bytes(version, session):
    """GET: how far the session is (``file_offset``); POST: the bytes from ``file_offset`` on."""
    _, error = _token()
    if error:
        return error
    key = SESSION_KEY.format(f"upload:{session}")
    upload = state().get("uploads", key)
    if upload is None:
        return graph_param_error("facebook", f"Unsupported request. Object with ID 'upload:{session}' does not "
                                 f"exist", subcode=33)
    if request.method == "GET":
        return jsonify(id=f"upload:{session}", file_offset=upload["received"])
    try:
        offset = int(request.headers.get("file_offset", ""))
    except ValueError:
        return graph_param_error("facebook", "The header file_offset is required")
    if offset != upload["received"]:
        return graph_error("facebook", 400, 6001, "There was a problem uploading your video. Please try again.",
                           subcode=1363037)

    def answer(received):
        if received < upload["size"]:
            return jsonify(id=f"upload:{session}", file_offset=received)
        handle = f"4:{session}:{_digest(key)[:16]}"
        state().put("uploads", key, dict(state().get("uploads", key), handle=handle))
        return jsonify(h=handle)
    return _take_bytes(key, offset, upload["size"], answer)


@bp.post("/<gv:version>/<page_id>/videos")
@endpoint("facebook", creates_item=True)
def page_videos(version, page_id):
    """A feed video from an uploaded file's handle (``fbuploader_video_file_chunk``)."""
    _, error = _token()
    if error:
        return error
    values = _values()
    handle = values.get("fbuploader_video_file_chunk", "")
    session = handle.split(":")[1] if handle.count(":") == 2 else ""
    key = SESSION_KEY.format(f"upload:{session}")
    upload = state().get("uploads", key)
    if upload is None or upload["handle"] != handle:
        return graph_param_error("facebook", "The parameter fbuploader_video_file_chunk is not a valid file handle")
    video_id = str(state().new_number())
    state().put("uploads", UPLOAD_KEY.format(video_id), {
        "page": page_id, "kind": "video", "size": upload["size"], "received": upload["received"],
        "bytes_sent": upload["bytes_sent"], "parts": upload["parts"], "finished_at": time.time(), "published": True,
        "description": values.get("description"), "post_id": video_id})
    with _hashes_lock:
        _hashes[UPLOAD_KEY.format(video_id)] = _hashes.get(key, hashlib.sha256()).copy()
    _record(video_id, page_id, values.get("description"), dict(upload, kind="video"), video_id)
    return jsonify(id=video_id)


@bp.get("/_sandbox/videos")
def videos():
    """Every video upload the sandbox's Meta side saw: its bytes, parts, the bytes sent
    in all (more than its size when a part was sent twice) and its SHA-256."""
    with state().lock:
        uploads = dict(state().uploads)
    return jsonify(videos=[
        {"id": key.split(":", 1)[1], "kind": value.get("kind", "session"), "size": value["size"],
         "received": value["received"], "parts": value["parts"], "bytes_sent": value["bytes_sent"],
         "published": value.get("published", False), "finishes": value.get("finishes", 0),
         "sha256": _digest(key)}
        for key, value in uploads.items() if str(key).startswith(("fb-video:", "fb-session:"))])
