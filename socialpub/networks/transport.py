"""Calls that got no HTTP answer, classified once: TRANSIENT, and *ambiguous*
when the request may have reached the network (the read timed out, or the
connection broke after the request was sent). A failure to connect (refused,
name resolution, connect timeout) is not ambiguous: nothing left this host.
"""
from __future__ import annotations

import http.client
import logging
import re
import socket
import ssl

import requests
from urllib3 import exceptions as urllib3_errors

from .base import ErrorKind, PublishError, Timeouts
from .explain import NO_ANSWER

logger = logging.getLogger(__name__)

#: A token in a URL (Graph's paging links can carry one) appears in requests'
#: exception texts, which end up in logs and the database.
TOKEN_IN_URL = re.compile(r"(access_token=)[^&\s'\")]+")


def redact(text: str) -> str:
    """``text`` with any ``access_token=`` value replaced by ``***``."""
    return TOKEN_IN_URL.sub(r"\1***", text)


#: Causes that prove no connection was made, so the request never left.
NOT_CONNECTED = (urllib3_errors.NewConnectionError, urllib3_errors.ConnectTimeoutError,
                 urllib3_errors.NameResolutionError, urllib3_errors.ClosedPoolError,
                 socket.gaierror, ConnectionRefusedError, ssl.SSLCertVerificationError)
#: Causes that mean the connection broke while the request or its answer was in flight.
BROKEN_IN_FLIGHT = (urllib3_errors.ProtocolError, urllib3_errors.ReadTimeoutError,
                    http.client.HTTPException, ConnectionResetError, ConnectionAbortedError,
                    BrokenPipeError)


def _causes(exc: BaseException) -> list:
    """``exc`` and everything it wraps: args, urllib3's ``reason``, chained exceptions."""
    found, pending = [], [exc]
    while pending and len(found) < 20:
        current = pending.pop()
        if not isinstance(current, BaseException) or any(current is f for f in found):
            continue
        found.append(current)
        pending.extend(current.args)
        pending.extend(getattr(current, name, None)
                       for name in ("reason", "original_error", "__cause__", "__context__"))
    return found


def may_have_arrived(exc: requests.RequestException) -> bool:
    """Whether a request that got no answer may still have reached the server."""
    if isinstance(exc, requests.ConnectTimeout):
        return False
    if isinstance(exc, (requests.ReadTimeout, requests.exceptions.ChunkedEncodingError)):
        return True
    causes = _causes(exc)
    if any(isinstance(cause, NOT_CONNECTED) for cause in causes):
        return False
    # A broken connection, or a cause we cannot read: assume the worst, since
    # guessing "never arrived" is how a post gets published twice.
    return True


def cause(exc: requests.RequestException) -> str:
    """Why a call got no answer, as a key: "unresolved" (the name does not exist, as the resolver said — not a
    resolver that failed), "refused", "tls", "timeout" or "broken"."""
    causes = _causes(exc)
    for c in causes:
        if isinstance(c, socket.gaierror):
            return "unresolved" if c.errno in _NO_SUCH_NAME else "broken"
    if any(isinstance(c, urllib3_errors.NameResolutionError) for c in causes):
        return "broken"  # no resolver's answer to read: it may be the resolver's own trouble
    if any(isinstance(c, ConnectionRefusedError) for c in causes):
        return "refused"
    if any(isinstance(c, ssl.SSLError) for c in causes):
        return "tls"
    if isinstance(exc, requests.Timeout):
        return "timeout"
    return "broken"


#: The resolver's answers that the name does not exist (not "try again": that is the resolver's trouble).
_NO_SUCH_NAME = {getattr(socket, name) for name in ("EAI_NONAME", "EAI_NODATA") if hasattr(socket, name)}

#: What each cause reads as (the exception's own text goes to the log, never to a person: it holds class
#: names, hosts and ports).
CAUSE_WORDS = {"unresolved": "the server's name does not resolve", "refused": "the connection was refused",
               "tls": "the server's TLS certificate was not accepted", "timeout": "the connection timed out",
               "broken": "the connection could not be made or broke"}


def transport_error(network: str, exc: requests.RequestException, timeouts: Timeouts,
                    creates_item: bool = True) -> PublishError:
    """Classify a call that got no HTTP answer.

    Timeouts and connection failures are TRANSIENT. When ``creates_item`` and
    the request may have reached the network, the error is ``ambiguous`` and
    its message says the post may exist already. The message is in plain words
    (code ``no_answer``, subcode the cause); the exception's text is logged.
    """
    logger.info("%s: no answer: %s", network, redact(str(exc)))
    why = cause(exc)
    if isinstance(exc, requests.ConnectTimeout):
        return PublishError(network, f"could not connect within {timeouts.connect:g}s",
                            kind=ErrorKind.TRANSIENT, code=NO_ANSWER, subcode=why)
    if not isinstance(exc, (requests.ConnectionError, requests.Timeout,
                            requests.exceptions.ChunkedEncodingError)):
        # Invalid URL, missing schema and the like: configuration, not luck.
        return PublishError(network, "the request could not be sent (the address is not one socialpub can call)",
                            kind=ErrorKind.PERMANENT, code=NO_ANSWER, subcode="invalid")
    ambiguous = creates_item and may_have_arrived(exc)
    maybe = "; the request may have been received and the post may exist" if ambiguous else ""
    if isinstance(exc, requests.ReadTimeout):
        msg = f"no answer within {timeouts.read:g}s{maybe}"
    elif ambiguous:
        msg = f"connection lost before an answer{maybe}"
    else:
        msg = f"connection failed: {CAUSE_WORDS[why]}"
    return PublishError(network, msg, kind=ErrorKind.TRANSIENT, ambiguous=ambiguous, code=NO_ANSWER, subcode=why)
