"""The sandbox Flask app: fake Graph and LinkedIn APIs plus the ``/_sandbox``
control endpoints tests and demos use.

Control endpoints:

``GET /_sandbox/config`` / ``POST /_sandbox/config``
    Per-network settings; a POST changes only the networks and keys it names::

        {"facebook": {"latency": 3.0, "fail": {"error": "token", "times": 1}},
         "linkedin": {"fail": [{"error": "server_error", "times": 2},
                               {"error": "rate_limit", "rate": 0.3, "retry_after": 5}],
                      "reject_duplicates": false},
         "instagram": {"container_status": "IN_PROGRESS"}}

    ``fail`` replaces that network's failure list (``null`` or ``[]`` clears
    it). Entries apply to item-creating requests only and are tried in order:
    ``times`` fails the next N (default 1), ``rate`` fails that fraction at
    random. ``error`` is one of server_error, rate_limit (``minutes`` sets
    Graph's estimated_time_to_regain_access, ``retry_after`` LinkedIn's
    Retry-After seconds), token, bad_parameter, policy, bad_gateway (HTML 502).
``POST /_sandbox/reset``
    Forget received items, requests, containers, posts, uploads and failures,
    and restore container_status/reject_duplicates. Latencies are kept unless
    the body is ``{"latencies": true}``, which restores the start-up ones.
``GET /_sandbox/received[?network=]``
    Accepted items, oldest first: ``{"network", "item_id", "account_id",
    "text", "image", "link", "to", "image_bytes", "started_at",
    "finished_at"}`` (epoch seconds, request start and end).
``GET /_sandbox/requests[?network=][&all=1]``
    Rejected API requests (status >= 400), or every API request with
    ``all=1``: ``{"network", "method", "path", "status", "code",
    "started_at", "finished_at"}``.
``GET /_sandbox/image.jpg``
    A small valid JPEG (``?width=&height=``, up to 2048).
"""
from __future__ import annotations

from typing import Optional

from flask import Blueprint, Flask, Response, jsonify, request

from .common import log_request, state
from .graph import GraphVersion
from .graph import bp as graph_bp
from .image import jpeg_bytes
from .linkedin import bp as linkedin_bp
from .state import SandboxState

control = Blueprint("sandbox", __name__, url_prefix="/_sandbox")


def create_sandbox_app(latencies: Optional[dict] = None) -> Flask:
    """Build the sandbox app.

    Parameters:
      latencies(dict|None): ``{network: seconds}`` each item-creating request sleeps.

    Raises:
      ValueError: unknown network or bad latency.
    """
    app = Flask(__name__)
    app.extensions["sandbox"] = SandboxState(latencies)
    # Converters must exist before blueprints add rules that use them.
    app.url_map.converters["gv"] = GraphVersion
    app.register_blueprint(graph_bp)
    app.register_blueprint(linkedin_bp)
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
    """Forget everything received and every failure (latencies too with ``{"latencies": true}``)."""
    body = request.get_json(force=True, silent=True) or {}
    state().reset(latencies=bool(body.get("latencies")) if isinstance(body, dict) else False)
    return jsonify(state().snapshot())


@control.get("/received")
def received():
    """Items the fake APIs accepted, optionally for one ``network``."""
    return jsonify(state().history("received", request.args.get("network")))


@control.get("/requests")
def requests_log():
    """Rejected API requests, or all of them with ``all=1``."""
    failed_only = request.args.get("all") not in ("1", "true")
    return jsonify(state().history("requests", request.args.get("network"), failed_only))


@control.get("/image.jpg")
def image():
    """A mid-grey JPEG, for image posts and LinkedIn's upload flow."""
    width = min(max(request.args.get("width", 64, type=int), 8), 2048)
    height = min(max(request.args.get("height", 64, type=int), 8), 2048)
    return Response(jpeg_bytes(width, height), mimetype="image/jpeg")
