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

import dramatiq
from peewee import Case, fn

from .. import audit, outcomes
from ..db import Prepared, Slot, after_commit, row_to, supports_row_locks, write_transaction
from ..errors import SecretUnreadable
from ..models import Attempt, Channel, ChannelState, FirstComment, Post, Publication, utcnow
from ..networks import Content, ErrorKind, Published, PublishError, Target
from ..statuses import PUBLICATION
from ..statuses import PublicationStatus as P
from ..statuses import moves
from ..webhooks import events
from ..whatsapp import ledger
from .rollup import roll_up

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
    #: What earlier attempts uploaded (Publication.uploads).
    uploads: dict | None = None
    #: How the post's video goes to this channel (Publication.video_kind); None without a video.
    video_kind: str | None = None
    #: The channel's own spacing and its quotas as last read (pacing.py; Channel's columns of these names).
    min_gap_s: int | None = None
    max_per_hour: int | None = None
    quota_readings: dict | None = None
    #: How the post's link is published (Post.link_tracking; campaigns/links.py); None: as typed.
    link_tracking: dict | None = None

    @property
    def resume(self) -> dict | None:
        """What an adapter resumes from: the container and the uploads already made."""
        state = {k: v for k, v in (("container_id", self.container_id), ("uploads", self.uploads)) if v}
        return state or None


@dataclass(frozen=True)
class Deadlines:
    """How long a publication may wait and work (from settings)."""

    max_age: dt.timedelta
    lease: dt.timedelta


def claim(publication_id: int, deadlines: Deadlines, app_secrets: dict | None = None,
          linkedin_version: str | None = None) -> Job | None:
    """Take a publication for this worker, or return None if it is not ours to
    take: already finished, being worked on, a retry not yet due — or, settled
    here without calling the network, too old or on a channel that needs
    re-authorisation (or, once claimed, whose token no configured key decrypts).

    A publication left "processing" longer than the lease lost its worker; it
    is claimed again, marked ambiguous from that attempt's start, so that the
    network is asked before anything is sent twice.

    ``app_secrets`` (Settings.app_secrets) signs the Graph calls of a channel
    connected through one of this app's Meta apps; ``linkedin_version``
    (Settings.linkedin_api_version) is the version of a LinkedIn channel that names none."""
    now = utcnow()
    row = _claim_row(id=publication_id, now=now, due=now + RETRY_EARLY_SLACK,
                     lease_start=now - deadlines.lease, oldest=now - deadlines.max_age)
    if row is None:
        _settle_unclaimable(publication_id, now, deadlines)
        return None
    pub = row_to(Publication, _CLAIMED[0], row)
    pub.channel = row_to(Channel, _CLAIMED[1], row[len(_CLAIMED[0]):])
    pub.post = row_to(Post, _CLAIMED[2], row[len(_CLAIMED[0]) + len(_CLAIMED[1]):])
    secret = (app_secrets or {}).get(pub.channel.connected_via) or None
    try:
        return job_of(pub, pub.channel.token, secret, linkedin_version)
    except SecretUnreadable as exc:
        # No configured key opens the token: nothing can be sent until a person
        # restores the key or enters the token again, then retries.
        logger.error("Publication %d failed: %s", publication_id, exc.message)
        record_final(job_of(pub, token=""), P.FAILED,
                     PublishError(pub.network, exc.message, kind=ErrorKind.PERMANENT, code=exc.code), now)
        return None


def target_of(channel: Channel, token: str, app_secret: str | None = None,
              linkedin_version: str | None = None) -> Target:
    """Where and as whom a channel's calls go: its account, its token (decrypted), its address."""
    return Target(network=channel.network, account_id=channel.account_id, token=token,
                  base_url=channel.base_url, recipients=tuple(channel.recipients or ()),
                  api_version=channel.api_version or linkedin_version, app_secret=app_secret)


def job_of(pub: Publication, token: str, app_secret: str | None = None, linkedin_version: str | None = None) -> Job:
    """The Job of ``pub`` (its ``channel`` and ``post`` loaded), as its claim makes it."""
    channel, post = pub.channel, pub.post
    return Job(
        publication_id=pub.id, post_id=post.id, channel_id=channel.id, network=pub.network,
        attempt=pub.attempts,
        target=target_of(channel, token, app_secret, linkedin_version),
        content=Content(text=pub.text, image_url=post.image_url, link=post.link),
        retries=pub.retries, rate_limit_waits=pub.rate_limit_waits,
        ambiguous_since=pub.ambiguous_since, container_id=pub.container_id, uploads=pub.uploads,
        video_kind=pub.video_kind, min_gap_s=channel.min_gap_s, max_per_hour=channel.max_per_hour,
        quota_readings=channel.quota_readings, link_tracking=post.link_tracking,
    )


def claimable(due, lease_start):
    """What a worker may take (and what the reconciler takes for lost when no
    worker did): queued (and, waiting for its place, due by ``due``); retrying
    and due by ``due``; or processing since before ``lease_start``.
    Never a publication whose post is scheduled after ``due``: its messages
    wait in the delay queue, and a stray one (a re-drive) must not send it early."""
    ready = {P.QUEUED: Publication.next_attempt_at.is_null() | (Publication.next_attempt_at <= due),
             P.RETRYING: Publication.next_attempt_at <= due,
             P.PROCESSING: Publication.started_at < lease_start}
    taken = None
    for source in PUBLICATION["claim"].sources:
        term = Publication.status == source
        term = term if ready[source] is None else term & ready[source]
        taken = term if taken is None else taken | term
    scheduled_later = Post.select(Post.id).where(Post.scheduled_at > due)
    return taken & Publication.post.not_in(scheduled_later)


def _ambiguity_kept():
    """``ambiguous_since`` for an UPDATE of a row that may still be "processing":
    such a row lost its worker mid-attempt, and that attempt may have reached
    the network, so it becomes ambiguous from that attempt's start (SET
    expressions read the row as it was). Every settle of such a row keeps it,
    so that a later retry asks the network before sending again."""
    return Case(None, [(Publication.status == P.PROCESSING,
                        fn.COALESCE(Publication.ambiguous_since, Publication.started_at))],
                Publication.ambiguous_since)


#: What a claim returns: the publication's, its channel's and its post's columns that a Job needs.
_CLAIMED = (
    (Publication.id, Publication.post, Publication.channel, Publication.network, Publication.text,
     Publication.attempts, Publication.retries, Publication.rate_limit_waits,
     Publication.ambiguous_since, Publication.container_id, Publication.uploads, Publication.video_kind),
    (Channel.id, Channel.name, Channel.network, Channel.account_id, Channel.token, Channel.base_url,
     Channel.recipients, Channel.api_version, Channel.connected_via, Channel.min_gap_s, Channel.max_per_hour,
     Channel.quota_readings),
    (Post.id, Post.image_url, Post.link, Post.link_tracking),
)


def _claim_statement(joined: bool):
    """The claim: one conditional UPDATE that returns the publication's columns
    and, ``joined`` (PostgreSQL's UPDATE … FROM), its channel's and post's too."""
    update = (Publication
              .update(status=P.PROCESSING, attempts=Publication.attempts + 1,
                      started_at=Slot("now"), updated_at=Slot("now"), next_attempt_at=None,
                      ambiguous_since=_ambiguity_kept()))
    ours_to_take = ((Publication.id == Slot("id")) & claimable(Slot("due"), Slot("lease_start"))
                    & (Publication.enqueued_at >= Slot("oldest")))
    if not joined:
        blocked = Channel.select(Channel.id).where(Channel.state == ChannelState.NEEDS_REAUTH)
        return update.where(ours_to_take & Publication.channel.not_in(blocked)).returning(*_CLAIMED[0])
    return (update.from_(Channel, Post)
            .where(ours_to_take & (Channel.id == Publication.channel) & (Post.id == Publication.post)
                   & (Channel.state != ChannelState.NEEDS_REAUTH))
            .returning(*(f for fields in _CLAIMED for f in fields)))


_CLAIM = Prepared(lambda: _claim_statement(joined=True))
#: SQLite's RETURNING cannot name the tables of UPDATE … FROM: the claim, then a read.
_CLAIM_ALONE = Prepared(lambda: _claim_statement(joined=False))
_CHANNEL_AND_POST = Prepared(lambda: (
    Channel.select(*_CLAIMED[1], *_CLAIMED[2]).join(Post, on=(Post.id == Slot("post")))
    .where(Channel.id == Slot("channel"))))


def _claim_row(**values):
    """The claimed row, the columns of _CLAIMED in order; None when not claimed."""
    if supports_row_locks():  # PostgreSQL
        return _CLAIM.execute(**values).fetchone()
    row = _CLAIM_ALONE.execute(**values).fetchone()
    if row is None:
        return None
    post, channel = row[1], row[2]
    return row + _CHANNEL_AND_POST.execute(channel=channel, post=post).fetchone()


def _settle_unclaimable(publication_id, now, deadlines):
    """The rare paths of a failed claim: expire what is too old, fail what
    goes to a channel whose token the network refused. A row still
    "processing" lost its worker mid-attempt: it stays ambiguous (see
    _ambiguity_kept) and the message says it may have been delivered."""
    max_age, takeable = deadlines.max_age, claimable(now + RETRY_EARLY_SLACK, now - deadlines.lease)
    hours = max_age.total_seconds() / 3600
    too_old = f"not published within {hours:g} h of being queued"
    with write_transaction():
        expired = (Publication
                   .update(status=P.EXPIRED, finished_at=now, updated_at=now,
                           next_attempt_at=None, ambiguous_since=_ambiguity_kept(),
                           last_error=_lost_or(f"{too_old}; its last attempt was cut short",
                                               f"{too_old}; retry it if it should still go out"))
                   .where((Publication.id == publication_id) & takeable
                          & (Publication.enqueued_at < now - max_age))
                   .execute())
        blocked = 0
        if not expired:
            row = (Publication.select(Publication.post, Channel.name, Channel.state_reason)
                   .join(Channel).where((Publication.id == publication_id) & takeable
                                        & (Channel.state == ChannelState.NEEDS_REAUTH))
                   .tuples().first())
            if row:
                reason = f"channel {row[1]!r} needs re-authorisation ({row[2]})"
                blocked = (Publication
                           .update(status=P.FAILED, finished_at=now, updated_at=now,
                                   next_attempt_at=None, ambiguous_since=_ambiguity_kept(),
                                   last_error=_lost_or(f"{reason}; its last attempt was cut short",
                                                       f"{reason}; update its token, then retry"))
                           .where((Publication.id == publication_id) & takeable).execute())
        if expired or blocked:
            outcomes.tell(events.PUBLICATION_FAILED, publication_id)
            roll_up(Publication.get_by_id(publication_id).post_id)


def _lost_or(lost: str, otherwise: str):
    """``last_error`` for a settle: ``lost`` (said to have maybe been delivered)
    if the row was still "processing", else ``otherwise``."""
    return Case(None, [(Publication.status == P.PROCESSING,
                        f"{lost} and may have been delivered: check before retrying")], otherwise)


def _fence(publication_id, attempt):
    """The fence of every write an attempt makes: the row is still "processing"
    under this attempt's claim. An attempt that outlived its lease (a stalled
    worker, a paused machine) and was claimed again by another loses it."""
    return ((Publication.id == publication_id) & moves(PUBLICATION, "record published", Publication.status)
            & (Publication.attempts == attempt))


def save_checkpoint(job: Job, state: dict):
    """Keep what an attempt made before the post itself: Instagram's container id
    (if the answer to media_publish is lost, the container says whether it went
    out) and the uploads (``state["uploads"]``, all of them so far), which the
    next attempt reuses instead of uploading again."""
    changes = {name: state[name] for name in ("container_id", "uploads") if name in state}
    if changes:
        Publication.update(**changes).where(_fence(job.publication_id, job.attempt)).execute()


def held_elsewhere(job: Job, external_ids) -> set:
    """Of ``external_ids``, those that another publication to the same network
    already holds: an item found while checking an ambiguous attempt is never
    adopted by a second publication."""
    return {eid for (eid,) in Publication.select(Publication.external_id).where(
        # The same condition as the partial index's, which SQLite needs to use it.
        (Publication.network == job.network) & (Publication.network != "whatsapp")
        & Publication.external_id.in_(list(external_ids)) & (Publication.id != job.publication_id)).tuples()}


def contested(job: Job, since: dt.datetime) -> bool:
    """Whether another publication of the same text to the same channel may
    have made an item since ``since`` that it has not recorded (it is being
    sent, or an attempt of it was ambiguous): an item found by its text alone
    could then be that one's."""
    return (Publication.select(Publication.id)
            .where((Publication.channel == job.channel_id) & (Publication.id != job.publication_id)
                   & (Publication.text == job.content.text) & Publication.external_id.is_null()
                   & ((Publication.status == P.PROCESSING)
                      | ((Publication.ambiguous_since.is_null(False)) & (Publication.updated_at >= since))))
            .exists())


def _superseded(job: Job, started, what: str):
    """An outcome that lost the fence (see _fence): kept as an attempt row and
    logged, never applied — the attempt that claimed the row since decides.
    A second write of an outcome already recorded (persist() repeating a
    write that committed) finds its attempt row and does nothing."""
    if Attempt.select().where((Attempt.publication == job.publication_id)
                              & (Attempt.number == job.attempt)).exists():
        return
    logger.warning("Publication %d: attempt %d answered after losing its claim (%s); not applied.",
                   job.publication_id, job.attempt, what)
    _attempt(job, started, "superseded",
             message=f"answered after this attempt had lost its claim to a later one; not applied: {what}")


def _attempt(job: Job, started, outcome, error: PublishError | None = None, message=None):
    _INSERT_ATTEMPT.execute(publication=job.publication_id, number=job.attempt, started_at=started,
                            finished_at=utcnow(), outcome=outcome,
                            error_code=error.error_code if error else None,
                            error=message or (error.message if error else None))


_INSERT_ATTEMPT = Prepared(lambda: Attempt.insert(
    {f: Slot(f.name) for f in (Attempt.publication, Attempt.number, Attempt.started_at,
                               Attempt.finished_at, Attempt.outcome, Attempt.error_code, Attempt.error)}))


def record_published(job: Job, receipt: Published, started, outcome="published"):
    """The network has the item: store its id, the attempt and the post's roll-up.
    ``outcome`` is "adopted" when an earlier attempt turned out to have published it."""
    now = utcnow()
    with write_transaction():
        if not _PUBLISHED.execute(id=job.publication_id, attempt=job.attempt,
                                  external_id=receipt.external_id, url=receipt.url, now=now).rowcount:
            return _superseded(job, started, f"{outcome} as {receipt.external_id}")
        _CHANNEL_PUBLISHED.execute(id=job.channel_id, now=now, stale=now - CHANNEL_LAST_PUBLISHED_STEP)
        _attempt(job, started, outcome)
        audit.record(audit.POST, job.post_id, "published", network=job.network, channel=job.channel_id,
                     url=receipt.url, adopted=outcome == "adopted")
        outcomes.tell(events.PUBLICATION_PUBLISHED, job.publication_id)
        roll_up(job.post_id)
        comment = _COMMENT_DUE.execute(publication=job.publication_id, now=now).fetchone()
        if comment:
            after_commit(lambda: send_first_comment(comment[0]))


def send_first_comment(comment_id: int) -> None:
    """The message of a first comment that is due (first_comments.py; the actor is looked up by name)."""
    dramatiq.get_broker().get_actor("post_first_comment").send(comment_id)


#: A channel's last_published_at moves only when it is older than this: the
#: channel row is not locked by every publication (they would queue behind
#: each other's commits), and "last success" is shown to the second anyway.
CHANNEL_LAST_PUBLISHED_STEP = dt.timedelta(seconds=1)

_PUBLISHED = Prepared(lambda: (
    Publication.update(status=P.PUBLISHED, external_id=Slot("external_id"),
                       external_url=Slot("url"), published_at=Slot("now"), finished_at=Slot("now"),
                       updated_at=Slot("now"), last_error=None, last_error_code=None,
                       ambiguous_since=None)
    .where(_fence(Slot("id"), Slot("attempt")))))
#: The publication's first comment, if it has one, is due now that its item is out (first_comments.py).
_COMMENT_DUE = Prepared(lambda: (
    FirstComment.update(next_attempt_at=Slot("now"), touched_at=Slot("now"))
    .where((FirstComment.publication == Slot("publication")) & FirstComment.next_attempt_at.is_null())
    .returning(FirstComment.id)))
_CHANNEL_PUBLISHED = Prepared(lambda: (
    Channel.update(last_published_at=Slot("now"))
    .where((Channel.id == Slot("id"))
           & (Channel.last_published_at.is_null() | (Channel.last_published_at < Slot("stale"))))))


def record_retry(job: Job, error: PublishError, started, next_attempt_at):
    """A transient failure or a rate limit: say when the next try is due, and
    remember if this attempt may have reached the network."""
    now = utcnow()
    budget = ({"rate_limit_waits": job.rate_limit_waits + 1} if error.kind is ErrorKind.RATE_LIMITED
              else {"retries": job.retries + 1})
    ambiguous_since = job.ambiguous_since or (started if error.ambiguous else None)
    with write_transaction():
        if not (Publication.update(status=P.RETRYING, last_error=error.message,
                                   last_error_code=error.error_code, next_attempt_at=next_attempt_at,
                                   ambiguous_since=ambiguous_since, updated_at=now, **budget)
                .where(_fence(job.publication_id, job.attempt)).execute()):
            return _superseded(job, started, f"retrying after {error}")
        _attempt(job, started, "retrying", error)


def record_final(job: Job, status: str, error: PublishError, started, message=None):
    """A final failure (failed, expired or unconfirmed), in the network's own
    words unless ``message`` says more."""
    now = utcnow()
    text = message or error.message
    with write_transaction():
        if not (Publication.update(status=status, last_error=text, last_error_code=error.error_code,
                                   finished_at=now, updated_at=now, next_attempt_at=None)
                .where(_fence(job.publication_id, job.attempt)).execute()):
            return _superseded(job, started, f"{status}: {text}")
        if error.kind is ErrorKind.AUTH:
            # Fail the channel's next publications fast, until a person updates the token.
            if (Channel.update(state=ChannelState.NEEDS_REAUTH, state_reason=error.message, updated_at=now)
                    .where((Channel.id == job.channel_id) & (Channel.state != ChannelState.NEEDS_REAUTH))
                    .execute()):
                audit.record(audit.CHANNEL, job.channel_id, "needs re-authorisation", reason=error.message)
                outcomes.tell(events.CHANNEL_NEEDS_REAUTH, job.channel_id)
        _attempt(job, started, status, error, text)
        audit.record(audit.POST, job.post_id, status, network=job.network, channel=job.channel_id, error=text)
        outcomes.tell(events.FOR_PUBLICATION[status], job.publication_id)
        roll_up(job.post_id)


def expire(publication_id: int, reason: str, max_age: dt.timedelta):
    """Dramatiq dropped the message as too old: say so, if the row is too old
    too (a person may have re-queued it since, with a fresh message)."""
    now = utcnow()
    with write_transaction():
        expired = (Publication
                   .update(status=P.EXPIRED, last_error=reason, finished_at=now, updated_at=now,
                           next_attempt_at=None)
                   .where((Publication.id == publication_id)
                          & moves(PUBLICATION, "expire message", Publication.status)
                          & (Publication.enqueued_at < now - max_age))
                   .execute())
        if expired:
            publication = Publication.get_by_id(publication_id)
            audit.record(audit.POST, publication.post_id, P.EXPIRED, network=publication.network,
                         channel=publication.channel_id, error=reason)
            outcomes.tell(events.PUBLICATION_FAILED, publication_id)
            roll_up(publication.post_id)
    return bool(expired)


def record_place_wait(job: Job, until: dt.datetime, reason: str) -> bool:
    """The publication waits for its place in its channel's spacing or quotas
    (pacing.py) until ``until``: queued again and due then, ``reason`` said on
    its page. No network call was made, so the claim is undone (it is no
    attempt, and a cancel still takes the post back); the maximum age counts
    from ``until``, a wait socialpub chose."""
    return bool(Publication.update(status=PUBLICATION["wait for its place"].targets[0],
                                   attempts=Publication.attempts - 1, last_error=reason, last_error_code=None,
                                   next_attempt_at=until, enqueued_at=until, started_at=None, updated_at=utcnow())
                .where(_fence(job.publication_id, job.attempt)).execute())


def record_waiting(job: Job, started, until: dt.datetime, message: str):
    """WhatsApp: some recipients wait — for a limit, or for Meta's status of a
    send whose answer was lost — until ``until``. No retry budget is spent,
    and the wait's end counts as a fresh queueing for the maximum age
    (PUBLISH_MAX_AGE_S): a wait of hours for the messaging limit is not "late"."""
    now = utcnow()
    with write_transaction():
        if not (Publication.update(status=P.RETRYING, last_error=message, last_error_code=None,
                                   next_attempt_at=until, enqueued_at=until, updated_at=now)
                .where(_fence(job.publication_id, job.attempt)).execute()):
            return _superseded(job, started, f"waiting: {message}")
        _attempt(job, started, "retrying", message=message)


def confirm(publication_id: int, status: str, message: str, external_id: str | None = None,
            url: str | None = None, by: str = "Meta's status webhook") -> bool:
    """An unconfirmed publication settled without sending again: Meta's status webhook named
    every WhatsApp message that was in doubt, or the network showed the item (read_back.py,
    ``by``); it ends ``status`` (published, partly_failed or failed)."""
    now = utcnow()
    with write_transaction():
        published = {"published_at": now, "external_id": external_id} if status == P.PUBLISHED else {}
        if url:
            published.update(external_url=url, confirmed_at=now)
        if not (Publication.update(status=status, last_error=None if status == P.PUBLISHED else message,
                                   updated_at=now, finished_at=now, ambiguous_since=None, **published)
                .where((Publication.id == publication_id) & moves(PUBLICATION, "confirm", Publication.status))
                .execute()):
            return False
        publication = Publication.get_by_id(publication_id)
        audit.record(audit.POST, publication.post_id, status, network=publication.network,
                     channel=publication.channel_id, confirmed_by=by, detail=message)
        outcomes.tell(events.FOR_PUBLICATION[status], publication_id)
        roll_up(publication.post_id)
    return True


def wake(publication_id: int) -> bool:
    """A waiting publication is due now (the statuses it waited for came)."""
    return bool(Publication.update(next_attempt_at=utcnow())
                .where((Publication.id == publication_id) & (Publication.status == P.RETRYING)).execute())


def settle_after_statuses(publication_ids: list, send_publish) -> None:
    """After Meta's statuses of their WhatsApp messages came (whatsapp/inbound.py):
    an unconfirmed publication with no message left in doubt is confirmed; a
    waiting one with nothing left to wait for is woken (``send_publish(id)``
    sends its message now)."""
    for publication_id in publication_ids:
        status = Publication.select(Publication.status).where(Publication.id == publication_id).scalar()
        tally = ledger.counts(publication_id)
        if tally.get("sending"):
            continue
        if status == P.UNCONFIRMED:
            outcome = ledger.outcome(tally)
            if outcome and outcome[0] != P.UNCONFIRMED:
                confirm(publication_id, *outcome, external_id=ledger.message_ids(publication_id))
        elif status == P.RETRYING and not tally.get("pending"):
            if wake(publication_id):
                send_publish(publication_id)
