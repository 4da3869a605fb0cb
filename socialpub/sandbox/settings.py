"""What ``/_sandbox/config`` accepts: each network's settings, their defaults,
and the checks that turn a bad request into one clear message.
"""
from __future__ import annotations

import datetime as dt

NETWORKS = ("facebook", "instagram", "linkedin", "whatsapp")
#: Presets answered with an error in the network's envelope (errors.py).
ERROR_PRESETS = ("server_error", "rate_limit", "token", "bad_parameter", "policy", "bad_gateway")
#: Presets that break the connection instead of answering (faults.py).
CONNECTION_PRESETS = ("hang", "drop_after_record", "timeout_after_record")
#: Failure presets ``fail`` entries may name.
PRESETS = ERROR_PRESETS + CONNECTION_PRESETS
CONTAINER_STATES = ("IN_PROGRESS", "FINISHED", "ERROR", "EXPIRED")
#: Keys a failure entry may hold, besides ``error``.
FAIL_KEYS = {"error", "times", "rate", "minutes", "retry_after", "seconds"}
#: How long ``hang`` and ``timeout_after_record`` wait when no ``seconds`` is given.
DEFAULT_FAULT_SECONDS = 30.0
#: Messages a second a WhatsApp business number may send unless ``throughput`` names it: Meta's default
#: (its "Throughput" page: 80 by default, 1,000 once upgraded, 20 for a number shared with the Business app).
DEFAULT_THROUGHPUT = 80
#: How much faster than the wall clock published items' numbers grow (insights.py): an hour of a post's life
#: each minute, so a post's curve shows in a demo; `socialpub up` ages items for their reads as fast.
INSIGHTS_SPEED = 60.0


def default_config(network: str, latency: float = 0.0) -> dict:
    # Seconds a video the network was given takes to process (IN_PROGRESS, PROCESSING) before it is ready.
    config = {"latency": float(latency), "fail": [], "hold": False, "video_processing_s": 0.0}
    if network != "whatsapp":
        # An error preset (ERROR_PRESETS) every insights read of the network answers until it is set to null.
        config["insights_fail"] = None
    if network == "instagram":
        config["container_status"] = None  # None: containers are FINISHED at once
        # A carousel's item containers from the Nth on (1-based) end ERROR: "a failed child container".
        config["fail_carousel_item"] = None
        # content_publishing_limit: the posts media_publish takes in a rolling window (today's reference
        # example says 50 in 86,400 s); one more is refused with 9/2207042.
        config["publishing_limit"] = {"quota_total": 50, "quota_duration": 86400}
        # How much faster than the wall clock published items' numbers grow (insights.py, every network's):
        # 60 is an hour of a post's life each minute, so a post's curve can be watched in a demo.
        config["insights_speed"] = INSIGHTS_SPEED
        # Seconds added to every published item's age (on the sped-up clock): a test moves time forward with it.
        config["insights_later_s"] = 0.0
    if network == "whatsapp":
        # "open": every number may get free-form messages; "inbound": only those
        # who wrote within 24 hours (/_sandbox/whatsapp/inbound), as Meta does.
        config["windows"] = "open"
        # Status webhooks: "auto" (POSTed as they happen), "manual" (kept until
        # /_sandbox/whatsapp/flush) or "off"; none go without a webhook_url.
        config["statuses"] = "auto"
        config["webhook_url"] = None
        config["app_secret"] = None
        # Synchronous refusals by recipient ({digits: code}: 131056, 130429, 131026…),
        # and numbers whose messages fail later (131026, through the webhook).
        config["refuse"] = {}
        config["undeliverable"] = []
        # Business numbers (phone-number ids) Meta stopped over their messaging limit after template-quality
        # violations: every send from them is refused with 131064 until the id is taken out of the list.
        config["limit_reached"] = []
        # Messages a second by phone-number id ("default": every number not named); a send beyond it within
        # the same whole second is refused with 130429, as Meta refuses it. null: that number is not limited.
        config["throughput"] = {"default": DEFAULT_THROUGHPUT}
    if network == "linkedin":
        config["reject_duplicates"] = True
        # Whether the token endpoint grants refresh tokens (LinkedIn grants them to approved partners only).
        config["refresh_tokens"] = True
        # The day LinkedIn believes it is, for its version sunsets ("2027-02-01"; None: today, UTC).
        config["today"] = None
        # Posts an author may create per day (UTC) before LinkedIn answers 429 (None: no limit).
        config["daily_posts"] = None
    return config


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def check_latencies(latencies) -> dict:
    """Validate ``{network: seconds}``; return it with float values.

    Raises:
      ValueError: unknown network or negative/non-numeric latency.
    """
    checked = {}
    for network, seconds in (latencies or {}).items():
        if network not in NETWORKS:
            raise ValueError(f"unknown network {network!r}")
        if not _is_number(seconds) or seconds < 0:
            raise ValueError(f"{network}: latency must be a number of seconds >= 0, not {seconds!r}")
        checked[network] = float(seconds)
    return checked


def check_fail(network: str, fail) -> list:
    """Validate a ``fail`` value (None, one entry or a list of them); return the list.

    An entry without ``times`` or ``rate`` fails once.
    """
    entries = [] if fail is None else fail if isinstance(fail, list) else [fail]
    checked = []
    for entry in entries:
        if not isinstance(entry, dict) or entry.get("error") not in PRESETS:
            raise ValueError(f"{network}: each fail entry needs an error among {', '.join(PRESETS)}")
        if set(entry) - FAIL_KEYS:
            raise ValueError(f"{network}: unknown fail keys {sorted(set(entry) - FAIL_KEYS)}")
        entry = dict(entry)
        if "times" in entry and "rate" in entry:
            raise ValueError(f"{network}: give times or rate, not both")
        if "rate" in entry:
            if not _is_number(entry["rate"]) or not 0 <= entry["rate"] <= 1:
                raise ValueError(f"{network}: rate must be between 0 and 1")
        else:
            entry.setdefault("times", 1)
            if not isinstance(entry["times"], int) or entry["times"] < 1:
                raise ValueError(f"{network}: times must be a positive integer")
        if "seconds" in entry and (not _is_number(entry["seconds"]) or entry["seconds"] < 0):
            raise ValueError(f"{network}: seconds must be a number >= 0")
        checked.append(entry)
    return checked


def check_hold(network: str, hold: dict) -> dict:
    """A hold of one kind of request: ``{"path": suffix, "after": n}`` holds the
    requests whose path ends with ``suffix`` (or, for a suffix ending with "/",
    holds every path under it) once ``n`` of them went through (any request, not
    only item-creating ones: an upload, a container, a video's part)."""
    if set(hold) - {"path", "after"} or not isinstance(hold.get("path"), str) or not hold["path"]:
        raise ValueError(f"{network}: hold is true, false or {{\"path\": \"/suffix\", \"after\": n}}")
    after = hold.get("after", 0)
    if not isinstance(after, int) or isinstance(after, bool) or after < 0:
        raise ValueError(f"{network}: hold.after must be a whole number >= 0")
    return {"path": hold["path"], "after": after, "seen": 0}


def check_day(text) -> str:
    """An ISO day (``2027-02-01``), as given."""
    try:
        dt.date.fromisoformat(text)
    except (TypeError, ValueError):
        raise ValueError(f"today must be a day such as 2027-02-01, not {text!r}") from None
    return text


def check_throughput(throughput) -> dict:
    """``{phone-number id or "default": messages a second (a whole number >= 1) or null}``;
    ``default`` stays :data:`DEFAULT_THROUGHPUT` unless given."""
    if not isinstance(throughput, dict):
        raise ValueError('throughput maps phone-number ids (or "default") to messages a second, '
                         'e.g. {"106540352242922": 1000}')
    for number, rate in throughput.items():
        if rate is not None and (not isinstance(rate, int) or isinstance(rate, bool) or rate < 1):
            raise ValueError(f"throughput of {number}: a whole number of messages a second from 1 "
                             f"(Meta's levels: 80, 1000; 20 for a number shared with the Business app) "
                             f"or null for no limit, not {rate!r}")
    return {"default": DEFAULT_THROUGHPUT, **{str(k): v for k, v in throughput.items()}}


def check_changes(body) -> dict:
    """Validate a ``POST /_sandbox/config`` body; return ``{network: {key: value}}``.

    Raises:
      ValueError: with a message for the client.
    """
    if not isinstance(body, dict):
        raise ValueError("config must be a JSON object keyed by network")
    changes = {}
    for network, settings in body.items():
        if network not in NETWORKS or not isinstance(settings, dict):
            raise ValueError(f"unknown network {network!r} (or its settings are not an object)")
        allowed = set(default_config(network))
        if set(settings) - allowed:
            raise ValueError(f"{network}: unknown keys {sorted(set(settings) - allowed)}")
        change = dict(settings)
        if "latency" in change:
            change["latency"] = check_latencies({network: change["latency"]})[network]
        if "fail" in change:
            change["fail"] = check_fail(network, change["fail"])
        if "video_processing_s" in change:
            seconds = change["video_processing_s"]
            if not _is_number(seconds) or seconds < 0:
                raise ValueError(f"{network}: video_processing_s must be a number of seconds >= 0")
            change["video_processing_s"] = float(seconds)
        if "publishing_limit" in change:
            limit = change["publishing_limit"]
            if not (isinstance(limit, dict) and set(limit) == {"quota_total", "quota_duration"}
                    and all(isinstance(v, int) and not isinstance(v, bool) and v >= 1 for v in limit.values())):
                raise ValueError("publishing_limit must be {\"quota_total\": n, \"quota_duration\": seconds}, "
                                 "each a whole number from 1")
        if "insights_speed" in change:
            speed = change["insights_speed"]
            if not _is_number(speed) or speed <= 0:
                raise ValueError("insights_speed must be a number above 0 (1: numbers grow in real time)")
            change["insights_speed"] = float(speed)
        if "insights_later_s" in change:
            later = change["insights_later_s"]
            if not _is_number(later) or later < 0:
                raise ValueError("insights_later_s must be a number of seconds >= 0")
            change["insights_later_s"] = float(later)
        if change.get("insights_fail") not in (None, *ERROR_PRESETS):
            raise ValueError(f"insights_fail must be null or one of {', '.join(ERROR_PRESETS)}")
        daily = change.get("daily_posts")
        if daily is not None and (not isinstance(daily, int) or isinstance(daily, bool) or daily < 0):
            raise ValueError("daily_posts must be a whole number of posts a day, or null for no limit")
        if change.get("container_status") not in (None, *CONTAINER_STATES):
            raise ValueError(f"container_status must be one of {', '.join(CONTAINER_STATES)}")
        item = change.get("fail_carousel_item")
        if item is not None and (not isinstance(item, int) or isinstance(item, bool) or item < 1):
            raise ValueError("fail_carousel_item must be a whole number from 1 (the first item) on, or null")
        if change.get("windows", "open") not in ("open", "inbound"):
            raise ValueError("windows must be 'open' or 'inbound'")
        if change.get("statuses", "auto") not in ("auto", "manual", "off"):
            raise ValueError("statuses must be 'auto', 'manual' or 'off'")
        for key in ("webhook_url", "app_secret"):
            if change.get(key) is not None and not isinstance(change[key], str):
                raise ValueError(f"{key} must be text or null")
        refuse = change.get("refuse", {})
        if not isinstance(refuse, dict) or not all(isinstance(c, int) for c in refuse.values()):
            raise ValueError("refuse maps phone numbers (digits) to error codes")
        if "refuse" in change:
            change["refuse"] = {"".join(ch for ch in k if ch.isdigit()): v for k, v in refuse.items()}
        if not isinstance(change.get("undeliverable", []), list):
            raise ValueError("undeliverable is a list of phone numbers")
        if "undeliverable" in change:
            change["undeliverable"] = ["".join(ch for ch in n if ch.isdigit()) for n in change["undeliverable"]]
        if change.get("today") is not None:
            change["today"] = check_day(change["today"])
        limited = change.get("limit_reached", [])
        if not isinstance(limited, list) or not all(isinstance(n, str) and n for n in limited):
            raise ValueError("limit_reached is a list of phone-number ids")
        if "throughput" in change:
            change["throughput"] = check_throughput(change["throughput"])
        if isinstance(change.get("hold"), dict):
            change["hold"] = check_hold(network, change["hold"])
        for flag in ("reject_duplicates", "hold", "refresh_tokens"):
            if not isinstance(change.get(flag, True), (bool, dict) if flag == "hold" else bool):
                raise ValueError(f"{flag} must be true or false")
        changes[network] = change
    return changes
