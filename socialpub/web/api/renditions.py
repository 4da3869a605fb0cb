"""Renditions: a version of a library video made for a kind of post it does not
fit, by a worker (media/rendition_jobs.py), asked for and followed here."""
from __future__ import annotations

from flask import url_for

from ...media import rendition_jobs
from .. import shapes
from ..serialize import answer
from .blueprint import bp
from .helpers import json_body


@bp.post("/media/<int:media_id>/renditions")
def request_rendition(media_id):
    """``{"network", "kind"}``: 202 with the request on its way (asked twice, still one), or 200 with
    the rendition already made."""
    body = json_body(shapes.RenditionRequest)
    item, ready = rendition_jobs.request(media_id, body["network"], body["kind"])
    response = answer(shapes.Rendition, 200 if ready else 202, **item)
    response.headers["Location"] = url_for("api.list_renditions", media_id=media_id)
    return response


@bp.get("/media/<int:media_id>/renditions")
def list_renditions(media_id):
    """Each rendition of a video: queued, being made (how far), ready (its media id) or failed (why)."""
    return answer(shapes.RenditionList, media_id=media_id, items=rendition_jobs.listing(media_id))
