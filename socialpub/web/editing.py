"""Changing a post from its page: edit it in the compose form while it has not
gone out, cancel its schedule, duplicate it, delete it (lifecycle/editing.py
decides; a refusal comes back as a message on the post's page)."""
from __future__ import annotations

from flask import abort, flash, redirect, request, url_for

from ..errors import AppError, Stale
from ..intake.composing import adapt_text
from ..lifecycle import approval, editing, queueing, recurrence, scheduling, versions
from ..models import Post, PostStatus, Publication, iso
from ..networks import NETWORKS
from ..people.roles import ADMIN, EDITOR, requires
from ..statuses import POST
from . import forms
from .blueprint import bp
from .compose import keep_photos, publish_now, render_compose


def _post_or_404(post_id) -> Post:
    post = Post.get_or_none(Post.id == post_id)
    if post is None:
        abort(404, f"Post {post_id} doesn't exist.")
    return post


def _values_of(post: Post) -> dict:
    """The compose form's values for ``post`` as it is (its time is filled in by the page's script)."""
    request_ = editing.as_request(post)
    own = {int(k): v for k, v in (request_["versions"] or {}).items()}  # each channel's stored version
    comments = [v["first_comment"] for v in own.values() if v.get("first_comment")]
    return {"text": post.text, "image_url": post.image_url or "", "link": post.link or "",
            # The form has one first comment, the post's: the one most of its channels have.
            "first_comment": max(comments, key=comments.count) if comments else "",
            "repeat": forms.repeat_choice(post.recurrence),
            "link_utm": bool((post.link_tracking or {}).get("utm")),
            "link_short": bool((post.link_tracking or {}).get("short")),
            "link_campaign": (post.link_tracking or {}).get("campaign") or "",
            "channels": request_["channels"], "media_ids": request_["media_ids"] or [],
            "overrides": {n: request_["overrides"].get(n) or adapt_text(n, post.text, post.link) for n in NETWORKS},
            "versions": {i: v["text"] for i, v in own.items() if v.get("text")},
            "channel_whatsapp": {i: v["whatsapp"] for i, v in own.items() if v.get("whatsapp")},
            "scheduled_at": "", "scheduled_utc": iso(post.scheduled_at),
            "timezone": post.schedule_zone or "UTC", "form_key": forms.new_form_key(),
            "whatsapp": post.whatsapp or {}, "version": iso(post.updated_at)}


@bp.route("/posts/<int:post_id>/edit", methods=["GET", "POST"])
@requires(EDITOR)
def edit_post(post_id):
    """The compose form for a draft or a scheduled post; saving goes through editing.edit."""
    post = _post_or_404(post_id)
    if post.status not in POST["edit"].sources and not scheduling.recallable(
            post, list(Publication.select(Publication.status, Publication.attempts)
                       .where(Publication.post == post.id))):
        flash(f"Not editable: publishing has started (it is {post.status.replace('_', ' ')}). Duplicate it "
              f"to make a new draft.", "error")
        return redirect(url_for("web.post", post_id=post.id))
    if request.method == "GET":
        return render_compose(_values_of(post), editing=post)
    values = forms.post_values(request.form)
    # The version the form was filled from (a form from before versions has none: saved as it is).
    values["version"] = request.form.get("version", "")
    refused = keep_photos(values)
    if refused:
        return render_compose(values, {"media_ids": [refused]}, 422, editing=post)
    action = request.form.get("action")
    if action == "schedule" and not values["scheduled_at"]:
        return render_compose(values, {"scheduled_at": ["Choose a date and time to schedule for."]}, 422,
                              editing=post)
    changes = forms.post_request(values, schedule=bool(values["scheduled_at"]) and action != "publish")
    changes.setdefault("scheduled_at", None)  # no time: a draft
    try:
        editing.edit(post.id, changes, versions.parse(values["version"] or None, "version"),
                     ready=action == "publish")
    except Stale as exc:
        # Kept as typed, against the post as it is now: saving again replaces the other change, knowingly.
        current = _post_or_404(post.id)
        values["version"] = iso(current.updated_at)
        return render_compose(values, {forms.FORM: [_changed_meanwhile(current, exc)]}, 409, editing=current)
    except AppError as exc:
        return render_compose(values, forms.post_errors(exc), exc.status if exc.status == 409 else 422,
                              editing=post)
    if action == "publish":
        publish_now(post.id)
    else:
        now = _post_or_404(post.id).status
        flash("Saved." + (" It is waiting for an admin's approval." if now == PostStatus.AWAITING
                          else " It is scheduled." if values["scheduled_at"] else " It is a draft."), "success")
    return redirect(url_for("web.post", post_id=post.id))


#: How a change since the form was opened is shown: the field's words, and its value now (if short to show).
_SHOWN_FIELDS = {"text": "the text", "link": "the link", "image_url": "the image link", "scheduled_at": "the time",
                 "channels": "the channels", "networks": "the channels", "overrides": "a network's own text",
                 "media_ids": "the photos", "whatsapp": "the WhatsApp message", "timezone": "the time zone",
                 "status": "its status"}


def _changed_meanwhile(post: Post, exc: Stale) -> str:
    """In plain words: who changed what while the form was open, and what those fields hold now."""
    who = sorted({c["by"] for c in exc.changes}) or ["someone else"]
    now = {"text": post.text, "link": post.link or "(none)", "image_url": post.image_url or "(none)",
           "scheduled_at": (f"{post.scheduled_at:%Y-%m-%d %H:%M} UTC" if post.scheduled_at else "not scheduled"),
           "status": post.status.replace("_", " ")}
    what = [f"{_SHOWN_FIELDS.get(f, f)} is now “{_short(now[f])}”" if f in now else f"{_SHOWN_FIELDS.get(f, f)} changed"
            for f in exc.changed]
    return (f"Someone else changed this post while you were editing it, so nothing was saved: "
            f"{', '.join(who)} changed it" + (f" — {'; '.join(what)}" if what else "") +
            ". Your version is below: check it against theirs, then save again to replace it.")


def _short(value: str, most: int = 200) -> str:
    return value if len(value) <= most else value[:most - 1] + "…"


def _act(post_id, action, done: str, to=None):
    """Run ``action()``; flash ``done`` or the refusal; back to the post (or ``to``)."""
    try:
        result = action()
    except AppError as exc:
        flash(f"Not done: {exc.message}", "error")
        return redirect(url_for("web.post", post_id=post_id))
    flash(done, "success")
    return redirect(to(result) if to else url_for("web.post", post_id=post_id))


@bp.post("/posts/<int:post_id>/cancel")
def cancel_post(post_id):
    _post_or_404(post_id)
    return _act(post_id, lambda: scheduling.cancel(post_id), "Cancelled: it is a draft again.")


@bp.post("/posts/<int:post_id>/skip")
def skip_occurrence(post_id):
    _post_or_404(post_id)
    return _act(post_id, lambda: recurrence.skip(post_id), "Skipped: this occurrence moved to the next time.")


@bp.post("/posts/<int:post_id>/approve")
@requires(ADMIN)
def approve_post(post_id):
    _post_or_404(post_id)
    try:
        approved = approval.approve(post_id, request.form.get("seen") or None,
                                    request.form.get("seen_image") or None)
    except AppError as exc:
        flash(f"Not approved: {exc.message}", "error")
        return redirect(url_for("web.post", post_id=post_id))
    if approved.results is None:
        flash("Approved: it is scheduled at its time.", "success")
    else:
        note = f" ({approved.note})" if approved.note else ""
        flash(f"Approved{note}: publishing to {len(approved.results)} channel"
              f"{'s' if len(approved.results) != 1 else ''}…", "progress")
    return redirect(url_for("web.post", post_id=post_id))


@bp.post("/posts/<int:post_id>/reject")
@requires(ADMIN)
def reject_post(post_id):
    _post_or_404(post_id)
    return _act(post_id, lambda: approval.reject(post_id, request.form.get("comment", "")),
                "Rejected: it is a draft again, with your comment for its editor.")


@bp.post("/posts/<int:post_id>/queue")
def queue_post(post_id):
    _post_or_404(post_id)
    return _act(post_id, lambda: queueing.add_to_queue(post_id),
                "Added to the queue: it goes out at its channels' next free posting time.")


@bp.post("/posts/<int:post_id>/duplicate")
def duplicate_post(post_id):
    _post_or_404(post_id)
    return _act(post_id, lambda: editing.duplicate(post_id), "A copy, as a new draft: edit it, then publish it.",
                to=lambda copy: url_for("web.edit_post", post_id=copy.id))


@bp.post("/posts/<int:post_id>/delete")
def delete_post(post_id):
    _post_or_404(post_id)
    history = request.form.get("include_history") == "1"
    return _act(post_id, lambda: editing.delete(post_id, include_history=history),
                f"Post #{post_id} deleted (nothing was deleted on the networks).", to=lambda _: url_for("web.posts"))
