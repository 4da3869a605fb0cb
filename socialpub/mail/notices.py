"""Who is told what by e-mail, and in which words.

Each user chooses, for two kinds of news — a post that failed or partly
failed ("posts"), a channel that needs reconnecting or whose token expires
soon ("channels") — to be told at once, in an hourly digest, or not at all.
Admins hear about every post that failed and every post waiting for their
approval; editors and viewers about the posts they wrote or sent for
approval (failed, or rejected with the admin's comment).

An e-mail is queued (an Email row) in the transaction of the change that
causes it, and sent by a worker after the commit (sending.py), so telling
people never blocks or fails a publication. Nothing is queued when SMTP_URL
is not set.
"""
from __future__ import annotations

import datetime as dt

from ..config import Settings
from ..db import after_commit, write_transaction
from ..errors import InvalidInput
from ..models import Channel, Email, Event, Post, Publication, User, utcnow
from ..models.reviews import ReviewDecision, ReviewLink, ReviewLinkPost
from ..networks import LABELS
from ..statuses import EmailStatus as E

POSTS, CHANNELS = "posts", "channels"
CHOICES = ("immediately", "digest", "off")
DEFAULTS = {"admin": {POSTS: "immediately", CHANNELS: "immediately"},
            "editor": {POSTS: "immediately", CHANNELS: "off"},
            "viewer": {POSTS: "off", CHANNELS: "off"}}
KIND_OF = {"post.failed": POSTS, "post.partially_published": POSTS,
           "post.awaiting_approval": POSTS, "post.rejected": POSTS,
           "post.review_approved": POSTS, "post.changes_requested": POSTS,
           "channel.needs_reauth": CHANNELS, "channel.expires_soon": CHANNELS}

#: Set at start-up (configure): whether e-mail can be sent, and the address links start with.
_mail = {"on": False, "base": ""}


def configure(settings: Settings) -> None:
    _mail.update(on=bool(settings.smtp_url), base=settings.public_base_url or "")


def enabled() -> bool:
    return _mail["on"]


def preferences(user: User) -> dict:
    return {**DEFAULTS.get(user.role, DEFAULTS["viewer"]), **(user.notifications or {})}


def check_preferences(data) -> dict:
    if not isinstance(data, dict) or not data or set(data) - {POSTS, CHANNELS}:
        raise InvalidInput(f"notifications: an object with {POSTS} and/or {CHANNELS}", field="notifications")
    for kind, choice in data.items():
        if choice not in CHOICES:
            raise InvalidInput(f"notifications: {kind} must be one of {', '.join(CHOICES)}", field="notifications")
    return data


def set_preferences(user: User, data) -> dict:
    chosen = {**(user.notifications or {}), **check_preferences(data)}
    User.update(notifications=chosen).where(User.id == user.id).execute()
    user.notifications = chosen
    return preferences(user)


def _link(path: str) -> str:
    return f"{_mail['base']}{path}"


def queue(event_type: str, subject_id: int) -> int:
    """In the caller's transaction: the e-mails ``event_type`` about
    ``subject_id`` makes; return how many."""
    kind = KIND_OF.get(event_type)
    if kind is None or not enabled():
        return 0
    users = [u for u in User.select().where(User.disabled == False)  # noqa: E712
             if preferences(u)[kind] != "off"]
    if kind == POSTS and users:
        wrote = owners(subject_id)
        if event_type == "post.awaiting_approval":  # only an admin can answer it
            users = [u for u in users if u.role == "admin"]
        elif event_type == "post.rejected":  # the admin who rejected it knows already
            users = [u for u in users if u.id in wrote]
        elif event_type in ("post.review_approved", "post.changes_requested"):  # its author and who asked
            asked = reviewers_asked_by(subject_id)
            users = [u for u in users if u.id in wrote | asked]
        else:
            users = [u for u in users if u.role == "admin" or u.id in wrote]
    if not users:
        return 0
    subject, body = (_post_words if kind == POSTS else _channel_words)(event_type, subject_id)
    return _store([(u.id, u.email, subject, body, E.PENDING if preferences(u)[kind] == "immediately" else E.DIGEST)
                   for u in users])


def _store(mails) -> int:
    """Queue ``(user id, to, subject, body, status)`` e-mails; the pending ones go after the commit."""
    now, ids = utcnow(), []
    for user_id, to, subject, body, status in mails:
        # A header is one line: a post's text may hold line breaks.
        subject = " ".join(subject.split())[:300]
        email = Email.create(user=user_id, to=to, subject=subject, body=body, status=status,
                             created_at=now, next_attempt_at=now, touched_at=now)
        if status == E.PENDING:
            ids.append(email.id)
    if ids:
        from . import sending
        after_commit(lambda: [sending.send(i) for i in ids])
    return len(mails)


def owners(post_id: int) -> set:
    """Who wrote the post, or asked for it to be approved."""
    post = Post.get_by_id(post_id)
    wrote = {e.actor_id for e in Event.select(Event.actor).where(
        (Event.subject == "post") & (Event.subject_id == post_id) & (Event.action == "created"))}
    return {i for i in wrote | {post.submitted_by} if i}


def reviewers_asked_by(post_id: int) -> set:
    """Who made a review link of the post."""
    return {i for (i,) in ReviewLink.select(ReviewLink.created_by).join(ReviewLinkPost)
            .where(ReviewLinkPost.post == post_id).tuples() if i}


def review_words(post: Post) -> str:
    """The reviewer's latest decision about the post, in a line."""
    d = (ReviewDecision.select().where(ReviewDecision.post == post.id)
         .order_by(ReviewDecision.decided_at.desc(), ReviewDecision.id.desc()).get())
    if d.decision == "approved":
        return f"{d.reviewer} approved post #{post.id} on the review link: “{excerpt(post)}”"
    return f"{d.reviewer} asked for changes to post #{post.id}: {d.comment}"


def excerpt(post: Post) -> str:
    return post.text if len(post.text) <= 60 else post.text[:59] + "…"


def _post_words(event_type: str, post_id: int) -> tuple[str, str]:
    post = Post.get_by_id(post_id)
    short = excerpt(post)
    if event_type == "post.awaiting_approval":
        return (f"Post #{post.id} needs your approval: {short}",
                f"Post #{post.id} waits for an admin's approval: “{short}”\n\n"
                f"Approve or reject it: {_link(f'/posts/{post.id}')}")
    if event_type in ("post.review_approved", "post.changes_requested"):
        line = review_words(post)
        return (line if len(line) <= 120 else line[:119] + "…",
                f"{line}\n\nSee the post and its History: {_link(f'/posts/{post.id}')}")
    if event_type == "post.rejected":
        return (f"Post #{post.id} was rejected: {short}",
                f"An admin rejected post #{post.id} (“{short}”) and sent it back as a draft:\n\n"
                f"{post.review_comment}\n\nEdit it and ask again: {_link(f'/posts/{post.id}/edit')}")
    publications = list(Publication.select().where(Publication.post == post_id).order_by(Publication.id))
    failed = [p for p in publications if p.status != "published"]
    done = [p for p in publications if p.status == "published"]
    how = "failed" if event_type == "post.failed" else "partly failed"
    lines = [f"Post #{post.id} {how}: “{short}”", ""]
    for p in failed:
        lines.append(f"- {LABELS.get(p.network, p.network)}: {p.status} — {p.last_error or 'no reason given'}")
    for p in done:
        lines.append(f"- {LABELS.get(p.network, p.network)}: published" + (f" ({p.external_url})" if p.external_url
                                                                           else ""))
    lines += ["", f"Retry or look closer: {_link(f'/posts/{post.id}')}"]
    return f"Post #{post.id} {how}: {short}", "\n".join(lines)


def _channel_words(event_type: str, channel_id: int) -> tuple[str, str]:
    channel = Channel.get_by_id(channel_id)
    label = f"{channel.name} ({LABELS.get(channel.network, channel.network)})"
    if event_type == "channel.needs_reauth":
        subject = f"Reconnect {label}"
        text = (f"{LABELS.get(channel.network)} refused the token of {label}, so its posts fail until it is "
                f"reconnected.\n\nWhy: {channel.state_reason or 'not given'}")
    else:
        expires = channel.token_expires_at.strftime("%Y-%m-%d %H:%M UTC") if channel.token_expires_at else "soon"
        subject = f"The token of {label} expires {expires}"
        text = f"The token of {label} expires on {expires} and cannot be renewed by socialpub: reconnect it before."
    return subject, f"{text}\n\nChannels: {_link('/channels')}"


def invitation(email: str, role: str, link: str, expires_at: dt.datetime, kind: str) -> bool:
    """In the caller's transaction: the e-mail carrying an invitation or reset
    link; False when e-mail is not configured (the admin copies the link)."""
    if not enabled():
        return False
    until = expires_at.strftime("%Y-%m-%d %H:%M UTC")
    if kind == "reset":
        subject = "Set a new socialpub password"
        body = f"An admin reset your access to socialpub. Set a new password here (it works once, until {until}):"
    else:
        subject = "You are invited to socialpub"
        body = (f"You are invited to join socialpub as {role}. Set your password here (the link works once, "
                f"until {until}):")
    _store([(None, email, subject, f"{body}\n\n{link}\n", E.PENDING)])
    return True


def gather_digests(now: dt.datetime | None = None) -> int:
    """Each user's waiting news as one e-mail; return how many digests were queued."""
    now = now or utcnow()
    made = 0
    for (user_id,) in Email.select(Email.user).where(Email.status == E.DIGEST).distinct().tuples():
        with write_transaction():
            items = list(Email.select().where((Email.user == user_id) & (Email.status == E.DIGEST))
                         .order_by(Email.id))
            if not items:
                continue
            Email.update(status="digested", body=None).where(Email.id.in_([e.id for e in items])).execute()
            user = User.get_by_id(user_id)
            body = "\n\n".join(f"{e.subject}\n{'-' * min(len(e.subject), 70)}\n{e.body}" for e in items)
            count = f"{len(items)} thing{'s' if len(items) != 1 else ''}"
            _store([(user.id, user.email, f"socialpub: {count} to know", body, E.PENDING)])
            made += 1
    return made
