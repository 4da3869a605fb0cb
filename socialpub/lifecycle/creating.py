"""A post's birth and, when its publishing could not even start, its removal:
stored as a draft or scheduled (the "create" transition), one pending
publication per channel."""
from __future__ import annotations

from peewee import IntegrityError

from .. import audit
from ..db import write_transaction
from ..errors import AppError, Unprocessable
from ..intake.composing import check_new_post
from ..media import remote
from ..models import Media, Post, PostMedia, Publication, iso
from ..statuses import POST, PUBLICATION, PostStatus, moves
from . import first_comments, review, scheduling


def create_post(data, ready: bool = False, launch: bool = True) -> Post:
    """Check ``data`` (a create-post request), store the post and its
    publications in one transaction, and launch it now if it is scheduled
    before the scheduler's next sweep (unless not ``launch``: inside a caller's
    transaction, the sweep launches it once that commits). Raises an AppError and stores nothing
    when anything is wrong; a draft is kept whatever the networks' rules,
    unless ``ready`` (it is to be published or queued next: refused now, as
    a post that goes out is)."""
    new = check_new_post(data, ready=ready)
    with write_transaction():
        post = _store(new)
    return scheduling.launch_if_soon(post) if launch else post


def create_posts(requests) -> list:
    """Every post of ``requests`` (``[(line, create-post request)]``, a CSV
    import's; an AppError in place of a request is that line's problem), all in
    one transaction — or none: a request refused is named by its line, with
    every other line's problems too.

    Raises:
      Unprocessable: ``details`` holds ``{"line", "field", "message"}`` of each problem.
    """
    checked, problems = [], []
    for line, request in requests:
        try:
            if isinstance(request, AppError):  # a line the file's reading refused (csv_posts: its channels)
                raise request
            checked.append(check_new_post(request))
        except AppError as exc:
            for item in exc.details or [{"field": exc.field, "message": exc.message}]:
                problems.append({"line": line, "field": item.get("field"), "message": f"line {line}: {item['message']}"})
    if problems:
        lines = len({p["line"] for p in problems})
        raise Unprocessable(f"{lines} of {len(requests)} lines cannot be imported, so none was; "
                            f"{problems[0]['message']}", field="file", details=problems, code="import_refused")
    with write_transaction():
        posts = [_store(new) for new in checked]
    return [scheduling.launch_if_soon(post) for post in posts]


def _store(new) -> Post:
    """Store a checked post (composing.NewPost), its publications and photos, in the caller's transaction."""
    draft, scheduled, _ = POST["create"].targets
    state = {"status": scheduled if new.scheduled_at else draft}
    channels = {channel.id for channel, _ in new.publications}
    waiting = review.waiting_channels(channels) if new.scheduled_at else set()
    if waiting and waiting == channels:  # every channel waits: the post itself does
        state = review.awaiting_status(review.SCHEDULE)
    post = Post.create(text=new.text, image_url=new.image_url, link=new.link, scheduled_at=new.scheduled_at,
                       schedule_zone=new.schedule_zone, whatsapp=new.whatsapp, recurrence=new.recurrence,
                       link_tracking=new.link_tracking, **state)
    if new.recurrence:  # the first of its series
        post.series_of = post.id
        Post.update(series_of=post.id).where(Post.id == post.id).execute()
    Publication.insert_many([
        {"post": post.id, "channel": channel.id, "network": channel.network, "text": text,
         "whatsapp": new.channel_whatsapp.get(channel.id), "video_kind": new.video_kinds.get(channel.id),
         "status": PUBLICATION["create"].targets[0]}
        for channel, text in new.publications
    ]).execute()
    first_comments.add(post.id, new.first_comments)
    if new.media:
        attach_media(post.id, new.media)
    if post.image_url and post.status != PostStatus.AWAITING:  # (review.waiting has it fetched for the reviewer)
        # Fetched by a worker once stored, so that an address that cannot be fetched shows on the post's page
        # while the post can still be changed, rather than when each of its networks fails on it.
        remote.request_fetch(post.id)
    audit.record(audit.POST, post.id, "created", status=post.status, scheduled_at=iso(new.scheduled_at),
                 channels=[channel.id for channel, _ in new.publications], photos=len(new.media or ()))
    if post.status == PostStatus.AWAITING:
        review.waiting(post)
    elif waiting:  # only some do: they wait as a post of their own, the others are scheduled
        review.split_off(post, waiting, review.SCHEDULE, new.scheduled_at, new.schedule_zone)
    return post


def attach_media(post_id: int, media: list) -> None:
    """Give the post ``media`` (Media rows, in order), in the caller's transaction.

    Raises:
      Unprocessable: one of them was deleted since the request was checked
        (naming ``media_ids``); the caller's transaction then rolls back.
    """
    ids = [m.id for m in media]
    there = {m.id for m in Media.select(Media.id).where(Media.id.in_(ids))}
    gone = [i for i in ids if i not in there]
    if not gone:
        try:
            with write_transaction():  # a savepoint: the post's transaction can still say which
                PostMedia.insert_many([{"post": post_id, "media": media_id, "position": position}
                                       for position, media_id in enumerate(ids)]).execute()
            return
        except IntegrityError:  # PostgreSQL: deleted between that read and this insert
            there = {m.id for m in Media.select(Media.id).where(Media.id.in_(ids))}
            gone = [i for i in ids if i not in there] or ids
    raise Unprocessable(f"media_ids: media {gone[0]} was deleted meanwhile; upload it again", field="media_ids")


def discard_unsent(post_id: int) -> bool:
    """Delete a draft none of whose publications ever left (a create-and-publish
    whose messages the queue refused), so that the refused request wrote nothing."""
    with write_transaction():
        if (Publication.select().where((Publication.post == post_id)
                                       & ~moves(PUBLICATION, "publish", Publication.status)).exists()):
            return False
        Publication.delete().where(Publication.post == post_id).execute()
        return bool(Post.delete().where((Post.id == post_id) & (Post.status == PostStatus.DRAFT)).execute())
