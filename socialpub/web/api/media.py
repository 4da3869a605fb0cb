"""Media: upload a photo or a video (multipart, one file per request), list the
library, fetch a file or its thumbnail, delete one no post uses. A file is judged
by its content; a refusal names the problem and stores nothing."""
from __future__ import annotations

import logging

from flask import Response, current_app, redirect, send_file, url_for

from ...errors import StoreUnavailable
from ...media import library, preflight
from ...media.storage import StorageError
from ...models import Media, MediaKind
from .. import serialize, shapes
from ..serialize import answer
from ..resumable import register as register_uploads_in_parts
from ..uploads import upload_response
from .blueprint import bp
from .helpers import int_arg

logger = logging.getLogger(__name__)

register_uploads_in_parts(bp, "")

#: How long the signed S3 address a video is fetched from works (seconds).
VIDEO_URL_EXPIRES_S = 3600


def _settings():
    return current_app.extensions["socialpub"]


@bp.post("/media")
def upload_media():
    """Upload one image or video as the multipart field ``file``."""
    return upload_response()


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
    return answer(shapes.MediaPage, items=[serialize.media(m) for m in page],
                  next=url_for("api.list_media", before=page[-1].id, limit=limit) if len(items) > limit else None)


@bp.get("/media/<int:media_id>")
def get_media(media_id):
    return answer(serialize.media(library.get(media_id)))


def _bytes(key: str, content_type: str) -> Response:
    try:
        data = library.store_of(current_app.extensions["socialpub"]).get(key)
    except StorageError as exc:
        logger.warning("The media store did not give %s: %s", key, exc)  # its words are for the log
        raise StoreUnavailable("the media store did not give the file: try again in a moment (the log says what "
                               "the store answered)") from None
    response = Response(data, mimetype=content_type)
    response.headers["Cache-Control"] = "private, max-age=86400, immutable"  # keys are content hashes
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@bp.get("/media/<int:media_id>/file")
def media_file(media_id):
    media = library.get(media_id)
    if media.kind in (MediaKind.VIDEO, MediaKind.DOCUMENT):
        return _streamed(media)
    return _bytes(media.storage_key, media.content_type)


def _streamed(media) -> Response:
    """A video or a document, never read whole: from the disk a range at a time (``Range`` honoured), or
    from S3 through a signed URL it redirects to."""
    store = library.store_of(current_app.extensions["socialpub"])
    path = store.path_of(media.storage_key)
    if path is None:
        return redirect(store.presigned_url(media.storage_key, VIDEO_URL_EXPIRES_S))
    if not path.exists():
        raise StoreUnavailable("the media store did not give the file: it is missing from the store")
    response = send_file(path, mimetype=media.content_type, conditional=True, max_age=86400)
    # The caller's own library: kept by their browser, never by a shared cache on the way.
    response.cache_control.public = False
    response.cache_control.private = True
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@bp.get("/media/<int:media_id>/preflight")
def media_preflight(media_id):
    """A video checked against each kind of video post of each network, before it is scheduled."""
    return answer(shapes.Preflight, media_id=media_id, items=[
        {"network": v.network, "kind": v.kind, "label": v.label, "ok": v.ok, "problems": list(v.problems),
         "source": v.source, "fixable": v.fixable, "rendition": v.rendition}
        for v in preflight.check(library.get(media_id))])


@bp.get("/media/<int:media_id>/thumbnail")
def media_thumbnail(media_id):
    return _bytes(library.get(media_id).thumbnail_key, "image/jpeg")


@bp.delete("/media/<int:media_id>")
def delete_media(media_id):
    """Delete a file no post uses (409 naming the post that uses it)."""
    library.delete(_settings(), media_id)
    return "", 204
