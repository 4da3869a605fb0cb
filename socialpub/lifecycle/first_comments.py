"""First comments: the comment posted under a publication's item once it is
out — the hashtags or the link under an Instagram, Facebook or LinkedIn post —,
as a delivery of its own.

A first comment is an outbox row (outbox.py, FirstComment) written with its
publication; it is due only once the publication is published
(delivery.record_published sets its time and sends its message after the
commit). The ``post_first_comment`` actor claims it with one conditional
UPDATE, posts it under the item with the publication's own id, and settles it
posted (with the comment's id) or failed, saying why; a transient failure is
tried again after a pause, and the reconciler re-drives a row whose message
was lost. Exactly once: a try that finds the row tried before (a worker that
died, an answer lost) first reads the item's comments and adopts the one it
made, never posting it twice.

Whether a channel can take first comments — its network posts them and its
token was granted the permission — is known when it connects (the scopes it
was granted), so the compose form says so before a post is scheduled
(intake/composing.comment_refusal); a pasted token's permissions are not known, and the network
says at send time.
"""
from __future__ import annotations

import datetime as dt
import logging

from .. import audit
from ..config import Settings
from ..db import write_transaction
from ..errors import SecretUnreadable
from ..models import Channel, FirstComment, Publication, utcnow
from ..networks import PublishError, get_adapter
from ..networks.base import Timeouts
from ..outbox import Outbox
from ..statuses import CommentStatus
from ..statuses import PublicationStatus as P
from .delivery import send_first_comment, target_of

logger = logging.getLogger(__name__)

#: The pauses before each new try of a comment that failed for a passing reason.
SCHEDULE = tuple(dt.timedelta(seconds=s) for s in (30, 120, 600, 1800, 7200))


def outbox(settings: Settings) -> Outbox:
    """The comments' outbox: a row "sending" past the publications' lease lost its worker."""
    return Outbox(FirstComment, CommentStatus.POSTED, schedule=SCHEDULE,
                  lease=dt.timedelta(seconds=settings.processing_lease_s), grace=dt.timedelta(seconds=60),
                  noun="first comments")


def add(post_id: int, comments: dict) -> None:
    """In the caller's transaction: the first comments (``{channel id: text}``) of the
    post's publications just made, pending until each is published."""
    if not comments:
        return
    publications = dict(Publication.select(Publication.channel, Publication.id)
                        .where((Publication.post == post_id) & Publication.channel.in_(list(comments))).tuples())
    FirstComment.insert_many([{"publication": publications[channel_id], "text": text,
                               "status": CommentStatus.PENDING, "touched_at": utcnow()}
                              for channel_id, text in comments.items() if channel_id in publications]).execute()


def of_post(post_id: int) -> dict:
    """``{channel id: first comment}`` of the post's publications."""
    return dict(FirstComment.select(Publication.channel, FirstComment.text).join(Publication)
                .where(Publication.post == post_id).tuples())


def of_publications(publication_ids) -> dict:
    """``{publication id: FirstComment}``, in one read."""
    return {c.publication_id: c for c in
            FirstComment.select().where(FirstComment.publication.in_(list(publication_ids) or [0]))}


def post(comment_id: int, settings: Settings) -> int | None:
    """One try of a first comment (the actor's work): the milliseconds until the
    next try, or None when it is settled — posted, failed, or not ours to try."""
    box, now = outbox(settings), utcnow()
    if not box.claim(comment_id, now):
        return None
    row = (FirstComment.select(FirstComment, Publication, Channel).join(Publication).join(Channel)
           .where(FirstComment.id == comment_id).first())
    publication, channel = row.publication, row.publication.channel
    if publication.status != P.PUBLISHED or not publication.external_id:
        box.fail(row.id, f"its post is not published on {channel.name}, so there is nothing to comment under")
        return None
    try:
        target = target_of(channel, channel.token, settings.app_secrets().get(channel.connected_via) or None,
                           settings.linkedin_api_version)
    except SecretUnreadable as exc:
        box.fail(row.id, exc.message)
        return None
    adapter = get_adapter(channel.network, Timeouts(settings.connect_timeout, settings.read_timeout))
    try:
        # Tried before: that try may have reached the network (its answer lost, its worker gone).
        made = adapter.find_comment(target, publication.external_id, row.text) if row.attempts > 1 else None
        made = made or adapter.comment(target, publication.external_id, row.text)
    except PublishError as exc:
        return _failed(box, row, publication, channel, exc.redact(target.token))
    if box.settle_sent(row.id, external_id=made, posted_at=utcnow(), last_error=None):
        with write_transaction():
            audit.record(audit.POST, publication.post_id, "first comment posted", actor=None,
                         network=channel.network, channel=channel.id, comment=made)
        logger.info("First comment %d posted on %s as %s.", row.id, channel.network, made)
    return None


def _failed(box: Outbox, row, publication, channel, error: PublishError) -> int | None:
    said = f"{channel.name} refused the first comment: {error.message}"
    if error.kind.retryable:
        delay = box.retry_later(row, said, gave_up=f"{said} — tried {row.attempts} times")
        logger.warning("First comment %d: %s; next try in %s ms.", row.id, error, delay)
        return delay
    box.fail(row.id, said)
    with write_transaction():
        audit.record(audit.POST, publication.post_id, "first comment failed", actor=None,
                     network=channel.network, channel=channel.id, detail=error.message)
    return None


def redrive(settings: Settings) -> int:
    """The reconciler's: send again the comments whose message was lost."""
    return outbox(settings).redrive(send_first_comment)
