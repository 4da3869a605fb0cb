"""One publication attempt: claim → deliver → adopt → settle.

:func:`run` claims the publication (delivery.claim: a conditional UPDATE, so a
redelivered or duplicated message finds nothing and stops), makes the network
call within the attempt's deadline, adopts an earlier attempt's item instead of
posting twice, records the outcome, and answers its actor with what to do next:

- :class:`Settled` — nothing more (published, failed, or nothing to claim);
- :class:`RetryIn` — try again in ``delay_ms`` (the actor raises Dramatiq's Retry);
- :class:`WaitUntil` — the post waits for its place in its channel's spacing or
  quotas (pacing.py), or a WhatsApp broadcast for the number's limit or Meta's
  statuses (the actor sends a new, delayed message).

No Dramatiq control flow lives here: only the actor (worker/actors.py) raises
Retry or re-sends. Dramatiq's time limit still interrupts this thread
(TimeLimitExceeded), and the attempt records what that leaves in doubt.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import logging
import random
import time
from dataclasses import dataclass

from dramatiq.middleware.time_limit import TimeLimitExceeded

from ..campaigns import links
from ..config import Settings
from ..db import connection, persist
from ..media import library, remote
from ..media.storage import StorageError
from ..metrics import series
from ..models import PublicationStatus, utcnow
from ..networks import ErrorKind, Published, PublishError, Unverifiable, get_adapter, outbound
from ..networks.base import Timeouts
from ..networks.explain import INTERNAL, STORE
from ..whatsapp import broadcast, ledger
from . import delivery, pacing

logger = logging.getLogger(__name__)

#: An attempt's network calls end this long before its time limit (calls_limit).
CALLS_WRAP_UP_S = 5


@dataclass(frozen=True)
class Settled:
    """Nothing more to do. ``failure``: why it ended without being published (None: published, or nothing to do)."""

    failure: str | None = None


@dataclass(frozen=True)
class RetryIn:
    delay_ms: int
    reason: str


@dataclass(frozen=True)
class WaitUntil:
    delay_ms: int
    reason: str


def run(publication_id: int, settings: Settings, enqueued_ms: float | None = None):
    """Attempt to publish one publication; answer Settled, RetryIn or WaitUntil.
    ``enqueued_ms``: when its message was first enqueued (Unix ms), to tell a
    retry that would come after the message's maximum age."""
    with connection():
        job = delivery.claim(publication_id, deadlines(settings), settings.app_secrets(),
                             settings.linkedin_api_version)
    if job is None:
        logger.info("Publication %d is not claimable (done, taken or not due).", publication_id)
        return Settled()
    with outbound.calls_within(calls_limit(settings)):
        return _Attempt(job, settings, enqueued_ms).deliver()


def deadlines(settings: Settings) -> delivery.Deadlines:
    return delivery.Deadlines(max_age=dt.timedelta(seconds=settings.max_age_s),
                              lease=dt.timedelta(seconds=settings.processing_lease_s))


def calls_limit(settings: Settings) -> float:
    """Seconds an attempt's network calls may take in all: Dramatiq's time limit
    only interrupts Python code, so a call blocked in a read would outlive it (and
    the lease) by up to the read timeout; ending a little before it lets the
    attempt record its own outcome."""
    return max(settings.time_limit_s / 2, settings.time_limit_s - CALLS_WRAP_UP_S)


def retry_delay_ms(spent: int, error: PublishError, settings: Settings) -> int:
    """Exponential backoff with jitter, never sooner than the network asked."""
    delay = settings.min_backoff_ms * (2 ** spent) * random.uniform(1.0, 1.5)
    delay = min(delay, settings.max_backoff_ms)
    if error.retry_after:
        delay = max(delay, error.retry_after * 1000)
    return int(delay)


class _Attempt:
    """One claimed job, its settings and its start, through to its outcome."""

    def __init__(self, job: delivery.Job, settings: Settings, enqueued_ms: float | None):
        self.job = job
        self.settings = settings
        self.enqueued_ms = enqueued_ms
        self.started = utcnow()

    def deliver(self):
        job, settings = self.job, self.settings
        adapter = get_adapter(job.network, Timeouts(settings.connect_timeout, settings.read_timeout))
        if job.network == "whatsapp":
            return self._broadcast(adapter)
        waits = self._take_place(adapter)
        if waits is not None:
            return waits
        answer = None
        try:
            job = self.job = self._with_photos(self._with_tracked_link(job))
            with series.network_call(job.network):
                answer = self._call_network(adapter, job)
        except Unverifiable as exc:
            return self._give_up(PublicationStatus.UNCONFIRMED, PublishError(
                job.network, f"an earlier attempt may have been delivered and it cannot be checked "
                f"({exc.message}); not sent again — check, then retry by hand if it did not arrive",
                kind=ErrorKind.PERMANENT))
        except PublishError as exc:
            error = exc.redact(job.target.token)
        except TimeLimitExceeded:
            # Interrupted after the network answered (leaving series.network_call,
            # say): the answer stands.
            if answer is None:
                error = PublishError(job.network, f"no answer within the time limit "
                                     f"({settings.time_limit_s} s); the request may have arrived",
                                     kind=ErrorKind.TRANSIENT, ambiguous=True)
        except Exception:  # a bug or an unforeseen answer: maybe after sending, so ambiguous
            logger.exception("Publication %d: unexpected error.", job.publication_id)
            error = PublishError(job.network, "socialpub met an unexpected problem (it is in the worker's log)",
                                 kind=ErrorKind.TRANSIENT, code=INTERNAL, ambiguous=True)
        if answer is None:
            return self._after_failure(error)
        receipt, outcome = answer
        persist(delivery.record_published, job, receipt, self.started, outcome=outcome)
        series.published(job.network, outcome)
        logger.info("Publication %d %s on %s as %s.", job.publication_id, outcome, job.network,
                    receipt.external_id)
        return Settled()

    def _take_place(self, adapter) -> WaitUntil | Settled | None:
        """Take the publication's places in its channel's spacing and quotas
        (pacing.py) — Instagram's count read from Meta first when the last reading
        is old —; a place later than now is waited for (None: it goes now)."""
        job, settings = self.job, self.settings
        if job.network == "instagram" and pacing.reading_due(job.quota_readings, pacing.INSTAGRAM_POSTS, utcnow()):
            self._read_instagram_quota(adapter)
        elif not pacing.applies(job.network, job.video_kind, job.quota_readings, job.min_gap_s, job.max_per_hour,
                                settings):
            return None
        return self._wait_for_place()

    def _read_instagram_quota(self, adapter) -> None:
        """Meta's count of the account's posts (content_publishing_limit); a failed read
        leaves the last one, and the post goes on (Meta refuses one over the limit)."""
        job = self.job
        try:
            used, total, window_s = adapter.publishing_limit(job.target)
        except PublishError as exc:
            logger.warning("Publication %d: Instagram's publishing limit could not be read: %s",
                           job.publication_id, exc.redact(job.target.token))
            return
        readings = persist(pacing.note_reading, job.channel_id, pacing.INSTAGRAM_POSTS, used, total, window_s)
        self.job = dataclasses.replace(job, quota_readings=readings)

    def _wait_for_place(self) -> WaitUntil | Settled | None:
        """Take the publication's places; wait for them when they are later than now (None: they are now)."""
        job = self.job
        place = persist(pacing.reserve, job.publication_id, job.channel_id, job.network, job.video_kind,
                        self.settings)
        return self._wait_for(place) if place is not None and place.reason else None

    def _wait_for(self, place: pacing.Place) -> WaitUntil | Settled:
        job = self.job
        if not persist(delivery.record_place_wait, job, place.at, place.reason):
            return Settled()  # claimed again by another attempt meanwhile: it is that one's
        delay = max(0, int((place.at - utcnow()).total_seconds() * 1000))
        logger.info("Publication %d waits %d ms for its place: %s", job.publication_id, delay, place.reason)
        return WaitUntil(delay, place.reason)

    def _broadcast(self, adapter):
        """WhatsApp: one message per consenting recipient, each taken in the
        ledger before it is sent (whatsapp/broadcast.py); the publication's status
        comes from its recipients'."""
        job, settings = self.job, self.settings
        try:
            job = self.job = self._with_photos(self._with_tracked_link(job))
            with series.network_call(job.network):
                outcome = broadcast.deliver(job, adapter, settings, persist,
                                            lambda state: persist(delivery.save_checkpoint, job, state))
        except PublishError as exc:  # the image: nothing was sent with it yet
            return self._after_failure(exc.redact(job.target.token))
        except TimeLimitExceeded:
            # The row being sent stays "sending": in doubt until Meta's status names it.
            outcome = persist(broadcast.settled, job.publication_id, settings, persist)
        if outcome.kind == "retry":
            return self._after_failure(outcome.error)
        if outcome.kind == "wait":
            persist(delivery.record_waiting, job, self.started, outcome.until, outcome.message)
            delay = max(0, int((outcome.until - utcnow()).total_seconds() * 1000))
            logger.info("Publication %d waits %d ms: %s", job.publication_id, delay, outcome.message)
            return WaitUntil(delay, outcome.message)
        if outcome.status == PublicationStatus.PUBLISHED:
            persist(delivery.record_published, job,
                    Published(external_id=persist(ledger.message_ids, job.publication_id)), self.started)
            series.published(job.network, "published")
            logger.info("Publication %d sent on WhatsApp: %s.", job.publication_id, outcome.message)
            return Settled()
        return self._give_up(outcome.status, PublishError(job.network, outcome.message, kind=ErrorKind.PERMANENT))

    def _with_tracked_link(self, job: delivery.Job) -> delivery.Job:
        """The post's link as this channel publishes it (campaigns/links.py): with its UTM parameters, or its
        short link; the same link in the text too. A post whose link goes as typed costs nothing here (its
        ``link_tracking`` came with the claim); a short link is one statement, once per post and channel."""
        link = job.content.link
        if not link or not job.link_tracking:
            return job
        sent = persist(links.as_sent, link, job.link_tracking, job.post_id, job.channel_id, job.network,
                       self.settings)
        if sent == link:
            return job
        return dataclasses.replace(job, content=dataclasses.replace(job.content, link=sent,
                                                                    text=job.content.text.replace(link, sent)))

    def _with_photos(self, job: delivery.Job) -> delivery.Job:
        """The job with its post's images, read from the media store as this
        network takes them: the uploaded ones, or its ``image_url`` fetched once
        into the store; or with its video or its document, read as a stream when it
        is sent (none: the job as it is).

        Raises:
          PublishError: the store did not give them (transient: retried), or the
            image_url could not be fetched (remote.fetched).
        """
        settings = self.settings
        try:
            if job.video_kind:
                video = persist(library.video_for, settings, job.post_id, job.network, job.video_kind)
                if video is not None:
                    return dataclasses.replace(job, content=dataclasses.replace(job.content, video=video))
            document = persist(library.document_for, settings, job.post_id)
            if document is not None:
                return dataclasses.replace(job, content=dataclasses.replace(job.content, document=document))
            photos = persist(library.photos_for, settings, job.post_id, job.network)
            if not photos and job.content.image_url and remote.worth_fetching(settings, job.network):
                # Not inside persist: no connection is held through the download, and the
                # time limit interrupts it like any network call.
                media = remote.fetched(settings, job.post_id, job.content.image_url, job.network, run=persist)
                photos = persist(library.photos_of, settings, [media], job.network)
        except StorageError as exc:
            logger.warning("Publication %d: the media store did not give the post's images: %s",
                           job.publication_id, exc)
            raise PublishError(job.network, "the media store did not give the post's images",
                               kind=ErrorKind.TRANSIENT, code=STORE) from None
        except (PublishError, TimeLimitExceeded):
            raise
        except Exception:  # nothing was sent to the network yet: not ambiguous
            logger.exception("Publication %d: the post's images could not be prepared.", job.publication_id)
            raise PublishError(job.network, "the post's images could not be prepared (the worker's log says why)",
                               kind=ErrorKind.TRANSIENT, code=INTERNAL) from None
        return dataclasses.replace(job, content=dataclasses.replace(job.content, photos=photos)) if photos else job

    def _call_network(self, adapter, job: delivery.Job):
        """Publish, unless an earlier attempt that may have arrived did: then adopt
        its item — only one that no other publication holds, and, where the network
        finds items by their text, only when no other publication of that text may
        have made it.

        Raises:
          Unverifiable: an earlier attempt may have arrived and the network cannot say.
          PublishError: the network refused or failed.
        """
        resume = job.resume
        held = functools.partial(persist, delivery.held_elsewhere, job)
        if job.ambiguous_since:
            found = adapter.find_published(job.target, job.content, job.ambiguous_since, resume=resume,
                                           held_elsewhere=held)
            if found:
                return self._adopt(adapter, job, found), "adopted"
        try:
            receipt = adapter.publish(
                job.target, job.content, resume=resume,
                checkpoint=lambda state: persist(delivery.save_checkpoint, job, state))
        except PublishError as exc:
            # LinkedIn refuses a repeated text, naming the post that has it: ours
            # only if an earlier attempt of this publication may have made it.
            if exc.duplicate_of and job.ambiguous_since and not held([exc.duplicate_of.external_id]):
                return self._adopt(adapter, job, exc.duplicate_of), "adopted"
            raise
        return receipt, "published"

    def _adopt(self, adapter, job: delivery.Job, found):
        """``found``, unless another publication of the same text may have made it."""
        since = job.ambiguous_since - dt.timedelta(seconds=adapter.clock_skew)
        if adapter.finds_by_text and persist(delivery.contested, job, since):
            raise Unverifiable(job.network, f"{found.external_id} has this text, but so does another "
                               f"publication to this account that is being sent or may have been delivered; "
                               f"which one it belongs to cannot be told")
        return found

    def _after_failure(self, error: PublishError):
        """Wait for a quota the network says is full; else retry within the
        error's budget, else record the final outcome. A network that certainly
        refused the post gives its places back (pacing.py)."""
        job, settings = self.job, self.settings
        if not (error.ambiguous or job.ambiguous_since):
            persist(pacing.release, job.publication_id)
            quota = pacing.full_quota(error)
            if quota is not None:
                persist(pacing.note_full, job.channel_id, quota)
                waits = self._wait_for_place()
                if waits is not None:
                    return waits
        delivered = getattr(error, "delivered", None)
        if delivered:
            # Some recipients have it (WhatsApp): a retry would send it to them again.
            return self._give_up(PublicationStatus.UNCONFIRMED, error,
                                 f"{error.message} — already sent to {', '.join(delivered)}; not sent again "
                                 f"to anyone; send it to the others by hand")
        if error.kind.retryable:
            if error.kind is ErrorKind.RATE_LIMITED:
                spent, budget = job.rate_limit_waits, settings.max_rate_limit_waits
                daily = pacing.DAILY_LEARNED.get(job.network)
                if spent >= budget and daily and not (error.ambiguous or job.ambiguous_since):
                    # Still refused after every wait: a daily limit the network does not publish.
                    persist(pacing.learn_daily_limit, job.channel_id, daily)
                    waits = self._wait_for_place()
                    if waits is not None:
                        return waits
            else:
                spent, budget = job.retries, settings.max_retries
            if spent < budget:
                delay = retry_delay_ms(spent, error, settings)
                if self._past_max_age(delay):
                    # Dramatiq would drop the retry as too old anyway, hours from now: say so today.
                    return self._give_up(PublicationStatus.EXPIRED, error,
                                         f"{error.message} — the next try could only be in {delay // 1000} s, "
                                         f"later than the {settings.max_age_s} s a publication may wait "
                                         f"(SOCIALPUB_MAX_AGE_S); not sent")
                persist(delivery.record_retry, job, error, self.started,
                        utcnow() + dt.timedelta(milliseconds=delay))
                series.retrying(job.network, error)
                logger.warning("Publication %d: %s; next try in %d ms.", job.publication_id, error, delay)
                return RetryIn(delay, str(error))
        if error.ambiguous or job.ambiguous_since:
            return self._give_up(PublicationStatus.UNCONFIRMED, error,
                                 f"{error.message} — an earlier attempt may have been delivered; check, "
                                 f"then retry by hand")
        return self._give_up(PublicationStatus.FAILED, error)

    def _past_max_age(self, delay_ms: int) -> bool:
        """Whether a retry ``delay_ms`` from now would come after the message's
        maximum age (counted, as Dramatiq's AgeLimit does, from its first enqueue)."""
        if self.enqueued_ms is None:
            return False
        return self.enqueued_ms + self.settings.max_age_s * 1000 < time.time() * 1000 + delay_ms

    def _give_up(self, status, error, message=None) -> Settled:
        """Record a final outcome."""
        job = self.job
        persist(delivery.record_final, job, status, error, self.started, message)
        series.gave_up(job.network, status, error)
        return Settled(failure=f"publication {job.publication_id} {status}: {message or error}")
