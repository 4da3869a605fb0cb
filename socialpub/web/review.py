"""The review page: ``/r/<token>``, opened without an account by the person a
review link was sent to (reviewing/links.py). It shows the link's posts as
their channels will publish them — each channel's text, the photos, a video's
poster, the first comment, the time in the reader's zone — and takes, per
post, the reviewer's name and their decision: approve, or ask for changes with
a comment (reviewing/decisions.py). It reveals nothing else: no navigation, no
other post, no channel's settings; a closed link answers a plain page that
names no post. Requests are counted per address (``LIMIT`` a minute)."""
from __future__ import annotations

from flask import Response, abort, current_app, flash, redirect, render_template, request, url_for

from ..errors import AppError, NotFound
from ..lifecycle import first_comments
from ..media import library
from ..media.storage import StorageError
from ..models import Channel, Media, MediaKind, PostMedia, Publication
from ..people.throttle import RequestWindow
from ..reviewing import decisions, links
from ..worker.broker import redis_client
from .auth import public
from .blueprint import NETWORK_LABELS, bp

#: Requests one address may make to review pages in a minute.
LIMIT = 120


def _throttled() -> bool:
    window = RequestWindow(redis_client(current_app), "review", LIMIT, 60)
    return not window.allowed(request.remote_addr or "unknown")


def _closed(reason: str, status: int):
    return render_template("web/review_closed.html", reason=reason), status


def _open(token: str):
    """The live link, or the plain page to answer instead."""
    if _throttled():
        return None, _closed("Too many requests from your address: wait a minute and reload the page.", 429)
    try:
        return links.opened(token), None
    except links.LinkClosed as exc:
        return None, _closed(exc.reason, 410 if exc.gone else 404)


def _shown(link):
    """Each post of the link as the page shows it: its channels' versions, media, first comments, decision."""
    shown = []
    for post, asked, decision in links.posts_of(link):
        now = links.content_of(post)
        publications = list(Publication.select(Publication, Channel).join(Channel)
                            .where(Publication.post == post.id).order_by(Publication.id))
        comments = {c.publication_id: c.text for c in first_comments.of_publications([p.id for p in publications])
                    .values()}
        shown.append({"post": post, "content": now, "changed": now != asked,
                      "decision": decision, "decided_on_other": decision is not None and decision.content != now,
                      "versions": [{"network": p.network, "label": NETWORK_LABELS[p.network], "channel": p.channel.name,
                                    "text": p.text, "first_comment": comments.get(p.id)} for p in publications],
                      "media": library.post_media(post.id)})
    return shown


@bp.get("/r/<token>")
@public
def review_page(token):
    link, closed = _open(token)
    if closed:
        return closed
    return render_template("web/review.html", link=link, token=token, posts=_shown(link), errors={}, kept={})


@bp.post("/r/<token>/posts/<int:post_id>")
@public
def review_decide(token, post_id):
    link, closed = _open(token)
    if closed:
        return closed
    form = request.form
    try:
        decisions.decide(link, post_id, form.get("reviewer"), form.get("decision"), form.get("comment"),
                         form.get("content", ""))
    except NotFound:
        return _closed("This post is not part of this review.", 404)
    except AppError as exc:
        kept = {"post_id": post_id, "reviewer": form.get("reviewer", ""), "comment": form.get("comment", ""),
                "decision": form.get("decision")}
        return render_template("web/review.html", link=link, token=token, posts=_shown(link),
                               errors={post_id: exc.message}, kept=kept), exc.status
    flash("Thank you: your answer was sent to the team.", "success")
    return redirect(url_for("web.review_page", token=token) + f"#post-{post_id}")


@bp.get("/r/<token>/media/<int:media_id>")
@public
def review_media(token, media_id):
    """A photo of one of the link's posts, or a video's poster; nothing else."""
    link, closed = _open(token)
    if closed:
        return closed
    post_ids = [post.id for post, _, _ in links.posts_of(link)]
    media = (Media.select().join(PostMedia).where((Media.id == media_id) & PostMedia.post.in_(post_ids or [0]))
             .first())
    if media is None:
        abort(404, "No such file in this review.")
    key = (media.video or {}).get("poster_key") if media.kind == MediaKind.VIDEO else (media.jpeg_key
                                                                                       or media.storage_key)
    if not key:
        abort(404, "No picture of this file.")
    try:
        data = library.store_of(current_app.extensions["socialpub"]).get(key)
    except StorageError:
        abort(503, "The media store did not give the file; reload the page.")
    content_type = media.content_type if key == media.storage_key else "image/jpeg"
    response = Response(data, mimetype=content_type)
    response.headers["Cache-Control"] = "private, max-age=3600"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
