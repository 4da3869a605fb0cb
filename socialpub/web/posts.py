"""Posts: the list, one post's page (live while it publishes), publish and retry."""
from __future__ import annotations

from collections import defaultdict

from flask import abort, current_app, flash, jsonify, redirect, render_template, request, url_for
from markupsafe import Markup

from .. import audit
from ..errors import AppError
from ..intake import post_search
from ..intake.composing import adapt_text
from ..lifecycle import first_comments, publishing
from ..lifecycle.bulk import run as run_bulk
from ..media import library, remote
from ..models import (
    Attempt,
    Channel,
    ChannelState,
    ImageFetch,
    Post,
    PostMedia,
    PostStatus,
    Publication,
    PublicationStatus,
    User,
)
from ..whatsapp import ledger
from . import analytics, serialize, shapes
from .blueprint import NETWORK_LABELS, bp, utc, wants_json, when
from .channels import reconnect_url
from .compose import publish_now
from .connect import connectable


@bp.get("/")
def index():
    """The posts list is the home page."""
    return redirect(url_for("web.posts"))


def _int_arg(name, default):
    raw = request.args.get(name, "")
    return int(raw) if raw.isdecimal() and int(raw) > 0 else default


@bp.get("/posts")
def posts():
    """Posts, newest first, a page at a time, with each network's status; searched
    by text and filtered by channel, status and dates (intake/post_search.py)."""
    per_page = current_app.extensions["socialpub"].page_size
    error = None
    try:
        filters = post_search.filters_of(request.args)
    except AppError as exc:
        error, filters = exc.message, post_search.filters_of({})
    query = post_search.matching(filters)
    total, capped = post_search.capped_count(query)
    pages = max(1, (total + per_page - 1) // per_page)
    # Past a capped total the pages go on as long as they are full.
    page = _int_arg("page", 1) if capped else min(_int_arg("page", 1), pages)
    items = list(post_search.newest_first(query).paginate(page, per_page))
    pages = max(pages, page + 1) if capped and len(items) == per_page else max(pages, page)
    pubs = defaultdict(list)
    for p in (Publication.select().where(Publication.post.in_([x.id for x in items] or [0]))
              .order_by(Publication.id)):
        pubs[p.post_id].append(p)
    # Each listed post's first photo, in one query for the page.
    first_photos = dict(PostMedia.select(PostMedia.post, PostMedia.media)
                        .where(PostMedia.post.in_([x.id for x in items] or [0]) & (PostMedia.position == 0)).tuples())
    # Or the copy of its image_url in the store: the page never loads another host's image.
    urls = {x.id: x.image_url for x in items if x.image_url}
    first_photos.update({post_id: media_id for post_id, url, media_id in ImageFetch.select(
        ImageFetch.post, ImageFetch.url, ImageFetch.media).where(
        ImageFetch.post.in_(list(urls) or [0]) & ImageFetch.media.is_null(False)).tuples() if urls[post_id] == url})
    shown = {k: request.args.get(k, "") for k in ("q", "channel", "status", "since", "until")}
    return render_template("web/posts.html", posts=items, pubs=pubs, status=filters["status"], page=page,
                           pages=pages, total=total, total_capped=capped, statuses=PostStatus.ALL, filters=shown, error=error,
                           channels=list(Channel.select().order_by(Channel.network, Channel.name)),
                           first_photos=first_photos,
                           filtered=any(shown.values()))


@bp.post("/posts/bulk")
def bulk():
    """Cancel, delete or duplicate the ticked posts, each on its own; say what happened to each."""
    ids = [int(i) for i in request.form.getlist("ids") if i.isascii() and i.isdigit() and len(i) <= 18]
    try:
        results = run_bulk(request.form.get("action"), ids)
    except AppError as exc:
        flash(f"Nothing done: {exc.message.split(': ', 1)[-1]}.", "error")
    else:
        done = [r for r in results if r["ok"]]
        verb = {"cancel": "Cancelled", "delete": "Deleted", "duplicate": "Duplicated"}[request.form["action"]]
        flash(f"{verb} {len(done)} of {len(results)} post{'s' if len(results) != 1 else ''}.", "success")
        for r in results:
            if not r["ok"]:
                flash(f"Post #{r['id']}: {r['error']}", "error")
    back = request.form.get("back", "")
    return redirect(url_for("web.posts") + (f"?{back}" if back and "//" not in back else ""))


@bp.app_template_global()
def error_meaning(publication):
    return serialize.error_meaning(publication)


@bp.app_template_global()
def failure_of(publication):
    """The publication's failure in plain words, with who caused it and the fix (serialize.failure)."""
    return serialize.failure(publication, publication.channel.state == ChannelState.NEEDS_REAUTH
                             and publication.status in PublicationStatus.RETRYABLE)


@bp.app_template_global("reconnect_url")
def reconnect_url_of(channel):
    """Where "Reconnect" goes for this channel, or None (channels.reconnect_url)."""
    return reconnect_url(channel, connectable())


@bp.app_template_global()
def published_at(publications):
    """When the post's last network published it, or None."""
    times = [p.published_at for p in publications if p.published_at]
    return max(times) if times else None


@bp.app_template_global()
def event_detail(event) -> Markup:
    """What a line of the audit trail adds to its action, in a few words (escaped; a time as every page shows one)."""
    detail, words = event["detail"], []
    if detail.get("network"):
        words.append(f"on {NETWORK_LABELS.get(detail['network'], detail['network'])}")
    if detail.get("networks"):
        words.append("to " + ", ".join(NETWORK_LABELS.get(n, n) for n in detail["networks"]))
    if detail.get("scheduled_at") and event["action"] in ("created", "scheduled"):
        at = detail["scheduled_at"]
        words.append(Markup('for <time datetime="{}">{}</time>').format(when(at), utc(at)))
    if detail.get("fields"):
        words.append(f"({', '.join(detail['fields'])})")
    if detail.get("source"):
        words.append(f"from post #{detail['source']}")
    if detail.get("split_from"):
        words.append(f"from the channels of post #{detail['split_from']} that need approval")
    if detail.get("waiting_post"):
        words.append(f"— those needing approval wait as post #{detail['waiting_post']}")
    if detail.get("error"):
        words.append(f"— {detail['error']}")
    if detail.get("comment"):
        words.append(f"— “{detail['comment']}”")
    return Markup(" ") + Markup(" ").join(words) if words else Markup("")


@bp.get("/posts/<int:post_id>")
def post(post_id):
    """One post: each network's text, status, progress, answer and last error; live while publishing."""
    post = Post.get_or_none(Post.id == post_id)
    if post is None:
        abort(404, f"Post {post_id} doesn't exist.")
    pubs = list(Publication.select(Publication, Channel).join(Channel)
                .where(Publication.post == post_id).order_by(Publication.id))
    history = defaultdict(list)
    for a in (Attempt.select().where(Attempt.publication.in_([p.id for p in pubs] or [0]))
              .order_by(Attempt.publication, Attempt.number, Attempt.id)):
        history[a.publication_id].append(a)
    edited = {p.id for p in pubs if p.text != adapt_text(p.network, post.text, post.link)}
    return render_template("web/post.html", post=post, pubs=pubs, history=history, edited=edited,
                           status=shapes.dump(serialize.status(post, pubs, {
                               p.channel_id for p in pubs if p.channel.state == ChannelState.NEEDS_REAUTH})),
                           media=library.post_media(post.id),
                           image_copy=remote.review_copy(post),
                           trail=audit.trail(audit.POST, post.id), submitter=_email_of(post.submitted_by),
                           recipients=_recipients(pubs), split_to=_split_to(post.id),
                           comments=first_comments.of_publications([p.id for p in pubs]),
                           numbers=analytics.post_numbers(post.id))


def _split_to(post_id: int) -> dict | None:
    """The post in which this one's channels that need approval wait (review.split_off), and those channels."""
    held = Post.select().where(Post.split_from == post_id).order_by(Post.id.desc()).first()
    if held is None:
        return None
    channels = [f"{NETWORK_LABELS[p.network]} {p.channel.name}" for p in
                Publication.select(Publication, Channel).join(Channel).where(Publication.post == held.id)]
    return {"post": held, "channels": ", ".join(channels) or "Its channels", "count": len(channels)}


def _recipients(pubs) -> dict:
    """Each WhatsApp publication's recipients, as the page first shows them (recipients.js keeps them current)."""
    shown = {}
    for p in pubs:
        if p.network == "whatsapp":
            tally = ledger.counts(p.id)
            shown[p.id] = {"summary": ledger.summarise(tally) if tally else "none yet", "rows": ledger.rows(p.id)}
    return shown


def _email_of(user_id):
    user = User.get_or_none(User.id == user_id) if user_id else None
    return user.email if user else None


@bp.post("/posts/<int:post_id>/publish")
def publish(post_id):
    """Publish a draft."""
    if Post.get_or_none(Post.id == post_id) is None:
        abort(404, f"Post {post_id} doesn't exist.")
    publish_now(post_id)
    return redirect(url_for("web.post", post_id=post_id))


@bp.post("/publications/<int:publication_id>/retry")
def retry(publication_id):
    """Send one failed, expired or unconfirmed publication again (publishing.retry).
    The post page's script asks for JSON and goes on watching; without it, back to the page."""
    publication = Publication.get_or_none(Publication.id == publication_id)
    if publication is None:
        abort(404, f"Publication {publication_id} doesn't exist.")
    label = NETWORK_LABELS[publication.network]
    try:
        publishing.retry(publication.post_id, publication_id)
    except AppError as exc:
        if wants_json():
            raise  # the one JSON error shape (web.page_error)
        flash(f"Not retried: {exc.message}", "error")
    else:
        message = f"Sending to {label} again…"
        if wants_json():
            return jsonify({"message": message}), 202
        flash(message, "success")
    return redirect(url_for("web.post", post_id=publication.post_id))
