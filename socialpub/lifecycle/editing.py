"""Changing a post that has not gone out — edit it, delete it — and making a
new draft from any post (duplicate). Each change starts with one conditional
statement on the post's status from table.py, so racing the scheduler's
launch (or a Publish now) exactly one of the two wins: the other gets a
Conflict, or finds nothing to launch. An edit is checked exactly as a new post
is (intake/composing.py) and replaces the post's pending publications and
photos in the same transaction. Its UPDATE also requires the version it was
made on (versions.py): a change made in between is never written over — an
edit made on a version (If-Match, the form) is refused saying what changed,
one without is applied again to the post as it is then.
"""
from __future__ import annotations

import datetime as dt

from .. import audit, notices
from ..db import write_transaction
from ..errors import Conflict
from ..intake.composing import adapt_text, check_new_post, get_post
from ..intake.schedule_time import shown
from ..media import remote
from ..media.library import post_media
from ..models import Channel, Post, PostMedia, Publication
from ..statuses import POST, PUBLICATION, PostStatus, moves
from . import first_comments, review, scheduling, versions
from .creating import attach_media, create_post

#: Reads and writes of an edit without a version, when others keep changing the post in between.
TRIES = 5


def as_request(post: Post) -> dict:
    """The create-post request that would make ``post`` as it is now: its text,
    image, link, photos, channels, each network's own text (``overrides``, where
    every channel of the network has the same), each channel's own version
    (``versions``: a text its network's other channels do not share, a WhatsApp
    message of its own, how its video goes where that differs from its network's
    other channels, its first comment), each network's video kind (``video_kinds``), and its time."""
    publications = list(Publication.select(Publication.channel, Publication.network, Publication.text,
                                           Publication.whatsapp, Publication.video_kind)
                        .where(Publication.post == post.id).order_by(Publication.id))
    overrides, versions = {}, {}
    for network in dict.fromkeys(p.network for p in publications):
        mine = [p for p in publications if p.network == network]
        own = {p.text for p in mine if p.text != adapt_text(network, post.text, post.link)}
        if len(own) == 1 and all(p.text in own for p in mine):
            overrides[network] = own.pop()
        elif own:
            for p in mine:
                if p.text != adapt_text(network, post.text, post.link):
                    versions[str(p.channel_id)] = {"text": p.text}
    for p in publications:
        if p.whatsapp is not None:
            versions.setdefault(str(p.channel_id), {})["whatsapp"] = p.whatsapp
    for channel_id, text in first_comments.of_post(post.id).items():
        versions.setdefault(str(channel_id), {})["first_comment"] = text
    video_kinds = {}
    for network in dict.fromkeys(p.network for p in publications if p.video_kind):
        kinds = {p.channel_id: p.video_kind for p in publications if p.network == network and p.video_kind}
        if len(set(kinds.values())) == 1:
            video_kinds[network] = next(iter(kinds.values()))
        else:
            for channel_id, kind in kinds.items():
                versions.setdefault(str(channel_id), {})["video_kind"] = kind
    request = {"text": post.text, "image_url": post.image_url, "link": post.link,
               "media_ids": [m.id for m in post_media(post.id)] or None,
               "channels": [p.channel_id for p in publications], "overrides": overrides,
               "versions": versions or None, "video_kinds": video_kinds or None,
               "whatsapp": post.whatsapp if any(p.network == "whatsapp" for p in publications) else None,
               "link_tracking": post.link_tracking}
    if post.scheduled_at is not None and post.status in (PostStatus.SCHEDULED, PostStatus.AWAITING,
                                                         PostStatus.PUBLISHING):  # launched, not yet gone
        # The instant with its offset; the zone only when it was a named one (not "+01:00").
        zone = post.schedule_zone if post.schedule_zone and post.schedule_zone[0] not in "+-" else None
        request.update(scheduled_at=shown(post), timezone=zone)
        if post.recurrence:
            request["recurrence"] = post.recurrence
    return request


def edit(post_id: int, changes: dict, version: dt.datetime | None = None, ready: bool = False) -> Post:
    """Change a draft or a scheduled post: ``changes`` holds fields of a new
    post but ``publish`` (the API's EditPost shape); the others stay as they are. ``scheduled_at: null``
    makes a scheduled post a draft again. ``version``: the post's version the
    change was made on (versions.py); None: the post as it is when written.
    The networks' rules are checked unless it stays a draft (neither scheduled,
    nor waiting for approval to be published, nor ``ready`` to be published next).

    Raises:
      NotFound, Conflict: no such post, or it started publishing (409, saying so).
      Stale: the post changed since ``version`` (412, saying what changed).
      AppError: the edited post would be refused as a new one is (naming the field).
    """
    for _ in range(TRIES):
        post = get_post(post_id)
        _refuse_unless_editable(post)
        if version is not None and post.updated_at != version:
            raise versions.stale(post, version, "If-Match")
        request = dict(as_request(post), **changes)
        if changes.get("scheduled_at", "") is None:
            request.pop("scheduled_at"), request.pop("timezone", None)
            if "recurrence" not in changes:  # a draft again: it no longer repeats
                request.pop("recurrence", None)
        if "networks" in changes:
            request.pop("channels", None)
        if "versions" not in changes:
            request["versions"] = _kept_versions(request.get("versions"), changes)
        asked_to_publish = post.status == PostStatus.AWAITING and post.approval_asked == review.PUBLISH
        new = check_new_post(request, ready=ready or asked_to_publish)
        with write_transaction():
            # A launched post none of whose networks started is taken back first (or Conflict).
            scheduling.recall(post.id)
            # The row's status and version decide, atomically: a launch that claimed it
            # first wins, and so does any change made since it was read (another edit,
            # a move, an approval) — it is not written over with what was read before it.
            edited = (Post.update(text=new.text, image_url=new.image_url, link=new.link, whatsapp=new.whatsapp,
                                  link_tracking=new.link_tracking,
                                  scheduled_at=new.scheduled_at, schedule_zone=new.schedule_zone,
                                  recurrence=new.recurrence, series_of=_series_after_edit(post, new),
                                  updated_at=versions.after(post.updated_at), approved_at=None, approved_by=None,
                                  **_state_after_edit(post, new))
                      .where((Post.id == post.id) & moves(POST, "edit", Post.status)
                             & (Post.updated_at == post.updated_at)).execute())
            if edited:
                _replace_publications(post, new)
                audit.record(audit.POST, post.id, "edited", fields=sorted(changes))
                edited_post = get_post(post.id)
                _split_after_edit(edited_post, new)
                if edited_post.status == PostStatus.AWAITING:
                    review.waiting(edited_post)
                elif edited_post.image_url:  # fetched again: the address may be new, or its site back
                    remote.request_fetch(post.id)
                return scheduling.launch_if_soon(edited_post)
        # Changed since it was read: made on a version, refused; else applied to the post as it is now.
    raise Conflict(f"post {post_id} kept being changed by others while this edit was made; send it again")


def _series_after_edit(post: Post, new):
    """The series an edited post belongs to: its own (a first recurring post starts one)."""
    if not new.recurrence:
        return post.series_of  # it stops repeating: the occurrences made before it stay in the series
    return post.series_of or post.id


def _kept_versions(versions: dict | None, changes: dict) -> dict | None:
    """The stored channels' versions an edit that does not name ``versions``
    keeps: those of the channels it still goes to, and no text of a channel
    whose network's text the edit sets (``overrides``)."""
    if not versions:
        return None
    kept = {}
    wanted = changes.get("channels") if isinstance(changes.get("channels"), list) else None
    networks = changes.get("networks") if isinstance(changes.get("networks"), list) else None
    overrides = changes.get("overrides") if isinstance(changes.get("overrides"), dict) else {}
    video_kinds = changes.get("video_kinds") if isinstance(changes.get("video_kinds"), dict) else {}
    of = {c.id: c.network for c in Channel.select(Channel.id, Channel.network)
          .where(Channel.id.in_([int(k) for k in versions]))}
    for key, version in versions.items():
        if wanted is not None and int(key) not in wanted:
            continue
        if networks is not None and of.get(int(key)) not in networks:
            continue
        version = dict(version)
        if of.get(int(key)) in overrides:
            version.pop("text", None)
        if of.get(int(key)) in video_kinds:
            version.pop("video_kind", None)
        if "first_comment" in changes:  # the post's new first comment is every channel's
            version.pop("first_comment", None)
        if version:
            kept[key] = version
    return kept or None


def _replace_publications(post: Post, new) -> None:
    """In the edit's transaction: its pending publications and photos, as the edited post has them."""
    Publication.delete().where((Publication.post == post.id)
                               & moves(PUBLICATION, "replace", Publication.status)).execute()
    if Publication.select().where(Publication.post == post.id).exists():
        # Some were sent already (then put back as a draft): their record stays; nothing changes.
        raise Conflict(f"post {post.id} has publications that were sent already, so it can no longer "
                       f"be edited — duplicate it to make a new draft")
    Publication.insert_many([
        {"post": post.id, "channel": channel.id, "network": channel.network, "text": text,
         "whatsapp": new.channel_whatsapp.get(channel.id), "video_kind": new.video_kinds.get(channel.id),
         "status": PUBLICATION["create"].targets[0]}
        for channel, text in new.publications]).execute()
    first_comments.add(post.id, new.first_comments)
    PostMedia.delete().where(PostMedia.post == post.id).execute()
    if new.media:
        attach_media(post.id, new.media)


def _state_after_edit(post: Post, new) -> dict:
    """An edit voids an approval: a post awaiting approval keeps waiting (with
    its new time, or, its time removed, back to a draft if it waited to be
    scheduled); a scheduled post an editor changes waits for approval again
    where it needs one (review.py)."""
    if post.status == PostStatus.AWAITING:
        if new.scheduled_at:
            return review.awaiting_status(review.SCHEDULE)
        if post.approval_asked == review.PUBLISH:
            return review.awaiting_status(review.PUBLISH)
        return {"status": PostStatus.DRAFT, "approval_asked": None}
    channels = {channel.id for channel, _ in new.publications}
    if new.scheduled_at and review.waiting_channels(channels) == channels:
        return review.awaiting_status(review.SCHEDULE)
    # Only some of its channels need approval: they wait as a post of their own (_split_after_edit).
    return {"status": PostStatus.SCHEDULED if new.scheduled_at else PostStatus.DRAFT, "approval_asked": None}


def _split_after_edit(post: Post, new) -> None:
    """In the edit's transaction: a post an editor scheduled to channels of
    which only some need approval goes out on the others at its time; those
    wait as a post of their own (review.split_off)."""
    if post.status != PostStatus.SCHEDULED:
        return
    waiting = review.waiting_channels({channel.id for channel, _ in new.publications})
    if waiting:
        review.split_off(post, waiting, review.SCHEDULE, post.scheduled_at, post.schedule_zone)


def _refuse_unless_editable(post: Post):
    if post.status not in POST["edit"].sources and post.status not in POST["recall"].sources:  # recall decides
        raise Conflict(f"post {post.id} is {post.status.replace('_', ' ')}: publishing has started, so it "
                       f"can no longer be edited — duplicate it to make a new draft")


def delete(post_id: int, include_history: bool = False):
    """Remove a post that has not gone out (a draft, a scheduled or a failed
    post) with its publications, attempts and photo links; a published or
    partly published one only with ``include_history`` (its record is the
    history). Nothing is deleted on the networks.

    Raises:
      NotFound, Conflict: no such post, or one being published (or history, unasked).
    """
    allowed = POST["delete"].sources + (POST["delete history"].sources if include_history else ())
    with write_transaction():
        # A launched post none of whose networks started is taken back first (or Conflict).
        scheduling.recall(post_id)
        # One conditional DELETE (cascading to its rows): the scheduler's launch
        # either claimed the post first, or finds nothing left to claim.
        deleted = Post.delete().where((Post.id == post_id) & Post.status.in_(list(allowed))).execute()
        if deleted:
            audit.record(audit.POST, post_id, "deleted", include_history=include_history)
            notices.answered(post_id)
    if deleted:
        return
    post = get_post(post_id)
    if post.status in POST["delete history"].sources:
        raise Conflict(f"post {post.id} is {post.status.replace('_', ' ')}: its record is kept as history; "
                       f"ask with include_history=true to delete the record (nothing is deleted on the networks)")
    raise Conflict(f"post {post.id} is {post.status.replace('_', ' ')}: it cannot be deleted while it is being "
                   f"published; wait until it has finished")


def duplicate(post_id: int) -> Post:
    """A new draft from any post: its text, photos, link, channels and each
    network's own text (checked again: a channel disabled since is refused)."""
    request = as_request(get_post(post_id))
    request.pop("scheduled_at", None), request.pop("timezone", None), request.pop("recurrence", None)
    copy = create_post(request)
    with write_transaction():
        audit.record(audit.POST, copy.id, "duplicated", source=post_id)
    return copy
