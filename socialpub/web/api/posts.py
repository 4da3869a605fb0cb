"""Posts: create, list, show, publish, status."""
from __future__ import annotations

from collections import defaultdict

from flask import request, url_for
from peewee import JOIN

from ...db import MAX_ID, Prepared, Slot, row_to
from ...errors import BrokerUnavailable, InvalidInput, NotFound, UnsupportedMediaType
from ...intake import composing, csv_posts, post_search
from ...lifecycle import (
    approval,
    bulk,
    creating,
    editing,
    first_comments,
    publishing,
    queueing,
    recurrence,
    scheduling,
    versions,
)
from ...media import library
from ...models import Attempt, Channel, ChannelState, Post, PostStatus, Publication, PublicationStatus
from ...people.roles import ADMIN, requires
from .. import serialize, shapes
from ..auth.gate import checks_token, unverified
from ..serialize import answer
from .blueprint import bp
from .helpers import idempotent, int_arg, json_body, settings

#: The last page that can be asked for (an offset a database still reads quickly).
MAX_PAGE = 1_000_000


def _publications(post_ids):
    by_post = defaultdict(list)
    for p in (Publication.select().where(Publication.post.in_(post_ids))
              .order_by(Publication.post, Publication.id)):
        by_post[p.post_id].append(p)
    return by_post


def _created(post_id, **_):
    """The answer of a create whose process died once the post was stored: the post as it is
    (without ``results``: whether its publishing was asked shows in its status)."""
    post = Post.get_or_none(Post.id == post_id)
    if post is None:
        return None
    response = answer(serialize.post(post, _publications([post.id])[post.id], images=library.post_media(post.id)),
                      201)
    response.headers["Location"] = url_for("api.get_post", post_id=post.id)
    return response


def _asked(post_id, **_):
    """The answer of a publish or a retry whose process died once it had queued the post's
    publications: those it queued (the reconciler sends any whose message was lost)."""
    queued = (Publication.select().where((Publication.post == post_id) & Publication.task_id.is_null(False)
                                         & (Publication.status != PublicationStatus.PENDING))
              .order_by(Publication.id))
    return answer(shapes.PublishResults, 202, post_id=post_id, results=[
        {"publication_id": p.id, "network": p.network, "status": "enqueued", "task_id": p.task_id} for p in queued])


@bp.post("/posts")
@idempotent(made=_created)
def create_post():
    """Create a post with one publication per channel; publish it too if asked.
    If the queue cannot take it, nothing is kept: the answer is a 503, and the
    same request may simply be sent again."""
    data = json_body(shapes.CreatePost, values=False)
    post = creating.create_post(data)
    results = None
    if data.get("publish"):
        try:
            results = publishing.request_publish(post.id)
        except BrokerUnavailable as exc:
            creating.discard_unsent(post.id)
            raise BrokerUnavailable(f"{exc.message}; the post was not kept either") from exc
        post = Post.get_by_id(post.id)
    response = answer(serialize.post(post, _publications([post.id])[post.id], images=library.post_media(post.id),
                                     **({} if results is None else {"results": results})), 201)
    response.headers["Location"] = url_for("api.get_post", post_id=post.id)
    return response


@bp.get("/posts")
def list_posts():
    """Posts, newest first, a page at a time; ``q`` (text), ``channel``, ``status``,
    ``since`` and ``until`` (dates of the post's time) filter them. ``before=<id>``
    (the previous page's ``next``) gives the page after that post, as fast deep in
    the history as at its top; ``page`` counts from the top (``total`` stops at
    post_search.COUNT_CAP, ``total_capped`` then says so)."""
    cfg = settings()
    per_page = int_arg("per_page", cfg.page_size, 1, cfg.max_page_size)
    query = post_search.matching(post_search.filters_of(request.args))
    if "before" in request.args:
        rows = post_search.newest_first(post_search.before(query, int_arg("before", 1, 1, MAX_ID)))
        posts, body = list(rows.limit(per_page)), {"per_page": per_page}
    else:
        page = int_arg("page", 1, 1, MAX_PAGE)
        total, capped = post_search.capped_count(query)
        posts = list(post_search.newest_first(query).paginate(page, per_page))
        body = {"page": page, "per_page": per_page, "total": total, "total_capped": capped,
                "pages": (total + per_page - 1) // per_page}
    pubs = _publications([p.id for p in posts]) if posts else {}
    split_to = serialize.split_to_of([p.id for p in posts])
    comments = first_comments.of_publications([x.id for p in posts for x in pubs.get(p.id, [])])
    return answer(shapes.PostPage, items=[serialize.post(p, pubs.get(p.id, []), split_to=split_to, comments=comments)
                                          for p in posts],
                  **body, next=posts[-1].id if len(posts) == per_page else None)


@bp.get("/posts/<int:post_id>")
def get_post(post_id):
    """One post with its publications and each one's attempt history."""
    post = composing.get_post(post_id)
    pubs = _publications([post.id])[post.id]
    histories = defaultdict(list)
    for a in (Attempt.select().join(Publication).where(Publication.post == post.id)
              .order_by(Attempt.publication, Attempt.number)):
        histories[a.publication_id].append(a)
    response = answer(serialize.post(post, pubs, {p.id: histories.get(p.id, []) for p in pubs},
                                      images=library.post_media(post.id)))
    response.headers["ETag"] = versions.tag(post)
    return response


@bp.post("/posts/<int:post_id>/publish")
@idempotent(made=_asked)
@checks_token  # its token is checked in request_publish's first statement (auth/gate.py)
def publish_post(post_id):
    """Enqueue every pending publication, one message each; answer at once."""
    data = json_body(shapes.PublishOptions, required=False)
    results = publishing.request_publish(post_id, data.get("image_url"), actor=unverified())
    if not results:  # it waits for an admin's approval first
        return answer(shapes.PublishResults, 202, post_id=post_id, results=[], status=PostStatus.AWAITING)
    # Only some channels needed approval: they wait in the post split off (review.split).
    held = {"waiting_post_id": results.waiting_post_id} if results.waiting_post_id else {}
    return answer(shapes.PublishResults, 202, post_id=post_id, results=list(results), **held)


@bp.get("/posts/<int:post_id>/status")
def post_status(post_id):
    """Counts by status and each publication's state."""
    # One query, so one snapshot: the post's columns on each of its publications' rows.
    rows = _STATUS.execute(id=post_id).fetchall()
    if not rows:
        composing.get_post(post_id)  # raises the 404
    post_fields, pub_fields = Post._meta.sorted_fields, Publication._meta.sorted_fields
    post = row_to(Post, post_fields, rows[0])
    pubs = [row_to(Publication, pub_fields, row[len(post_fields):]) for row in rows
            if row[len(post_fields)] is not None]  # a post without publications: one row of NULLs
    # Which of its channels need re-authorisation: the live page then offers Reconnect, not Retry.
    needs_reauth = {c for (c,) in Channel.select(Channel.id).where(
        Channel.id.in_([p.channel_id for p in pubs] or [0]) & (Channel.state == ChannelState.NEEDS_REAUTH)).tuples()}
    return answer(serialize.status(post, pubs, needs_reauth))


_STATUS = Prepared(lambda: (
    Post.select(*Post._meta.sorted_fields, *Publication._meta.sorted_fields)
    .join(Publication, JOIN.LEFT_OUTER, on=(Publication.post == Post.id))
    .where(Post.id == Slot("id")).order_by(Publication.id)))


@bp.post("/posts/<int:post_id>/retry")
@idempotent(made=_asked)
def retry_post(post_id):
    """Send again every failed, expired or unconfirmed publication of a post."""
    json_body(shapes.Empty, required=False)
    return answer(shapes.PublishResults, 202, post_id=post_id, results=publishing.retry(post_id))


@bp.post("/publications/<int:publication_id>/retry")
@idempotent(made=_asked)
def retry_publication(publication_id):
    """Send one failed, expired or unconfirmed publication again."""
    json_body(shapes.Empty, required=False)
    publication = Publication.get_or_none(Publication.id == publication_id)
    if publication is None:
        raise NotFound(f"publication {publication_id} does not exist")
    results = publishing.retry(publication.post_id, publication_id)
    return answer(shapes.PublishResults, 202, post_id=publication.post_id, results=results)


#: What several posts can have done at once, and how.
@bp.post("/posts/bulk")
def bulk_posts():
    """``{"action": "cancel"|"delete"|"duplicate", "ids": [...]}``: each post on its
    own (one refused does not stop the others); ``{"results": [{id, ok, error?, new_id?}]}``."""
    data = json_body(shapes.Bulk)
    return answer(shapes.BulkResults, results=bulk.run(data.get("action"), data.get("ids")))


@bp.post("/posts/import")
def import_posts():
    """Posts from a CSV file (multipart field ``file``; ``timezone`` for times
    without an offset): every line created in one transaction, or none — a 422
    lists the problem of every line."""
    if not request.content_type or not request.content_type.startswith("multipart/form-data"):
        raise UnsupportedMediaType("body: send the CSV as multipart/form-data, in the field 'file'")
    upload = request.files.get("file")
    if upload is None:
        raise InvalidInput("file: missing (multipart field 'file')", field="file")
    posts = creating.create_posts(csv_posts.requests_of(upload.read(), request.form.get("timezone") or None))
    return answer(shapes.Imported, 201, created=len(posts), ids=[p.id for p in posts])


@bp.patch("/posts/<int:post_id>")
def edit_post(post_id):
    """Change a draft or a scheduled post: any field of a new post but ``publish``
    (``{"scheduled_at", "timezone"?}`` alone schedules or moves it). 409 once
    publishing has started. ``If-Match`` (the ETag of ``GET``): 412 when the
    post changed since, with what changed. Without it, the change is applied to
    the post as it is when written: clients from before versions keep working,
    and what they do not name is never written back from an older read."""
    version = _if_match()
    data = json_body(shapes.EditPost, values=False)
    if not data:
        raise InvalidInput("body: name at least one field to change", field="body")
    if set(data) <= {"scheduled_at", "timezone"} and data.get("scheduled_at") is not None:
        post = scheduling.schedule(post_id, data["scheduled_at"], data.get("timezone"), version)
    elif "timezone" in data and "scheduled_at" not in data:
        raise InvalidInput("timezone: give it with scheduled_at", field="timezone")
    else:
        post = editing.edit(post_id, data, version)
    response = answer(serialize.post(post, _publications([post.id])[post.id], images=library.post_media(post.id)))
    response.headers["ETag"] = versions.tag(post)
    return response


def _if_match():
    """The version named by ``If-Match`` (one ETag, or ``*``), or None."""
    raw = request.headers.get("If-Match")
    if raw is not None and "," in raw:
        raise InvalidInput("If-Match: one ETag, the one GET /api/posts/<id> gave", field="If-Match")
    return versions.parse(raw, "If-Match")


@bp.delete("/posts/<int:post_id>")
def delete_post(post_id):
    """Delete a draft, scheduled or failed post (a published one with
    ``?include_history=true``); nothing is deleted on the networks."""
    include_history = request.args.get("include_history", "false")
    if include_history not in ("true", "false"):
        raise InvalidInput("include_history: true or false", field="include_history")
    editing.delete(post_id, include_history=include_history == "true")
    return "", 204


@bp.post("/posts/<int:post_id>/queue")
def queue_post(post_id):
    """Schedule a draft (or move a scheduled post) to its channels' next free posting time."""
    json_body(shapes.Empty, required=False)
    post = queueing.add_to_queue(post_id)
    return answer(serialize.post(post, _publications([post.id])[post.id], images=library.post_media(post.id)))


@bp.post("/posts/<int:post_id>/duplicate")
def duplicate_post(post_id):
    """A new draft from any post."""
    json_body(shapes.Empty, required=False)
    post = editing.duplicate(post_id)
    response = answer(serialize.post(post, _publications([post.id])[post.id], images=library.post_media(post.id)),
                      201)
    response.headers["Location"] = url_for("api.get_post", post_id=post.id)
    return response


@bp.post("/posts/<int:post_id>/cancel")
def cancel_post(post_id):
    """Take a scheduled post back to draft, or withdraw a request for approval."""
    json_body(shapes.Empty, required=False)
    post = scheduling.cancel(post_id)
    return answer(serialize.post(post, _publications([post.id])[post.id]))


@bp.post("/posts/<int:post_id>/skip")
def skip_occurrence(post_id):
    """Move a recurring post's scheduled occurrence to its next time, keeping the series."""
    json_body(shapes.Empty, required=False)
    post = recurrence.skip(post_id)
    return answer(serialize.post(post, _publications([post.id])[post.id]))


@bp.post("/posts/<int:post_id>/approve")
@requires(ADMIN)
def approve_post(post_id):
    """Approve a post awaiting approval: published at once, or scheduled at its
    time (at once when that time has passed: ``note`` says so). With
    ``seen_updated_at`` (the post's ``updated_at`` as reviewed), a post changed since is a 409;
    with ``seen_image_sha256`` (its image's copy as reviewed), another image is a 409. An image
    still being fetched, or that could not be, is a 409 too."""
    data = json_body(shapes.Approve, required=False)
    approved = approval.approve(post_id, data.get("seen_updated_at"), data.get("seen_image_sha256"))
    extra = {"results": approved.results} if approved.results is not None else {}
    if approved.note:
        extra["note"] = approved.note
    return answer(serialize.post(approved.post, _publications([post_id])[post_id], **extra))


@bp.post("/posts/<int:post_id>/reject")
@requires(ADMIN)
def reject_post(post_id):
    """Send a post awaiting approval back to its editor as a draft: ``{"comment"}`` says why."""
    post = approval.reject(post_id, json_body(shapes.Reject).get("comment"))
    return answer(serialize.post(post, _publications([post.id])[post.id]))
