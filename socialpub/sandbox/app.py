"""The sandbox Flask app: fake Graph and LinkedIn APIs plus the ``/_sandbox``
control endpoints tests and demos use.

Control endpoints:

``GET /_sandbox/config`` / ``POST /_sandbox/config``
    Per-network settings; a POST changes only the networks and keys it names::

        {"facebook": {"latency": 3.0, "fail": {"error": "token", "times": 1}},
         "linkedin": {"fail": [{"error": "server_error", "times": 2},
                               {"error": "rate_limit", "rate": 0.3, "retry_after": 5}],
                      "reject_duplicates": false},
         "instagram": {"container_status": "IN_PROGRESS"},
         "whatsapp": {"hold": true}}

    ``fail`` replaces that network's failure list (``null`` or ``[]`` clears
    it). Entries apply to item-creating requests only and are tried in order:
    ``times`` fails the next N (default 1), ``rate`` fails that fraction at
    random. ``error`` is one of server_error, rate_limit (``minutes`` sets
    Graph's estimated_time_to_regain_access, ``retry_after`` LinkedIn's
    Retry-After seconds), token, bad_parameter, policy, bad_gateway (HTML 502),
    or one that leaves the client without an answer (faults.py; ``seconds``
    defaults to 30): hang (wait, record nothing, close the connection),
    drop_after_record (record, then close the connection), timeout_after_record
    (record, wait, then answer).

    ``hold: true`` makes the network's item-creating requests wait, unrecorded,
    until ``hold: false`` or a reset; then they go on as usual. A request held
    longer than the app's ``hold_limit`` (120 s) gives up with a server error.
``GET /_sandbox/held[?network=&at_least=&timeout=]``
    ``{network: requests held now}``; with ``network`` and ``at_least``, waits
    up to ``timeout`` seconds (at most 30) for that many to be held.
``POST /_sandbox/reset``
    Forget received items, requests, containers, posts, uploads and failures,
    release held and waiting requests, and restore hold/container_status/
    reject_duplicates and the rest of WhatsApp's settings. Latencies are kept
    unless the body is ``{"latencies": true}``, which restores the start-up
    ones; WhatsApp's ``webhook_url`` and ``app_secret`` are kept unless it is
    ``{"webhook": true}``.
``GET /_sandbox/received[?network=]``
    Accepted items, oldest first, one per acceptance: ``{"network", "item_id",
    "account_id", "text", "image", "link", "to", "image_bytes", "image_sha256", "started_at",
    "finished_at"}`` (epoch seconds, request start and when it was recorded).
``GET /_sandbox/requests[?network=][&all=1]``
    Rejected API requests (status >= 400, or None when the client got no
    answer: ``code`` then names the fault), or every API request with
    ``all=1``: ``{"network", "method", "path", "status", "code",
    "started_at", "finished_at", "query", "headers", "json", "form", "files",
    "answer"}`` (what was sent, without tokens — ``common.sent`` —, and the
    JSON answer).
``POST /_sandbox/tokens/expire``
    Every access token issued by the sandbox's OAuth endpoints (oauth.py,
    meta_oauth.py) expires now: the APIs answer them as expired.
``POST /_sandbox/tokens/age``
    ``{"seconds": N}``: every access token issued so far is N seconds older
    (for Instagram's "at least a day old" refresh rule and expiry).
``GET /_sandbox/image.jpg``
    A small valid JPEG (``?width=&height=``, up to 2048).
"""
from __future__ import annotations

from typing import Optional

from flask import Blueprint, Flask, Response, jsonify, request

from .comments import bp as comments_bp
from .common import log_request, state
from .graph import GraphVersion
from .graph import bp as graph_bp
from .image import jpeg_bytes
from .insights import bp as insights_bp
from .linkedin import bp as linkedin_bp
from .meta_oauth import bp as meta_oauth_bp
from .meta_video import bp as meta_video_bp
from .oauth import bp as linkedin_oauth_bp
from .settings import NETWORKS
from .state import HOLD_LIMIT, SandboxState
from .wa_business import bp as wa_business_bp
from .wa_business import control as wa_control_bp
from .whatsapp import bp as whatsapp_bp

control = Blueprint("sandbox", __name__, url_prefix="/_sandbox")


def create_sandbox_app(latencies: Optional[dict] = None, hold_limit: float = HOLD_LIMIT) -> Flask:
    """Build the sandbox app.

    Parameters:
      latencies(dict|None): ``{network: seconds}`` each item-creating request sleeps.
      hold_limit(float): seconds a held request waits before it gives up.

    Raises:
      ValueError: unknown network or bad latency.
    """
    app = Flask(__name__)
    app.extensions["sandbox"] = SandboxState(latencies, hold_limit)
    # Converters must exist before blueprints add rules that use them.
    app.url_map.converters["gv"] = GraphVersion
    app.register_blueprint(meta_video_bp)
    app.register_blueprint(comments_bp)  # before graph's: /{object-id}/comments is not a container
    app.register_blueprint(insights_bp)
    app.register_blueprint(graph_bp)
    app.register_blueprint(whatsapp_bp)
    app.register_blueprint(wa_business_bp)
    app.register_blueprint(wa_control_bp)
    app.register_blueprint(linkedin_bp)
    app.register_blueprint(linkedin_oauth_bp)
    app.register_blueprint(meta_oauth_bp)
    app.register_blueprint(control)
    app.after_request(log_request)
    return app


def _problem(message: str, status: int = 400):
    response = jsonify(error={"code": "bad_request", "message": message})
    response.status_code = status
    return response


@control.get("/config")
def get_config():
    """The current per-network configuration."""
    return jsonify(state().snapshot())


@control.post("/config")
def set_config():
    """Change the networks and keys given; answer the whole configuration."""
    try:
        return jsonify(state().configure(request.get_json(force=True, silent=True)))
    except ValueError as exc:
        return _problem(str(exc))


@control.post("/reset")
def reset():
    """Forget everything received and every failure (latencies too with ``{"latencies": true}``,
    the WhatsApp webhook's address and secret with ``{"webhook": true}``)."""
    body = request.get_json(force=True, silent=True)
    body = body if isinstance(body, dict) else {}
    state().reset(latencies=bool(body.get("latencies")), webhook=bool(body.get("webhook")))
    return jsonify(state().snapshot())


@control.get("/held")
def held():
    """How many item-creating requests each network holds now, optionally after waiting for some."""
    network = request.args.get("network")
    if network is not None and network not in NETWORKS:
        return _problem(f"unknown network {network!r}")
    at_least = request.args.get("at_least", 0, type=int)
    timeout = min(max(request.args.get("timeout", 0.0, type=float), 0.0), 30.0)
    return jsonify(state().held_counts(network, at_least, timeout))


@control.get("/received")
def received():
    """Items the fake APIs accepted, optionally for one ``network``."""
    return jsonify(state().history("received", request.args.get("network")))


@control.get("/requests")
def requests_log():
    """Rejected API requests, or all of them with ``all=1``."""
    failed_only = request.args.get("all") not in ("1", "true")
    return jsonify(state().history("requests", request.args.get("network"), failed_only))


@control.post("/tokens/expire")
def expire_tokens():
    """Every access token the sandbox's authorization server issued expires now."""
    return jsonify(expired=state().expire_tokens())


@control.post("/tokens/age")
def age_tokens():
    """Every access token issued so far is ``{"seconds": N}`` older, as if that time had passed."""
    body = request.get_json(force=True, silent=True)
    seconds = body.get("seconds") if isinstance(body, dict) else None
    if not isinstance(seconds, (int, float)) or isinstance(seconds, bool) or seconds < 0:
        return _problem("seconds: a number of seconds >= 0")
    return jsonify(aged=state().age_tokens(float(seconds)))


@control.get("/image.jpg")
def image():
    """A mid-grey JPEG, for image posts and LinkedIn's upload flow."""
    width = min(max(request.args.get("width", 64, type=int), 8), 2048)
    height = min(max(request.args.get("height", 64, type=int), 8), 2048)
    return Response(jpeg_bytes(width, height), mimetype="image/jpeg")
