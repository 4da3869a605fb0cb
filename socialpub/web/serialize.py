"""Rows as the API shows them: each function fills in its shape (shapes.py), which checks
that the answer holds exactly the fields the document declares."""
from __future__ import annotations

from flask import current_app, jsonify, url_for

from ..intake.schedule_time import shown
from ..lifecycle import first_comments
from ..lifecycle.scheduling import recallable
from ..models import Attempt, Channel, Post, Publication, PublicationStatus, iso
from ..networks.explain import explain, meaning
from ..statuses import POST
from ..whatsapp import progress as broadcast_progress
from . import shapes


def answer(shape, code: int = 200, /, **values):
    """The JSON answer of ``shape``, with the HTTP status ``code``: a shape filled in, or a shape
    class to fill in with ``values`` (positional-only, so a field may be named ``status``)."""
    if isinstance(shape, type):
        shape = shape(**values)
    response = jsonify(shapes.dump(shape))
    response.status_code = code
    return response


def error_meaning(p: Publication):
    """What the publication's last error means and what to do (networks/explain.py), or None."""
    return meaning(p.network, p.last_error_code, p.last_error) if p.last_error else None


def failure(p: Publication, needs_reauth: bool = False):
    """The publication's failure in plain words: sentence, who caused it, the fix, whose words
    ``last_error`` holds (networks/explain.py); None when it has none."""
    if p.status in (PublicationStatus.PUBLISHED, PublicationStatus.PENDING, PublicationStatus.QUEUED,
                    PublicationStatus.PROCESSING) and not needs_reauth:
        return None
    explained = explain(p.network, p.status, p.last_error_code, p.last_error, needs_reauth=needs_reauth)
    return explained.as_dict() if explained else None


def first_comment(c) -> shapes.FirstCommentState | None:
    if c is None:
        return None
    return shapes.FirstCommentState(text=c.text, status=c.status, attempts=c.attempts, external_id=c.external_id,
                                    posted_at=iso(c.posted_at), last_error=c.last_error,
                                    next_attempt_at=iso(c.next_attempt_at))


def publication(p: Publication, history=None, comment=None) -> shapes.Publication:
    data = {
        "id": p.id,
        "channel_id": p.channel_id,
        "network": p.network,
        "status": p.status,
        "text": p.text,
        # A WhatsApp channel's own message; None: the post's (Post.whatsapp).
        "whatsapp": p.whatsapp,
        "video_kind": p.video_kind,
        "attempts": p.attempts,
        "retries_used": p.retries,
        "rate_limit_waits": p.rate_limit_waits,
        "task_id": p.task_id,
        "external_id": p.external_id,
        "url": p.external_url,
        "container_id": p.container_id,
        "last_error": p.last_error,
        "last_error_code": p.last_error_code,
        "error_meaning": error_meaning(p),
        "failure": failure(p),
        "next_attempt_at": iso(p.next_attempt_at),
        "ambiguous_since": iso(p.ambiguous_since),
        "enqueued_at": iso(p.enqueued_at),
        "started_at": iso(p.started_at),
        "published_at": iso(p.published_at),
        "confirmed_at": iso(p.confirmed_at),
        "finished_at": iso(p.finished_at),
        "first_comment": first_comment(comment),
    }
    if history is not None:
        data["history"] = [attempt(a) for a in history]
    return shapes.Publication(**data)


def attempt(a: Attempt) -> shapes.Attempt:
    return shapes.Attempt(number=a.number, started_at=iso(a.started_at), finished_at=iso(a.finished_at),
                          outcome=a.outcome, error_code=a.error_code, error=a.error)


def split_to_of(post_ids) -> dict:
    """Each post's newest post split off from it, whose channels wait for approval (review.split_off)."""
    rows = Post.select(Post.id, Post.split_from).where(Post.split_from.in_(list(post_ids) or [0])).order_by(Post.id)
    return {row.split_from: row.id for row in rows}


def post(p: Post, publications, histories=None, images=None, split_to=None, comments=None,
         **extra) -> shapes.Post:
    """A post; ``images`` (its Media rows, in order) are shown where one post is asked for;
    ``split_to`` and ``comments``: a list's split_to_of and first_comments.of_publications (one post's are
    read here); ``extra``: ``results`` or ``note``."""
    split_to = split_to_of([p.id]) if split_to is None else split_to
    comments = first_comments.of_publications([x.id for x in publications]) if comments is None else comments
    histories = histories or {}
    shown_media = {} if images is None else {"media": [media(m) for m in images]}
    return shapes.Post(**{
        "id": p.id,
        "text": p.text,
        "image_url": p.image_url,
        "link": p.link,
        "status": p.status,
        # In the zone it was given in; the UTC instant beside it.
        "scheduled_at": shown(p),
        "scheduled_at_utc": iso(p.scheduled_at),
        "timezone": p.schedule_zone,
        "created_at": iso(p.created_at),
        "updated_at": iso(p.updated_at),
        "publish_requested_at": iso(p.publish_requested_at),
        "finished_at": iso(p.finished_at),
        # What an editor asked an approver for, the approval (voided by an edit), a rejection's reason.
        "approval": {"asked": p.approval_asked, "approved_at": iso(p.approved_at),
                     "review_comment": p.review_comment, "split_from": p.split_from,
                     "split_to": split_to.get(p.id)},
        "whatsapp": p.whatsapp,
        "recurrence": p.recurrence,
        "link_tracking": p.link_tracking,
        "series": {"first_post_id": p.series_of, "next_post_id": p.next_in_series or None} if p.series_of else None,
        "publications": [publication(x, histories.get(x.id), comments.get(x.id)) for x in publications],
        **shown_media,
        **extra,
    })


def status(p: Post, publications, needs_reauth=frozenset()) -> shapes.PostStatusShape:
    """The seed's status shape, plus the post's own status; ``needs_reauth``: the ids of
    the post's channels that need re-authorisation (the page offers Reconnect, not Retry)."""
    by_status = {s: 0 for s in PublicationStatus.ALL}
    comments = first_comments.of_publications([x.id for x in publications])
    for x in publications:
        by_status[x.status] = by_status.get(x.status, 0) + 1
    return shapes.PostStatusShape(**{
        "post_id": p.id,
        "status": p.status,
        "changeable": p.status in POST["edit"].sources or recallable(p, publications),
        "by_status": by_status,
        "publications": [
            {"id": x.id, "network": x.network, "channel_id": x.channel_id, "status": x.status,
             "attempts": x.attempts, "published_at": iso(x.published_at), "external_id": x.external_id,
             "url": x.external_url, "last_error": x.last_error, "last_error_code": x.last_error_code,
             "error_meaning": error_meaning(x), "next_attempt_at": iso(x.next_attempt_at),
             "channel_needs_reauth": x.channel_id in needs_reauth,
             "failure": failure(x, x.channel_id in needs_reauth and x.status in PublicationStatus.RETRYABLE),
             "progress": progress(x) if x.network == "whatsapp" else None, "video": video_progress(x),
             "first_comment": first_comment(comments.get(x.id))}
            for x in publications
        ],
    })


def media(m) -> shapes.Media:
    """A media file of the library, with the addresses of its bytes and thumbnail."""
    return shapes.Media(**{
        "id": m.id, "kind": m.kind, "content_type": m.content_type, "width": m.width, "height": m.height,
        "bytes": m.size_bytes, "sha256": m.sha256, "original_name": m.original_name,
        "created_at": iso(m.created_at),
        "url": url_for("api.media_file", media_id=m.id),
        "thumbnail_url": url_for("api.media_thumbnail", media_id=m.id),
        "video": {k: v for k, v in m.video.items() if k != "poster_key"} if m.video else None,
        "document": {k: v for k, v in m.document.items() if k != "poster_key"} if m.document else None,
    })


def channel(c: Channel) -> shapes.Channel:
    return shapes.Channel(**{
        "id": c.id,
        "network": c.network,
        "name": c.name,
        "account_id": c.account_id,
        "base_url": c.base_url,
        "recipients": c.recipients or [],
        "business_account_id": c.business_account_id,
        "default_country": c.default_country,
        "send_rate": c.send_rate,
        "min_gap_s": c.min_gap_s,
        "max_per_hour": c.max_per_hour,
        "api_version": c.api_version,
        "enabled": c.enabled,
        "requires_approval": c.requires_approval,
        "state": c.state,
        "state_reason": c.state_reason,
        "last_published_at": iso(c.last_published_at),
        "queue": c.queue,
        "picture_url": c.picture_url,
        "token_expires_at": iso(c.token_expires_at),
        # Tokens are write-only: show that one is set, never the token.
        "token_set": c.token_set,
        "created_at": iso(c.created_at),
        "updated_at": iso(c.updated_at),
    })


def reach(counts: dict, name: str | None = None) -> shapes.Reach:
    """An audience's whatsapp/contacts.reach (``name``'s; everyone's without): its members, and how many a post
    messages, by how it is sent."""
    values = {"members": counts["members"], "opted_out": counts["opted_out"],
              "without_opt_in": counts["without_opt_in"],
              "messaged": {kind: counts[kind] for kind in ("utility", "marketing", "authentication", "free_form")}}
    return shapes.Reach(**values) if name is None else shapes.AudienceReach(name=name, **values)


def user(u, **extra) -> shapes.User:
    """A member of the team; ``extra``: the caller's own ``notifications``."""
    return shapes.User(id=u.id, email=u.email, role=u.role, disabled=u.disabled, created_at=iso(u.created_at),
                       last_sign_in_at=iso(u.last_sign_in_at), **extra)


def invitation(i, url: str | None = None, emailed: bool | None = None) -> shapes.Invitation:
    """An invitation; ``link`` in the answer that made it, unless it was e-mailed (``emailed``)."""
    body = {"id": i.id, "email": i.email, "role": i.role, "created_at": iso(i.created_at),
            "expires_at": iso(i.expires_at)}
    if emailed is not None:
        body["emailed"] = emailed
    if url:
        body["link"] = url
    return shapes.Invitation(**body)


def event(e: dict) -> shapes.Event:
    """A line of the audit trail (audit.py)."""
    return shapes.Event(id=e["id"], at=iso(e["at"]), actor=e["actor"], subject=e["subject"],
                        subject_id=e["subject_id"], action=e["action"], detail=e["detail"])


def webhook(w, secret: str | None = None) -> shapes.Webhook:
    """An endpoint; its secret only in the answer that made it (or rotated it)."""
    body = {"id": w.id, "url": w.url, "description": w.description, "events": w.events or [],
            "enabled": w.enabled, "disabled_reason": w.disabled_reason, "failing_since": iso(w.failing_since),
            "previous_secret_until": iso(w.previous_secret_until), "created_at": iso(w.created_at)}
    if secret:
        body["secret"] = secret
    return shapes.Webhook(**body)


def webhook_delivery(entry: dict) -> shapes.WebhookDelivery:
    d, e = entry["delivery"], entry["event"]
    return shapes.WebhookDelivery(**{"id": d.id, "event_type": e.type, "webhook_id": e.msg_id, "status": d.status, "attempts": d.attempts,
            "next_attempt_at": iso(d.next_attempt_at) if d.status == "pending" else None,
            "last_status_code": d.last_status_code, "last_error": d.last_error, "delivered_at": iso(d.delivered_at),
            "created_at": iso(e.created_at), "payload": e.payload,
            "tries": [{"at": iso(t.at), "status_code": t.status_code, "duration_ms": t.duration_ms,
                       "excerpt": t.excerpt} for t in entry["tries"]]})


def contact(c, audiences=()) -> shapes.Contact:
    return shapes.Contact(**{"id": c.id, "phone": c.phone, "user_id": c.user_id, "username": c.username, "shown": c.shown,
            "name": c.name, "opted_in_at": iso(c.opted_in_at),
            "opt_in_method": c.opt_in_method, "opt_in_by": c.opt_in_by, "opt_in_evidence": c.opt_in_evidence,
            "opted_out_at": iso(c.opted_out_at),
            "opt_out_reason": c.opt_out_reason, "last_inbound_at": iso(c.last_inbound_at),
            "audiences": list(audiences), "created_at": iso(c.created_at)})


def recipient(r) -> shapes.Recipient:
    return shapes.Recipient(**{"id": r.id, "phone": r.phone, "user_id": r.user_id, "to": r.address, "status": r.status,
            "kind": r.kind, "message_id": r.message_id,
            "error_code": r.error_code, "error": r.error, "not_before": iso(r.not_before),
            "sent_at": iso(r.sent_at), "delivered_at": iso(r.delivered_at), "read_at": iso(r.read_at),
            "failed_at": iso(r.failed_at)})


def video_progress(p: Publication) -> shapes.VideoProgress | None:
    """How far a publication's video has gone while it is being sent, from what its attempts
    checkpointed (networks' ``uploads``: ``uploaded_bytes`` of ``size_bytes``, ``finished`` or
    ``finalized`` once the network has them all); None without a video or once it has ended."""
    if not p.video_kind or p.status not in (PublicationStatus.QUEUED, PublicationStatus.PROCESSING,
                                            PublicationStatus.RETRYING):
        return None
    uploads = p.uploads or {}
    size, sent = uploads.get("size_bytes"), int(uploads.get("uploaded_bytes") or 0)
    if uploads.get("finished") or uploads.get("finalized") or p.container_id:
        return shapes.VideoProgress(stage="processing", uploaded_bytes=sent, size_bytes=size)
    if not size:
        return shapes.VideoProgress(stage="starting")
    return shapes.VideoProgress(stage="uploading", uploaded_bytes=sent, size_bytes=size,
                                percent=min(100, 100 * sent // size))


def progress(p: Publication) -> shapes.BroadcastProgress:
    """How far a WhatsApp publication's broadcast has gone, and its expected end (whatsapp/progress.py)."""
    measured = broadcast_progress.of(p, current_app.extensions["socialpub"]).as_dict()
    return shapes.BroadcastProgress(**{**measured, "resumes_at": iso(measured["resumes_at"]),
                                       "expected_end": iso(measured["expected_end"])})


def template(t: dict) -> shapes.Template:
    return shapes.Template(**{**t, "synced_at": iso(t["synced_at"])})
