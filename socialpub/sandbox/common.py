"""What every fake API view shares: the sandbox state, the ``endpoint``
decorator that applies latency and injected failures, and the bookkeeping of
accepted items and answered requests.
"""
from __future__ import annotations

import functools
import time

from flask import current_app, g, request

from .errors import fault_response
from .state import SandboxState


def state() -> SandboxState:
    return current_app.extensions["sandbox"]


def endpoint(network: str, creates_item: bool = False):
    """Mark a view as ``network``'s API.

    Item-creating views (feed/photos, media_publish, rest/posts, messages)
    first sleep the network's latency, then answer an injected failure if
    one is due; the view runs only when none is.
    """
    def decorate(view):
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            sandbox = state()
            g.sandbox_network = network
            g.sandbox_epoch = sandbox.epoch
            g.started_at = time.time()
            if creates_item:
                latency = sandbox.setting(network, "latency")
                if latency > 0:
                    time.sleep(latency)  # outside the lock: requests to other networks overlap
                fault = sandbox.take_fault(network)
                if fault is not None:
                    return fault_response(network, fault)
            return view(*args, **kwargs)
        return wrapper
    return decorate


def record(item_id: str, account_id: str, text, *, image=None, link=None, to=None, image_bytes=None):
    """Remember an accepted item for ``GET /_sandbox/received``."""
    state().record(g.sandbox_epoch, {
        "network": g.sandbox_network, "item_id": item_id, "account_id": account_id,
        "text": text, "image": image, "link": link, "to": to, "image_bytes": image_bytes,
        "started_at": g.started_at, "finished_at": time.time(),
    })


def log_request(response):
    """``after_request`` hook: remember every API request for ``GET /_sandbox/requests``."""
    network = g.get("sandbox_network")
    if network is None:
        return response
    body = response.get_json(silent=True) if response.is_json else None
    code = None
    if isinstance(body, dict):
        error = body.get("error")
        code = error.get("code") if isinstance(error, dict) else body.get("serviceErrorCode")
    state().log_request(g.sandbox_epoch, {
        "network": network, "method": request.method, "path": request.path,
        "status": response.status_code, "code": code,
        "started_at": g.started_at, "finished_at": time.time(),
    })
    return response


def bearer_token():
    """The token of an ``Authorization: Bearer`` header, "" when absent, None when another scheme."""
    header = request.headers.get("Authorization", "")
    if not header:
        return ""
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" else None


def is_bad_token(token: str) -> bool:
    """Tokens the sandbox treats as invalid or expired."""
    return token == "invalid-token" or token.startswith("expired")
