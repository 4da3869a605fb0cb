"""Meta's webhook for WhatsApp (``/webhooks/meta``): the subscription's
verification handshake, POSTs accepted only with a valid
``X-Hub-Signature-256`` (HMAC-SHA256 of the raw body with the app secret),
stored as they came (one INSERT each) and applied by an actor, many
notifications to a transaction (:func:`apply_pending`):

- ``statuses`` move each recipient forward (ledger.apply_statuses: any order,
  duplicates harmless, a batch's written together; a message that is not ours
  is logged and ignored); a publication that waited for them then ends, or is
  woken to end (lifecycle.delivery.settle_after_statuses, once per batch);
- ``messages`` from a contact open their 24-hour window; "STOP" opts them
  out, "START" is their own new opt-in (it lifts an earlier STOP).

A sender is known by their number (``from``, ``contacts[].wa_id``) or by
Meta's business-scoped user id (``from_user_id``, ``contacts[].user_id``):
Meta withholds the number of a person who took a WhatsApp username, so the
BSUID may be all there is. A notification naming both teaches the contact
the one it lacked.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import logging

from peewee import InterfaceError, OperationalError

from ..db import Prepared, Slot, supports_row_locks, write_transaction
from ..errors import Conflict, InvalidInput
from ..models import Channel, Contact, MetaNotification, utcnow
from . import contacts, ledger

logger = logging.getLogger(__name__)

#: Words that, alone in an inbound message, ask the business to stop.
STOP_WORDS = {"stop", "unsubscribe", "stopp", "baja", "arrêt", "arret"}
#: Words that, alone in an inbound message, ask to be messaged (again): the person's own opt-in.
START_WORDS = {"start", "unstop", "subscribe", "alta"}


def handshake(args, verify_token: str) -> str | None:
    """The challenge to echo when Meta's verification request carries our token, else None."""
    if not verify_token or args.get("hub.mode") != "subscribe":
        return None
    if not hmac.compare_digest(str(args.get("hub.verify_token", "")).encode(), verify_token.encode()):
        return None
    return args.get("hub.challenge")


def signature_valid(body: bytes, header: str | None, secret: str) -> bool:
    """Whether ``header`` is ``sha256=<hex HMAC of body keyed with secret>``."""
    if not secret or not header or not header.startswith("sha256="):
        return False
    expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, header[len("sha256="):].strip().lower())


def receive(body: bytes) -> int:
    """Keep a signed notification; returns its id (the actor applies it once stored).
    One INSERT, committed by itself: no transaction around it to begin and end."""
    return _RECEIVE.execute(body=body.decode("utf-8", "replace"), at=utcnow()).fetchone()[0]


#: Compiled once: peewee's building of the INSERT was a third of the POST's CPU.
_RECEIVE = Prepared(lambda: MetaNotification.insert(body=Slot("body"), received_at=Slot("at"))
                    .returning(MetaNotification.id))


#: Notifications applied in one transaction at most.
BATCH = 200


def apply_pending(limit: int = BATCH) -> tuple:
    """Apply up to ``limit`` stored notifications not applied yet, oldest
    first, in one transaction: their statuses folded per recipient and written
    together (ledger.apply_statuses), their inbound messages in turn, all
    marked applied. Two appliers at once take different notifications (FOR
    UPDATE SKIP LOCKED on PostgreSQL; SQLite has one writer at a time); a
    crash rolls the whole batch back, for the next applier or the redrive.
    Returns ``(how many were taken, the publications whose waiting may have
    ended)``, for the caller to settle."""
    ids = []
    try:
        with write_transaction():
            taken = _claim(limit)
            ids = [i for i, _ in taken]
            touched = _apply_all(taken)
        return len(taken), sorted(touched)
    except (OperationalError, InterfaceError):
        raise  # the database: the actor's retries wait for it
    except Exception:  # noqa: BLE001 — a notification we cannot apply must not hold up the others
        logger.exception("A batch of %d Meta notifications failed; applying them one at a time.", len(ids))
    touched, count = set(), 0
    for notification_id in ids:
        try:
            with write_transaction():
                taken = _claim(1, notification_id)
                count += len(taken)
                touched |= _apply_all(taken)
        except (OperationalError, InterfaceError):
            raise
        except Exception:  # noqa: BLE001 — one we cannot apply must not hold every later batch up
            # Set aside as a dead letter: marked applied so that batches stop meeting it, named in the
            # log, its body kept (until RETENTION_DAYS) for whoever looks into it.
            logger.exception("Meta notification %d could not be applied; it is set aside (its body is kept in "
                             "the metanotification table) so that the others go on.", notification_id)
            with write_transaction():
                MetaNotification.update(applied_at=utcnow()).where(
                    (MetaNotification.id == notification_id) & MetaNotification.applied_at.is_null()).execute()
    return count, sorted(touched)


def _claim(limit: int, only: int | None = None) -> list:
    """``[(id, body)]`` of the oldest notifications (or the one ``only``) not
    applied yet and not taken by another applier, marked applied in this transaction."""
    unapplied = MetaNotification.applied_at.is_null()
    if only is not None:
        unapplied &= MetaNotification.id == only
    oldest = MetaNotification.select(MetaNotification.id).where(unapplied).order_by(MetaNotification.id).limit(limit)
    if supports_row_locks():
        oldest = oldest.for_update(skip_locked=True)
    # One statement: the rows taken are marked, and read back.
    return sorted(MetaNotification.update(applied_at=utcnow()).where(MetaNotification.id.in_(oldest))
                  .returning(MetaNotification.id, MetaNotification.body).tuples().execute())


def _apply_all(taken: list) -> set:
    """The notifications' statuses and messages, in the order they came; the
    statuses between two messages written together."""
    statuses, touched, numbers = [], set(), {}

    def flush():
        if statuses:
            found, unknown = ledger.apply_statuses(statuses)
            touched.update(found)
            for status in unknown:
                logger.info("Meta status %s for message %s: not one of ours; ignored.",
                            status.get("status"), status.get("id"))
            statuses.clear()

    for notification_id, body in taken:
        try:
            payload = json.loads(body)
        except ValueError:
            payload = None
        if not (isinstance(payload, dict) and payload.get("object") == "whatsapp_business_account"):
            logger.warning("Meta notification %d is not a WhatsApp Business Account one; ignored.", notification_id)
            continue
        for entry in payload.get("entry") or ():
            for change in (entry or {}).get("changes") or ():
                value = (change or {}).get("value")
                if (change or {}).get("field") != "messages" or not isinstance(value, dict):
                    continue
                phone_number_id = str((value.get("metadata") or {}).get("phone_number_id") or "")
                statuses.extend((phone_number_id, s) for s in value.get("statuses") or () if isinstance(s, dict))
                messages = [m for m in value.get("messages") or () if isinstance(m, dict)]
                if not messages:
                    continue
                flush()  # a message may opt its sender out: the statuses before it go first
                if phone_number_id not in numbers:
                    numbers[phone_number_id] = [c.id for c in Channel.select(Channel.id).where(
                        (Channel.network == "whatsapp") & (Channel.account_id == phone_number_id))]
                senders = [c for c in value.get("contacts") or () if isinstance(c, dict)]
                for message in messages:
                    _inbound(numbers[phone_number_id], message, senders)
    flush()
    return touched


def _sender(message: dict, senders: list) -> tuple:
    """``(phone, BSUID, username)`` of a message's sender, from the message and
    its ``contacts`` entry (matched by BSUID or number; the only one when the
    message names neither)."""
    number, user_id = str(message.get("from") or ""), str(message.get("from_user_id") or "")
    entry = next((c for c in senders if (user_id and c.get("user_id") == user_id)
                  or (number and str(c.get("wa_id") or "") == number)), None)
    if entry is None and len(senders) == 1 and not (number and user_id):
        entry = senders[0]
    entry = entry or {}
    number = number or str(entry.get("wa_id") or "")
    user_id = user_id or str(entry.get("user_id") or "")
    username = ((entry.get("profile") or {}).get("username") if isinstance(entry.get("profile"), dict) else None)
    phone = None
    if number:
        try:
            phone = contacts.normalised("+" + number.lstrip("+"))
        except InvalidInput:  # a number phonenumbers does not know: the BSUID may still name them
            logger.warning("Inbound WhatsApp message from an unparsable number %r.", number)
    if user_id and not contacts.BSUID.fullmatch(user_id):
        logger.warning("Inbound WhatsApp message with an unexpected user id %r; the number alone is used.", user_id)
        user_id = ""
    return phone, user_id or None, username or None


def _inbound(channel_ids: list, message: dict, senders: list):
    """A contact wrote: their window opens from the message's time; STOP opts them out, START in."""
    phone, user_id, username = _sender(message, senders)
    if not (phone or user_id):
        logger.warning("Inbound WhatsApp message %s names no sender Meta's way; ignored.", message.get("id"))
        return
    try:
        at = dt.datetime.fromtimestamp(int(message.get("timestamp")), dt.timezone.utc).replace(tzinfo=None)
    except (TypeError, ValueError, OverflowError):
        at = utcnow()
    text = ((message.get("text") or {}).get("body") or "") if message.get("type") == "text" else ""
    for channel_id, contact_id in contacts.identified(channel_ids, phone, user_id, username):
        Contact.update(last_inbound_at=at).where(
            (Contact.id == contact_id)
            & (Contact.last_inbound_at.is_null() | (Contact.last_inbound_at < at))).execute()
        if text.strip().lower() in STOP_WORDS:
            contacts.opt_out(channel_id, contact_id, f"replied {text.strip()!r}", at)
        elif text.strip().lower() in START_WORDS:
            _opted_in_by_message(channel_id, contact_id, text.strip(), str(message.get("id") or "?"), at)


def _opted_in_by_message(channel_id: int, contact_id: int, word: str, message_id: str, at: dt.datetime):
    """The person asked to be messaged: their consent, from the message's time.
    A consent already on record, and not undone, stays as it is."""
    contact = Contact.get_by_id(contact_id)
    if contact.opted_in_at is not None and contact.opted_out_at is None:
        return
    try:
        contacts.opt_in_again(channel_id, contact_id, {
            "opt_in_method": f"replied {word!r} on WhatsApp", "opted_in_at": at,
            "evidence": f"their WhatsApp message {message_id[:200]} of {at:%Y-%m-%d %H:%M:%S} UTC"}, "the contact")
    except Conflict:  # a STOP of theirs after this message came first: the later word stands
        logger.info("WhatsApp contact %d wrote %r before their latest opt-out; it stays.", contact_id, word)


#: A notification not applied this long after it came lost its message (a worker died, Redis restarted).
REDRIVE_AFTER = dt.timedelta(minutes=1)


#: Batches one applier takes in a row before it leaves the rest to a new message.
BATCHES_PER_RUN = 10


def apply_waiting(batches: int = BATCHES_PER_RUN) -> tuple:
    """Apply the notifications waiting, a batch at a time (:func:`apply_pending`),
    until none is left or ``batches`` were taken. Returns ``(whether some may be
    left, the publications whose waiting may have ended)``."""
    touched = set()
    for _ in range(batches):
        count, found = apply_pending()
        touched.update(found)
        if count < BATCH:
            return False, sorted(touched)
    return True, sorted(touched)


def redrive(send) -> int:
    """The reconciler's part: the notifications no message carries (a worker
    died, Redis restarted) applied again — one message: its run takes them
    all, a batch at a time. Returns how many were found."""
    lost = [n for (n,) in MetaNotification.select(MetaNotification.id)
            .where(MetaNotification.applied_at.is_null()
                   & (MetaNotification.received_at < utcnow() - REDRIVE_AFTER)).limit(500).tuples()]
    if lost:
        send(lost[0])
    return len(lost)
