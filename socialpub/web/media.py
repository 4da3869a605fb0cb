"""The one page anyone may fetch without signing in: an uploaded image behind
a signed, expiring token (media/public.py), for a network that fetches the
image itself. A forged or expired token is a 404, as a missing file is."""
from __future__ import annotations

from flask import Response, abort, current_app

from ..auth import public
from ..media import library
from ..media.public import opened
from ..media.storage import StorageError
from ..models import Media
from .blueprint import bp


@bp.get("/m/<token>")
@public
def public_media(token):
    grant = opened(current_app.extensions["socialpub"], token)
    media = Media.get_or_none(Media.id == grant["m"]) if grant else None
    if media is None or grant["k"] not in (media.storage_key, media.jpeg_key):
        abort(404, "No such image, or its link has expired.")
    try:
        data = library.app_store().get(grant["k"])
    except StorageError:
        abort(503, "The media store did not give the image; try again.")
    response = Response(data, mimetype="image/jpeg" if grant["k"] == media.jpeg_key else media.content_type)
    response.headers["Cache-Control"] = "public, max-age=3600"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
