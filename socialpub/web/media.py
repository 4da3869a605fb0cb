"""Media on the pages: the compose page's script uploads each photo here (with
its progress), the library page shows every upload (reuse one in a new post,
delete one no post uses), and ``/m/<token>`` is the one address anyone may
fetch without signing in — an upload behind a signed, expiring token
(media/public.py), for a network that fetches the image itself."""
from __future__ import annotations

from flask import Response, abort, current_app, flash, jsonify, redirect, render_template, send_file, url_for
from peewee import fn

from ..errors import AppError
from ..media import library, preflight
from ..media.public import opened
from ..media.storage import StorageError
from ..models import Media, MediaKind, PostMedia
from .auth import public
from .blueprint import bp
from .resumable import register as register_uploads_in_parts
from .uploads import keep, upload_response

register_uploads_in_parts(bp, "/media")

#: Uploads shown on the library page.
LIBRARY_PAGE = 200


@bp.post("/media/upload")
def upload_media():
    """One photo from the compose page's script; JSON in the API's shapes."""
    try:
        return upload_response()
    except AppError as exc:
        response = jsonify(error=exc.as_dict())
        response.status_code = exc.status
        return response


@bp.post("/media")
def upload_to_library():
    """A photo, video or PDF sent by the library page's form (no script needed): kept, then the page."""
    from flask import request

    try:
        media, created = keep(request.files.get("file") or abort(400, "Choose a file to upload."))
    except AppError as exc:
        flash(f"Not uploaded: {exc.message.removeprefix('file: ')}.", "error")
        return redirect(url_for("web.media_library"))
    flash("Uploaded." if created else "That file is in the library already.", "success")
    return redirect(url_for("web.media_library", _anchor=f"media-{media.id}"))


@bp.get("/media")
def media_library():
    """Every upload, newest first, with how many posts use it."""
    items = list(Media.select().order_by(Media.id.desc()).limit(LIBRARY_PAGE))
    uses = dict(PostMedia.select(PostMedia.media, fn.COUNT(PostMedia.id))
                .where(PostMedia.media.in_([m.id for m in items] or [0])).group_by(PostMedia.media).tuples())
    total = Media.select(fn.COUNT(Media.id), fn.COALESCE(fn.SUM(Media.size_bytes), 0)).tuples().get()
    from ..media import documents, rendition_jobs  # here, not at the top: the top registers routes others add

    checks = {m.id: preflight.check(m) for m in items if m.video}
    made = {media_id: {(r["network"], r["kind"]): r for r in found}
            for media_id, found in rendition_jobs.listings([m for m in items if m.video]).items()}
    made_for = {m.id: rendition_jobs.label_of(m.rendition_for) for m in items if m.rendition_for}
    labels = {m.id: documents.label(m.document["pages"]) for m in items if m.document}
    return render_template("web/media.html", items=items, uses=uses, total=total, checks=checks, renditions=made,
                           made_for=made_for, documents=labels)


@bp.post("/media/<int:media_id>/renditions")
def make_rendition(media_id):
    """The library page's "Make a version for …": a worker makes it (media/rendition_jobs.py)."""
    from flask import request

    from ..media import rendition_jobs

    try:
        item, ready = rendition_jobs.request(media_id, request.form.get("network", ""), request.form.get("kind", ""))
    except AppError as exc:
        flash(f"No new version made: {exc.message}.", "error")
    else:
        flash(f"Already made: video {item['media_id']} fits {item['label']}." if ready else
              f"A version for {item['label']} is being made ({item['changes']}); this page shows how far.", "success")
    return redirect(url_for("web.media_library", _anchor=f"media-{media_id}"))


@bp.post("/media/<int:media_id>/delete")
def delete_media(media_id):
    try:
        library.delete(current_app.extensions["socialpub"], media_id)
    except AppError as exc:
        flash(f"Not deleted: {exc.message}.", "error")
    else:
        flash("Deleted.", "success")
    return redirect(url_for("web.media_library"))


@bp.get("/m/<token>")
@public
def public_media(token):
    grant = opened(current_app.extensions["socialpub"], token)
    media = Media.get_or_none(Media.id == grant["m"]) if grant else None
    poster = (media.video or {}).get("poster_key") if media else None
    if media is None or grant["k"] not in (media.storage_key, media.jpeg_key, poster):
        abort(404, "No such file, or its link has expired.")
    store = library.store_of(current_app.extensions["socialpub"])
    if grant["k"] == media.storage_key and media.kind == MediaKind.VIDEO:
        # A video is streamed from the disk, a range at a time (Meta fetches it in parts).
        path = store.path_of(grant["k"])
        if path is None or not path.exists():
            abort(503, "The media store did not give the video; try again.")
        response = send_file(path, mimetype=media.content_type, conditional=True, max_age=3600)
    else:
        try:
            data = store.get(grant["k"])
        except StorageError:
            abort(503, "The media store did not give the file; try again.")
        response = Response(data, mimetype=media.content_type if grant["k"] == media.storage_key else "image/jpeg")
    response.headers["Cache-Control"] = "public, max-age=3600"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
