"""A scheduled time as people give it — an ISO 8601 instant with an offset,
or a wall-clock time and an IANA zone — to the UTC instant stored, and back
to the zone it was given in. Pure functions: nothing here writes."""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ..errors import InvalidInput, Unprocessable
from ..models import Post, utcnow

#: The farthest ahead a post may be scheduled.
MAX_AHEAD = dt.timedelta(days=366)
#: Longest ``scheduled_at`` and ``timezone`` taken (an ISO 8601 time is about
#: 32 characters; the longest IANA name is 32; the column holds 64).
MAX_WHEN, MAX_ZONE = 64, 64


def named_zone(name: str) -> ZoneInfo | None:
    """The IANA time zone called ``name``, or None when there is none.

    Besides an unknown or malformed name, ZoneInfo raises OSError for a name
    that is a folder of the tz database (``America``, ``Etc``) rather than a
    zone in it."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return None


def parse_schedule(when, zone=None, *, now=None) -> tuple[dt.datetime, str]:
    """``(UTC naive datetime, zone label)`` from what the user sent.

    ``when`` is ISO 8601. With an offset (``2026-03-29T02:30:00+02:00``, ``…Z``)
    it is an instant and ``zone`` may name the zone to show it in; without one,
    ``zone`` (an IANA name such as ``Europe/Madrid``) is required, and a local
    time that a DST change skips or repeats is refused rather than guessed.
    """
    if not isinstance(when, str) or not when.strip():
        raise InvalidInput("scheduled_at: an ISO 8601 date and time, e.g. 2026-12-01T09:30:00+01:00",
                           field="scheduled_at")
    if len(when) > MAX_WHEN:
        raise InvalidInput(f"scheduled_at: longer than {MAX_WHEN} characters", field="scheduled_at")
    try:
        moment = dt.datetime.fromisoformat(when.strip())
    except ValueError:
        raise InvalidInput(f"scheduled_at: {when[:40]!r} is not an ISO 8601 date and time",
                           field="scheduled_at") from None
    tz = None
    if zone is not None:
        if not isinstance(zone, str) or len(zone) > MAX_ZONE:
            raise InvalidInput("timezone: an IANA time zone name such as Europe/Madrid", field="timezone")
        tz = named_zone(zone)
        if tz is None:
            raise InvalidInput(f"timezone: unknown time zone {zone[:40]!r} (an IANA name such as "
                               f"Europe/Madrid)", field="timezone")
    if moment.tzinfo is None and tz is None:
        raise InvalidInput("scheduled_at: give an offset (…+01:00 or …Z) or a timezone field; "
                           "a time without a zone is ambiguous", field="scheduled_at")
    try:
        if moment.tzinfo is None:
            moment = _localize(moment, tz, zone)
            label = zone
        else:
            label = zone or _offset_label(moment)
        instant = moment.astimezone(dt.timezone.utc).replace(tzinfo=None)
    except OverflowError:  # a time next to year 1 or 9999 that UTC takes past it
        raise Unprocessable("scheduled_at: out of range; choose a time within the next year",
                            field="scheduled_at") from None
    now = now or utcnow()
    if instant <= now:
        shown_at = moment.strftime("%-d %b %Y, %H:%M") + (f" ({label})" if label else "")
        raise Unprocessable(f"scheduled_at: {shown_at} is in the past; publish now instead, or "
                            f"choose a later time", field="scheduled_at")
    if instant - now > MAX_AHEAD:
        raise Unprocessable("scheduled_at: at most a year ahead", field="scheduled_at")
    return instant, label


def _localize(local: dt.datetime, tz: ZoneInfo, name: str) -> dt.datetime:
    """Attach ``tz`` to a wall-clock time, refusing times a DST change skips or repeats."""
    first, second = local.replace(tzinfo=tz, fold=0), local.replace(tzinfo=tz, fold=1)
    if first.utcoffset() != second.utcoffset():
        if _wall_clock(first, tz) != local:
            raise Unprocessable(f"scheduled_at: {local:%Y-%m-%d %H:%M} does not exist in {name} "
                                f"(the clocks skip it); choose another time", field="scheduled_at")
        raise Unprocessable(f"scheduled_at: {local:%Y-%m-%d %H:%M} happens twice in {name} (the "
                            f"clocks go back); give it with an offset", field="scheduled_at")
    return first


def _wall_clock(aware: dt.datetime, tz: ZoneInfo) -> dt.datetime:
    return aware.astimezone(dt.timezone.utc).astimezone(tz).replace(tzinfo=None)


def _offset_label(moment: dt.datetime) -> str:
    offset = moment.utcoffset() or dt.timedelta(0)
    sign, minutes = ("-" if offset < dt.timedelta(0) else "+"), abs(int(offset.total_seconds())) // 60
    return f"{sign}{minutes // 60:02d}:{minutes % 60:02d}"


def zone_of(label: str) -> dt.tzinfo:
    if label and label[0] in "+-":
        hours, minutes = int(label[1:3]), int(label[4:6])
        offset = dt.timedelta(hours=hours, minutes=minutes)
        return dt.timezone(-offset if label[0] == "-" else offset)
    return ZoneInfo(label or "UTC")


def shown(post: Post) -> str | None:
    """The scheduled instant in the zone the user gave it in (ISO 8601)."""
    if post.scheduled_at is None:
        return None
    aware = post.scheduled_at.replace(tzinfo=dt.timezone.utc)
    return aware.astimezone(zone_of(post.schedule_zone)).isoformat()


#: How far apart occurrences of a recurring post may be: a day to a year.
RECURRENCE_UNITS = {"day": 1, "week": 7}
MAX_EVERY_DAYS = 366


def parse_recurrence(value, schedule) -> dict | None:
    """``recurrence``: ``{"every": n, "unit": "day" | "week", "until": "YYYY-MM-DD" (optional)}``,
    repeating from the post's first time (``schedule``: parse_schedule's answer) in its zone;
    None for none. A rule that cannot work — no first time, an interval of zero, an end
    before the first time — is refused naming its field."""
    if value is None:
        return None
    if not isinstance(value, dict) or set(value) - {"every", "unit", "until"}:
        raise InvalidInput('recurrence: an object such as {"every": 1, "unit": "week"} (every Monday if the '
                           'post is first on a Monday), with "until": "2027-06-30" to end it', field="recurrence")
    unit = value.get("unit")
    if unit not in RECURRENCE_UNITS:
        raise InvalidInput(f"recurrence.unit: one of {', '.join(RECURRENCE_UNITS)}", field="recurrence.unit")
    every = value.get("every", 1)
    if type(every) is not int or not 1 <= every * RECURRENCE_UNITS[unit] <= MAX_EVERY_DAYS:
        raise InvalidInput(f"recurrence.every: a whole number of {unit}s from 1 to "
                           f"{MAX_EVERY_DAYS // RECURRENCE_UNITS[unit]} (0 would repeat it at once, for ever)",
                           field="recurrence.every")
    if schedule is None:
        raise InvalidInput("recurrence: give scheduled_at too — the first time it goes out, from which it repeats",
                           field="recurrence")
    until = value.get("until")
    if until is not None:
        try:
            until = dt.date.fromisoformat(until) if isinstance(until, str) else None
        except ValueError:
            until = None
        if until is None:
            raise InvalidInput("recurrence.until: a date such as 2027-06-30", field="recurrence.until")
        first, label = schedule
        if until < first.replace(tzinfo=dt.timezone.utc).astimezone(zone_of(label)).date():
            raise Unprocessable("recurrence.until: before the first time it goes out, so it would never repeat",
                                field="recurrence.until")
        until = until.isoformat()
    return {"every": every, "unit": unit, "until": until}


def next_occurrence(rule: dict, at: dt.datetime, label: str, after: dt.datetime) -> dt.datetime | None:
    """The first time after ``after`` (UTC) on the rule's grid from ``at`` (an occurrence's UTC
    time, in zone ``label``): the same wall-clock time every ``every`` days or weeks, across
    changes of summer time; None once past the rule's ``until``. A time a change skips goes an
    hour later."""
    zone = zone_of(label)
    local = at.replace(tzinfo=dt.timezone.utc).astimezone(zone).replace(tzinfo=None)
    step = dt.timedelta(days=rule["every"] * RECURRENCE_UNITS[rule["unit"]])
    until = dt.date.fromisoformat(rule["until"]) if rule.get("until") else None
    candidate = local
    while True:
        candidate += step
        if until is not None and candidate.date() > until:
            return None
        instant = _utc_of(candidate, zone)
        if instant > after:
            return instant


def _utc_of(local: dt.datetime, zone) -> dt.datetime:
    aware = local.replace(tzinfo=zone)
    if aware.astimezone(dt.timezone.utc).astimezone(zone).replace(tzinfo=None) != local:  # skipped by a change
        aware = (local + dt.timedelta(hours=1)).replace(tzinfo=zone)
    return aware.astimezone(dt.timezone.utc).replace(tzinfo=None)
