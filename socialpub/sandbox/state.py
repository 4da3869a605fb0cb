"""Everything the sandbox remembers, behind one lock: per-network configuration
(latency, injected failures, ...), the items it accepted, the requests it
answered, and the objects the fake APIs created (containers, posts, images).

A reset starts a new *epoch*: a request that began before the reset and ends
after it (a slow request whose client timed out) is not recorded.

Requests that wait (``hold``, ``hang``, ``timeout_after_record``) wait on one
condition, notified whenever the configuration changes or the state is reset.
"""
from __future__ import annotations

import collections
import copy
import ipaddress
import itertools
import os
import random
import secrets
import threading
import time
from urllib.parse import urlsplit

from ..config import env_text, format_allowed, parse_networks
from .settings import DEFAULT_THROUGHPUT, NETWORKS, check_changes, check_latencies, default_config
from .wa_world import WhatsAppWorld

#: How many received items / requests are kept; older ones are dropped.
HISTORY = 10000
#: Longest a held request waits to be released before it gives up.
HOLD_LIMIT = 120.0
#: WhatsApp's settings a reset keeps unless told otherwise: where Meta's webhooks go and their secret.
WEBHOOK_KEYS = ("webhook_url", "app_secret")
#: How long a WhatsApp message may take on its way from its sender: one arriving this early in a second
#: counts in the second before while that one has room (``count_message``).
TRANSIT_S = 0.1
#: How many seconds back the WhatsApp message counts are kept (a held request is counted in the second it came).
COUNTED_S = 2 * HOLD_LIMIT


def allowed_from_environment(env=None) -> tuple:
    """What the sandbox's Instagram may fetch although it is not public: what
    socialpub's own fetches may (``SOCIALPUB_OUTBOUND_ALLOW``), and the address of
    ``SOCIALPUB_PUBLIC_BASE_URL`` when it is an IP address — the one socialpub declares
    the networks can fetch its media from, which ``socialpub up`` sets to the
    app on loopback."""
    env = os.environ if env is None else env
    allowed = parse_networks(env_text(env, "outbound_allow"))
    public = urlsplit(env_text(env, "public_base_url"))
    try:
        address = ipaddress.ip_address(public.hostname or "")
        port = public.port or (443 if public.scheme == "https" else 80)
    except ValueError:  # a name (fetched if it resolves to a public address), or no URL
        return allowed
    return allowed + (format_allowed(ipaddress.ip_network(address), port),)


class SandboxState:
    """The sandbox's memory. Every method takes the lock; none sleeps while holding it
    (the waiting methods wait on ``changed``, which releases it).
    """

    def __init__(self, latencies=None, hold_limit: float = HOLD_LIMIT, fetch_allow=None):
        #: What Instagram may fetch media from although it is not public (image.fetch_image);
        #: set before the sandbox serves (tests: loopback), then only read, without the lock.
        self.fetch_allow = tuple(fetch_allow) if fetch_allow is not None else allowed_from_environment()
        self.lock = threading.Lock()
        self.changed = threading.Condition(self.lock)
        self.hold_limit = hold_limit
        self.held = dict.fromkeys(NETWORKS, 0)
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
        self.grants = {}       # authorization code -> {client_id, redirect_uri, scopes, issued_at, …}
        self.used_codes = set()  # codes redeemed (or tried) once: a second try is told so
        self.tokens = {}       # access token -> {client_id, scopes, expires_at, refresh_token}
        self.refresh_tokens = {}  # refresh token -> {client_id, scopes, expires_at}
        self.whatsapp = WhatsAppWorld()  # templates, windows, opt-outs, statuses to send
        self.messages = {}     # (phone-number id, whole second) -> WhatsApp messages counted in it
        self.comments = {}     # item id -> its comments, oldest first

    # -- configuration -------------------------------------------------------------------

    def configure(self, body) -> dict:
        """Apply ``{network: {latency?, fail?, hold?, container_status?, reject_duplicates?}}``.

        Only the networks and keys given change. Validates everything first, so
        a bad request changes nothing.

        Raises:
          ValueError: with a message for the client.
        """
        changes = check_changes(body)
        with self.lock:
            for network, change in changes.items():
                self.config[network].update(change)
            self.changed.notify_all()
            return copy.deepcopy(self.config)

    def snapshot(self) -> dict:
        with self.lock:
            return copy.deepcopy(self.config)

    def setting(self, network: str, key: str):
        with self.lock:
            return self.config[network][key]

    def reset(self, latencies: bool = False, webhook: bool = False):
        """Forget items, requests, created objects and failures; keep latencies,
        and WhatsApp's webhook address and secret, unless asked: they describe
        where the app listens, which a reset between two cases does not move."""
        with self.lock:
            self.epoch += 1
            self._clear()
            kept = {key: self.config["whatsapp"][key] for key in WEBHOOK_KEYS} if not webhook else {}
            for network in NETWORKS:
                latency = self.initial_latencies.get(network, 0.0) if latencies \
                    else self.config[network]["latency"]
                self.config[network] = default_config(network, latency)
            self.config["whatsapp"].update(kept)
            self.changed.notify_all()

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

    def throughput(self, phone_id: str):
        """WhatsApp number ``phone_id``'s messages a second (None: not limited)."""
        with self.lock:
            return self._throughput(phone_id)

    def _throughput(self, phone_id: str):
        limits = self.config["whatsapp"]["throughput"]
        return limits[phone_id] if phone_id in limits else limits.get("default", DEFAULT_THROUGHPUT)

    def count_message(self, phone_id: str, at: float, epoch: int, refuse: bool = True) -> bool:
        """Count one message of WhatsApp business number ``phone_id`` that
        reached the sandbox at ``at``; False, uncounted, when ``refuse`` and
        its second has had the number's ``throughput`` already (Meta's 130429).
        An inbound message (``refuse=False``) counts, as Meta's throughput
        counts messages both ways, but is never refused.

        Fixed windows of whole seconds of the wall clock, each message counted
        in the second it was sent: Meta states a number's throughput in
        messages a second and says no more, and socialpub paces its sends the
        same way (Dramatiq's WindowRateLimiter, one-second window: whole seconds
        of the same clock, a place taken just before the send). A sliding window
        would refuse a client that keeps to its rate — one second's sends at its
        end, the next second's at its start. A message arriving in the first
        :data:`TRANSIT_S` of a second left its sender in the second before, as
        likely as not, so it counts there while that second has room; counted
        by arrival alone, a paced sender's last send of a second, still on its
        way at the turn of the second, would push the next one over (3 refusals
        in 660 sends at 80 a second, 0.3 s latency, 32 senders at once).
        The lock makes the count exact under concurrent requests.
        """
        second = int(at)
        with self.lock:
            if epoch != self.epoch:
                return True  # a request from before a reset counts against nobody's window
            limit = self._throughput(phone_id)
            if limit is not None and at - second < TRANSIT_S \
                    and self.messages.get((phone_id, second - 1), 0) < limit:
                second -= 1
            count = self.messages.get((phone_id, second), 0)
            if refuse and limit is not None and count >= limit:
                return False
            if not count and len(self.messages) > 1000:
                self.messages = {k: v for k, v in self.messages.items() if k[1] > second - COUNTED_S}
            self.messages[(phone_id, second)] = count + 1
            return True

    # -- waiting -------------------------------------------------------------------------

    def _holds(self, network: str, path, creates_item: bool) -> bool:
        """Whether this request is held: every item-creating one (``hold: true``),
        or those of one path past the first ``after`` (``hold: {path, after}``; a path
        ending with "/" is every path under it: ``/video-upload/`` holds each part of every video)."""
        hold = self.config[network]["hold"]
        if isinstance(hold, dict):
            under = hold["path"].endswith("/") and hold["path"] in (path or "")
            if path is None or not (path.endswith(hold["path"]) or under):
                return False
            hold["seen"] += 1
            return hold["seen"] > hold["after"]
        return bool(hold) and creates_item

    def wait_while_held(self, network: str, epoch: int, path=None, creates_item: bool = True) -> bool:
        """Block while ``network`` holds this request; False when ``hold_limit`` passed first.

        A reset releases every held request (its epoch is then over).
        """
        deadline = time.monotonic() + self.hold_limit
        with self.lock:
            if not self._holds(network, path, creates_item):
                return True
            self.held[network] += 1
            self.changed.notify_all()
            try:
                while self.config[network]["hold"] and self.epoch == epoch:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        return False
                    self.changed.wait(remaining)
                return True
            finally:
                self.held[network] -= 1
                self.changed.notify_all()

    def pause(self, seconds: float, epoch: int):
        """Sleep ``seconds``, or less when the state is reset meanwhile."""
        deadline = time.monotonic() + seconds
        with self.lock:
            while self.epoch == epoch:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return
                self.changed.wait(remaining)

    def held_counts(self, network=None, at_least: int = 0, timeout: float = 0.0) -> dict:
        """``{network: requests held now}``, after waiting up to ``timeout`` seconds
        for ``network`` to hold ``at_least`` of them.
        """
        deadline = time.monotonic() + timeout
        with self.lock:
            while network is not None and self.held[network] < at_least:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self.changed.wait(remaining)
            return dict(self.held)

    # -- history -------------------------------------------------------------------------

    # -- OAuth (the sandbox's authorization server; see oauth.py) -------------------------

    def grant_code(self, client_id: str, redirect_uri: str, scopes: list, **extra) -> str:
        """A new single-use authorization code; ``extra`` (the Pages or account
        the person chose) comes back with the grant."""
        code = "AQ" + secrets.token_urlsafe(24)
        with self.lock:
            self.grants[code] = {"client_id": client_id, "redirect_uri": redirect_uri, "scopes": scopes,
                                 "issued_at": time.time(), **extra}
        return code

    def code_used(self, code: str) -> bool:
        """Whether ``code`` was redeemed (or tried) before."""
        with self.lock:
            return code in self.used_codes

    def redeem_code(self, code: str, client_id: str, redirect_uri: str, lifetime_s: float):
        """The grant of ``code`` if it is unused, unexpired and was made for this
        client and redirect URI, else None; a code is used up even by a failed try."""
        with self.lock:
            grant = self.grants.pop(code, None)
            if grant is not None:
                self.used_codes.add(code)
        if (grant is None or grant["client_id"] != client_id or grant["redirect_uri"] != redirect_uri
                or time.time() - grant["issued_at"] > lifetime_s):
            return None
        return grant

    def issue_token(self, client_id: str, scopes: list, lifetime_s: float, refresh_lifetime_s=None,
                    refresh_token=None, prefix: str = "AQV", **extra) -> dict:
        """A new access token (and a refresh token when ``refresh_lifetime_s``);
        ``extra`` is kept with it (whose it is: a Page, an Instagram account)."""
        now = time.time()
        token = {"access_token": prefix + secrets.token_urlsafe(32), "expires_at": now + lifetime_s}
        with self.lock:
            if refresh_lifetime_s is not None:
                refresh_token = refresh_token or "AQX" + secrets.token_urlsafe(32)
                refresh = self.refresh_tokens.setdefault(
                    refresh_token, {"client_id": client_id, "scopes": scopes, "expires_at": now + refresh_lifetime_s})
                token.update(refresh_token=refresh_token, refresh_expires_at=refresh["expires_at"])
            self.tokens[token["access_token"]] = {"client_id": client_id, "scopes": scopes, "issued_at": now,
                                                  "expires_at": token["expires_at"], **extra}
        return token

    def refresh_grant(self, refresh_token: str, client_id: str):
        """The grant behind a live refresh token of this client, else None."""
        with self.lock:
            grant = self.refresh_tokens.get(refresh_token)
        if grant is None or grant["client_id"] != client_id or grant["expires_at"] < time.time():
            return None
        return grant

    def token_info(self, access_token: str):
        """``{scopes, expires_at, …}`` of a token the sandbox issued, else None
        (tokens it did not issue, such as the demo channels', are taken as they are)."""
        with self.lock:
            return copy.deepcopy(self.tokens.get(access_token))

    def expire_tokens(self) -> int:
        """Make every access token issued so far expired (for tests of expiry)."""
        with self.lock:
            for token in self.tokens.values():
                token["expires_at"] = 0.0
            return len(self.tokens)

    def age_tokens(self, seconds: float) -> int:
        """Make every access token issued so far ``seconds`` older (issued and expiring
        earlier), as if that time had passed."""
        with self.lock:
            for token in self.tokens.values():
                token["issued_at"] -= seconds
                token["expires_at"] -= seconds
            return len(self.tokens)

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
        # A request answered with nothing (hang, drop) has no status and counts as failed.
        return [dict(i) for i in items if (network is None or i["network"] == network)
                and (not failed_only or i["status"] is None or i["status"] >= 400)]

    # -- comments ------------------------------------------------------------------------

    def add_comment(self, item_id: str, comment: dict):
        with self.lock:
            self.comments.setdefault(item_id, []).append(comment)

    def comments_of(self, item_id: str) -> list:
        with self.lock:
            return copy.deepcopy(self.comments.get(item_id, []))

    def every_comment(self) -> list:
        with self.lock:
            return [{"item_id": item, "id": c["id"], "text": c["text"], "author": c["author"],
                     "network": c["network"]} for item, comments in self.comments.items() for c in comments]

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

    def count(self, kind: str, matches) -> int:
        """How many stored objects of ``kind`` ``matches(value)`` is true for."""
        with self.lock:
            return sum(1 for value in getattr(self, kind).values() if matches(value))

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
