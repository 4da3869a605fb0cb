"""A channel's posting times — its queue: weekdays and times of day in a time
zone, such as Monday to Friday at 09:00 and 17:30 in Europe/Madrid — checked
here, and the instants they give from a moment on."""
from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

from ..errors import InvalidInput
from .schedule_time import named_zone

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MAX_SLOTS = 7 * 24
TIME = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


def check(data) -> dict | None:
    """``{"zone": IANA name, "slots": [{"weekday": "mon", "time": "09:00"}, …]}`` checked and
    sorted (None or no slot: no queue).

    Raises:
      InvalidInput: naming the field.
    """
    if data is None:
        return None
    if not isinstance(data, dict) or set(data) - {"zone", "slots"}:
        raise InvalidInput("queue: {\"zone\": an IANA time zone, \"slots\": [{\"weekday\", \"time\"}]}", field="queue")
    zone = data.get("zone") or "UTC"
    if not isinstance(zone, str) or len(zone) > 64 or named_zone(zone) is None:
        raise InvalidInput(f"queue.zone: unknown time zone {str(zone)[:40]!r} (an IANA name such as Europe/Madrid)",
                           field="queue.zone")
    slots = data.get("slots") or []
    if not isinstance(slots, list) or len(slots) > MAX_SLOTS:
        raise InvalidInput(f"queue.slots: a list of at most {MAX_SLOTS} slots", field="queue.slots")
    checked = set()
    for number, slot in enumerate(slots, start=1):
        weekday = slot.get("weekday") if isinstance(slot, dict) else None
        time = slot.get("time") if isinstance(slot, dict) else None
        if weekday not in WEEKDAYS or not isinstance(time, str) or not TIME.match(time):
            raise InvalidInput(f"queue.slots[{number}]: a weekday ({', '.join(WEEKDAYS)}) and a time such as 09:30",
                               field="queue.slots")
        checked.add((WEEKDAYS.index(weekday), time))
    if not checked:
        return None
    return {"zone": zone, "slots": [{"weekday": WEEKDAYS[d], "time": t} for d, t in sorted(checked)]}


def parse_lines(text: str, zone: str) -> dict | None:
    """The channel form's posting times — one line per day or days, such as
    ``mon-fri 09:00 17:30`` or ``sat 10:00`` — as :func:`check` takes them."""
    slots = []
    for number, line in enumerate((text or "").splitlines(), start=1):
        words = line.replace(",", " ").lower().split()
        if not words:
            continue
        days, times = words[0], words[1:]
        if "-" in days:
            first, _, last = days.partition("-")
            if first not in WEEKDAYS or last not in WEEKDAYS:
                raise InvalidInput(f"queue: line {number}: days such as mon-fri, then times such as 09:00",
                                   field="queue")
            chosen = WEEKDAYS[WEEKDAYS.index(first):WEEKDAYS.index(last) + 1]
        elif days[:3] in WEEKDAYS:
            chosen = [days[:3]]
        else:
            raise InvalidInput(f"queue: line {number}: {days[:20]!r} is not a day (mon … sun, or mon-fri)",
                               field="queue")
        times = [t if len(t) == 5 else f"0{t}" for t in times]
        if not times or not all(TIME.match(t) for t in times):
            raise InvalidInput(f"queue: line {number}: after the days, times such as 09:00 17:30", field="queue")
        slots += [{"weekday": d, "time": t} for d in chosen for t in times]
    return check({"zone": zone, "slots": slots})


def as_lines(queue: dict | None) -> str:
    """A queue as the channel form shows it: one line per weekday."""
    if not queue:
        return ""
    by_day = {}
    for slot in queue["slots"]:
        by_day.setdefault(slot["weekday"], []).append(slot["time"])
    return "\n".join(f"{day} {' '.join(times)}" for day, times in by_day.items())


def instants(queue: dict, start: dt.datetime, end: dt.datetime):
    """The queue's slots in [start, end) (naive UTC), in order, as naive UTC datetimes."""
    zone = ZoneInfo(queue["zone"])
    local = start.replace(tzinfo=dt.timezone.utc).astimezone(zone).date()
    wanted = [(WEEKDAYS.index(s["weekday"]), dt.time.fromisoformat(s["time"])) for s in queue["slots"]]
    for offset in range((end - start).days + 2):
        day = local + dt.timedelta(days=offset)
        for weekday, time in wanted:
            if day.weekday() == weekday:
                moment = dt.datetime.combine(day, time, zone).astimezone(dt.timezone.utc).replace(tzinfo=None)
                if start <= moment < end:
                    yield moment
