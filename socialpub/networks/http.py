"""HTTP plumbing every adapter shares: one call with the thread's Session
(guarded by outbound.py) and the configured timeouts, a call that got no
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
from .base import ErrorKind, PublishError, Refused, Timeouts
from .outbound import api_call_adapter
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
    kwargs.setdefault("timeout", (timeouts.connect, timeouts.read))
    kwargs.setdefault("proxies", env_proxies(url))
    if creates_item is None:
        creates_item = method.upper() != "GET"
    try:
        response = session().request(method, url, **kwargs)
    except requests.RequestException as exc:
        raise transport_error(network, exc, timeouts, creates_item) from None
    except Refused as refusal:
        raise PublishError(network, f"refused to connect to {urlsplit(url).hostname}: {refusal}",
                           kind=ErrorKind.PERMANENT) from None
    logger.debug("%s %s %s -> %s", network, method, url.split("?")[0], response.status_code)
    return response

