"""Downloading a URL that someone else chose (a post's image) without letting
it reach this machine or the network behind it: the guard against server-side
request forgery (SSRF).

Whoever composes a post picks its image URL, and the LinkedIn adapter fetches
it from the worker. Fetched naively, ``http://169.254.169.254/…`` would read the
cloud metadata service (credentials), ``http://127.0.0.1:6379/`` would talk to
Redis, and the answer would be uploaded where the author can see it. So:

- only http and https;
- every address the host name resolves to must be public, unless it lies in an
  allowed network (the sandbox on loopback); one bad answer refuses the name;
- the socket connects to the address that was checked, never to a second DNS
  answer (DNS rebinding), while TLS still verifies the host *name*;
- redirects are followed here, a few at most, each target checked again;
- the body is capped in bytes and the whole download in seconds.

Refusals are permanent :class:`PublishError`\\ s: the same URL will be refused
next time too.
"""
from __future__ import annotations

import functools
import ipaddress
import os
import socket
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Iterable, Optional
from urllib.parse import urljoin, urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3 import PoolManager
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.exceptions import ConnectTimeoutError, NameResolutionError, NewConnectionError
from urllib3.util.connection import allowed_gai_family, create_connection

from ..config import format_allowed, parse_allowed
from .base import AddressRefused, ErrorKind, PublishError, Timeouts
from .explain import IMAGE
from .transport import transport_error

#: The only schemes fetched: file://, gopher:// and the like reach what HTTP cannot.
SCHEMES = ("http", "https")
#: Redirects followed before giving up; an image URL rarely needs more than one.
MAX_REDIRECTS = 3
#: Bytes read at a time while counting towards the size limit.
CHUNK_BYTES = 64 * 1024
#: RFC 6598 shared address space (carrier-grade NAT): not global, named apart.
SHARED = ipaddress.ip_network("100.64.0.0/10")
#: RFC 6052 NAT64: the last 32 bits are the IPv4 address the packets end up at.
NAT64 = ipaddress.ip_network("64:ff9b::/96")


def _kind_of(ip) -> Optional[str]:
    """What makes ``ip`` unfit ("a loopback address", ...), or None for a public address."""
    # ipaddress's is_private also covers loopback, link-local and the rest, so
    # the narrower names are tried first to give the clearest reason.
    if ip.is_loopback:
        return "a loopback address"
    if ip.is_link_local:
        return "a link-local address"
    if ip.is_unspecified:
        return "the unspecified address"
    if ip.is_multicast:  # ff0e::/16 and 224/4 count as global in Python 3.11
        return "a multicast address"
    if ip in SHARED:
        return "a shared (carrier-grade NAT) address"
    if ip.version == 6 and ip.is_site_local:  # deprecated fec0::/10, global for Python 3.11
        return "a site-local address"
    if ip.is_reserved:
        return "a reserved address"
    if ip.is_private:
        return "a private address"
    if not ip.is_global:
        return "not a public address"
    return None


def _reached(ip) -> list:
    """The addresses a connection to ``ip`` really reaches: IPv6 forms that carry
    an IPv4 address (mapped ``::ffff:a.b.c.d``, NAT64, 6to4) reach that one too."""
    if ip.version == 4:
        return [ip]
    if ip.ipv4_mapped:
        return [ip.ipv4_mapped]
    if ip in NAT64:
        return [ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)]
    return [ip] + ([ip.sixtofour] if ip.sixtofour else [])


class Guard:
    """Which addresses a download may connect to: public ones, and those in ``allow``.

    Parameters:
      allow(iterable of str): what is permitted although not public
        (``OUTBOUND_ALLOW_NETWORKS``): networks in CIDR notation, or one
        address and port, as ``socialpub up`` allows its sandbox
        (``127.0.0.1:5055``) — not Redis or the app beside it on loopback.

    Raises:
      ValueError: an entry of ``allow`` is neither.
    """

    def __init__(self, allow: Iterable[str] = ()):
        self.allow = tuple(parse_allowed(entry) for entry in allow)

    def refusal(self, address: str, port: Optional[int] = None) -> Optional[tuple]:
        """``(address as shown, what it is)`` when ``address`` (and ``port``) is refused, else None."""
        address = address.split("%")[0]  # drop an IPv6 zone ("fe80::1%eth0")
        ip = ipaddress.ip_address(address)
        for reached in _reached(ip):
            if any(reached in network and allowed_port in (None, port) for network, allowed_port in self.allow):
                continue
            kind = _kind_of(reached)
            if kind:
                return (f"{address} ({reached})" if reached != ip else address), kind
        return None

    def to_allow(self, address: str, port: int) -> list:
        """The ``OUTBOUND_ALLOW_NETWORKS`` entries (``address:port``) that
        would let ``address`` and ``port`` through: none when it already passes."""
        ip = ipaddress.ip_address(address.split("%")[0])
        return [format_allowed(ipaddress.ip_network(reached), port) for reached in _reached(ip)
                if self.refusal(str(reached), port)]

    def resolve(self, host: str, port: int) -> list:
        """Resolve ``host`` and return its addresses, every one of them checked.

        One refused answer refuses the name: the resolver's order is not ours
        to trust, and an attacker's DNS can return a public and a private one.

        Raises:
          AddressRefused: an address is not allowed.
          socket.gaierror: the name does not resolve.
        """
        answers = socket.getaddrinfo(host, port, allowed_gai_family(), socket.SOCK_STREAM)
        addresses = list(dict.fromkeys(sockaddr[0] for *_, sockaddr in answers))
        for address in addresses:
            refused = self.refusal(address, port)
            if refused and _is_ip(host):
                raise AddressRefused(f"{refused[0]} is {refused[1]}")
            if refused:
                raise AddressRefused(f"{host} resolves to {refused[0]}, {refused[1]}")
        return addresses


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


class Deadline:
    """A call's total time limit (a download, a webhook, an API call, an
    e-mail's conversation), enforced on its sockets.

    Per-read timeouts restart with every byte, so a server dripping one byte a
    second would hold a worker for hours. When the limit passes, every socket
    the call opened (or :meth:`watch` was given) is shut down, which wakes any read blocked on it;
    ``expired`` then tells the caller why the read ended.

    Parameters:
      seconds(float): the limit, counted from now.
    """

    def __init__(self, seconds: float):
        self.seconds = seconds
        self.expired = False
        self._ends = time.monotonic() + seconds
        self._sockets: list = []
        self._lock = threading.Lock()
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True

    def __enter__(self) -> "Deadline":
        self._timer.start()
        return self

    def __exit__(self, *exc_info):
        self._timer.cancel()
        self._close()

    def left(self) -> float:
        """Seconds until the limit (0 once it has passed)."""
        return max(0.0, self._ends - time.monotonic())

    def timeouts(self, timeouts: Timeouts) -> tuple:
        """``(connect, read)`` timeouts no longer than the time left."""
        left = self.left()
        if left <= 0:
            self.expired = True
            raise _OutOfTime()
        return min(timeouts.connect, left), min(timeouts.read, left)

    def watch(self, sock: socket.socket):
        """Shut ``sock``'s connection down when the limit passes (at once if it already has).

        What is kept is a duplicate of its descriptor: wrapping a socket in TLS
        detaches the object that was given (which then shuts nothing down), and
        a TLS socket cannot be duplicated itself; the duplicate reaches the
        same connection either way, and is closed with the deadline."""
        try:
            copy = socket.socket(fileno=os.dup(sock.fileno()))
        except OSError:  # already closed: nothing can block on it
            return
        with self._lock:
            self._sockets.append(copy)
            if self.expired:
                _shut(copy)

    def _expire(self):
        with self._lock:
            self.expired = True
            for sock in self._sockets:
                _shut(sock)

    def _close(self):
        with self._lock:
            for sock in self._sockets:
                sock.close()
            self._sockets.clear()


class _OutOfTime(Exception):
    """The download's time limit passed."""


_thread = threading.local()


@contextmanager
def calls_within(seconds: float):
    """Every API call this thread makes in the block (the networks' calls of a
    publish attempt) ends within ``seconds`` from now, however slowly it is
    answered: each new or kept-alive connection it uses is watched by one
    :class:`Deadline`, and no timeout is longer than the time left."""
    with Deadline(seconds) as deadline:
        _thread.deadline = deadline
        try:
            yield deadline
        finally:
            _thread.deadline = None


def calls_deadline() -> Optional[Deadline]:
    """The deadline :func:`calls_within` set for this thread's API calls, if any."""
    return getattr(_thread, "deadline", None)


@contextmanager
def calls_under(deadline: Optional[Deadline]):
    """This thread's API calls in the block end by ``deadline`` — another
    thread's (calls_deadline), when a helper thread makes calls on its behalf."""
    _thread.deadline = deadline
    try:
        yield deadline
    finally:
        _thread.deadline = None


def _shut(sock: socket.socket):
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:  # already closed: nothing is blocked on it
        pass


class _GuardedConnectionMixin:
    """Connects only to addresses the guard checked, resolving the name once.

    urllib3 connects by name (``create_connection`` resolves again), which a
    DNS answer with a zero TTL could point elsewhere after the check. Here the
    checked address is what is connected to; ``self.host`` keeps the name, so
    HTTPS still sends it as SNI and verifies the certificate against it.
    """

    def __init__(self, *args, guard: Guard, deadline: Optional[Deadline] = None, **kwargs):
        self.guard = guard
        self.deadline = deadline
        super().__init__(*args, **kwargs)

    def _watching(self) -> Optional[Deadline]:
        # A download's or a webhook's own, else the API call's (its connections are pooled per thread).
        return self.deadline or calls_deadline()

    def request(self, *args, **kwargs):
        deadline = self._watching()
        if deadline is not None and self.sock is not None:  # a kept-alive connection, opened before
            deadline.watch(self.sock)
        return super().request(*args, **kwargs)

    def _new_conn(self) -> socket.socket:
        host = self._dns_host.strip("[]")
        try:
            addresses = self.guard.resolve(host, self.port)
        except socket.gaierror as exc:
            raise NameResolutionError(self.host, self, exc) from exc
        error: Optional[OSError] = None
        for address in addresses:
            try:
                sock = create_connection((address, self.port), self.timeout,
                                         source_address=self.source_address,
                                         socket_options=self.socket_options)
            except OSError as exc:
                error = exc
                continue
            deadline = self._watching()
            if deadline is not None:
                deadline.watch(sock)
            return sock
        if isinstance(error, socket.timeout):
            raise ConnectTimeoutError(
                self, f"Connection to {self.host} timed out. (connect timeout={self.timeout})") from error
        raise NewConnectionError(self, f"Failed to establish a new connection: {error}") from error


class GuardedHTTPConnection(_GuardedConnectionMixin, HTTPConnection):
    pass


class GuardedHTTPSConnection(_GuardedConnectionMixin, HTTPSConnection):
    pass


class _GuardedPoolManager(PoolManager):
    """A PoolManager whose pools open guarded connections."""

    def __init__(self, connection_kw: dict, **kwargs):
        self.connection_kw = connection_kw
        super().__init__(**kwargs)

    def _new_pool(self, scheme, host, port, request_context=None):
        pool = super()._new_pool(scheme, host, port, request_context)
        cls = GuardedHTTPSConnection if scheme == "https" else GuardedHTTPConnection
        # Pools open connections lazily, so swapping the class here covers them all.
        # (PoolManager keys pools by known keywords only, hence not connection_pool_kw.)
        pool.ConnectionCls = functools.partial(cls, **self.connection_kw)
        return pool


class _GuardedAdapter(HTTPAdapter):
    def __init__(self, **connection_kw):
        self.connection_kw = connection_kw  # init_poolmanager, called by __init__, needs it
        super().__init__(max_retries=0)

    def init_poolmanager(self, connections, maxsize, block=False, **pool_kwargs):
        self._pool_connections, self._pool_maxsize, self._pool_block = connections, maxsize, block
        self.poolmanager = _GuardedPoolManager(self.connection_kw, num_pools=connections,
                                               maxsize=maxsize, block=block, **pool_kwargs)


class _ApiCallGuard:
    """The guard of the networks' API calls: a channel's ``base_url`` is the
    user's to set, so without it a channel pointed at http://169.254.169.254/
    or an internal service would make the workers call it, token attached.

    One per process, set at start-up from ``OUTBOUND_ALLOW_NETWORKS`` by
    :func:`guard_api_calls`; until then (adapters used on their own, in
    tests) calls are not checked. Calls through a proxy from the environment
    go to the proxy, which decides.
    """

    guard: Optional[Guard] = None

    def resolve(self, host: str, port: int) -> list:
        if self.guard is None:
            answers = socket.getaddrinfo(host, port, allowed_gai_family(), socket.SOCK_STREAM)
            return list(dict.fromkeys(sockaddr[0] for *_, sockaddr in answers))
        return self.guard.resolve(host, port)


_API_CALLS = _ApiCallGuard()


def guard_api_calls(allow: Iterable[str]) -> None:
    """Check every API call's address from now on: public, or in ``allow`` (CIDR)."""
    _API_CALLS.guard = Guard(allow)


def api_call_adapter() -> HTTPAdapter:
    """The transport adapter :func:`networks.http.session` mounts for API calls."""
    return _GuardedAdapter(guard=_API_CALLS)


def _session(guard: Guard, deadline: Deadline) -> requests.Session:
    session = requests.Session()
    # A proxy from the environment would be connected to instead of the checked address.
    session.trust_env = False
    # Counted bytes are then the bytes sent: no decompression bomb behind a small body.
    session.headers.update({"User-Agent": "socialpub", "Accept-Encoding": "identity"})
    adapter = _GuardedAdapter(guard=guard, deadline=deadline)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


def _check_scheme(url: str):
    scheme = urlsplit(url).scheme.lower()
    if scheme not in SCHEMES:
        raise AddressRefused(f"only http and https URLs are fetched, not {scheme or 'a relative URL'}")


def _get(session: requests.Session, url: str, timeouts: Timeouts, deadline: Deadline,
         max_redirects: int) -> requests.Response:
    """GET ``url``, following redirects by hand so that each target is checked."""
    for hop in range(max_redirects + 1):
        try:
            _check_scheme(url)
            response = session.get(url, stream=True, allow_redirects=False,
                                   timeout=deadline.timeouts(timeouts))
        except AddressRefused as refusal:
            if hop:
                raise AddressRefused(f"redirected to {url}, where {refusal}") from None
            raise
        if not response.is_redirect:
            return response
        url = urljoin(url, response.headers["Location"])
        response.close()
    raise AddressRefused(f"more than {max_redirects} redirects")


def _read(response: requests.Response, max_bytes: int) -> bytes:
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise _TooLarge(f"{declared} bytes, more than the {max_bytes} allowed")
    chunks, size = [], 0
    for chunk in response.iter_content(CHUNK_BYTES):
        size += len(chunk)
        if size > max_bytes:  # Content-Length may be absent or wrong
            raise _TooLarge(f"more than the {max_bytes} bytes allowed")
        chunks.append(chunk)
    return b"".join(chunks)


class _TooLarge(Exception):
    """The body is larger than allowed."""


def download(network: str, url: str, *, max_bytes: int, time_limit: float,
             timeouts: Timeouts = Timeouts(), allow: Iterable[str] = (),
             max_redirects: int = MAX_REDIRECTS) -> bytes:
    """Fetch ``url`` through the guard and return its body.

    Parameters:
      network(str): the network the errors are reported for.
      max_bytes(int): the largest body accepted.
      time_limit(float): seconds the whole download may take, redirects included.
      timeouts(Timeouts): connect and per-read timeouts, capped by the time left.
      allow(iterable of str): networks (CIDR) permitted although not public.
      max_redirects(int): redirects followed before refusing.

    Raises:
      PublishError: PERMANENT when refused (scheme, address, redirects, size)
        or answered 4xx; TRANSIENT for network trouble, 5xx or the time limit.
        Never ambiguous: a GET creates nothing.
    """
    guard = Guard(allow)
    try:
        with Deadline(time_limit) as deadline, _session(guard, deadline) as session:
            try:
                response = _get(session, url, timeouts, deadline, max_redirects)
                with response:
                    if response.status_code >= 400:
                        # A 4xx is the host's answer about this address (no such file, not yours): the same
                        # address gets it again, so it is not retried.
                        kind, why = ((ErrorKind.TRANSIENT, "unreachable") if response.status_code >= 500 else
                                     (ErrorKind.PERMANENT, "missing" if response.status_code in (404, 410)
                                      else "denied"))
                        raise PublishError(network, f"download failed with HTTP {response.status_code}",
                                           kind=kind, http_status=response.status_code, code=IMAGE, subcode=why)
                    body = _read(response, max_bytes)
            except requests.RequestException as exc:
                if deadline.expired:  # the watchdog broke the connection
                    raise _OutOfTime() from None
                lost = transport_error(network, exc, timeouts, creates_item=False)
                # A name the resolver says does not exist stays so for this post: not retried. Other
                # trouble (a refused or broken connection, a resolver that failed) may pass.
                unresolved = lost.subcode == "unresolved"
                raise PublishError(network, lost.message, code=IMAGE,
                                   subcode="unresolved" if unresolved else "unreachable",
                                   kind=ErrorKind.PERMANENT if unresolved else lost.kind) from None
            if deadline.expired:  # a shut-down socket can also look like a clean end of body
                raise _OutOfTime()
            return body
    except AddressRefused as refusal:
        raise PublishError(network, f"refused, {refusal}", kind=ErrorKind.PERMANENT, code=IMAGE,
                           subcode="refused") from None
    except _TooLarge as too_large:
        raise PublishError(network, str(too_large), kind=ErrorKind.PERMANENT, code=IMAGE, subcode="invalid") from None
    except _OutOfTime:
        raise PublishError(network, f"not downloaded within the {time_limit:g} s allowed",
                           kind=ErrorKind.TRANSIENT, code=IMAGE, subcode="unreachable") from None


@dataclass(frozen=True)
class Answer:
    """What a POST got back: its status, its headers (case-insensitive), and the start of its body."""

    status: int
    headers: "requests.structures.CaseInsensitiveDict"
    excerpt: str


class Unsent(Exception):
    """A POST that got no answer: ``refused`` by the guard, or the network failed."""

    def __init__(self, message: str, refused: bool = False):
        super().__init__(message)
        self.refused = refused


def post(url: str, body: bytes, headers: dict, *, time_limit: float, allow: Iterable[str] = (),
         excerpt_bytes: int = 1024) -> Answer:
    """POST ``body`` to ``url`` through the guard, within ``time_limit`` seconds
    in all (a redirect is not followed: it is the answer).

    Raises:
      Unsent: the address was refused, or no answer came; the message says which.
    """
    guard = Guard(allow)
    try:
        _check_scheme(url)
        with Deadline(time_limit) as deadline, _session(guard, deadline) as session:
            timeouts = Timeouts(connect=time_limit, read=time_limit)
            try:
                response = session.post(url, data=body, headers=headers, stream=True, allow_redirects=False,
                                        timeout=deadline.timeouts(timeouts))
                with response:
                    start = next(response.iter_content(excerpt_bytes), b"")
            except requests.RequestException as exc:
                if deadline.expired:
                    raise Unsent(f"no answer within the {time_limit:g} s allowed") from None
                raise Unsent(transport_error("webhook", exc, timeouts, creates_item=False).message) from None
            return Answer(response.status_code, response.headers, start.decode("utf-8", "replace"))
    except AddressRefused as refusal:
        raise Unsent(f"refused, {refusal}", refused=True) from None
