"""The compose page: one text, each channel's version, "Publish now" or "Save draft"."""
from __future__ import annotations

from flask import current_app, flash, g, make_response, redirect, render_template, request, url_for
from flask_wtf.csrf import CSRFError

from ..campaigns import snippets
from ..errors import AppError, BrokerUnavailable
from ..intake import idempotency
from ..intake.composing import adapt_text, comment_refusal
from ..lifecycle import creating, pacing, publishing, queueing, review
from ..media import documents, preflight
from ..models import Channel, ChannelState, Media, MediaKind, Post, PostStatus, Publication, utcnow
from ..networks import LIMITS, NETWORKS
from ..networks.base import count_tokens
from ..people.roles import EDITOR, requires
from ..whatsapp import contacts, templates
from . import forms
from .blueprint import bp, enabled_channels, limits_data, page_error
from .uploads import keep


def in_pane_order(channels) -> list:
    """The channels as their panes are shown: by network (as the networks are
    listed), then as they were connected."""
    return sorted(channels, key=lambda c: (NETWORKS.index(c.network), c.id))


def panes(values, channels) -> dict:
    """Each channel's version as the page first shows it — its own text, else
    its network's, else the main text adapted —, with its counts (the page's
    script recounts as the user types), its form field (forms.pane_fields: a
    network with one channel keeps the network's) and its name. Keyed by channel id."""
    link = values["link"] or None
    versions = values.get("versions") or {}
    fields, labels = forms.pane_fields(channels), forms.channel_labels(channels)
    result = {}
    for channel in channels:
        network = channel.network
        text = (versions.get(channel.id) or values["overrides"].get(network)
                or adapt_text(network, values["text"], link))
        limits = LIMITS[network]
        caption = bool((values["image_url"] or values["media_ids"]) and limits.max_caption)
        field = fields[channel.id]
        result[channel.id] = {
            "ticked": channel.id in values["channels"], "text": text, "field": field, "label": labels[channel.id],
            # What its ids end with: "linkedin" (pane-linkedin) for a network's one channel, else "12" (pane-12).
            "slot": network if field.startswith("override_") else str(channel.id),
            "own": field.startswith("version_"),
            "chars": len(adapt_text(network, text, link)),
            "limit": limits.max_caption if caption else limits.max_text, "caption": caption,
            "hashtags": count_tokens(text, "#"), "mentions": count_tokens(text, "@"),
        }
    return result


def unsendable(channels) -> dict:
    """``{channel id: why a post to it would fail now}``: such a channel is
    not ticked by default, and the form says why beside it, with the fix — a
    channel that needs reconnecting (the network refuses its token), a WhatsApp
    number no contact has agreed to hear from (its broadcast has nobody to send to)."""
    reasons = {}
    for channel in channels:
        if channel.state == ChannelState.NEEDS_REAUTH:
            reasons[channel.id] = "reconnect"
        elif channel.network == "whatsapp" and not contacts.anyone_to_message(channel.id):
            reasons[channel.id] = "contacts"
    return reasons


def whatsapp_choices(channel, chosen: dict, suffix: str) -> dict:
    """What one WhatsApp number's block offers: its own synced templates (with
    what each takes and why it cannot be chosen, if so), its own audiences,
    its current choice, and who each audience's message actually reaches
    (``reach``: ``{audience ("" for every contact): {how it is sent: words}}``, for whatsapp.js).
    ``suffix``: what its fields' names and ids end with (forms.whatsapp_suffixes)."""
    offered = [{**item, "key": f"{item['name']}|{item['language']}", "synced_at": None}
               for item in templates.listed(channel.id)]
    key = f"{chosen.get('template')}|{chosen.get('language')}" if chosen.get("template") else ""
    reach = {name or "": {kind: contacts.reach_words(counts, kind) for kind in contacts.REACH_KINDS}
             for name, counts in contacts.reach(channel.id).items()}
    category = next((t["category"] for t in offered if t["key"] == key), None)
    kind = category.lower() if category and category.lower() in contacts.REACH_KINDS else "free_form"
    return {"channel": channel.id, "name": channel.name, "suffix": suffix, "error": f"whatsapp{suffix}",
            "templates": sorted(offered, key=lambda t: t["key"]),
            "audiences": [name for name, _ in contacts.audiences(channel.id)],
            "chosen": key, "body": list(chosen.get("body") or []), "audience": chosen.get("audience") or "",
            "reach": reach, "reached": reach.get(chosen.get("audience") or "", {}).get(kind, "")}


def spoken(labels) -> str:
    labels = list(labels)
    return labels[0] if len(labels) == 1 else f"{', '.join(labels[:-1])} and {labels[-1]}"


def approval_outlook(channels, ticked) -> dict:
    """What the compose form tells an editor before they click: which channels
    need an admin's approval (those wait; the others go out as asked), and the
    sentence for the ``ticked`` ones (static/approval.js says it again as
    boxes are ticked). Empty for admins, whose posts never wait (lifecycle/review.py)."""
    needs = review.waiting_channels([c.id for c in channels])
    if not needs:
        return {}
    labels = forms.channel_labels(channels)
    waits = [labels[c.id] for c in channels if c.id in ticked and c.id in needs]
    goes = [labels[c.id] for c in channels if c.id in ticked and c.id not in needs]
    wait = "waits" if len(waits) == 1 else "wait"
    said = ("" if not waits else f"{spoken(waits)} {wait} for an admin's approval before going out." if not goes
            else f"{spoken(goes)} {'goes' if len(goes) == 1 else 'go'} out now (or at the time you schedule); "
                 f"{spoken(waits)} {wait} for an admin's approval.")
    return {"needs": sorted(needs), "labels": labels, "said": said}


def outcome(post_id: int, asked: str) -> str:
    """The message after publishing or scheduling: what goes out, and what waits for approval — never
    "scheduled" for what waits."""
    post = Post.get_by_id(post_id)
    held = post if post.status == PostStatus.AWAITING else review.split(post_id)
    if held is None:
        return ""
    labels = forms.channel_labels(list(Channel.select().order_by(Channel.id)))
    waits = [labels[p.channel_id] for p in Publication.select().where(Publication.post == held.id)]
    if held.id == post_id:
        return f"Waiting for approval: {spoken(waits)} {'waits' if len(waits) == 1 else 'wait'} for an admin's approval."
    goes = [labels[p.channel_id] for p in Publication.select().where(Publication.post == post_id)]
    verb = ("goes out now" if len(goes) == 1 else "go out now") if asked == "publish" else (
        "is scheduled" if len(goes) == 1 else "are scheduled")
    return (f"{spoken(goes)} {verb}; {spoken(waits)} {'waits' if len(waits) == 1 else 'wait'} for an admin's "
            f"approval (post #{held.id}).")


def clock(seconds: float) -> str:
    """A video's length as players show it: "0:04", "5:00", "1:02:03"."""
    minutes, rest = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{rest:02d}" if hours else f"{minutes}:{rest:02d}"


def verdicts(video) -> list:
    """The video's pre-flight (media/preflight.py) as ``GET /api/media/{id}/preflight`` gives its
    items, for the page's script: ``[{network, kind, label, ok, problems}]``; [] without a video."""
    return [{"network": v.network, "kind": v.kind, "label": v.label, "ok": v.ok, "problems": list(v.problems)}
            for v in (preflight.check(video) if video is not None else [])]


def video_picks(channels, values, checked: list, editing=None) -> dict:
    """Each channel's choice of how the post's video goes (its pane's select): ``{channel id:
    {field, chosen, kinds: [{kind, label, ok, problems}], fits: the other kinds the video fits}}``
    — the form's choice, else the edited post's, else the network's first kind. Every channel
    has one (the page's script shows it once a video is uploaded); ``checked``: :func:`verdicts`."""
    chosen = dict(values.get("video_kinds") or {})
    if editing is not None and "video_kinds" not in values:
        chosen = dict(Publication.select(Publication.channel, Publication.video_kind)
                      .where(Publication.post == editing.id, Publication.video_kind.is_null(False)).tuples())
    found = {(v["network"], v["kind"]): v for v in checked}
    picks = {}
    for channel in channels:
        rules = LIMITS[channel.network].videos
        kinds = [{"kind": r.kind, "label": r.label, **{k: v for k, v in found.get(
            (channel.network, r.kind), {"ok": True, "problems": []}).items() if k in ("ok", "problems")}}
                 for r in rules]
        pick = chosen.get(channel.id)
        pick = pick if any(k["kind"] == pick for k in kinds) else (kinds[0]["kind"] if kinds else "")
        picks[channel.id] = {"field": forms.video_kind_field(channel.id), "chosen": pick, "kinds": kinds,
                             "verdict": next((k for k in kinds if k["kind"] == pick), None),
                             "fits": [k for k in kinds if k["ok"] and k["kind"] != pick]}
    return picks


def render_compose(values, errors=None, status=200, editing=None):
    channels = enabled_channels()
    errors = dict(errors or {})
    suffixes = forms.whatsapp_suffixes(channels)
    if "whatsapp" in errors and "" not in suffixes.values() and suffixes:
        # The post's message is every number's without its own: its problem shows in the first ticked one's block.
        first = next((i for i in suffixes if i in values["channels"]), next(iter(suffixes)))
        errors.setdefault(f"whatsapp_{first}", []).extend(errors.pop("whatsapp"))
    own = values.get("channel_whatsapp") or {}
    whatsapp = {c.id: whatsapp_choices(c, own.get(c.id) or values.get("whatsapp") or {}, suffixes[c.id])
                for c in channels if c.network == "whatsapp"}
    shown = panes(values, channels)
    # How the error summary names a channel's pane or block, where its network has several.
    where = {**{p["field"]: p["label"] for p in shown.values() if p["own"]},
             **{w["error"]: f"WhatsApp {w['name']}" for w in whatsapp.values() if w["suffix"]}}
    found = {m.id: m for m in Media.select().where(Media.id.in_(values["media_ids"] or [0]))}
    media = [found[i] for i in values["media_ids"] if i in found]
    video = next((m for m in media if m.kind == MediaKind.VIDEO), None)
    # A document's tile says what it is ("PDF, 12 pages").
    labels = {m.id: documents.label(m.document["pages"]) for m in media if m.kind == documents.KIND and m.document}
    checked = verdicts(video)
    picks = video_picks(channels, values, checked, editing)
    where.update({p["field"]: f"{shown[i]['label']} post type" for i, p in picks.items()})
    settings = current_app.extensions["socialpub"]
    return render_template("web/compose.html", values=values, errors=errors, channels=channels,
                           in_panes=in_pane_order(channels), panes=shown, limits=limits_data(),
                           whatsapp=whatsapp, unsendable=unsendable(channels), where=where,
                           media=media, video=video, verdicts=checked, picks=picks, clock=clock, labels=labels,
                           max_media_mib=settings.media_max_bytes / 2**20, max_media_bytes=settings.media_max_bytes,
                           max_video_mib=settings.media_video_max_bytes / 2**20,
                           editing=editing, approval=approval_outlook(channels, values["channels"]),
                           no_comments=no_comments(channels), quota_lines=quota_lines(channels, settings),
                           repeats=forms.REPEATS, snippets=[
                               {"id": s.id, "name": s.name, "shortcut": s.shortcut, "kind": s.kind, "body": s.body,
                                "variants": s.variants or {}} for s in snippets.listed()]), status


def quota_lines(channels, settings) -> dict:
    """``{channel id: [line]}``: each quota a post sent now would count against — "Instagram posts: 12 of 50 in the
    last 24 h; this would be the 13th" — and when it would go out, if not at once (read from the ledger only)."""
    lines = {}
    now = utcnow()
    for channel in channels:
        if channel.network == "whatsapp":
            continue
        used = pacing.usage(channel, settings, now)
        mine = [f"{q['label']}: {q['used']} of {q['most']} in {q['period']}"
                + (f", {q['waiting']} more waiting" if q["waiting"] else "")
                + (f" — this would be {q['used'] + q['waiting'] + 1} of {q['most']}"
                   if q["used"] + q["waiting"] < q["most"] else " — this one would wait for the window to free")
                for q in used["quotas"] if q["quota"] != "posts" and (q["used"] or q["waiting"])]
        if used["next_free_at"] > now:
            mine.append(f"A post sent now would wait for its place: it goes out at "
                        f"{used['next_free_at']:%H:%M} UTC at the earliest.")
        if mine:
            lines[channel.id] = mine
    return lines


def no_comments(channels) -> dict:
    """``{channel id: why it cannot take a first comment}`` of the channels whose network takes them."""
    refusals = {c.id: comment_refusal(c) for c in channels if c.network != "whatsapp"}
    return {i: why for i, why in refusals.items() if why}


@bp.get("/compose")
@requires(EDITOR)
def compose():
    """An empty compose form, every enabled channel that can be sent to ticked
    (``?media=<id>``: with that photo or video — a video's kind per channel is chosen there too)."""
    channels = enabled_channels()
    cannot = unsendable(channels)
    values = {"text": "", "image_url": "", "link": "", "first_comment": "", "repeat": "",
              "channels": [c.id for c in channels if c.id not in cannot],
              "overrides": {n: "" for n in NETWORKS}, "versions": {}, "scheduled_at": "", "timezone": "UTC",
              "form_key": forms.new_form_key(), "media_ids": forms.ids_of(request.args.getlist("media")),
              "whatsapp": {}, "channel_whatsapp": {}, "video_kinds": {}}
    at = request.args.get("at", "")
    if len(at) == 16 and at[4] == "-" and at[10] == "T":  # a calendar day's "+": the viewer's local time
        values["scheduled_at"] = at
    return render_compose(values)


@bp.post("/compose")
def create():
    """Store the post (lifecycle/creating.create_post checks everything), then publish
    it if asked; a refusal shows the form again, as typed, with each problem
    next to its field. The same form sent twice (a double click) makes one
    post: the second is sent where the first went."""
    key = forms.submission_key(request.form)
    if key is None:
        return _create()
    stored = idempotency.begin(g.user.id, key, key)
    if isinstance(stored, idempotency.Made):  # the first sending died once the post was stored
        location = url_for("web.post", post_id=stored.post_id)
        idempotency.finish(g.user.id, key, idempotency.Answer(302, "", location))
        stored = idempotency.Answer(302, "", location)
    if stored is not None:
        flash("This form had already been sent: here is the post it made.", "success")
        return redirect(stored.location)
    try:
        response = make_response(_create())
    except BaseException:
        idempotency.release(g.user.id, key)
        raise
    if response.status_code == 302:
        idempotency.finish(g.user.id, key, idempotency.Answer(302, "", response.location))
    else:  # refused: the form comes back to be corrected
        idempotency.release(g.user.id, key)
    return response


def _create():
    values = forms.post_values(request.form)
    refused = keep_photos(values)
    if refused:
        return render_compose(values, {"media_ids": [refused]}, 422)
    action = request.form.get("action")
    if action == "schedule" and not values["scheduled_at"]:
        return render_compose(values, {"scheduled_at": ["Choose a date and time to schedule for."]}, 422)
    try:
        # Published or queued next: checked as a post that goes out, so that a refusal keeps the form.
        post = creating.create_post(forms.post_request(values, schedule=action == "schedule"),
                                    ready=action in ("publish", "queue"))
    except AppError as exc:
        errors = forms.post_errors(exc)
        if "channels" in errors and not values["channels"]:
            errors["channels"] = ["Tick at least one channel to publish to."]
        return render_compose(values, errors, 422)
    if action == "queue":
        queue_now(post.id)
    elif action == "schedule":
        flash(outcome(post.id, "schedule") or "Scheduled. It will be published at its time; until then you can cancel it.", "success")
    elif action != "publish":
        flash("Saved as a draft. Publish it when you are ready.", "success")
    else:
        publish_now(post.id)
    return redirect(url_for("web.post", post_id=post.id))


def keep_photos(values) -> str | None:
    """Photos sent with the form itself (a browser without the page's script)
    join the form's media; the first refusal, in words for the form, or None."""
    for upload in request.files.getlist("photos"):
        if not upload.filename:
            continue
        try:
            media, _ = keep(upload)
        except AppError as exc:
            return f"{upload.filename}: {exc.message.removeprefix('file: ')}"
        values["media_ids"].append(media.id)
    return None


def queue_now(post_id):
    """Schedule the post at its channels' next free posting time, and say when (or why not)."""
    try:
        queueing.add_to_queue(post_id)
    except AppError as exc:
        flash(f"Saved as a draft, not queued: {exc.message.split(': ', 1)[-1]}", "error")
    else:
        flash(outcome(post_id, "schedule")
              or "Added to the queue: it goes out at its channels' next free posting time.", "success")


def publish_now(post_id):
    """Ask for the post to be published, and say how that went."""
    try:
        results = publishing.request_publish(post_id)
    except BrokerUnavailable as exc:
        flash(f"Not published: {exc.message}. The post is kept as a draft.", "error")
    except AppError as exc:
        flash(f"Not published: {exc.message}", "error")
    else:
        if not results:
            flash("Waiting for approval: an admin approves it, and then it is published.", "success")
            return
        waiting = outcome(post_id, "publish")
        if waiting:
            flash(waiting, "success")
        # "progress": the post page's script replaces it with the outcome once every network is done.
        flash(f"Publishing to {len(results)} channel{'s' if len(results) != 1 else ''}…", "progress")


@bp.errorhandler(CSRFError)
def expired_compose_form(exc):
    """A compose form of ours whose token expired comes back as typed, not lost
    (a post from another site gets the plain error page: nothing of it is shown)."""
    origin = request.headers.get("Origin") or request.referrer or ""
    ours = origin == request.host_url.rstrip("/") or origin.startswith(request.host_url)
    if request.endpoint != "web.create" or not ours:
        return page_error(exc)
    values = forms.post_values(request.form)
    errors = {forms.FORM: ["This form had expired, so nothing was saved. Check it and submit again."]}
    return render_compose(values, errors, 400)
