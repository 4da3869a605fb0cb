"""A post's status, rolled up from its publications' statuses in the
transaction that changed one of them (the "roll up" transition of table.py)."""
from __future__ import annotations

from peewee import fn

from .. import outcomes
from ..db import Prepared, Slot, supports_row_locks
from ..models import Post, Publication, utcnow
from ..statuses import PostStatus, PublicationStatus
from ..webhooks import events


def post_status(counts: dict) -> str:
    """The post's status from its publications' status counts."""
    total = sum(counts.values())
    published = counts.get(PublicationStatus.PUBLISHED, 0)
    finished = sum(counts.get(s, 0) for s in PublicationStatus.FINAL)
    if total == 0 or counts.get(PublicationStatus.PENDING, 0) == total:
        return PostStatus.DRAFT
    if finished < total:
        return PostStatus.PUBLISHING
    if published == total:
        return PostStatus.PUBLISHED
    if published == 0 and not counts.get(PublicationStatus.UNCONFIRMED):
        return PostStatus.FAILED
    return PostStatus.PARTIAL


def roll_up(post_id: int):
    """Recompute the post's status; call inside the transaction that changed a
    publication. The post row is locked first so that two workers finishing at
    once are serialised and the last one sees both outcomes."""
    current = (_LOCK_POST if supports_row_locks() else _READ_POST).execute(id=post_id).fetchone()
    counts = dict(_STATUS_COUNTS.execute(post=post_id).fetchall())
    status = post_status(counts)
    if current is not None and current[0] == status:
        return
    now = utcnow()
    _SET_POST_STATUS.execute(id=post_id, status=status, now=now,
                             finished=now if status in PostStatus.FINAL else None)
    if status in events.FOR_POST:
        outcomes.tell(events.FOR_POST[status], post_id)


_READ_POST = Prepared(lambda: Post.select(Post.status).where(Post.id == Slot("id")))
_LOCK_POST = Prepared(lambda: Post.select(Post.status).where(Post.id == Slot("id")).for_update())
_STATUS_COUNTS = Prepared(lambda: (
    Publication.select(Publication.status, fn.COUNT(Publication.id))
    .where(Publication.post == Slot("post")).group_by(Publication.status)))
_SET_POST_STATUS = Prepared(lambda: (
    Post.update(status=Slot("status"), updated_at=Slot("now"), finished_at=Slot("finished"))
    .where((Post.id == Slot("id")) & (Post.status != Slot("status")))))
