"""A WhatsApp channel's contacts and audiences: numbers in E.164 (checked with
``phonenumbers``) or Meta's business-scoped user ids (BSUID: a person whose
WhatsApp username hides their number is known by it alone), each with the
record of its consent — the opt-in (when, how, by whom) and any opt-out.
Only a contact with an opt-in and no later opt-out is ever messaged
(:func:`consenting`); Meta's 131050 records an opt-out (whatsapp/inbound.py).
An opt-out outlives every import and every re-added contact: only the
person (whatsapp/inbound.py: their "START") or someone recording a new
consent with its evidence (:func:`opt_in_again`) lifts it.
"""
from __future__ import annotations

import csv
import datetime as dt
import functools
import re
from dataclasses import dataclass

import phonenumbers
from peewee import JOIN, fn

from .. import audit, csv_file
from ..db import write_transaction
from ..errors import Conflict, InvalidInput, NotFound
from ..input_checks import refuse_unstorable_text
from ..models import Audience, AudienceMember, Channel, Contact, utcnow

#: The columns of a contacts CSV file: "phone" is required.
COLUMNS = ("phone", "name", "opted_in_at", "opt_in_method", "audience")
MAX_ROWS = 10_000
MAX_BYTES = 2 * 1024 * 1024
#: Meta's BSUID: the ISO country code of the person's number, a dot, up to 128 letters and digits.
BSUID = re.compile(r"[A-Z]{2}\.[A-Za-z0-9]{1,128}")
#: The earliest consent to WhatsApp messages there can be: WhatsApp began in 2009. An earlier
#: date in a CRM export is a placeholder (0001-01-01, 1970-01-01), not the day someone agreed.
EARLIEST_CONSENT = dt.datetime(2009, 1, 1)
#: Longest text taken as the evidence of a new consent, and as a consent's time.
MAX_EVIDENCE, MAX_WHEN = 500, 40
#: The contacts an audit line names at most (an import's whole file would bloat the trail).
AUDIT_NAMES = 100
#: Meta's customer service window: free-form messages within 24 hours of the person's last one.
WINDOW = dt.timedelta(hours=24)


def normalised(number: str, field: str = "phone", country: str | None = None) -> str:
    """``number`` in E.164 (+ and digits), as people write it: with its
    country code (``+33 6 12 34 56 78``, ``0033…``, ``33612345678``) or, given
    ``country`` (the channel's default country, ISO 3166 such as ``FR``),
    the national way (``06 12 34 56 78``, ``(415) 555-0132``).

    Raises:
      InvalidInput: not a number that can exist, saying why in plain words.
    """
    if not isinstance(number, str) or not number.strip():
        raise InvalidInput(f"{field}: a phone number is required", field=field)
    text = number.strip()
    if text.startswith("00"):  # the international prefix dialled in much of the world
        text = "+" + text[2:]
    if len(text) > MAX_WRITTEN:
        raise InvalidInput(f"{field}: {text[:30]!r}… is too long for a phone number", field=field)
    if not WRITTEN_NUMBER.fullmatch(text):
        raise InvalidInput(f"{field}: {text[:30]!r} is not a phone number: write its digits, such as "
                           f"+33 6 12 34 56 78", field=field)
    # Without its +, a number is national in the channel's country, or else international
    # without the + (33612345678): the first reading that gives a real number wins.
    readings = [(text, None)] if text.startswith("+") else [(text, country)] * bool(country) + [("+" + text, None)]
    for written, region in readings:
        try:
            parsed = phonenumbers.parse(written, region)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_valid_number(parsed):
            return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    raise InvalidInput(f"{field}: {_why_not(text, country)}", field=field)


#: The longest number as written taken (15 digits and the spaces and brackets around them).
MAX_WRITTEN = 40
#: What a written phone number may hold: an optional +, digits, and the spaces, dots, dashes,
#: slashes and brackets people group them with.
WRITTEN_NUMBER = re.compile(r"\+?[0-9 ().\-/]*[0-9][0-9 ().\-/]*")


def _why_not(text: str, country: str | None) -> str:
    """Why ``text`` is no phone number, in words a person can act on (never phonenumbers' own)."""
    shown = repr(text[:30])
    if not text.startswith("+") and not country:
        return (f"{shown} has no country code: write it with one, such as +33 6 12 34 56 78 (or set the "
                f"channel's default country to read numbers written the national way)")
    try:
        parsed = phonenumbers.parse(text, None if text.startswith("+") else country)
    except phonenumbers.NumberParseException as exc:
        if exc.error_type == phonenumbers.NumberParseException.INVALID_COUNTRY_CODE:
            return f"{shown} starts with no country's code: check the digits after the +"
        if exc.error_type == phonenumbers.NumberParseException.TOO_LONG:
            return f"{shown} is too long for a phone number"
        return f"{shown} is too short for a phone number"
    region = phonenumbers.region_code_for_country_code(parsed.country_code)
    place = country_name(region) if region != "ZZ" else None
    if place is None:
        return f"{shown} starts with no country's code: check the digits after the +"
    reason = phonenumbers.is_possible_number_with_reason(parsed)
    if reason in (phonenumbers.ValidationResult.TOO_SHORT, phonenumbers.ValidationResult.INVALID_LENGTH):
        return f"{shown} is too short for a phone number in {place}" if reason == phonenumbers.ValidationResult.TOO_SHORT \
            else f"{shown} has too many or too few digits for a phone number in {place}"
    if reason == phonenumbers.ValidationResult.TOO_LONG:
        return f"{shown} is too long for a phone number in {place}"
    if text.startswith("+"):
        return f"{shown} is not a number in {place}: check its digits"
    return (f"{shown} is not a number in {place}: check its digits, or write it with its country code "
            f"(+…) if it is not a number in {place}")


def country_name(region: str | None) -> str | None:
    """A country's name in English (``FR`` → France), or None for a code phonenumbers does not know."""
    example = phonenumbers.example_number(region) if region else None
    if example is None:
        return None
    # Imported here: its tables of place names take about 100 MB, which a worker need not hold.
    from phonenumbers import geocoder

    return geocoder.country_name_for_number(example, "en") or region


@functools.lru_cache(maxsize=1)
def countries() -> list:
    """``[(code, name)]`` of every country phonenumbers knows, by name: what a channel's default country may be."""
    return sorted(((code, country_name(code) or code) for code in phonenumbers.SUPPORTED_REGIONS),
                  key=lambda pair: pair[1])


def country_of(number: str | None) -> str | None:
    """The country (ISO 3166, such as ``US``) of a phone number written with its
    country code (a WhatsApp business number as Meta shows it: ``+1 650-555-0100``),
    or None: what a channel's default country is guessed from."""
    try:
        parsed = phonenumbers.parse(number or "", None)
    except phonenumbers.NumberParseException:
        return None
    region = phonenumbers.region_code_for_number(parsed) or phonenumbers.region_code_for_country_code(
        parsed.country_code)
    return region if region in phonenumbers.SUPPORTED_REGIONS else None


def checked_country(value, field: str = "default_country") -> str | None:
    """A channel's default country as given: two letters (``FR``), or empty for none.

    Raises:
      InvalidInput: not a country phonenumbers knows.
    """
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    code = value.strip().upper() if isinstance(value, str) else None
    if code not in phonenumbers.SUPPORTED_REGIONS:
        raise InvalidInput(f"{field}: {str(value)[:20]!r} is not a country code: two letters, such as FR, "
                           f"GB or US", field=field)
    return code


def checked_user_id(value, field: str = "user_id") -> str:
    """A BSUID as Meta gives it (``US.13491208655302741918``).

    Raises:
      InvalidInput: not one.
    """
    if not isinstance(value, str) or not BSUID.fullmatch(value.strip()):
        raise InvalidInput(f"{field}: {str(value)[:40]!r} is not a WhatsApp business-scoped user id (two "
                           f"capital letters, a dot, then letters and digits, such as US.13491208655302741918)",
                           field=field)
    return value.strip()


def is_us(address: str) -> bool:
    """Whether a contact is in the United States (Meta holds marketing templates
    to them): an E.164 number's region, or a BSUID's prefix, which is the
    country of the person's number."""
    if not address.startswith("+"):
        return address.startswith("US.")
    return phonenumbers.region_code_for_number(phonenumbers.parse(address, None)) == "US"


def consent_time(value, field: str = "opted_in_at", now: dt.datetime | None = None) -> dt.datetime:
    """When a consent was given, as a CSV file or a request says it: an ISO 8601
    date (``2025-06-01``) or date and time (UTC unless it carries an offset).
    Honoured rather than ignored: the consent's record must say when the
    person agreed, which an import's own time would misstate.

    Raises:
      InvalidInput: not a real date, before WhatsApp existed, or in the future.
    """
    words = "an ISO 8601 date (2025-06-01) or date and time (2025-06-01T09:30:00+02:00)"
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_WHEN:
        raise InvalidInput(f"{field}: {words}", field=field)
    try:
        moment = dt.datetime.fromisoformat(value.strip())
        if moment.tzinfo is not None:
            moment = moment.astimezone(dt.timezone.utc).replace(tzinfo=None)
    except (ValueError, OverflowError):
        raise InvalidInput(f"{field}: {value.strip()!r} is not a date: {words}", field=field) from None
    if moment < EARLIEST_CONSENT:
        raise InvalidInput(f"{field}: {value.strip()!r} is before WhatsApp existed, so not when this person "
                           f"agreed to its messages", field=field)
    if moment > (now or utcnow()):
        raise InvalidInput(f"{field}: {value.strip()!r} is in the future: a consent is recorded once given",
                           field=field)
    return moment


def whatsapp_channel(channel_id: int) -> Channel:
    channel = Channel.get_or_none(Channel.id == channel_id)
    if channel is None or channel.network != "whatsapp":
        raise NotFound(f"channel {channel_id}: no WhatsApp channel with this id")
    return channel


def checked(channel: Channel, data, by: str) -> dict:
    """One contact from a request: ``phone`` or ``user_id`` (a BSUID) or both,
    ``name``, the opt-in (``opted_in`` true, with ``opt_in_method`` and
    optionally ``opted_in_at``: :func:`consent_time`) and ``audiences`` (names).

    Raises:
      InvalidInput: naming the field.
    """
    if not isinstance(data, dict):
        raise InvalidInput("body: a JSON object is required")
    refuse_unstorable_text(data)
    user_id = checked_user_id(data["user_id"]) if data.get("user_id") is not None else None
    phone = (normalised(data.get("phone"), country=channel.default_country)
             if user_id is None or data.get("phone") else None)
    name = data.get("name")
    if name is not None and (not isinstance(name, str) or len(name) > 100):
        raise InvalidInput("name: at most 100 characters of text", field="name")
    method = data.get("opt_in_method")
    if method is not None and (not isinstance(method, str) or len(method) > 200):
        raise InvalidInput("opt_in_method: at most 200 characters of text", field="opt_in_method")
    opted_in_at = consent_time(data["opted_in_at"]) if data.get("opted_in_at") is not None else None
    opted_in = data.get("opted_in", bool(method) or opted_in_at is not None)
    if not isinstance(opted_in, bool):
        raise InvalidInput("opted_in: must be true or false", field="opted_in")
    if opted_in_at is not None and not opted_in:
        raise InvalidInput("opted_in_at: the time of a consent given with opted_in false", field="opted_in_at")
    if opted_in and not (method or "").strip():
        raise InvalidInput("opt_in_method: say how this person opted in (a form, in store, by replying…): "
                           "Meta requires a record of it", field="opt_in_method")
    audiences = data.get("audiences") or []
    if not isinstance(audiences, list) or not all(isinstance(a, str) and 0 < len(a.strip()) <= 100
                                                  for a in audiences):
        raise InvalidInput("audiences: a list of audience names (1 to 100 characters)", field="audiences")
    return {"phone": phone, "user_id": user_id, "name": (name or "").strip() or None, "opted_in": opted_in,
            "opt_in_method": (method or "").strip() or None, "opt_in_by": by, "opted_in_at": opted_in_at,
            "audiences": [a.strip() for a in audiences]}


@dataclass
class Saved:
    """What :func:`save` stored: the contacts, and those of them whose opt-in
    was not recorded because the person had opted out (``(position in the
    input, contact)``)."""

    contacts: list
    kept_opted_out: list


def kept_words(contact: Contact) -> str:
    """Why a line's opt-in was not recorded, in the words of the page and the API."""
    return (f"kept opted out: {contact.shown} opted out on {contact.opted_out_at:%Y-%m-%d} "
            f"({contact.opt_out_reason or 'no reason given'}); an import does not undo that — record their new "
            f"consent with its evidence on the contacts page, or they write START")


def save(channel: Channel, contacts: list) -> Saved:
    """Store checked contacts (:func:`checked`): new ones created, known ones
    given their name, audiences and a new opt-in — unless they opted out: an
    opt-out outlives any import (see :func:`opt_in_again`).

    Raises:
      InvalidInput: a number and a BSUID that belong to two different contacts.
    """
    now = utcnow()
    saved, kept = [], []
    with write_transaction():
        for data in contacts:
            user_id = data.get("user_id")
            contact = _known(channel.id, data["phone"], user_id)
            if contact is None:
                contact = Contact.create(channel=channel.id, phone=data["phone"], user_id=user_id,
                                         name=data["name"], created_at=now)
            else:
                learnt = {k: v for k, v in (("phone", data["phone"]), ("user_id", user_id), ("name", data["name"]))
                          if v and getattr(contact, k) != v}
                if learnt:
                    Contact.update(**learnt).where(Contact.id == contact.id).execute()
            # Recorded only where no opt-out stands, in the same statement: a STOP applied meanwhile wins.
            if data["opted_in"] and not (Contact.update(
                    opted_in_at=data.get("opted_in_at") or now, opt_in_method=data["opt_in_method"],
                    opt_in_by=data["opt_in_by"], opt_in_evidence=None)
                    .where((Contact.id == contact.id) & Contact.opted_out_at.is_null()).execute()):
                kept.append((len(saved), contact.id))
            for name in data["audiences"]:
                audience, _ = Audience.get_or_create(channel=channel.id, name=name)
                AudienceMember.insert(audience=audience.id, contact=contact.id).on_conflict_ignore().execute()
            saved.append(contact.id)
        rows = {c.id: c for c in Contact.select().where(Contact.id.in_(saved))}
        audit.record(audit.CHANNEL, channel.id, "contacts saved", count=len(saved),
                     opted_in=sum(1 for d in contacts if d["opted_in"]) - len(kept),
                     kept_opted_out=[rows[c].shown for _, c in kept[:AUDIT_NAMES]])
    return Saved(sorted(rows.values(), key=lambda c: (c.phone or "", c.user_id or "")),
                 [(position, rows[c]) for position, c in kept])


def _known(channel_id: int, phone: str | None, user_id: str | None) -> Contact | None:
    """The contact with this number or this BSUID.

    Raises:
      InvalidInput: they are two people's.
    """
    by_phone = Contact.get_or_none((Contact.channel == channel_id) & (Contact.phone == phone)) if phone else None
    by_id = Contact.get_or_none((Contact.channel == channel_id) & (Contact.user_id == user_id)) if user_id else None
    if (by_phone and by_id and by_phone.id != by_id.id) or (by_phone and user_id and by_phone.user_id not in (
            None, user_id)) or (by_id and phone and by_id.phone not in (None, phone)):
        raise InvalidInput(f"user_id: {user_id} and {phone} are two different contacts' (a new number "
                           f"gets a new user id from Meta)", field="user_id")
    return by_phone or by_id


def import_csv(channel: Channel, data: bytes, by: str, dry_run: bool = False) -> dict:
    """Contacts from a CSV file (columns: :data:`COLUMNS`; a row's ``opt_in_method``
    records its opt-in). Every bad row is reported and nothing is saved while any is.

    Returns ``{"saved": n, "problems": [{"line", "message"}], "valid": n,
    "kept_opted_out": [{"line", "contact", "message"}]}`` — the lines whose
    person had opted out, saved without their opt-in.

    Raises:
      InvalidInput: the file itself is unreadable (not UTF-8, no header, too big).
    """
    reader = csv_file.reader(data, COLUMNS, "phone", MAX_BYTES)
    rows, lines, problems, seen = [], [], [], {}
    try:
        for row in reader:
            if len(rows) + len(problems) >= MAX_ROWS:
                raise InvalidInput(f"file: more than {MAX_ROWS} contacts; split it", field="file")
            if not any((v or "").strip() for v in row.values() if isinstance(v, str)):
                continue
            line = reader.line_num
            try:
                contact = checked(channel, {"phone": row.get("phone"), "name": row.get("name") or None,
                                            "opt_in_method": row.get("opt_in_method") or None,
                                            "opted_in_at": (row.get("opted_in_at") or "").strip() or None,
                                            "audiences": [row["audience"].strip()] if (row.get("audience") or "")
                                            .strip() else []}, by)
            except InvalidInput as exc:
                problems.append({"line": line, "message": exc.message})
                continue
            if contact["phone"] in seen:
                problems.append({"line": line, "message": f"phone: {contact['phone']} is also on line "
                                                          f"{seen[contact['phone']]}"})
                continue
            seen[contact["phone"]] = line
            rows.append(contact)
            lines.append(line)
    except csv.Error as exc:
        raise InvalidInput(f"line {reader.line_num}: {exc}", field="file") from None
    if not rows and not problems:
        raise InvalidInput("file: no contact in it (a header line, then one contact per line)", field="file")
    if problems:
        return {"saved": 0, "problems": problems, "valid": len(rows), "kept_opted_out": []}
    kept = _opted_out_among(channel.id, rows) if dry_run else save(channel, rows).kept_opted_out
    return {"saved": 0 if dry_run else len(rows), "problems": [], "valid": len(rows),
            "kept_opted_out": [{"line": lines[position], "contact": contact.shown, "message": kept_words(contact)}
                               for position, contact in kept]}


def _opted_out_among(channel_id: int, rows: list) -> list:
    """``(position, contact)`` of the checked rows with an opt-in whose person
    opted out: what :func:`save` would keep opted out (a dry run's report)."""
    wanted = {row["phone"]: position for position, row in enumerate(rows) if row["opted_in"]}
    found = []
    numbers = list(wanted)
    for start in range(0, len(numbers), 500):
        found.extend(Contact.select().where((Contact.channel == channel_id)
                                            & Contact.phone.in_(numbers[start:start + 500])
                                            & Contact.opted_out_at.is_null(False)))
    return sorted(((wanted[c.phone], c) for c in found), key=lambda pair: pair[0])


def opt_out(channel_id: int, contact_id: int, reason: str, at: dt.datetime | None = None) -> bool:
    """Record that the contact no longer wants messages (kept, never deleted:
    it is the proof), said at ``at`` (their message's time; now by default).
    Returns whether it was changed."""
    with write_transaction():
        changed = (Contact.update(opted_out_at=at or utcnow(), opt_out_reason=reason[:500])
                   .where((Contact.channel == channel_id) & (Contact.id == contact_id)
                          & Contact.opted_out_at.is_null()).execute())
        if changed:
            contact = Contact.get_by_id(contact_id)
            audit.record(audit.CHANNEL, channel_id, "contact opted out", phone=contact.phone,
                         user_id=contact.user_id, reason=reason[:200])
    return bool(changed)


def checked_consent(data) -> dict:
    """A new consent someone records for a contact: ``opt_in_method`` (how they
    agreed), ``evidence`` (what proves it: a form's reference, a recording)
    and optionally ``opted_in_at`` (:func:`consent_time`; now by default).

    Raises:
      InvalidInput: naming the field.
    """
    if not isinstance(data, dict):
        raise InvalidInput("body: a JSON object is required")
    refuse_unstorable_text(data)
    method, evidence = data.get("opt_in_method"), data.get("evidence")
    if not isinstance(method, str) or not method.strip() or len(method) > 200:
        raise InvalidInput("opt_in_method: say how this person agreed again (at most 200 characters)",
                           field="opt_in_method")
    if not isinstance(evidence, str) or not evidence.strip() or len(evidence) > MAX_EVIDENCE:
        raise InvalidInput(f"evidence: what proves this new consent (a signed form's reference, where the "
                           f"message is kept…; at most {MAX_EVIDENCE} characters): it is what shows the "
                           f"opt-out was lifted at their request", field="evidence")
    at = consent_time(data["opted_in_at"]) if data.get("opted_in_at") is not None else None
    return {"opt_in_method": method.strip(), "evidence": evidence.strip(), "opted_in_at": at}


def opt_in_again(channel_id: int, contact_id: int, consent: dict, by: str) -> Contact:
    """Record a contact's new consent (:func:`checked_consent`), lifting an
    opt-out given before it — never one given after: that one stands. The one
    way besides the person's own START (whatsapp/inbound.py), and on the
    audit trail with its evidence.

    Raises:
      NotFound: no such contact on the channel.
      Conflict: the contact opted out after the consent's time.
    """
    at = consent["opted_in_at"] or utcnow()
    with write_transaction():
        contact = Contact.get_or_none((Contact.id == contact_id) & (Contact.channel == channel_id))
        if contact is None:
            raise NotFound(f"contact {contact_id}: not a contact of channel {channel_id}")
        # One conditional UPDATE: a STOP recorded since the consent's time is never lifted by it
        # (one of the same second is: the person's START right after their STOP).
        if not (Contact.update(opted_in_at=at, opt_in_method=consent["opt_in_method"][:200], opt_in_by=by[:200],
                               opt_in_evidence=consent["evidence"], opted_out_at=None, opt_out_reason=None)
                .where((Contact.id == contact_id)
                       & (Contact.opted_out_at.is_null() | (Contact.opted_out_at <= at))).execute()):
            latest = Contact.get_by_id(contact_id)
            raise Conflict(f"opted_in_at: {latest.shown} opted out on {latest.opted_out_at:%Y-%m-%d %H:%M} UTC "
                           f"({latest.opt_out_reason or 'no reason given'}), after this consent of "
                           f"{at:%Y-%m-%d %H:%M} UTC: only a consent given since then lifts it", field="opted_in_at")
        lifted = (f"opted out {contact.opted_out_at:%Y-%m-%d %H:%M} UTC: {contact.opt_out_reason or 'no reason given'}"
                  if contact.opted_out_at else None)
        audit.record(audit.CHANNEL, channel_id, "contact opted in again" if lifted else "contact opted in",
                     phone=contact.phone, user_id=contact.user_id, method=consent["opt_in_method"][:200],
                     evidence=consent["evidence"], opted_in_at=f"{at:%Y-%m-%dT%H:%M:%S}Z", lifted=lifted)
    return Contact.get_by_id(contact_id)


def identified(channel_ids: list, phone: str | None, user_id: str | None, username: str | None = None) -> list:
    """The contacts a webhook names, by number or BSUID, on these channels; a
    contact known by one learns the other (and the username) when both are
    named. A person entered twice — once by number, once by BSUID — is both
    contacts: what they say (a STOP above all) holds for both. Returns
    ``[(channel id, contact id)]``."""
    found = []
    for channel_id in channel_ids:
        by_id = Contact.get_or_none((Contact.channel == channel_id) & (Contact.user_id == user_id)) \
            if user_id else None
        by_phone = Contact.get_or_none((Contact.channel == channel_id) & (Contact.phone == phone)) \
            if phone else None
        if by_phone is not None and by_id is None and user_id and by_phone.user_id is None:
            # Only a contact without a BSUID learns one: a changed number gets a new BSUID from
            # Meta, and the old contact keeps its own.
            Contact.update(user_id=user_id).where(
                (Contact.id == by_phone.id) & Contact.user_id.is_null()).execute()
        if by_id is not None and by_phone is None and phone and by_id.phone is None:
            Contact.update(phone=phone).where((Contact.id == by_id.id) & Contact.phone.is_null()).execute()
        for contact_id in dict.fromkeys(c.id for c in (by_id, by_phone) if c is not None):
            if username:
                Contact.update(username=username[:100]).where(Contact.id == contact_id).execute()
            found.append((channel_id, contact_id))
    return found


def consenting(channel_id: int, audience: str | None):
    """The contacts of the audience named ``audience`` (None: all the channel's
    contacts) and, for each, why it may not be messaged (None: it may)."""
    query = Contact.select().where(Contact.channel == channel_id)
    if audience:
        query = (query.join(AudienceMember, JOIN.INNER, on=(AudienceMember.contact == Contact.id))
                 .join(Audience, on=(Audience.id == AudienceMember.audience))
                 .where(Audience.name == audience))
    for contact in query.order_by(Contact.id):
        if contact.opted_out_at is not None:
            yield contact, f"opted out {contact.opted_out_at:%Y-%m-%d}: {contact.opt_out_reason or 'no reason given'}"
        elif contact.opted_in_at is None:
            yield contact, "no opt-in recorded"
        else:
            yield contact, None


def adopt_channel_recipients(channel: Channel, by: str):
    """The numbers a channel was given as recipients become its contacts, opted
    in by whoever listed them (listing them was the statement that they agreed)."""
    contacts = []
    for number in channel.recipients or ():
        try:
            phone = normalised(number)
        except InvalidInput:
            continue  # an earlier, laxer check let it in; it stays off the contacts
        contacts.append({"phone": phone, "name": None, "opted_in": True, "audiences": [],
                         "opt_in_method": "listed as a recipient of the channel", "opt_in_by": by})
    known = {p for (p,) in Contact.select(Contact.phone).where(Contact.channel == channel.id).tuples()}
    fresh = [c for c in contacts if c["phone"] not in known]
    if fresh:
        save(channel, fresh)


def listed(channel_id: int, audience: str | None = None, limit: int = 500) -> list:
    """The channel's contacts (of ``audience``), with their audiences' names."""
    rows = list(Contact.select().where(Contact.channel == channel_id).order_by(Contact.phone, Contact.user_id)
                .limit(limit))
    names = {}
    for contact_id, name in (AudienceMember.select(AudienceMember.contact, Audience.name).join(Audience)
                             .where(Audience.channel == channel_id).tuples()):
        names.setdefault(contact_id, []).append(name)
    result = []
    for contact in rows:
        if audience and audience not in names.get(contact.id, ()):
            continue
        result.append((contact, sorted(names.get(contact.id, ()))))
    return result


def anyone_to_message(channel_id: int) -> bool:
    """Whether any contact of the channel may be messaged: opted in, not opted
    out. Without one, a post to the number fails at once (nobody to send to)."""
    return (Contact.select().where((Contact.channel == channel_id) & Contact.opted_in_at.is_null(False)
                                   & Contact.opted_out_at.is_null(True)).exists())


def audiences(channel_id: int) -> list:
    """``[(name, number of members)]`` of a channel's audiences."""
    return list(Audience.select(Audience.name, fn.COUNT(AudienceMember.contact))
                .join(AudienceMember, JOIN.LEFT_OUTER).where(Audience.channel == channel_id)
                .group_by(Audience.name).order_by(Audience.name).tuples())


def window_open(contact: Contact, now: dt.datetime) -> bool | None:
    """True: they wrote within 24 hours; False: known closed; None: never heard from."""
    if contact.last_inbound_at is None:
        return False if contact.window_closed_at else None
    if contact.window_closed_at and contact.window_closed_at > contact.last_inbound_at:
        return False
    return contact.last_inbound_at > now - WINDOW


#: How a post may reach a contact: by a template of each category, or free-form (no template).
REACH_KINDS = ("utility", "marketing", "authentication", "free_form")


def reach(channel_id: int, now: dt.datetime | None = None) -> dict:
    """How many of each audience will actually be messaged — not merely its
    members: ``{audience name, or None for every contact: {"members",
    "opted_out", "without_opt_in", "utility", "marketing", "authentication",
    "free_form"}}``. The last four count who a post reaches by a template of
    that category, or free-form without one, as whatsapp/broadcast.py sends
    it now: opted in and not opted out, then free-form inside their window
    and else by the template — which Meta does not deliver to +1 numbers when
    it is marketing, nor to a person known only by their BSUID when it is
    authentication; without a template, nobody whose window is known closed."""
    now = now or utcnow()
    names = {}
    for contact_id, name in (AudienceMember.select(AudienceMember.contact, Audience.name).join(Audience)
                             .where(Audience.channel == channel_id).tuples()):
        names.setdefault(contact_id, []).append(name)
    zero = dict.fromkeys(("members", "opted_out", "without_opt_in", *REACH_KINDS), 0)
    tally = {None: dict(zero), **{name: dict(zero) for name, _ in audiences(channel_id)}}
    for contact in Contact.select().where(Contact.channel == channel_id):
        kinds = _reached_by(contact, now)
        for key in (None, *names.get(contact.id, ())):
            counts = tally[key]
            counts["members"] += 1
            for kind in kinds:
                counts[kind] += 1
    return tally


def _reached_by(contact: Contact, now: dt.datetime) -> tuple:
    """The counts of :func:`reach` a contact adds to."""
    if contact.opted_out_at is not None:
        return ("opted_out",)
    if contact.opted_in_at is None:
        return ("without_opt_in",)
    open_window = window_open(contact, now)
    if open_window:
        return REACH_KINDS  # free-form, whatever the template
    kinds = ["utility"]
    if not is_us(contact.phone or contact.user_id):
        kinds.append("marketing")
    if contact.phone:
        kinds.append("authentication")
    if open_window is None:
        kinds.append("free_form")  # never heard from: sent free-form, which Meta may refuse (131047)
    return tuple(kinds)


#: Why the rest of an audience is not reached, by the way the post goes.
_UNREACHED = {"utility": None, "marketing": "with a +1 number, to which Meta delivers no marketing template",
              "authentication": "known only by their WhatsApp user id, to whom Meta sends no authentication template",
              "free_form": "outside their 24-hour window, which a free-form message needs"}


def reach_words(counts: dict, kind: str) -> str:
    """One audience's :func:`reach` in words: how many of its members a post
    sent ``kind``-wise (a template's category in lower case, or free_form) reaches, and why not the others."""
    reached, members = counts[kind], counts["members"]
    why = [f"{counts['opted_out']} opted out"] * bool(counts["opted_out"])
    why += [f"{counts['without_opt_in']} without an opt-in"] * bool(counts["without_opt_in"])
    rest = members - reached - counts["opted_out"] - counts["without_opt_in"]
    if rest and _UNREACHED[kind]:
        why.append(f"{rest} {_UNREACHED[kind]}")
    return (f"{reached} of {members} member{'s' if members != 1 else ''} will be messaged"
            + (f" ({'; '.join(why)})" if why else ""))
