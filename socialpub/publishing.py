"""Asking to publish: queue a post's publications and enqueue their messages
(publish now, or retry what failed). The worker's side is in delivery.py.

Each change is one conditional UPDATE, so a double click or two retries can
never both win: the one whose UPDATE matched the rows goes on, the other gets
a Conflict. The queue only delivers work; these rows are the truth.

    pending ──publish──> queued ──claim──> processing ──> published
       failed/expired/unconfirmed ──retry──^  ^     │
                                 retrying ────┘<────┤ (transient error, rate limit)
                                                    └──> failed | expired | unconfirmed
"""
from __future__ import annotations

import functools
import logging

import dramatiq
from peewee import Case

from .broker import enqueue_all
from .composing import check_url, content_problems, get_post, raise_if_unpublishable
from .db import Prepared, Slot, row_to, write_transaction
from .delivery import roll_up
from .errors import Conflict
from .models import Channel, ChannelState, Post, PostStatus, Publication, PubStatus, utcnow

logger = logging.getLogger(__name__)

#: Networks that offer no way to ask whether an item arrived.
UNVERIFIABLE = ("whatsapp",)


class BrokerUnavailable(Exception):
    """The messages could not be enqueued; the publications were put back to pending."""


def request_publish(post_id: int, image_url: str | None = None) -> list:
    """Queue every pending publication of a post, then enqueue one message per
    publication as a Dramatiq group. Returns ``[{"network", "status", "task_id",
    "publication_id"}]``. Raises Conflict when nothing is pending (a second
    click) and Unprocessable when the image makes the content unpublishable."""
    image_url = check_url(image_url, "image_url")
    with write_transaction():
        rows = _PENDING.execute(post=post_id).fetchall()
        if not rows:
            post = get_post(post_id)  # 404 when there is no such post
            raise Conflict(f"post {post.id} is {post.status.replace('_', ' ')}: no publication is "
                           f"waiting to be published (a failed one can be retried)")
        pub_fields, post_fields = _PENDING_FIELDS
        post = row_to(Post, post_fields, rows[0][len(pub_fields):])
        pending = [row_to(Publication, pub_fields, row) for row in rows]
        changes = {}
        if image_url and image_url != post.image_url:
            post.image_url = changes["image_url"] = image_url
        if post.scheduled_at is not None:
            # "Publish now" on a scheduled post: now, not at its time (the claim
            # holds back publications of a post scheduled later).
            changes.update(scheduled_at=None, schedule_zone=None)
        if changes:
            Post.update(**changes).where(Post.id == post.id).execute()
        raise_if_unpublishable(content_problems([(p.network, p.text) for p in pending],
                                                post.image_url, post.link))
        messages = queue(post.id, pending, [PubStatus.PENDING])
    return enqueue(post.id, pending, messages)


def retry(post_id: int, publication_id: int | None = None) -> list:
    """Send again a post's failed, expired or unconfirmed publications (or just
    ``publication_id``). Published ones are never sent again. Raises Conflict
    when there is nothing to retry or the channel needs re-authorisation."""
    with write_transaction():
        post = get_post(post_id)
        chosen = publications_of(post.id, PubStatus.RETRYABLE, publication_id)
        if not chosen:
            what = f"publication {publication_id}" if publication_id else f"post {post.id}"
            raise Conflict(f"{what}: nothing to retry (only failed, expired or unconfirmed "
                           f"publications are sent again)")
        blocked = [p for p in chosen if p.channel.state == ChannelState.NEEDS_REAUTH]
        if blocked:
            raise Conflict(f"channel {blocked[0].channel.name!r} ({blocked[0].network}) needs "
                           f"re-authorisation: update its token first", field="channel")
        messages = queue(post.id, chosen, PubStatus.RETRYABLE)
    return enqueue(post.id, chosen, messages)


def publications_of(post_id, statuses, publication_id=None) -> list:
    query = (Publication.select(Publication, Channel).join(Channel)
             .where((Publication.post == post_id) & Publication.status.in_(list(statuses))))
    if publication_id is not None:
        query = query.where(Publication.id == publication_id)
    return list(query.order_by(Publication.id))


#: What publishing reads: the post's pending publications, each with its post's columns.
_PENDING_FIELDS = ((Publication.id, Publication.network, Publication.text, Publication.status),
                   (Post.id, Post.status, Post.image_url, Post.link, Post.scheduled_at))
_PENDING = Prepared(lambda: (
    Publication.select(*_PENDING_FIELDS[0], *_PENDING_FIELDS[1]).join(Post)
    .where((Publication.post == Slot("post")) & (Publication.status == PubStatus.PENDING))
    .order_by(Publication.id)))


def queue(post_id, publications, from_statuses) -> dict:
    """Mark publications queued with their future message ids; inside the
    caller's transaction, so they are queued only if it commits."""
    from .actors import publish  # the broker must be set up before actors are imported

    now = utcnow()
    messages = {p.id: publish.message(p.id) for p in publications}
    values = {"now": now, "post": post_id}
    for i, (pub_id, message) in enumerate(messages.items()):
        values[f"id{i}"], values[f"task{i}"] = pub_id, message.message_id
    queued = _queue_statement(len(messages), tuple(from_statuses)).execute(**values).rowcount
    if queued != len(messages):
        # Another request queued some of them between our read and our write.
        raise Conflict(f"post {post_id} is already being published")
    _MARK_PUBLISHING.execute(post=post_id, now=now)
    return messages


@functools.lru_cache(maxsize=64)
def _queue_statement(count: int, from_statuses: tuple) -> Prepared:
    """Queue ``count`` publications (slots id0…, with message ids task0…) still in ``from_statuses``."""
    ids = [Slot(f"id{i}") for i in range(count)]
    return Prepared(lambda: (
        Publication
        .update(status=PubStatus.QUEUED, enqueued_at=Slot("now"), updated_at=Slot("now"),
                next_attempt_at=None, finished_at=None, retries=0, rate_limit_waits=0,
                # Retrying an unconfirmed one is a person's decision to send again
                # where the network cannot be asked; elsewhere it is still asked first.
                ambiguous_since=Case(None, [((Publication.status == PubStatus.UNCONFIRMED)
                                             & Publication.network.in_(UNVERIFIABLE), None)],
                                     Publication.ambiguous_since),
                task_id=Case(Publication.id, [(ids[i], Slot(f"task{i}")) for i in range(count)]))
        .where(Publication.id.in_(ids) & Publication.status.in_(list(from_statuses)))))


_MARK_PUBLISHING = Prepared(lambda: (
    Post.update(status=PostStatus.PUBLISHING, publish_requested_at=Slot("now"), updated_at=Slot("now"),
                finished_at=None)
    .where(Post.id == Slot("post"))))


def enqueue(post_id, publications, messages, delay_ms=None) -> list:
    """Send the messages in one Redis round trip, after the commit (a worker
    must find the rows queued), ``delay_ms`` from now if given. If Redis
    refuses, put the rows back as they were."""
    try:
        enqueue_all(dramatiq.get_broker(), messages.values(), delay_ms or None)
    except Exception as exc:
        _unqueue(post_id, messages, {p.id: p.status for p in publications})
        raise BrokerUnavailable(f"the queue is unreachable ({exc.__class__.__name__}); "
                                f"nothing was published, try again") from exc
    return [{"publication_id": p.id, "network": p.network, "status": "enqueued",
             "task_id": messages[p.id].message_id} for p in publications]


def _unqueue(post_id, messages, previous):
    """Put publications whose message never left back in their previous state."""
    with write_transaction():
        for pub_id, message in messages.items():
            (Publication.update(status=previous[pub_id])
             .where((Publication.id == pub_id) & (Publication.status == PubStatus.QUEUED)
                    & (Publication.task_id == message.message_id)).execute())
        roll_up(post_id)
