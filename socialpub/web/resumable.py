"""Uploads in parts that survive a dropped connection, by the tus protocol's core
and its creation and termination extensions (tus.io, version 1.0.0), so that the
compose page's script and any tus client (tuspy, tus-js-client, Uppy) can send a
video of hundreds of megabytes: ``POST`` with ``Upload-Length`` begins one,
``HEAD`` says how far it is (``Upload-Offset``), ``PATCH`` appends a part at that
offset, ``DELETE`` abandons it. The part that completes the file hands it to the
media library, judged by its content like any upload; the answer's
``Content-Location`` names the media it became, and so does ``HEAD`` afterwards
(a client whose answer was lost learns it there, rather than send it again).
Each part is streamed to disk (media/partial.py), never held in memory.

The same views answer under ``/api/uploads`` (an API token) and ``/media/uploads``
(the pages, with the CSRF token in ``X-CSRFToken``).

No maintained tus server exists for Flask (the Flask packages on PyPI were last
released in 2016–2021), so the protocol's few rules are kept here.
"""
from __future__ import annotations

import base64
import binascii
import functools

from flask import Response, current_app, g, jsonify, request, url_for

from ..errors import AppError, InvalidInput, NotFound, TooLarge, UnsupportedMediaType
from ..errors import Conflict as ConflictError
from ..media import partial
from ..people.roles import EDITOR, requires
from .uploads import keep_file

TUS_VERSION = "1.0.0"
PART_TYPE = "application/offset+octet-stream"


def _settings():
    return current_app.extensions["socialpub"]


def _answer(status: int, **headers) -> Response:
    response = Response(status=status)
    response.headers["Tus-Resumable"] = TUS_VERSION
    response.headers["Cache-Control"] = "no-store"
    for name, value in headers.items():
        response.headers[name.replace("_", "-")] = str(value)
    return response


class VersionRefused(AppError):
    status = 412
    code = "unsupported_version"


def _checked_version():
    if request.headers.get("Tus-Resumable") != TUS_VERSION:
        raise VersionRefused(f"Tus-Resumable: this server speaks tus {TUS_VERSION}; send the header "
                             f"'Tus-Resumable: {TUS_VERSION}'", field="Tus-Resumable")


def _in_json(view):
    """The view, its refusals answered in the API's JSON envelope on the pages' routes too."""
    @functools.wraps(view)
    def answering(*args, **kwargs):
        try:
            return view(*args, **kwargs)
        except AppError as exc:
            response = jsonify(error=exc.as_dict())
            response.status_code = exc.status
            response.headers["Tus-Resumable"] = TUS_VERSION
            return response
    return answering


def _metadata(header: str) -> dict:
    """``Upload-Metadata``: comma-separated ``key base64(value)`` pairs."""
    found = {}
    for pair in filter(None, (p.strip() for p in (header or "").split(","))):
        key, _, value = pair.partition(" ")
        try:
            found[key] = base64.b64decode(value, validate=True).decode() if value else ""
        except (binascii.Error, UnicodeDecodeError):
            raise InvalidInput(f"Upload-Metadata: the value of {key[:40]!r} is not base64 of UTF-8 text",
                               field="Upload-Metadata") from None
    return found


def _upload(upload_id: str) -> partial.Partial:
    found = partial.get(_settings(), upload_id, g.user.id)
    if found is None:
        raise NotFound("no such upload (it was finished, abandoned, or begun more than a day ago): begin again")
    return found


def create_upload():
    """Begin an upload of ``Upload-Length`` bytes (``Upload-Metadata``: its ``filename`` and ``filetype``)."""
    _checked_version()
    settings = _settings()
    try:
        length = int(request.headers.get("Upload-Length", ""))
    except ValueError:
        raise InvalidInput("Upload-Length: the file's size in bytes is required", field="Upload-Length") from None
    largest = max(settings.media_max_bytes, settings.media_video_max_bytes)
    if length < 1:
        raise InvalidInput("Upload-Length: the file is empty", field="Upload-Length")
    if length > largest:
        raise TooLarge(f"Upload-Length: the file is larger than the {largest / 2**20:g} MiB allowed "
                       f"(SOCIALPUB_MEDIA_VIDEO_MAX_BYTES)", field="Upload-Length")
    meta = _metadata(request.headers.get("Upload-Metadata", ""))
    name = (meta.get("filename") or meta.get("name") or "")[:200] or None
    begun = partial.start(settings, length, name, meta.get("filetype"), g.user.id)
    return _answer(201, Location=url_for(f"{request.blueprint}.upload_part", upload_id=begun.id), Upload_Offset=0)


def upload_offset(upload_id):
    """How far the upload is: ``Upload-Offset`` of ``Upload-Length``."""
    found = _upload(upload_id)
    kept = {"Content_Location": _media_url(found.media_id)} if found.media_id else {}
    return _answer(200, Upload_Offset=found.offset(_settings()), Upload_Length=found.length, **kept)


def _media_url(media_id: int) -> str:
    return url_for("api.get_media", media_id=media_id)


def upload_part(upload_id):
    """Append the body at ``Upload-Offset``; the part that completes the file keeps it in the library."""
    _checked_version()
    found = _upload(upload_id)
    if request.mimetype != PART_TYPE:
        raise UnsupportedMediaType(f"Content-Type: a part is sent as {PART_TYPE}")
    try:
        offset = int(request.headers.get("Upload-Offset", ""))
    except ValueError:
        raise InvalidInput("Upload-Offset: where this part begins, in bytes, is required",
                           field="Upload-Offset") from None
    settings = _settings()
    if found.media_id is not None:  # finished already: its last part's answer was lost
        if offset != found.length:
            raise ConflictError(f"Upload-Offset: the upload is finished ({found.length} bytes)", field="Upload-Offset")
        return _answer(204, Upload_Offset=found.length, Content_Location=_media_url(found.media_id))
    reached = found.offset(settings)
    if not offset == reached == found.length:  # complete already: kept now (again, if the store was down)
        try:
            reached = partial.append(settings, found, offset, request.stream)
        except partial.OffsetMismatch as mismatch:
            raise ConflictError(f"Upload-Offset: the upload is at byte {mismatch.offset}, not {offset}: ask with "
                                f"HEAD and send from there", field="Upload-Offset") from None
        except ValueError as exc:
            raise InvalidInput(f"body: {exc}", field="body") from None
        if reached < found.length:
            return _answer(204, Upload_Offset=reached)
    if not partial.claim_keeping(settings, found):
        raise ConflictError("Upload-Offset: the upload is complete and being kept in the library; ask with HEAD "
                            "in a moment", field="Upload-Offset")
    try:
        media, _ = keep_file(found.path(settings), found.name)
    except AppError as exc:
        if exc.status in (413, 415, 422):  # the file is refused: nothing stays behind
            partial.remove(settings, found)
        else:  # the store was down: the parts stay, and an empty part at the end keeps it again
            partial.release_keeping(settings, found)
        raise
    except BaseException:
        partial.release_keeping(settings, found)
        raise
    partial.finished(settings, found, media.id)
    return _answer(204, Upload_Offset=reached, Content_Location=_media_url(media.id))


def abandon_upload(upload_id):
    """Abandon an upload; its parts are removed."""
    _checked_version()
    partial.remove(_settings(), _upload(upload_id))
    return _answer(204)


ROUTES = (("/uploads", "create_upload", create_upload, ["POST"]),
          ("/uploads/<upload_id>", "upload_offset", upload_offset, ["HEAD"]),
          ("/uploads/<upload_id>", "upload_part", upload_part, ["PATCH"]),
          ("/uploads/<upload_id>", "abandon_upload", abandon_upload, ["DELETE"]))


def register(blueprint, prefix: str) -> None:
    """The routes of an upload in parts, under ``prefix`` of ``blueprint`` (the API's, the pages')."""
    for rule, name, view, methods in ROUTES:
        blueprint.add_url_rule(prefix + rule, name, requires(EDITOR)(_in_json(view)), methods=methods)
