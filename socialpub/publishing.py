"""Publishing as state changes of Publication rows.

Each change is one conditional UPDATE, so two workers, a redelivered message or
a double click can never both win: the one whose UPDATE matched a row goes on,
the other stops. The queue only delivers work; these rows are the truth.

    pending ──publish──> queued ──claim──> processing ──> published
                           ^                    │
                           └── retrying <───────┤ (transient error)
                                                └──> failed
"""
from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

import dramatiq
from peewee import Case, fn

from .composing import check_url, content_problems, get_post, raise_if_unpublishable
from .db import supports_row_locks, write_transaction
from .errors import Conflict
from .models import Attempt, Channel, ChannelState, Post, PostStatus, Publication, PubStatus, utcnow
from .networks import Content, PublishError, Published, Target

logger = logging.getLogger(__name__)

#: A retry message may arrive this early (clock skew between machines).
RETRY_EARLY_SLACK = dt.timedelta(seconds=1)


class BrokerUnavailable(Exception):
    """The messages could not be enqueued; the publications were put back to pending."""


def request_publish(post_id: int, image_url: str | None = None) -> list:
    """Queue every pending publication of a post, then enqueue one message per
    publication as a Dramatiq group. Returns ``[{"network", "status", "task_id",
    "publication_id"}]``. Raises Conflict when nothing is pending (a second
    click) and Unprocessable when the image makes the content unpublishable."""
    image_url = check_url(image_url, "image_url")
    with write_transaction():
        post = get_post(post_id)
        pending = _publications_of(post.id, [PubStatus.PENDING])
        if not pending:
            raise Conflict(f"post {post.id} is {post.status.replace('_', ' ')}: no publication is "
                           f"waiting to be published (a failed one can be retried)")
        if image_url and image_url != post.image_url:
            post.image_url = image_url
            Post.update(image_url=image_url).where(Post.id == post.id).execute()
        raise_if_unpublishable(content_problems([(p.network, p.text) for p in pending],
                                                post.image_url, post.link))
        messages = _queue(post.id, pending, [PubStatus.PENDING])
    return _enqueue(post.id, pending, messages)


def retry(post_id: int, publication_id: int | None = None) -> list:
    """Send again a post's failed, expired or unconfirmed publications (or just
    ``publication_id``). Published ones are never sent again. Raises Conflict
    when there is nothing to retry or the channel needs re-authorisation."""
    with write_transaction():
        post = get_post(post_id)
        chosen = _publications_of(post.id, PubStatus.RETRYABLE, publication_id)
        if not chosen:
            what = f"publication {publication_id}" if publication_id else f"post {post.id}"
            raise Conflict(f"{what}: nothing to retry (only failed, expired or unconfirmed "
                           f"publications are sent again)")
        blocked = [p for p in chosen if p.channel.state == ChannelState.NEEDS_REAUTH]
        if blocked:
            raise Conflict(f"channel {blocked[0].channel.name!r} ({blocked[0].network}) needs "
                           f"re-authorisation: update its token first", field="channel")
        messages = _queue(post.id, chosen, PubStatus.RETRYABLE)
    return _enqueue(post.id, chosen, messages)


def _publications_of(post_id, statuses, publication_id=None) -> list:
    query = (Publication.select(Publication, Channel).join(Channel)
             .where((Publication.post == post_id) & Publication.status.in_(list(statuses))))
    if publication_id is not None:
        query = query.where(Publication.id == publication_id)
    return list(query.order_by(Publication.id))


def _queue(post_id, publications, from_statuses) -> dict:
    """Mark publications queued with their future message ids; inside the
    caller's transaction, so they are queued only if it commits."""
    from .actors import publish  # the broker must be set up before actors are imported

    now = utcnow()
    messages = {p.id: publish.message(p.id) for p in publications}
    queued = (Publication
              .update(status=PubStatus.QUEUED, enqueued_at=now, updated_at=now, next_attempt_at=None,
                      finished_at=None,
                      task_id=Case(Publication.id, [(i, m.message_id) for i, m in messages.items()]))
              .where(Publication.id.in_(list(messages)) & Publication.status.in_(list(from_statuses)))
              .execute())
    if queued != len(messages):
        # Another request queued some of them between our read and our write.
        raise Conflict(f"post {post_id} is already being published")
    (Post.update(status=PostStatus.PUBLISHING, publish_requested_at=now, updated_at=now,
                 finished_at=None)
     .where(Post.id == post_id).execute())
    return messages


def _enqueue(post_id, publications, messages) -> list:
    """Send the messages as one group, after the commit (a worker must find
    the rows queued). If Redis refuses, put the rows back as they were."""
    try:
        dramatiq.group(messages.values()).run()
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


@dataclass(frozen=True)
class Job:
    """A claimed publication: everything the actor needs for one network call."""

    publication_id: int
    post_id: int
    network: str
    attempt: int
    target: Target
    content: Content


def claim(publication_id: int) -> Job | None:
    """Take a publication for this worker, or return None if it is not ours to
    take (already published or failed, being worked on, or a retry not yet due)."""
    now = utcnow()
    claimable = ((Publication.status == PubStatus.QUEUED)
                 | ((Publication.status == PubStatus.RETRYING)
                    & (Publication.next_attempt_at <= now + RETRY_EARLY_SLACK)))
    taken = (Publication
             .update(status=PubStatus.PROCESSING, attempts=Publication.attempts + 1,
                     started_at=now, updated_at=now, next_attempt_at=None)
             .where((Publication.id == publication_id) & claimable)
             .execute())
    if not taken:
        return None
    pub = (Publication.select(Publication, Channel, Post).join_from(Publication, Channel)
           .join_from(Publication, Post).where(Publication.id == publication_id).get())
    channel, post = pub.channel, pub.post
    return Job(
        publication_id=pub.id, post_id=post.id, network=pub.network, attempt=pub.attempts,
        target=Target(network=channel.network, account_id=channel.account_id, token=channel.token,
                      base_url=channel.base_url, recipients=tuple(channel.recipients or ()),
                      api_version=channel.api_version),
        content=Content(text=pub.text, image_url=post.image_url, link=post.link),
    )


def _attempt(job: Job, started, outcome, error: PublishError | None = None):
    Attempt.insert(publication=job.publication_id, number=job.attempt, started_at=started,
                   finished_at=utcnow(), outcome=outcome,
                   error_code=error_code(error) if error else None,
                   error=error.message if error else None).execute()


def error_code(error: PublishError) -> str | None:
    if error.code and error.subcode:
        return f"{error.code}/{error.subcode}"
    return error.code


def record_published(job: Job, receipt: Published, started):
    """The network accepted the item: store its id, the attempt and the post's roll-up."""
    now = utcnow()
    with write_transaction():
        (Publication.update(status=PubStatus.PUBLISHED, external_id=receipt.external_id,
                            external_url=receipt.url, published_at=now, finished_at=now,
                            updated_at=now, last_error=None, last_error_code=None)
         # Even if our claim was lost meanwhile, the item exists: record it.
         .where((Publication.id == job.publication_id) & (Publication.status != PubStatus.PUBLISHED))
         .execute())
        _attempt(job, started, "published")
        roll_up(job.post_id)


def record_retry(job: Job, error: PublishError, started, next_attempt_at):
    """A transient failure: say when the next try is due."""
    now = utcnow()
    with write_transaction():
        (Publication.update(status=PubStatus.RETRYING, last_error=error.message,
                            last_error_code=error_code(error), next_attempt_at=next_attempt_at,
                            updated_at=now)
         .where((Publication.id == job.publication_id) & (Publication.status == PubStatus.PROCESSING))
         .execute())
        _attempt(job, started, "retrying", error)


def record_failed(job: Job, error: PublishError, started):
    """A final failure, in the network's own words."""
    now = utcnow()
    with write_transaction():
        (Publication.update(status=PubStatus.FAILED, last_error=error.message,
                            last_error_code=error_code(error), finished_at=now, updated_at=now,
                            next_attempt_at=None)
         .where((Publication.id == job.publication_id) & (Publication.status == PubStatus.PROCESSING))
         .execute())
        _attempt(job, started, "failed", error)
        roll_up(job.post_id)


def post_status(counts: dict) -> str:
    """The post's status from its publications' status counts."""
    total = sum(counts.values())
    published = counts.get(PubStatus.PUBLISHED, 0)
    finished = sum(counts.get(s, 0) for s in PubStatus.FINAL)
    if total == 0 or counts.get(PubStatus.PENDING, 0) == total:
        return PostStatus.DRAFT
    if finished < total:
        return PostStatus.PUBLISHING
    if published == total:
        return PostStatus.PUBLISHED
    if published == 0 and not counts.get(PubStatus.UNCONFIRMED):
        return PostStatus.FAILED
    return PostStatus.PARTIAL


def roll_up(post_id: int):
    """Recompute the post's status; call inside the transaction that changed a
    publication. The post row is locked first so that two workers finishing at
    once are serialised and the last one sees both outcomes."""
    if supports_row_locks():
        list(Post.select(Post.id).where(Post.id == post_id).for_update())
    counts = dict(Publication.select(Publication.status, fn.COUNT(Publication.id))
                  .where(Publication.post == post_id).group_by(Publication.status).tuples())
    status = post_status(counts)
    final = status in PostStatus.FINAL
    now = utcnow()
    (Post.update(status=status, updated_at=now, finished_at=now if final else None)
     .where((Post.id == post_id) & (Post.status != status)).execute())
