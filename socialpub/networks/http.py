"""HTTP plumbing every adapter shares: one call with the thread's Session
(guarded by outbound.py) and the configured timeouts, bounded in all by the
publish attempt's deadline (outbound.calls_within), a call that got no
answer turned into a PublishError (transport.py), and tolerant reading of
bodies and Retry-After headers."""
from __future__ import annotations

import email.utils
import functools
import logging
import os
import threading
import time
from typing import Optional
from urllib.parse import urlsplit

import requests

from .. import __version__
from .base import AddressRefused, ErrorKind, PublishError, Timeouts
from .outbound import api_call_adapter, calls_deadline
from .transport import transport_error

logger = logging.getLogger(__name__)

def retry_after_header(response) -> Optional[float]:
    """Seconds from a ``Retry-After`` header (delta-seconds or an HTTP date), else None."""
    value = response.headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def json_body(response):
    """The response's JSON, or None when the body is empty or not JSON."""
    try:
        return response.json()
    except ValueError:  # requests' JSONDecodeError subclasses ValueError
        return None


_local = threading.local()


def session() -> requests.Session:
    """The calling thread's Session: connections are pooled per worker thread."""
    s = getattr(_local, "session", None)
    if s is None:
        s = _local.session = requests.Session()
        # product/version, as Meta's WhatsApp description's User-Agent parameter has it.
        s.headers["User-Agent"] = f"socialpub/{__version__}"
        # requests would read the environment's proxy settings on every call (a
        # scan of os.environ, about a fifth of a network call's CPU): the
        # caller passes them, read once per host (env_proxies).
        s.trust_env = False
        s.verify = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or True
        guarded = api_call_adapter()
        s.mount("http://", guarded)
        s.mount("https://", guarded)
    return s



@functools.lru_cache(maxsize=256)
def _proxies_for(scheme: str, netloc: str) -> dict:
    return requests.utils.get_environ_proxies(f"{scheme}://{netloc}/")


def env_proxies(url: str) -> dict:
    """The proxies the environment (HTTPS_PROXY, NO_PROXY, …) gives ``url``'s
    host, read once per host: the thread's Session does not read them itself."""
    parts = urlsplit(url)
    return _proxies_for(parts.scheme, parts.netloc)


def send(network: str, timeouts: Timeouts, method: str, url: str, *,
         creates_item: Optional[bool] = None, **kwargs) -> requests.Response:
    """Make one HTTP call with the thread's Session and ``timeouts``.

    Returns the response whatever its status; the caller classifies errors.

    Parameters:
      creates_item(bool|None): whether the call can publish something, so that
        a lost answer is ambiguous; None means any method but GET.

    Raises:
      PublishError: no answer came (connection refused, timeout, ...).
    """
    if creates_item is None:
        creates_item = method.upper() != "GET"
    deadline = calls_deadline()
    connect, read = timeouts.connect, timeouts.read
    if deadline is not None:  # a publish attempt's: no call outlives it (nor, so, the attempt's lease)
        left = deadline.left()
        if left <= 0:
            raise PublishError(network, f"not sent: the attempt's {deadline.seconds:g} s for network calls "
                               f"are over", kind=ErrorKind.TRANSIENT)
        connect, read = min(connect, left), min(read, left)
    kwargs.setdefault("timeout", (connect, read))
    kwargs.setdefault("proxies", env_proxies(url))
    try:
        response = session().request(method, url, **kwargs)
    except requests.RequestException as exc:
        if deadline is not None and deadline.expired:  # the deadline shut the connection down
            raise _out_of_time(network, deadline, creates_item) from None
        raise transport_error(network, exc, timeouts, creates_item) from None
    except AddressRefused as refusal:
        raise PublishError(network, f"refused to connect to {urlsplit(url).hostname}: {refusal}",
                           kind=ErrorKind.PERMANENT) from None
    if deadline is not None and deadline.expired:  # a shut-down connection can look like a whole answer
        raise _out_of_time(network, deadline, creates_item)
    logger.debug("%s %s %s -> %s", network, method, url.split("?")[0], response.status_code)
    return response


def _out_of_time(network: str, deadline, creates_item: bool) -> PublishError:
    return PublishError(network, f"no answer within the attempt's {deadline.seconds:g} s for network calls"
                        + ("; the request may have arrived" if creates_item else ""),
                        kind=ErrorKind.TRANSIENT, ambiguous=creates_item)
