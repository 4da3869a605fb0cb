"""The worker's side of a publication: claim it, then record how the attempt
went — published, retrying, failed, expired or unconfirmed — together with the
attempt row and the post's roll-up, in one transaction each.

The claim is one conditional UPDATE: a redelivered or duplicated message, or a
second worker, finds nothing to claim and stops.
"""
from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from peewee import Case, fn

from .db import supports_row_locks, write_transaction
from .errors import SecretUnreadable
from .models import Attempt, Channel, ChannelState, Post, PostStatus, Publication, PubStatus, utcnow
from .networks import Content, ErrorKind, PublishError, Published, Target

logger = logging.getLogger(__name__)

#: A retry message may arrive this early (clock skew between machines).
RETRY_EARLY_SLACK = dt.timedelta(seconds=1)


@dataclass(frozen=True)
class Job:
    """A claimed publication: everything the actor needs for one network call."""

    publication_id: int
    post_id: int
    channel_id: int
    network: str
    attempt: int
    target: Target
    content: Content
    #: Budgets already spent (see Publication.retries / rate_limit_waits).
    retries: int = 0
    rate_limit_waits: int = 0
    #: Set when an earlier attempt may have reached the network.
    ambiguous_since: dt.datetime | None = None
    container_id: str | None = None


@dataclass(frozen=True)
class Limits:
    """How long a publication may wait and work (from settings)."""

    max_age: dt.timedelta
    lease: dt.timedelta


def claim(publication_id: int, limits: Limits) -> Job | None:
    """Take a publication for this worker, or return None if it is not ours to
    take: already finished, being worked on, a retry not yet due — or, settled
    here without calling the network, too old or on a channel that needs
    re-authorisation (or, once claimed, whose token no configured key decrypts).

    A publication left "processing" longer than the lease lost its worker; it
    is claimed again, marked ambiguous from that attempt's start, so that the
    network is asked before anything is sent twice."""
    now = utcnow()
    blocked_channels = Channel.select(Channel.id).where(Channel.state == ChannelState.NEEDS_REAUTH)
    orphaned = Publication.status == PubStatus.PROCESSING
    taken = (Publication
             .update(status=PubStatus.PROCESSING, attempts=Publication.attempts + 1,
                     started_at=now, updated_at=now, next_attempt_at=None,
                     # SET expressions read the row as it was: the lost attempt's start.
                     ambiguous_since=Case(None, [(orphaned, fn.COALESCE(Publication.ambiguous_since,
                                                                         Publication.started_at))],
                                          Publication.ambiguous_since))
             .where((Publication.id == publication_id) & _claimable(now, limits.lease)
                    & (Publication.enqueued_at >= now - limits.max_age)
                    & Publication.channel.not_in(blocked_channels))
             .execute())
    if not taken:
        _settle_unclaimable(publication_id, now, limits)
        return None
    pub = (Publication.select(Publication, Channel, Post).join_from(Publication, Channel)
           .join_from(Publication, Post).where(Publication.id == publication_id).get())
    try:
        return _job(pub, pub.channel.token)
    except SecretUnreadable as exc:
        # No configured key opens the token: nothing can be sent until a person
        # restores the key or enters the token again, then retries.
        logger.error("Publication %d failed: %s", publication_id, exc.message)
        record_final(_job(pub, token=""), PubStatus.FAILED,
                     PublishError(pub.network, exc.message, kind=ErrorKind.PERMANENT, code=exc.code), now)
        return None


def _job(pub: Publication, token: str) -> Job:
    channel, post = pub.channel, pub.post
    return Job(
        publication_id=pub.id, post_id=post.id, channel_id=channel.id, network=pub.network,
        attempt=pub.attempts,
        target=Target(network=channel.network, account_id=channel.account_id, token=token,
                      base_url=channel.base_url, recipients=tuple(channel.recipients or ()),
                      api_version=channel.api_version),
        content=Content(text=pub.text, image_url=post.image_url, link=post.link),
        retries=pub.retries, rate_limit_waits=pub.rate_limit_waits,
        ambiguous_since=pub.ambiguous_since, container_id=pub.container_id,
    )


def _claimable(now, lease):
    return ((Publication.status == PubStatus.QUEUED)
            | ((Publication.status == PubStatus.RETRYING)
               & (Publication.next_attempt_at <= now + RETRY_EARLY_SLACK))
            | ((Publication.status == PubStatus.PROCESSING) & (Publication.started_at < now - lease)))


def _settle_unclaimable(publication_id, now, limits):
    """The rare paths of a failed claim: expire what is too old, fail what
    goes to a channel whose token the network refused."""
    max_age, claimable = limits.max_age, _claimable(now, limits.lease)
    hours = max_age.total_seconds() / 3600
    with write_transaction():
        expired = (Publication
                   .update(status=PubStatus.EXPIRED, finished_at=now, updated_at=now,
                           next_attempt_at=None,
                           last_error=f"not published within {hours:g} h of being queued; "
                                      f"retry it if it should still go out")
                   .where((Publication.id == publication_id) & claimable
                          & (Publication.enqueued_at < now - max_age))
                   .execute())
        blocked = 0
        if not expired:
            row = (Publication.select(Publication.post, Channel.name, Channel.state_reason)
                   .join(Channel).where((Publication.id == publication_id) & claimable
                                        & (Channel.state == ChannelState.NEEDS_REAUTH))
                   .tuples().first())
            if row:
                blocked = (Publication
                           .update(status=PubStatus.FAILED, finished_at=now, updated_at=now,
                                   next_attempt_at=None,
                                   last_error=f"channel {row[1]!r} needs re-authorisation "
                                              f"({row[2]}); update its token, then retry")
                           .where((Publication.id == publication_id) & claimable).execute())
        if expired or blocked:
            roll_up(Publication.get_by_id(publication_id).post_id)


def save_container(job: Job, container_id: str):
    """Keep Instagram's container id before publishing it: if the answer to
    media_publish is lost, the container says whether it went out."""
    (Publication.update(container_id=container_id)
     .where(Publication.id == job.publication_id).execute())


def _attempt(job: Job, started, outcome, error: PublishError | None = None, message=None):
    Attempt.insert(publication=job.publication_id, number=job.attempt, started_at=started,
                   finished_at=utcnow(), outcome=outcome,
                   error_code=error_code(error) if error else None,
                   error=message or (error.message if error else None)).execute()


def error_code(error: PublishError) -> str | None:
    if error.code and error.subcode:
        return f"{error.code}/{error.subcode}"
    return error.code


def record_published(job: Job, receipt: Published, started, outcome="published"):
    """The network has the item: store its id, the attempt and the post's roll-up.
    ``outcome`` is "adopted" when an earlier attempt turned out to have published it."""
    now = utcnow()
    with write_transaction():
        (Publication.update(status=PubStatus.PUBLISHED, external_id=receipt.external_id,
                            external_url=receipt.url, published_at=now, finished_at=now,
                            updated_at=now, last_error=None, last_error_code=None,
                            ambiguous_since=None)
         # Even if our claim was lost meanwhile, the item exists: record it.
         .where((Publication.id == job.publication_id) & (Publication.status != PubStatus.PUBLISHED))
         .execute())
        Channel.update(last_published_at=now).where(Channel.id == job.channel_id).execute()
        _attempt(job, started, outcome)
        roll_up(job.post_id)


def record_retry(job: Job, error: PublishError, started, next_attempt_at):
    """A transient failure or a rate limit: say when the next try is due, and
    remember if this attempt may have reached the network."""
    now = utcnow()
    budget = ({"rate_limit_waits": job.rate_limit_waits + 1} if error.kind is ErrorKind.RATE_LIMITED
              else {"retries": job.retries + 1})
    ambiguous_since = job.ambiguous_since or (started if error.ambiguous else None)
    with write_transaction():
        (Publication.update(status=PubStatus.RETRYING, last_error=error.message,
                            last_error_code=error_code(error), next_attempt_at=next_attempt_at,
                            ambiguous_since=ambiguous_since, updated_at=now, **budget)
         .where((Publication.id == job.publication_id) & (Publication.status == PubStatus.PROCESSING))
         .execute())
        _attempt(job, started, "retrying", error)


def record_final(job: Job, status: str, error: PublishError, started, message=None):
    """A final failure (failed, expired or unconfirmed), in the network's own
    words unless ``message`` says more."""
    now = utcnow()
    text = message or error.message
    with write_transaction():
        (Publication.update(status=status, last_error=text, last_error_code=error_code(error),
                            finished_at=now, updated_at=now, next_attempt_at=None)
         .where((Publication.id == job.publication_id) & (Publication.status == PubStatus.PROCESSING))
         .execute())
        if error.kind is ErrorKind.AUTH:
            # Fail the channel's next publications fast, until a person updates the token.
            (Channel.update(state=ChannelState.NEEDS_REAUTH, state_reason=error.message, updated_at=now)
             .where(Channel.id == job.channel_id).execute())
        _attempt(job, started, status, error, text)
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


def expire(publication_id: int, reason: str, max_age: dt.timedelta):
    """Dramatiq dropped the message as too old: say so, if the row is too old
    too (a person may have re-queued it since, with a fresh message)."""
    now = utcnow()
    with write_transaction():
        expired = (Publication
                   .update(status=PubStatus.EXPIRED, last_error=reason, finished_at=now, updated_at=now,
                           next_attempt_at=None)
                   .where((Publication.id == publication_id)
                          & Publication.status.in_([PubStatus.QUEUED, PubStatus.RETRYING])
                          & (Publication.enqueued_at < now - max_age))
                   .execute())
        if expired:
            roll_up(Publication.get_by_id(publication_id).post_id)
    return bool(expired)
