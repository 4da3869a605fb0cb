"""Everything the sandbox remembers, behind one lock: per-network configuration
(latency, injected failures, ...), the items it accepted, the requests it
answered, and the objects the fake APIs created (containers, posts, images).

A reset starts a new *epoch*: a request that began before the reset and ends
after it (a slow request whose client timed out) is not recorded.
"""
from __future__ import annotations

import collections
import copy
import itertools
import random
import secrets
import threading

NETWORKS = ("facebook", "instagram", "linkedin", "whatsapp")
#: Failure presets ``fail`` entries may name; errors.py answers each in the network's envelope.
PRESETS = ("server_error", "rate_limit", "token", "bad_parameter", "policy", "bad_gateway")
CONTAINER_STATES = ("IN_PROGRESS", "FINISHED", "ERROR", "EXPIRED")
#: How many received items / requests are kept; older ones are dropped.
HISTORY = 10000
#: Keys a failure entry may hold, besides ``error``.
FAIL_KEYS = {"error", "times", "rate", "minutes", "retry_after"}


def default_config(network: str, latency: float = 0.0) -> dict:
    config = {"latency": float(latency), "fail": []}
    if network == "instagram":
        config["container_status"] = None  # None: containers are FINISHED at once
    if network == "linkedin":
        config["reject_duplicates"] = True
    return config


def check_latencies(latencies) -> dict:
    """Validate ``{network: seconds}``; return it with float values.

    Raises:
      ValueError: unknown network or negative/non-numeric latency.
    """
    checked = {}
    for network, seconds in (latencies or {}).items():
        if network not in NETWORKS:
            raise ValueError(f"unknown network {network!r}")
        if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or seconds < 0:
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
            if not isinstance(entry["rate"], (int, float)) or not 0 <= entry["rate"] <= 1:
                raise ValueError(f"{network}: rate must be between 0 and 1")
        else:
            entry.setdefault("times", 1)
            if not isinstance(entry["times"], int) or entry["times"] < 1:
                raise ValueError(f"{network}: times must be a positive integer")
        checked.append(entry)
    return checked


class SandboxState:
    """The sandbox's memory. Every method takes the lock; none sleeps while holding it."""

    def __init__(self, latencies=None):
        self.lock = threading.Lock()
        self.initial_latencies = check_latencies(latencies)
        self.config = {n: default_config(n, self.initial_latencies.get(n, 0.0)) for n in NETWORKS}
        self.epoch = 0
        # Ids look real: long numbers, unique for the life of the process.
        self._numbers = itertools.count(17_841_400_000_000_000 + random.randrange(10**12))
        self._clear()

    def _clear(self):
        self.received = collections.deque(maxlen=HISTORY)
        self.requests = collections.deque(maxlen=HISTORY)
        self.containers = {}   # container id -> {account_id, image_url, caption, status}
        self.posts = {}        # (author, commentary) -> share URN, for LinkedIn duplicates
        self.uploads = {}      # upload key -> {image, owner, size}

    # -- configuration -------------------------------------------------------------------

    def configure(self, body) -> dict:
        """Apply ``{network: {latency?, fail?, container_status?, reject_duplicates?}}``.

        Only the networks and keys given change. Validates everything first, so
        a bad request changes nothing.

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
            if change.get("container_status") not in (None, *CONTAINER_STATES):
                raise ValueError(f"container_status must be one of {', '.join(CONTAINER_STATES)}")
            if not isinstance(change.get("reject_duplicates", True), bool):
                raise ValueError("reject_duplicates must be true or false")
            changes[network] = change
        with self.lock:
            for network, change in changes.items():
                self.config[network].update(change)
            return copy.deepcopy(self.config)

    def snapshot(self) -> dict:
        with self.lock:
            return copy.deepcopy(self.config)

    def setting(self, network: str, key: str):
        with self.lock:
            return self.config[network][key]

    def reset(self, latencies: bool = False):
        """Forget items, requests, created objects and failures; keep latencies unless asked."""
        with self.lock:
            self.epoch += 1
            self._clear()
            for network in NETWORKS:
                latency = self.initial_latencies.get(network, 0.0) if latencies \
                    else self.config[network]["latency"]
                self.config[network] = default_config(network, latency)

    def take_fault(self, network: str):
        """The failure the next item-creating request must answer with, or None.

        Entries are tried in order: a ``times`` entry always fires (and is used
        up after that many), a ``rate`` entry fires with that probability.
        """
        with self.lock:
            queue = self.config[network]["fail"]
            for entry in list(queue):
                if "times" in entry:
                    entry["times"] -= 1
                    if entry["times"] == 0:
                        queue.remove(entry)
                    return dict(entry)
                if random.random() < entry["rate"]:
                    return dict(entry)
            return None

    # -- history -------------------------------------------------------------------------

    def record(self, epoch: int, item: dict):
        with self.lock:
            if epoch == self.epoch:
                self.received.append(item)

    def log_request(self, epoch: int, entry: dict):
        with self.lock:
            if epoch == self.epoch:
                self.requests.append(entry)

    def history(self, which: str, network=None, failed_only=False) -> list:
        with self.lock:
            items = list(self.received if which == "received" else self.requests)
        return [dict(i) for i in items if (network is None or i["network"] == network)
                and (not failed_only or i["status"] >= 400)]

    # -- ids -----------------------------------------------------------------------------

    def new_number(self) -> int:
        with self.lock:
            return next(self._numbers)

    def new_wamid(self) -> str:
        return "wamid.HBgL" + secrets.token_urlsafe(24).replace("-", "A").replace("_", "B")

    def new_image_urn(self) -> str:
        return "urn:li:image:C4E10AQ" + secrets.token_urlsafe(12).replace("-", "x").replace("_", "y")

    # -- objects the fake APIs create ----------------------------------------------------

    def put(self, kind: str, key, value):
        """Store ``value`` under ``key`` in ``containers``, ``posts`` or ``uploads``."""
        with self.lock:
            getattr(self, kind)[key] = value

    def get(self, kind: str, key):
        """A copy of the stored object, or None."""
        with self.lock:
            value = getattr(self, kind).get(key)
            return copy.copy(value)

    def claim_post(self, author: str, commentary: str, urn: str):
        """Remember a LinkedIn post; return the URN of an identical earlier one, else None."""
        with self.lock:
            earlier = self.posts.get((author, commentary))
            if earlier is None:
                self.posts[(author, commentary)] = urn
            return earlier

    def mark_published(self, container_id: str) -> bool:
        """Move a container to PUBLISHED; False if it already was (two publishes raced)."""
        with self.lock:
            container = self.containers[container_id]
            if container["status"] == "PUBLISHED":
                return False
            container["status"] = "PUBLISHED"
            return True
