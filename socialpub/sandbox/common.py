"""What every fake API view shares: the sandbox state, the ``endpoint``
decorator that applies holds, latency and injected failures, and the
bookkeeping of accepted items and answered requests.
"""
from __future__ import annotations

import functools
import logging
import time

from flask import current_app, g, request

from .errors import fault_response
from .faults import connection_fault
from .settings import CONNECTION_PRESETS
from .state import SandboxState

logger = logging.getLogger(__name__)


def state() -> SandboxState:
    return current_app.extensions["sandbox"]


def endpoint(network: str, creates_item: bool = False):
    """Mark a view as ``network``'s API.

    Item-creating views (feed/photos, media_publish, rest/posts, messages)
    first wait while the network is on hold, then sleep its latency, then
    apply an injected failure if one is due; the view runs only when none is
    (or when the failure lets it: drop_after_record, timeout_after_record).
    A hold of one path (``{"path", "after"}``) holds any view of that path.
    """
    def decorate(view):
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            sandbox = state()
            g.sandbox_network = network
            g.sandbox_epoch = sandbox.epoch
            g.started_at = time.time()
            if not sandbox.wait_while_held(network, g.sandbox_epoch, request.path, creates_item):
                logger.warning("Sandbox: a held %s request gave up after %gs.", network, sandbox.hold_limit)
                return fault_response(network, {"error": "server_error"})
            if creates_item:
                latency = sandbox.setting(network, "latency")
                if latency > 0:
                    time.sleep(latency)  # outside the lock: requests to other networks overlap
                # Held or slept across a reset, it belongs to the epoch that ended: it goes on (what it
                # records is forgotten) without taking a failure meant for the test that reset.
                fault = sandbox.take_fault(network) if sandbox.epoch == g.sandbox_epoch else None
                if fault is not None and fault["error"] in CONNECTION_PRESETS:
                    return connection_fault(sandbox, fault, lambda: view(*args, **kwargs))
                if fault is not None:
                    return fault_response(network, fault)
            return view(*args, **kwargs)
        return wrapper
    return decorate


def record(item_id: str, account_id: str, text, *, image=None, link=None, to=None, image_bytes=None,
           image_sha256=None, images=(), video=None, document=None):
    """Remember an accepted item for ``GET /_sandbox/received`` (an uploaded
    image by its size and SHA-256; a video as ``{"kind", "sha256", "bytes"}``; a
    document as ``{"sha256", "bytes", "pages"}``)."""
    state().record(g.sandbox_epoch, {
        "video": video, "document": document,
        "network": g.sandbox_network, "item_id": item_id, "account_id": account_id,
        "text": text, "image": image, "link": link, "to": to, "image_bytes": image_bytes,
        "image_sha256": image_sha256,
        # Every uploaded image, in order: {"sha256", "bytes", "width", "height", "format"}.
        "images": list(images),
        "started_at": g.started_at, "finished_at": time.time(),
    })


#: API views without ``@endpoint`` (no hold, latency or failure applies to them), logged all the same.
_UNDECORATED_APIS = {"wa_business": "whatsapp"}


def log_request(response):
    """``after_request`` hook: remember every API request for ``GET /_sandbox/requests``."""
    network = g.get("sandbox_network") or _UNDECORATED_APIS.get(request.blueprint)
    if network is None:
        return response
    body = response.get_json(silent=True) if response.is_json else None
    status, code = response.status_code, None
    if isinstance(body, dict):
        error = body.get("error")
        code = error.get("code") if isinstance(error, dict) else body.get("serviceErrorCode")
    if g.get("sandbox_unanswered"):
        status, code = None, g.sandbox_unanswered  # the client got no answer at all
    state().log_request(g.get("sandbox_epoch", state().epoch), {
        "network": network, "method": request.method, "path": request.path,
        "status": status, "code": code,
        "started_at": g.get("started_at", time.time()), "finished_at": time.time(),
        **sent(request), "answer": body,
    })
    return response


#: Never kept: tokens, secrets and codes (an ``Authorization`` header is kept as its scheme alone).
_SECRET_PARAMS = frozenset({"access_token", "appsecret_proof", "client_secret", "refresh_token", "code",
                            "fb_exchange_token", "input_token", "code_verifier"})


def sent(req) -> dict:
    """What a request carried, for conformance tests: ``query``, ``headers``
    (``Content-Type``, ``User-Agent``, and ``Authorization`` as ``"<scheme>
    REDACTED"``), a JSON ``json`` body, ``form`` fields and ``files``
    (``{field: {"filename", "content_type"}}``, never their bytes)."""
    headers = {name: req.headers[name] for name in ("Content-Type", "User-Agent") if name in req.headers}
    if req.headers.get("Authorization"):
        headers["Authorization"] = f"{req.headers['Authorization'].partition(' ')[0]} REDACTED"
    return {"query": {k: v for k, v in req.args.items() if k not in _SECRET_PARAMS},
            "headers": headers,
            "json": req.get_json(silent=True) if req.is_json else None,
            "form": {k: v for k, v in req.form.items() if k not in _SECRET_PARAMS},
            "files": {k: {"filename": f.filename, "content_type": f.content_type} for k, f in req.files.items()}}


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
