"""A post's birth and, when its publishing could not even start, its removal:
stored as a draft or scheduled (the "create" transition), one pending
publication per channel."""
from __future__ import annotations

from ..db import write_transaction
from ..intake.composing import check_new_post
from ..models import Post, PostMedia, Publication
from . import scheduling
from .table import POST, PUBLICATION, PostStatus, moves


def create_post(data) -> Post:
    """Check ``data`` (a create-post request), store the post and its
    publications in one transaction, and launch it now if it is scheduled
    before the scheduler's next sweep. Raises an AppError and stores nothing
    when anything is wrong."""
    new = check_new_post(data)
    draft, scheduled = POST["create"].targets
    with write_transaction():
        post = Post.create(text=new.text, image_url=new.image_url, link=new.link,
                           status=scheduled if new.scheduled_at else draft,
                           scheduled_at=new.scheduled_at, schedule_zone=new.schedule_zone)
        Publication.insert_many([
            {"post": post.id, "channel": channel.id, "network": channel.network, "text": text,
             "status": PUBLICATION["create"].targets[0]}
            for channel, text in new.publications
        ]).execute()
        if new.media:
            PostMedia.insert_many([{"post": post.id, "media": media.id, "position": position}
                                   for position, media in enumerate(new.media)]).execute()
    return scheduling.launch_if_soon(post)


def discard_unsent(post_id: int) -> bool:
    """Delete a draft none of whose publications ever left (a create-and-publish
    whose messages the queue refused), so that the refused request wrote nothing."""
    with write_transaction():
        if (Publication.select().where((Publication.post == post_id)
                                       & ~moves(PUBLICATION, "publish", Publication.status)).exists()):
            return False
        Publication.delete().where(Publication.post == post_id).execute()
        return bool(Post.delete().where((Post.id == post_id) & (Post.status == PostStatus.DRAFT)).execute())
