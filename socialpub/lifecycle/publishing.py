"""Asking to publish — now, or again after a failure: mark the publications
queued (:func:`mark_queued`, rows), then send one Dramatiq message each with
``group().run()`` (:func:`send`, Redis). The worker's side is delivery.py.

Each change is one conditional UPDATE built from table.py, so a double click
or two retries can never both win: the one whose UPDATE matched the rows goes
on, the other gets a Conflict. The queue only delivers work; these rows are
the truth.
"""
from __future__ import annotations

import functools
import logging
from contextlib import nullcontext

import dramatiq
from peewee import JOIN, SQL, Case, Select, fn

from .. import audit
from ..db import Prepared, Slot, database, row_to, supports_row_locks, write_transaction
from ..errors import BrokerUnavailable, Conflict
from ..input_checks import check_url
from ..intake.composing import check_ready, get_post
from ..media import remote
from ..models import Channel, ChannelState, ImageFetch, Post, PostMedia, Publication, utcnow
from ..statuses import POST, PUBLICATION, PostStatus
from ..statuses import PublicationStatus as P
from ..statuses import moves
from ..whatsapp import ledger
from . import review
from .rollup import roll_up

logger = logging.getLogger(__name__)

#: Networks that offer no way to ask whether an item arrived.
UNVERIFIABLE = ("whatsapp",)


class Requested(list):
    """What :func:`request_publish` answers: the results, a list as before, and the
    post that waits for approval with the channels split off (review.split_off), if any."""

    waiting_post_id: int | None = None


def request_publish(post_id: int, image_url: str | None = None,
                    actor: audit.Unverified | None = None) -> Requested:
    """Mark every pending publication of a post queued, then send one message
    per publication. Returns ``[{"network", "status", "task_id",
    "publication_id"}]`` — or ``[]`` when the post must wait for approval
    first (review.py): it is then awaiting approval, and nothing is sent; when
    only some of its channels must, they wait as a post of their own
    (review.split, named by ``waiting_post_id``) and the others are sent.
    ``actor``: the request's user as remembered from its API token, checked in
    the first statement (audit.ActorChanged, before anything is written).
    Raises Conflict when nothing is pending (a second click) or the post
    awaits approval already, and Unprocessable when the image makes the
    content unpublishable.

    On PostgreSQL the call is four statements between BEGIN and COMMIT: the
    pending rows, their post, the post split off, its image's fetch and the
    token's check read in one; check_ready's two reads (and, for an editor,
    which channels need approval); the publications, the post and the audit
    line written in one."""
    image_url = check_url(image_url, "image_url")
    requested = Requested()
    with write_transaction():
        rows = _PENDING.execute(post=post_id, digest=actor.digest if actor else None).fetchall()
        if not rows:
            audit.verify(actor)
            post = get_post(post_id)  # 404 when there is no such post
            raise Conflict(f"post {post.id} is {post.status.replace('_', ' ')}: no publication is "
                           f"waiting to be published (a failed one can be retried)")
        audit.check(actor, rows[0][-1])
        pub_fields, post_fields, channel_fields = _PENDING_FIELDS
        post = row_to(Post, post_fields, rows[0][len(pub_fields):])
        pending = [row_to(Publication, pub_fields, row) for row in rows]
        at = len(pub_fields) + len(post_fields)
        for p, row in zip(pending, rows):  # each with its channel, as check_ready reads them
            p.channel = row_to(Channel, channel_fields, row[at:])
        has_media = rows[0][at + len(channel_fields)]
        if post.status == PostStatus.AWAITING:
            raise Conflict(f"post {post.id} is awaiting approval: an admin approves it (then it is published) "
                           f"or rejects it")
        fetch_failed = rows[0][-2] is not None  # an error on record: remote says whether it is this image's
        if fetch_failed and (not image_url or image_url == post.image_url):  # (a new one is fetched as it is sent)
            remote.refuse_unfetchable(post)
        changes = {}
        if image_url and image_url != post.image_url:
            post.image_url = changes["image_url"] = image_url
        if post.scheduled_at is not None:
            # "Publish now" on a scheduled post: now, not at its time (the claim
            # holds back publications of a post scheduled later).
            changes.update(scheduled_at=None, schedule_zone=None)
        if changes and post.approved_at is not None:
            # An approval covers the post as it was approved: not a new image, nor going out earlier.
            post.approved_at = changes["approved_at"] = changes["approved_by"] = None
        if changes:
            Post.update(**changes).where(Post.id == post.id).execute()
        # A draft was saved whatever the networks' rules: they hold from here on.
        check_ready(post, pending, None if has_media else [])
        channels = {p.channel_id for p in pending}
        waiting = review.waiting_channels(channels, post.approved_at)
        if waiting == channels:  # every channel waits: the post itself does
            if not review.submit(post, review.PUBLISH):
                raise Conflict(f"post {post.id} is being published already")
            return requested
        requested.waiting_post_id = rows[0][-3]  # split off before
        if waiting:  # only some do: they wait as a post of their own (review.split), the others go out
            requested.waiting_post_id = review.split_off(post, waiting, review.PUBLISH).id
            pending = [p for p in pending if p.channel_id not in waiting]
        messages = mark_queued(post.id, pending, "publish",
                               audit.line(audit.POST, post.id, "publish requested",
                                          networks=sorted({p.network for p in pending})))
    requested.extend(send(post.id, pending, messages))
    return requested


def retry(post_id: int, publication_id: int | None = None) -> list:
    """Send again a post's failed, expired or unconfirmed publications (or just
    ``publication_id``). Published ones are never sent again. Raises Conflict
    when there is nothing to retry or the channel needs re-authorisation."""
    with write_transaction():
        post = get_post(post_id)
        chosen = publications_of(post.id, PUBLICATION["retry"].sources, publication_id)
        if not chosen:
            what = f"publication {publication_id}" if publication_id else f"post {post.id}"
            raise Conflict(f"{what}: nothing to retry (only failed, expired or unconfirmed "
                           f"publications are sent again)")
        blocked = [p for p in chosen if p.channel.state == ChannelState.NEEDS_REAUTH]
        if blocked:
            raise Conflict(f"channel {blocked[0].channel.name!r} ({blocked[0].network}) needs "
                           f"re-authorisation: reconnect it (or update its token), then retry", field="channel")
        messages = mark_queued(post.id, chosen, "retry")
        # WhatsApp: those who did not get it are sent it again; those who did, never.
        ledger.reopen_for_retry([p.id for p in chosen if p.network == "whatsapp"])
        audit.record(audit.POST, post.id, "retried", networks=sorted({p.network for p in chosen}))
    return send(post.id, chosen, messages)


def publications_of(post_id, statuses, publication_id=None) -> list:
    query = (Publication.select(Publication, Channel).join(Channel)
             .where((Publication.post == post_id) & Publication.status.in_(list(statuses))))
    if publication_id is not None:
        query = query.where(Publication.id == publication_id)
    return list(query.order_by(Publication.id))


#: What publishing reads: the post's pending publications, each with every column of its post
#: (check_ready takes it as it is), then the post split off from it that awaits approval
#: (review.split's), whether its image's fetch has an error on record, and the role of the
#: request's remembered token now (audit.role_now; NULL without one).
_PENDING_FIELDS = (tuple(Publication._meta.sorted_fields), tuple(Post._meta.sorted_fields),
                   tuple(Channel._meta.sorted_fields))
_HELD = Post.alias("held")
_PENDING = Prepared(lambda: (
    Publication.select(*_PENDING_FIELDS[0], *_PENDING_FIELDS[1], *_PENDING_FIELDS[2],
                       PostMedia.select(fn.COUNT(SQL("*"))).where(PostMedia.post == Slot("post")),
                       _HELD.select(_HELD.id)
                       .where((_HELD.split_from == Slot("post")) & (_HELD.status == PostStatus.AWAITING))
                       .order_by(_HELD.id.desc()).limit(1),
                       ImageFetch.error, audit.role_now(Slot("digest")))
    .join(Post)
    .switch(Publication).join(Channel)
    .join(ImageFetch, JOIN.LEFT_OUTER, on=(ImageFetch.post == Post.id))
    .where((Publication.post == Slot("post")) & moves(PUBLICATION, "publish", Publication.status))
    .order_by(Publication.id)))


def publish_message(publication_id: int) -> dramatiq.Message:
    """The publish actor's message for a publication (the actor is looked up on
    the broker by name: this side only sends it)."""
    return dramatiq.get_broker().get_actor("publish").message(publication_id)


def mark_queued(post_id, publications, transition: str, line: dict | None = None, post_moved: bool = False) -> dict:
    """Mark ``publications`` queued by ``transition`` ("publish", "launch" or
    "retry" of table.PUBLICATION) with their future messages, which it
    returns, and their post publishing (unless ``post_moved``: the caller moved
    it); with ``line`` (audit.line's values), write that audit line too. Inside the caller's transaction, so they are
    queued only if it commits. Raises Conflict if another request moved some
    of them first. On PostgreSQL the three writes are one statement."""
    now = utcnow()
    messages = {p.id: publish_message(p.id) for p in publications}
    values = {"now": now, "post": post_id, **(line or {})}
    for i, (pub_id, message) in enumerate(messages.items()):
        values[f"id{i}"], values[f"task{i}"] = pub_id, message.message_id
    together = line is not None and supports_row_locks()  # PostgreSQL: writes in a WITH (not SQLite)
    statement = _queue_statement(len(messages), transition, together)
    cursor = statement.execute(**values)
    queued = cursor.fetchone()[0] if together else cursor.rowcount
    if queued != len(messages):
        # Another request queued some of them between our read and our write (the
        # caller's transaction undoes what else this wrote).
        raise Conflict(f"post {post_id} is already being published")
    if together:
        audit.recorded(line["subject"], line["subject_id"])
        return messages
    if not post_moved:
        _MARK_PUBLISHING.execute(post=post_id, now=now)
    if line is not None:
        audit.write(line)
    return messages


@functools.lru_cache(maxsize=64)
def _queue_statement(count: int, transition: str, together: bool = False) -> Prepared:
    """Queue ``count`` publications (slots id0…, with message ids task0…) that ``transition`` may move;
    ``together``: in one statement with the post's move to publishing and the audit line (audit.line's
    slots), answering how many publications it queued."""
    if together:
        return Prepared(lambda: _together(_queue_query(count, transition)))
    return Prepared(lambda: _queue_query(count, transition))


def _together(queue):
    """``queue``, the post's move to publishing and the audit line as one PostgreSQL statement (a WITH of
    three writes: each conditional as alone, all in the caller's transaction); it answers the count queued."""
    queued = queue.returning(Publication.id).cte("queued")
    moved = _mark_publishing().cte("moved")
    line = audit.insert_line().cte("line")
    return Select(from_list=[queued], columns=[fn.COUNT(SQL("*"))]).with_cte(queued, moved, line).bind(database)


def _queue_query(count: int, transition: str):
    ids = [Slot(f"id{i}") for i in range(count)]
    return (Publication
            .update(status=P.QUEUED, enqueued_at=Slot("now"), updated_at=Slot("now"),
                    next_attempt_at=None, finished_at=None, retries=0, rate_limit_waits=0,
                    # Retrying an unconfirmed one is a person's decision to send again
                    # where the network cannot be asked; elsewhere it is still asked first.
                    ambiguous_since=Case(None, [((Publication.status == P.UNCONFIRMED)
                                                 & Publication.network.in_(UNVERIFIABLE), None)],
                                         Publication.ambiguous_since),
                    task_id=Case(Publication.id, [(ids[i], Slot(f"task{i}")) for i in range(count)]))
            .where(Publication.id.in_(ids) & moves(PUBLICATION, transition, Publication.status)))


def _mark_publishing():
    return (Post.update(status=POST["publish"].targets[0], publish_requested_at=Slot("now"), updated_at=Slot("now"),
                        finished_at=None)
            .where((Post.id == Slot("post")) & moves(POST, "publish", Post.status)))


_MARK_PUBLISHING = Prepared(_mark_publishing)


def send(post_id, publications, messages, delay_ms=None) -> list:
    """Send the messages as one ``group().run()`` — in one Redis round trip —
    after the commit (a worker must find the rows queued), ``delay_ms`` from
    now if given. If Redis refuses, put the rows back as they were and raise
    BrokerUnavailable."""
    broker = dramatiq.get_broker()
    try:
        with getattr(broker, "batch", nullcontext)():  # one Redis round trip (worker/batching.py)
            dramatiq.group(messages.values(), broker=broker).run(delay=delay_ms or None)
    except Exception as exc:
        _unqueue(post_id, messages, {p.id: p.status for p in publications})
        raise BrokerUnavailable(f"the queue is unreachable ({exc.__class__.__name__}); "
                                f"nothing was published, try again") from exc
    return [{"publication_id": p.id, "network": p.network, "status": "enqueued",
             "task_id": messages[p.id].message_id} for p in publications]


def _unqueue(post_id, messages, previous):
    """Put publications whose message never left back as they were ("unqueue")."""
    with write_transaction():
        for pub_id, message in messages.items():
            (Publication.update(status=previous[pub_id])
             .where((Publication.id == pub_id) & moves(PUBLICATION, "unqueue", Publication.status)
                    & (Publication.task_id == message.message_id)).execute())
        roll_up(post_id)
