"""HTTP plumbing every adapter shares: one call with the thread's Session and
the configured timeouts, calls that got no answer turned into PublishError,
and tolerant reading of bodies and Retry-After headers.
"""
from __future__ import annotations

import email.utils
import logging
import re
import time
from typing import Optional

import requests

from .base import ErrorKind, PublishError, Timeouts, session

logger = logging.getLogger(__name__)

#: Tokens sent as query parameters (Graph GETs) appear in requests' exception
#: texts, which end up in logs and the database.
TOKEN_IN_URL = re.compile(r"(access_token=)[^&\s'\")]+")


def redact(text: str) -> str:
    """``text`` with any ``access_token=`` value replaced by ``***``."""
    return TOKEN_IN_URL.sub(r"\1***", text)


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


def transport_error(network: str, exc: requests.RequestException, timeouts: Timeouts) -> PublishError:
    """Classify a call that got no HTTP answer.

    A read timeout is retried like the rest, but the request may have reached
    the network, so the message says so: the post might exist already.
    """
    detail = redact(str(exc))
    if isinstance(exc, requests.ConnectTimeout):
        msg = f"could not connect within {timeouts.connect:g}s: {detail}"
    elif isinstance(exc, requests.ReadTimeout):
        msg = (f"no answer within {timeouts.read:g}s; the request may have been "
               f"received and the post may exist: {detail}")
    elif isinstance(exc, (requests.ConnectionError, requests.exceptions.ChunkedEncodingError)):
        msg = f"connection failed: {detail}"
    else:
        # Invalid URL, missing schema and the like: configuration, not luck.
        return PublishError(network, f"request could not be sent: {detail}", kind=ErrorKind.PERMANENT)
    return PublishError(network, msg, kind=ErrorKind.TRANSIENT)


def send(network: str, timeouts: Timeouts, method: str, url: str, **kwargs) -> requests.Response:
    """Make one HTTP call with the thread's Session and ``timeouts``.

    Returns the response whatever its status; the caller classifies errors.

    Raises:
      PublishError: no answer came (connection refused, timeout, ...).
    """
    kwargs.setdefault("timeout", (timeouts.connect, timeouts.read))
    try:
        response = session().request(method, url, **kwargs)
    except requests.RequestException as exc:
        raise transport_error(network, exc, timeouts) from None
    logger.debug("%s %s %s -> %s", network, method, url.split("?")[0], response.status_code)
    return response

