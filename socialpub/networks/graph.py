"""Meta Graph API calls and error classification, shared by Facebook,
Instagram and WhatsApp.

Graph errors are classified by ``error.code`` and never by HTTP status:
Instagram answers 400 for everything, WhatsApp spreads the same codes over
400, 401, 403 and 429 (see shared/reference/network-apis.md).
"""
from __future__ import annotations

import datetime
import hashlib
import hmac
import json
import logging
from typing import Optional

from . import error_table
from .base import ErrorKind, PublishError, Timeouts
from .http import json_body, retry_after_header, send

logger = logging.getLogger(__name__)

def classify(network: str, code: Optional[int], subcode: Optional[int], http_status: int) -> ErrorKind:
    """Map a Graph error code (plus subcode) to an :class:`ErrorKind`, by Meta's
    own tables (:mod:`.error_table`); an unknown code by its HTTP status."""
    row = error_table.graph_row(network, code, subcode)
    return row.kind if row is not None else error_table.by_status(http_status)


def buc_retry_after(response) -> Optional[float]:
    """Seconds until access returns, from ``X-Business-Use-Case-Usage``.

    The header maps business ids to lists of usage entries whose
    ``estimated_time_to_regain_access`` is in minutes; the longest wins.
    """
    raw = response.headers.get("X-Business-Use-Case-Usage")
    if not raw:
        return None
    try:
        usage = json.loads(raw)
        minutes = [float(entry.get("estimated_time_to_regain_access") or 0)
                   for entries in usage.values() for entry in entries]
    except (ValueError, AttributeError, TypeError):
        logger.warning("Unparsable X-Business-Use-Case-Usage header: %r", raw)
        return None
    longest = max(minutes, default=0.0)
    return longest * 60 if longest > 0 else None


def _as_int(value) -> Optional[int]:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def graph_error(network: str, response) -> PublishError:
    """Turn a failed Graph response into a :class:`PublishError`."""
    body = json_body(response)
    error = body.get("error") if isinstance(body, dict) else None
    status = response.status_code
    waits = [w for w in (buc_retry_after(response), retry_after_header(response)) if w is not None]
    retry_after = max(waits) if waits else None
    if not isinstance(error, dict):
        # A proxy or load balancer answered, not Graph.
        text = response.text[:200].strip()
        kind = (ErrorKind.TRANSIENT if status >= 500 else ErrorKind.RATE_LIMITED if status == 429
                else ErrorKind.AUTH if status == 401 else ErrorKind.PERMANENT)
        return PublishError(network, f"HTTP {status} without a Graph error body: {text!r}",
                            kind=kind, code=status, http_status=status, retry_after=retry_after)
    code, subcode = _as_int(error.get("code")), _as_int(error.get("error_subcode"))
    message = str(error.get("message") or f"HTTP {status}")
    error_data = error.get("error_data")
    details = error_data.get("details") if isinstance(error_data, dict) else None
    if network == "whatsapp" and details and details not in message:
        message = f"{message}: {details}"
    kind = classify(network, code, subcode, status)
    return PublishError(network, message, kind=kind, code=error.get("code"),
                        subcode=error.get("error_subcode"), http_status=status,
                        retry_after=retry_after if kind is ErrorKind.RATE_LIMITED else None)


def appsecret_proof(token: str, app_secret: str) -> str:
    """The HMAC-SHA256 of ``token`` keyed with the app secret, in hex, as Graph
    checks it on every call when the app requires it ("Require App Secret")."""
    return hmac.new(app_secret.encode(), token.encode(), hashlib.sha256).hexdigest()


def credentials(target) -> dict:
    """The ``token`` and ``app_secret`` keywords of :func:`graph_call` for a Target."""
    return {"token": target.token, "app_secret": target.app_secret}


def graph_call(network: str, timeouts: Timeouts, method: str, url: str, *, token: str,
               app_secret: Optional[str] = None, **kwargs) -> dict:
    """Call Graph with ``token`` and return the JSON object of a 2xx answer.

    The token goes in the Authorization header, which Graph accepts as well as
    an ``access_token`` parameter: in a URL it would end up in logs and in the
    texts of requests' exceptions. With ``app_secret`` (a token this app was
    granted), the call carries its ``appsecret_proof``.

    Raises:
      PublishError: no answer, an error answer, or a 2xx that is not a JSON object.
    """
    kwargs["headers"] = {**kwargs.get("headers", {}), "Authorization": f"Bearer {token}"}
    if app_secret:
        kwargs["params"] = {**(kwargs.get("params") or {}), "appsecret_proof": appsecret_proof(token, app_secret)}
    response = send(network, timeouts, method, url, **kwargs)
    if response.status_code >= 400:
        raise graph_error(network, response)
    body = json_body(response)
    if not isinstance(body, dict):
        # The call may have worked; retrying could post twice, so stop here.
        raise PublishError(network, f"unexpected answer (HTTP {response.status_code}): "
                           f"{response.text[:200]!r}", kind=ErrorKind.PERMANENT,
                           http_status=response.status_code)
    return body


def field(network: str, body: dict, name: str) -> str:
    """``body[name]`` as text; a success without it is a PERMANENT error, not a KeyError."""
    value = body.get(name)
    if value in (None, ""):
        raise PublishError(network, f"answer has no {name!r}: {body!r}"[:300], kind=ErrorKind.PERMANENT)
    return str(value)


def is_missing_object(error: PublishError) -> bool:
    """Whether ``error`` is Graph's "Object with ID ... does not exist" (code 100, subcode 33)."""
    return error.code == "100" and error.subcode == "33"


def read_node(network: str, timeouts, url: str, target, fields: str) -> Optional[dict]:
    """A Graph node's ``fields`` (``GET url?fields=…``); None when Graph says it does not exist.

    Raises:
      PublishError: Graph refused otherwise, or did not answer.
    """
    try:
        return graph_call(network, timeouts, "GET", url, **credentials(target), params={"fields": fields})
    except PublishError as exc:
        if is_missing_object(exc):
            return None
        raise


def unix_seconds(when: datetime.datetime) -> float:
    """``when`` as Unix seconds; a naive datetime is taken as UTC."""
    if when.tzinfo is None:
        when = when.replace(tzinfo=datetime.timezone.utc)
    return when.timestamp()


def graph_time(text) -> Optional[float]:
    """Unix seconds of a Graph time such as ``2026-11-29T10:30:15+0000``, else None."""
    try:
        return datetime.datetime.strptime(str(text), "%Y-%m-%dT%H:%M:%S%z").timestamp()
    except ValueError:
        return None


def items_since(network: str, timeouts: Timeouts, url: str, params: dict, after: float, *,
                token: str, app_secret: Optional[str] = None, time_field: str = "created_time",
                max_pages: int = 20):
    """Yield the items of a Graph list edge (newest first) until one is older than ``after``.

    Follows ``paging.next`` for up to ``max_pages`` pages (a busy page posts
    more than one page of items in the window; missing one would post it
    twice); items without a
    readable ``time_field`` are skipped.

    Raises:
      PublishError: a call failed.
    """
    for _ in range(max_pages):
        body = graph_call(network, timeouts, "GET", url, token=token, app_secret=app_secret, params=params)
        data = body.get("data")
        for item in data if isinstance(data, list) else []:
            created = graph_time(item.get(time_field)) if isinstance(item, dict) else None
            if created is None:
                continue
            if created < after:
                return
            yield item
        paging = body.get("paging")
        url = paging.get("next") if isinstance(paging, dict) else None
        if not url:
            return
        params = None  # the next URL carries every parameter (the proof is added again)
