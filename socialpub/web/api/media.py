"""Media: upload a photo (multipart, one file per request), list the library,
fetch a file or its thumbnail, delete one no post uses. A file is judged by
its content; a refusal names the problem and stores nothing."""
from __future__ import annotations

from flask import Response, current_app, jsonify, request, url_for

from ...errors import Busy, InvalidInput, StoreUnavailable, TooLarge, UnprocessableImage, UnsupportedMediaType
from ...intake import csv_posts
from ...media import images, library
from ...media.storage import StorageError
from ...models import Media
from . import serialize
from .blueprint import bp
from .helpers import int_arg

#: Room for the multipart envelope around the file itself.
ENVELOPE_BYTES = 64 * 1024
#: Files one compose form may carry when sent without its script.
MAX_FILES_PER_FORM = 10
REFUSALS = {413: TooLarge, 415: UnsupportedMediaType, 422: UnprocessableImage, 503: Busy}


def _settings():
    return current_app.extensions["socialpub"]


@bp.post("/media")
def upload_media():
    """Upload one image as the multipart field ``file``."""
    return upload_response()


#: The endpoints that take files, and how many photos of MEDIA_MAX_BYTES each may carry
#: (the compose form sent without its script carries its photos itself).
PHOTO_ENDPOINTS = {"api.upload_media": 1, "web.upload_media": 1, "web.create": MAX_FILES_PER_FORM,
                   "web.edit_post": MAX_FILES_PER_FORM}
CSV_ENDPOINTS = ("api.import_posts", "web.import_posts")


def body_limit(endpoint, settings) -> int | None:
    """The largest body ``endpoint`` takes, when it takes files (else the app's JSON limit stands).
    Set before anything reads the body — the CSRF check reads the form first."""
    if endpoint in PHOTO_ENDPOINTS:
        return settings.media_max_bytes * PHOTO_ENDPOINTS[endpoint] + ENVELOPE_BYTES
    if endpoint in CSV_ENDPOINTS:
        return csv_posts.MAX_BYTES + ENVELOPE_BYTES
    return None


def keep(upload) -> tuple:
    """``(media, created)`` for one uploaded file (a werkzeug FileStorage).

    Raises:
      AppError: refused (413, 415, 422 on the field ``file``) or the store is down (503).
    """
    try:
        return library.add(_settings(), upload.read(), upload.filename)
    except images.Refused as refusal:
        raise REFUSALS[refusal.status](refusal.message, field="file") from None
    except StorageError as exc:
        raise StoreUnavailable(f"the media store did not take the file: {exc}; nothing was stored") from None


def upload_response():
    """The answer to one upload in the field ``file`` (the API's, and the compose page's script's)."""
    if not request.content_type or not request.content_type.startswith("multipart/form-data"):
        raise UnsupportedMediaType("body: send the file as multipart/form-data, in the field 'file'")
    files = request.files.getlist("file")
    if len(files) != 1:
        raise InvalidInput("file: send exactly one file in the field 'file'" if files
                           else "file: missing (multipart field 'file')", field="file")
    media, created = keep(files[0])
    response = jsonify(serialize.media(media))
    response.status_code = 201 if created else 200
    response.headers["Location"] = url_for("api.get_media", media_id=media.id)
    return response


@bp.get("/media")
def list_media():
    """The library, newest first; ``?before=<id>`` for the next page."""
    limit = int_arg("limit", _settings().page_size, 1, _settings().max_page_size)
    before = int_arg("before", 0, 0, 10**18 - 1)
    query = Media.select().order_by(Media.id.desc()).limit(limit + 1)
    if before:
        query = query.where(Media.id < before)
    items = list(query)
    page = items[:limit]
    return jsonify({"items": [serialize.media(m) for m in page],
                    "next": url_for("api.list_media", before=page[-1].id, limit=limit)
                    if len(items) > limit else None})


@bp.get("/media/<int:media_id>")
def get_media(media_id):
    return jsonify(serialize.media(library.get(media_id)))


def _bytes(key: str, content_type: str) -> Response:
    try:
        data = library.store_of(current_app.extensions["socialpub"]).get(key)
    except StorageError as exc:
        raise StoreUnavailable(f"the media store did not give the file: {exc}") from None
    response = Response(data, mimetype=content_type)
    response.headers["Cache-Control"] = "private, max-age=86400, immutable"  # keys are content hashes
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@bp.get("/media/<int:media_id>/file")
def media_file(media_id):
    media = library.get(media_id)
    return _bytes(media.storage_key, media.content_type)


@bp.get("/media/<int:media_id>/thumbnail")
def media_thumbnail(media_id):
    return _bytes(library.get(media_id).thumbnail_key, "image/jpeg")


@bp.delete("/media/<int:media_id>")
def delete_media(media_id):
    """Delete a file no post uses (409 naming the post that uses it)."""
    library.delete(_settings(), media_id)
    return "", 204
