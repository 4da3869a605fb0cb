"""The web blueprint: pages for people — compose, posts, one post, channels.

Server-rendered Jinja with a little JavaScript; every form carries a CSRF
token (Flask-WTF's :data:`csrf`, which the JSON API under /api is exempt from).
"""
from dataclasses import asdict

from flask import Blueprint, current_app, jsonify, render_template, request
from flask_wtf.csrf import CSRFError, CSRFProtect
from peewee import InterfaceError, OperationalError
from werkzeug.exceptions import HTTPException

from ..auth import public
from ..db import database
from ..errors import AppError
from ..models import Channel, ChannelState, PostStatus, PubStatus, iso
from ..networks import LIMITS, NETWORKS

bp = Blueprint("web", __name__, template_folder="templates", static_folder="static",
               static_url_path="/assets")

#: Created unbound; ``create_app`` calls ``csrf.init_app(app)`` and exempts the API.
csrf = CSRFProtect()

#: How each network is named on the pages.
NETWORK_LABELS = {"facebook": "Facebook", "instagram": "Instagram", "linkedin": "LinkedIn",
                  "whatsapp": "WhatsApp"}
#: How statuses read on the pages (the JavaScript gets the same words).
STATUS_LABELS = {
    PubStatus.PENDING: "Not sent", PubStatus.QUEUED: "Queued", PubStatus.PROCESSING: "Sending",
    PubStatus.RETRYING: "Retrying", PubStatus.PUBLISHED: "Published", PubStatus.FAILED: "Failed",
    PubStatus.EXPIRED: "Expired", PubStatus.UNCONFIRMED: "Unconfirmed",
    PostStatus.DRAFT: "Draft", PostStatus.SCHEDULED: "Scheduled", PostStatus.PUBLISHING: "Publishing",
    PostStatus.PARTIAL: "Partially published",
}
CHANNEL_STATE_LABELS = {ChannelState.ACTIVE: "Active", ChannelState.NEEDS_REAUTH: "Needs re-authorisation"}


def limits_data() -> dict:
    """networks.LIMITS as the page's JavaScript reads it, so both sides check the same numbers."""
    return {n: dict(asdict(LIMITS[n]), label=NETWORK_LABELS[n]) for n in NETWORKS}


@bp.app_template_filter("when")
def when(value):
    """A stored (naive UTC) time as ISO 8601 for <time datetime=…>."""
    return iso(value) or ""


@bp.app_template_filter("utc")
def utc(value):
    """A stored time as people read it; the page's script turns it into local time."""
    return value.strftime("%Y-%m-%d %H:%M UTC") if value else ""


@bp.record_once
def template_globals(state):
    """Names every page and macro may use (globals, so imported macros see them too)."""
    state.app.jinja_env.globals.update(
        NETWORKS=NETWORKS, NETWORK_LABELS=NETWORK_LABELS, STATUS_LABELS=STATUS_LABELS,
        CHANNEL_STATE_LABELS=CHANNEL_STATE_LABELS, PubStatus=PubStatus, PostStatus=PostStatus,
        ChannelState=ChannelState)


@bp.get("/healthz")
@public
def healthz():
    """Liveness for load balancers and compose: the database answers."""
    database.execute_sql("SELECT 1")
    return jsonify({"status": "ok"})


def wants_json() -> bool:
    return request.accept_mimetypes.best == "application/json"


@bp.errorhandler(Exception)
def page_error(exc):
    """Errors on pages are pages (the API's handlers answer JSON): a form that
    expired, an unknown post, a database that is down, a bug."""
    if isinstance(exc, CSRFError):
        status, title = 400, "This form has expired"
        message = "The page was open too long or came from elsewhere. Go back, reload it and submit again."
    elif isinstance(exc, HTTPException):
        if exc.code is None or exc.code < 400:
            return exc
        status, title, message = exc.code, exc.name, exc.description
    elif isinstance(exc, AppError):
        status, title, message = exc.status, "That did not work", exc.message
    elif isinstance(exc, (OperationalError, InterfaceError)):
        current_app.logger.warning("Database unavailable: %s", exc)
        status, title, message = 503, "Database unavailable", "The database is unreachable; try again shortly."
    else:
        current_app.logger.exception("Unhandled error on %s %s", request.method, request.path)
        status, title, message = 500, "Something went wrong", "An unexpected error occurred; it has been logged."
    if wants_json() or request.endpoint == "web.healthz":
        return jsonify({"error": {"code": title.lower().replace(" ", "_"), "message": message}}), status
    return render_template("web/error.html", title=title, message=message, status=status), status


def enabled_channels():
    return list(Channel.select().where(Channel.enabled == True).order_by(Channel.id))  # noqa: E712


from . import compose, posts, channels  # noqa: E402,F401  (routes register on import)
