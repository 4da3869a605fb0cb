"""A WhatsApp publication sent the way Meta allows (the worker's side): to
each consenting contact of the post's audience, free-form where their
24-hour window is open, by the post's approved template elsewhere — within
the limits, each send taken in the ledger first, WHATSAPP_SEND_CONCURRENCY of
them on their way to Meta at once (:class:`_Senders`).

Limits: the messaging limit (unique people reached by templates in 24 hours,
WHATSAPP_MESSAGING_LIMIT), a place reserved by every worker in turn just
before each template send (:func:`_take_within_limit`), holds the rest back as
"waiting" until a place frees; a person messaged by this number less than WHATSAPP_PAIR_PAUSE_S ago (by any
publication, on any worker: a Redis key each) waits out the rest of it rather than meet Meta's pair
rate, and a pair-rate error (131056) all the same holds back that recipient alone; a
throughput error (130429) stops the number and retries the publication; Meta
stopping the number for its quality (131064, 131048) holds every unsent
recipient as "waiting" and tries again each NUMBER_HOLD until Meta lifts it;
each number sends at most WHATSAPP_SEND_RATE messages a second (Dramatiq's
WindowRateLimiter on Redis, shared by every worker).
"""
from __future__ import annotations

import datetime as dt
import logging
import secrets
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import dramatiq
from dramatiq.rate_limits import WindowRateLimiter
from dramatiq.rate_limits.backends import RedisBackend, StubBackend
from peewee import fn

from ..db import supports_row_locks, write_transaction
from ..media.storage import StorageError
from ..models import Channel, Contact, Post, Publication, Recipient, utcnow
from ..networks import ErrorKind, PublishError, outbound
from ..networks.whatsapp import free_form, uploaded_media
from . import contacts, ledger, templates
from .contacts import WINDOW, window_open

logger = logging.getLogger(__name__)

#: Meta: about one message every six seconds to the same person; 131056 waits longer each time.
PAIR_RATE_PAUSE = dt.timedelta(seconds=6)
#: Why a recipient waits a second: the number's throughput was met.
THROUGHPUT_HOLD = "Meta's throughput for the number was reached (130429); sent again the next second"
#: Meta stops a number (not one message) for its quality, and lifts it on its own terms: over its rolling
#: 24-hour messaging limit for 131064, once the quality recovers for 131048. The number is tried again this
#: often — one refused send per try, which costs nothing — so the broadcast goes on soon after the lift.
NUMBER_HOLD = dt.timedelta(hours=1)
#: The codes that stop the number, in plain words (Meta's own follow on each recipient).
NUMBER_STOPPED = {
    "131064": "Meta stopped this number: it reached its messaging limit after template-quality violations (131064)",
    "131048": "Meta limited this number's sends because earlier messages were blocked or flagged as spam (131048)",
}
#: Errors that refuse the template or the message itself, whoever it goes to:
#: sending to the others would meet them again.
MESSAGE_ERRORS = {"132000", "132001", "132005", "132007", "132012", "132015", "132016", "131008", "131009", "131053",
                  "100"}
#: The share of PUBLISH_TIME_LIMIT_S one attempt sends for; the rest goes on in the next message.
ATTEMPT_SHARE = 0.5
#: A template send that counts against the messaging limit: it went, or may have.
REACHED = ("sending", "sent", "delivered", "read", "unconfirmed")
#: How long the loop waits for a place under the send rate before trying again.
RATE_POLL_S = 0.02


@dataclass(frozen=True)
class Outcome:
    """How the attempt ended: ``final`` with a publication status, ``wait``
    until ``until`` (recipients held by a limit, or in doubt), or ``retry``
    with ``error`` (transient, or the number's throughput)."""

    kind: str
    status: str | None = None
    message: str = ""
    until: dt.datetime | None = None
    error: PublishError | None = None


def _plan(job):
    """This channel's WhatsApp choice — the publication's own, else the post's,
    the default of every WhatsApp channel without its own — and its template on
    this channel (None: free-form)."""
    choice = (Publication.select(Publication.whatsapp).where(Publication.id == job.publication_id).scalar()
              or Post.select(Post.whatsapp).where(Post.id == job.post_id).scalar() or {})
    template = (templates.find(job.channel_id, choice["template"], choice["language"])
                if choice.get("template") else None)
    return choice, template


def _reached(channel_id: int, since: dt.datetime):
    """The rows of people this number reached with a template since ``since`` (the messaging limit counts them)."""
    return (Recipient.select().join(Publication)
            .where((Publication.channel == channel_id) & (Recipient.kind == "template")
                   & (Recipient.sending_at >= since) & Recipient.status.in_(REACHED)))


def _take_within_limit(channel_id: int, row, attempt: int, limit: int, since: dt.datetime):
    """Take a row for a template send, its person's place under the messaging
    limit reserved in the same transaction: True when taken, False when the row
    is not open any more, else when a place frees.

    The reservation is the row itself — "sending" with its time counts as a
    person reached — so nothing else needs releasing: a refused send (failed)
    or one never made (reopened) stops counting by its own status change.
    Workers take places one at a time: the channel's row is locked on
    PostgreSQL (two transactions would each count the other's place as free),
    and SQLite's write transaction is one at a time already."""
    with write_transaction():
        if supports_row_locks():
            Channel.select(Channel.id).where(Channel.id == channel_id).for_update().execute()
        reached = _reached(channel_id, since)
        counted = reached.where((Recipient.phone == row.address) | (Recipient.user_id == row.address)).exists()
        people = reached.select(fn.COUNT(fn.DISTINCT(fn.COALESCE(Recipient.phone, Recipient.user_id)))).scalar()
        if not counted and people >= limit:
            return _limit_frees_at(channel_id, since)
        return ledger.mark_sending(row.id, attempt, "template")


def _limit_frees_at(channel_id: int, since: dt.datetime) -> dt.datetime:
    first = (Recipient.select(fn.MIN(Recipient.sending_at)).join(Publication)
             .where((Publication.channel == channel_id) & (Recipient.kind == "template")
                    & (Recipient.sending_at >= since) & Recipient.status.in_(REACHED)).scalar())
    return (first or utcnow()) + WINDOW


def _send_rate(channel_id: int) -> int | None:
    return Channel.select(Channel.send_rate).where(Channel.id == channel_id).scalar()


def rate_limiter(settings, account_id: str, send_rate: int | None = None):
    """The number's messages a second, shared by every worker and host: its
    channel's own ``send_rate``, else WHATSAPP_SEND_RATE."""
    broker = dramatiq.get_broker()
    client = getattr(broker, "client", None)
    backend = RedisBackend(client=client) if client is not None else StubBackend()
    return WindowRateLimiter(backend, f"socialpub:whatsapp-rate:{account_id}",
                             limit=send_rate or settings.whatsapp_send_rate, window=1)


def deliver(job, adapter, settings, persist, checkpoint) -> Outcome:
    """Send the publication's open rows; say how the attempt ends.

    ``persist`` runs a database write waiting out outages (actors.persist);
    ``checkpoint`` keeps the uploaded image's or video's media id for the next
    attempts: it is kept before any message names it, and reused.
    """
    choice, template = persist(_plan, job)
    if choice.get("template") and (template is None or templates.shape(template)["usable"]):
        why = (templates.shape(template)["usable"] if template else "it is no longer among the synced templates")
        return Outcome("final", "failed", f"template {choice['template']!r} ({choice['language']}) cannot be "
                       f"sent: {why}; nothing was sent — choose another and retry")
    header = templates.header_media(template)
    if (header == "video" and job.content.video is None) or (header == "image" and job.content.video is not None):
        # Checked when the post was composed; the template may have been synced anew since.
        has = "a video" if job.content.video is not None else "no video"
        return Outcome("final", "failed", f"template {choice['template']!r} ({choice['language']}) has "
                       f"{'a video' if header == 'video' else 'an image'} header and the post has {has}; "
                       f"nothing was sent — choose another template and retry")
    total = persist(ledger.prepare, job.publication_id, job.channel_id, choice.get("audience"))
    if not total:
        return Outcome("final", "failed", "no contacts: add this channel's contacts (with their opt-in) first")
    media_id = (job.uploads or {}).get("media_id")
    media = uploaded_media(job.content)
    limiter = rate_limiter(settings, job.target.account_id, persist(_send_rate, job.channel_id))
    pair_rate = PairRate(job.target.account_id, settings.whatsapp_pair_pause_s)
    values = [templates.filled(v, job.content.text, job.content.link) for v in choice.get("body") or ()]
    limit = settings.whatsapp_messaging_limit
    # A long broadcast goes on in a fresh message rather than meet the time limit mid-send.
    deadline = time.monotonic() + settings.time_limit_s * ATTEMPT_SHARE
    calls = outbound.calls_deadline()
    if calls is not None:
        # The attempt's network calls are cut off at their own deadline (a send cut off is in doubt):
        # the last send starts with as long again left.
        deadline = min(deadline, time.monotonic() + calls.left() * ATTEMPT_SHARE)

    def send_one(row, body) -> Outcome | None:
        pair_rate.from_now(row.address)  # the pause counts from the send, not from the claim
        try:
            wamid = adapter.send(job.target, body)
        except PublishError as exc:
            if not exc.ambiguous:
                pair_rate.release(row.address)
            return _refused(job, row, exc.redact(job.target.token), persist)
        persist(ledger.record_sent, row.id, wamid)
        return None

    senders = _Senders(settings.whatsapp_send_concurrency, send_one)
    try:
        while time.monotonic() < deadline and not senders.halted():
            rows = persist(ledger.due, job.publication_id, utcnow())
            if not rows:
                break
            for row in rows:
                if time.monotonic() >= deadline or senders.halted():
                    break
                now = utcnow()
                contact = row.contact
                if contact.opted_out_at is not None:
                    persist(ledger.skip, row.id, f"opted out {contact.opted_out_at:%Y-%m-%d} before it was sent")
                    continue
                if contact.paused_until and contact.paused_until > now:
                    persist(ledger.hold, row.id, contact.paused_until, "Meta's pair rate limit (131056)")
                    continue
                open_window = window_open(contact, now)
                if open_window or (open_window is None and template is None):
                    kind = "text"
                elif template is not None:
                    kind = "template"
                else:
                    persist(ledger.skip, row.id, "window closed — needs a template: they have not written in "
                            "the last 24 hours, and only a template may start a conversation", "window_closed")
                    continue
                if kind == "template" and template.category == "MARKETING" and contacts.is_us(row.address):
                    persist(ledger.skip, row.id, "Meta does not deliver marketing templates to United States "
                            "(+1) numbers; use a utility template or a free-form reply inside their window")
                    continue
                if kind == "template" and template.category == "AUTHENTICATION" and not row.phone:
                    persist(ledger.skip, row.id, "unreachable by this template: Meta sends no authentication "
                            "template to a person known only by their WhatsApp user id (131062) — it needs "
                            "their phone number")
                    continue
                pause = pair_rate.wait_s(row.address)
                if pause:
                    persist(ledger.hold, row.id, now + dt.timedelta(seconds=pause),
                            "Meta's pair rate limit: this person was sent a message by this number less than "
                            f"{settings.whatsapp_pair_pause_s:g} s ago")
                    continue
                needs_media = media is not None and (kind == "text" or header is not None)
                if needs_media and not media_id:
                    media_id = _upload(job, adapter, media)
                    checkpoint({"uploads": {"media_id": media_id}})  # kept before any message names it
                # A sender free first, then the row taken: a row is "sending" only once its send can start,
                # so a worker killed meanwhile leaves no row in doubt that was never sent.
                senders.reserve()
                if senders.halted():  # a send that ended while this one waited for room stopped the attempt
                    senders.unreserve()
                    pair_rate.release(row.address)
                    break
                _take_a_place(limiter)
                if kind == "template" and limit:
                    taken = persist(_take_within_limit, job.channel_id, row, job.attempt, limit, utcnow() - WINDOW)
                else:
                    taken = persist(ledger.mark_sending, row.id, job.attempt, kind)
                if isinstance(taken, dt.datetime):
                    senders.unreserve()
                    pair_rate.release(row.address)
                    persist(ledger.hold, row.id, taken, f"over the messaging limit of {limit} people per 24 "
                            f"hours (SOCIALPUB_WHATSAPP_MESSAGING_LIMIT); waits until {taken:%Y-%m-%d %H:%M} UTC")
                    continue
                if not taken:
                    senders.unreserve()
                    pair_rate.release(row.address)
                    continue
                body = (free_form(row.address, job.content, media_id if needs_media else None) if kind == "text"
                        else {"to": row.address, "type": "template",
                              "template": templates.message(template, values, media_id)})
                if not row.phone:  # known only by their BSUID: Meta takes it in `recipient`, `to` is for numbers
                    body["recipient"] = body.pop("to")
                body["biz_opaque_callback_data"] = f"{ledger.CALLBACK_PREFIX}{row.id}"
                senders.submit(row, body)
    finally:
        senders.close()  # every send in flight ends, and is recorded, before the attempt does
    if senders.failure is not None:
        raise senders.failure
    stop = senders.stop
    if stop is not None and stop.kind == "wait":  # the number held
        tally = persist(ledger.counts, job.publication_id)
        return Outcome("wait", message=f"{stop.message}: {ledger.summarise(tally)} — Meta: {stop.error.message}",
                       until=stop.until)
    if stop is not None:
        return stop
    return settled(job.publication_id, settings, persist)


def _upload(job, adapter, media) -> str:
    """The post's video (streamed from the media store) or first photo, uploaded
    to Meta once: its media id.

    Raises:
      PublishError: Meta refused it, or the store did not give it (transient).
    """
    try:
        return adapter.upload_media(job.target, media)
    except StorageError as exc:
        logger.warning("Publication %d: the media store did not give the video: %s", job.publication_id, exc)
        raise PublishError(job.network, "the media store did not give the post's video",
                           kind=ErrorKind.TRANSIENT) from None


class _Senders:
    """The broadcast's sends in flight: at most ``concurrency`` at once, each in
    a thread of its own and under the attempt's deadline for network calls. A
    recipient is taken in the ledger before its message is handed over, so a
    row is sent once however many threads send. The first answer that stops
    the attempt (``stop``: the number held, its throughput, a transient error)
    is kept and no send starts after it; an unexpected error (``failure``) is
    raised in the attempt's thread once the sends in flight have ended."""

    def __init__(self, concurrency: int, send_one):
        self._send_one = send_one
        self._room = threading.Semaphore(concurrency)
        self._pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="whatsapp-send")
        self._deadline = outbound.calls_deadline()
        self.stop: Outcome | None = None
        self.failure: BaseException | None = None

    def halted(self) -> bool:
        return self.stop is not None or self.failure is not None

    def reserve(self):
        """Wait for a free sender (submit then uses it; unreserve if nothing is sent)."""
        # A short timeout, not a blocking wait: Dramatiq's time limit interrupts Python code only.
        while not self._room.acquire(timeout=0.1):
            pass

    def unreserve(self):
        self._room.release()

    def submit(self, row, body):
        """Send ``body`` to ``row`` on the sender reserved for it."""
        self._pool.submit(self._run, row, body)

    def _run(self, row, body):
        try:
            with outbound.calls_under(self._deadline):
                stop = self._send_one(row, body)
            if stop is not None and self.stop is None:
                self.stop = stop
        except BaseException as exc:  # the attempt's thread raises it
            if self.failure is None:
                self.failure = exc
        finally:
            self._room.release()

    def close(self):
        self._pool.shutdown(wait=True)


class PairRate:
    """Meta's pair rate, kept before sending: one message from a number to one person every
    WHATSAPP_PAIR_PAUSE_S at most, whichever publication and worker sends it. A Redis key per number and person,
    set only when absent and expiring with the pause, is the claim (none without Redis: Meta's
    131056 then holds the person, as it always does). It holds this attempt's token, so that
    only this attempt moves it to the send's time or gives it back."""

    #: Lua: the claim's pause from now, or its removal, only while it is still this attempt's.
    _FROM_NOW = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) end"
    _RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end"

    def __init__(self, account_id: str, pause_s: float):
        self.account_id = account_id
        self.pause_ms = int(pause_s * 1000)
        self.client = getattr(dramatiq.get_broker(), "client", None) if self.pause_ms else None
        self.token = secrets.token_hex(8)

    def wait_s(self, address: str) -> float:
        """0 when ``address`` may be sent to now (the pause is claimed for it), else the seconds left."""
        if self.client is None:
            return 0.0
        if self.client.set(self._key(address), self.token, nx=True, px=self.pause_ms):
            return 0.0
        return max(self.client.pttl(self._key(address)), 1) / 1000

    def from_now(self, address: str) -> None:
        """The send starts: the pause runs from now (an upload or a wait may have come between)."""
        if self.client is not None:
            self.client.eval(self._FROM_NOW, 1, self._key(address), self.token, self.pause_ms)

    def release(self, address: str) -> None:
        """Nothing was sent (refused by Meta, or not sent after all): the person may be sent to at once."""
        if self.client is not None:
            self.client.eval(self._RELEASE, 1, self._key(address), self.token)

    def _key(self, address: str) -> str:
        return f"socialpub:whatsapp-pair:{self.account_id}:{address}"


def _take_a_place(limiter):
    """Wait for a place under the number's send rate."""
    while True:
        with limiter.acquire(raise_on_failure=False) as acquired:
            if acquired:
                return
        time.sleep(RATE_POLL_S)


def settled(publication_id: int, settings, persist) -> Outcome:
    """How a publication stands once no row is left to send now."""
    tally = persist(ledger.counts, publication_id)
    if tally.get("pending"):  # the attempt used its share of the time limit: the next one goes on at once
        return Outcome("wait", message=f"{ledger.summarise(tally)}; sending goes on", until=utcnow())
    if tally.get("waiting"):
        until = persist(ledger.earliest_wait, publication_id)
        return Outcome("wait", message=f"{ledger.summarise(tally)}; the next send at {until:%H:%M:%S} UTC",
                       until=until)
    if tally.get("sending"):
        until = persist(ledger.oldest_in_doubt, publication_id) + dt.timedelta(
            seconds=settings.whatsapp_status_wait_s)
        if until > utcnow():
            return Outcome("wait", message=f"{ledger.summarise(tally)}: their answers were lost; waiting "
                           f"for Meta's status webhook until {until:%H:%M:%S} UTC", until=until)
        persist(ledger.give_up_doubt, publication_id)
        status, summary = ledger.outcome(persist(ledger.counts, publication_id))
        return Outcome("final", status, f"{summary}: no status came from Meta's webhook within "
                       f"{settings.whatsapp_status_wait_s} s of sending, so whether they got it is not known; "
                       f"check, then retry by hand (a retry sends it to them again)")
    status, summary = ledger.outcome(tally)
    return Outcome("final", status, summary)


def _refused(job, row, error: PublishError, persist) -> Outcome | None:
    """Record a send's refusal on its row; an Outcome when the attempt must stop."""
    code = error.code
    if error.ambiguous:
        logger.warning("WhatsApp send to %s: %s; in doubt until Meta's status names it.", row.address, error)
        return None  # the row stays "sending": the webhook, or the wait, settles it
    if code == "131056":
        until = utcnow() + PAIR_RATE_PAUSE
        persist(ledger.hold, row.id, until, f"Meta's pair rate limit: {error.message}", was=("sending",))
        persist(_pause_contact, row.contact_id, until)
        return None
    if code in NUMBER_STOPPED:
        return _hold_number(job, row, error, persist)
    if code == "130429":
        # The number's throughput, counted by Meta over whole seconds, was met (a sender at its rate may
        # spill over at the turn of a second): this recipient waits for the next second and the others go
        # on, rather than the whole publication being retried after a backoff.
        until = utcnow().replace(microsecond=0) + dt.timedelta(seconds=1)
        persist(ledger.hold, row.id, until, f"{THROUGHPUT_HOLD}: {error.message}", was=("sending",))
        return None
    if error.kind in (ErrorKind.TRANSIENT, ErrorKind.RATE_LIMITED, ErrorKind.AUTH):
        # Refused before it was queued at Meta: the row may go again with the next attempt.
        persist(ledger.reopen, row.id)
        return Outcome("retry", error=error)
    if code == "131050":
        persist(ledger.record_refused, row.id, "opted_out", code, error.message)
        persist(contacts.opt_out, job.channel_id, row.contact_id, f"Meta: {error.message}")
        return None
    if code == "131047":
        persist(ledger.record_refused, row.id, "window_closed", code,
                f"window closed — needs a template ({error.message})")
        return None
    persist(ledger.record_refused, row.id, "failed", code, error.message)
    if code in MESSAGE_ERRORS:
        ended = persist(ledger.settle_open, job.publication_id, "failed", code,
                        f"not sent: Meta refused the message itself ({error.message})")
        logger.warning("Publication %d: the message was refused (%s); %d recipient(s) not sent.",
                       job.publication_id, error, ended)
    return None


def _hold_number(job, row, error: PublishError, persist) -> Outcome:
    """Meta stopped the number: this recipient and every unsent one wait (none
    is failed for it), and the publication tries again after NUMBER_HOLD."""
    until = utcnow() + NUMBER_HOLD
    why = f"{NUMBER_STOPPED[error.code]}; tried again at {until:%Y-%m-%d %H:%M} UTC"
    persist(ledger.hold, row.id, until, f"{why} ({error.message})", was=("sending",))
    held = persist(ledger.hold_open, job.publication_id, until, why)
    logger.warning("Publication %d: %s; %d more recipient(s) held.", job.publication_id, error, held)
    # Said once every send in flight has ended (deliver): some may meet the same refusal meanwhile.
    return Outcome("wait", message=why, until=until, error=error)


def _pause_contact(contact_id, until):
    if contact_id:
        Contact.update(paused_until=until).where(Contact.id == contact_id).execute()

