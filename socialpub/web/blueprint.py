"""The pages' blueprint and what its modules share: labels, template helpers,
error pages, ``/healthz``, the CSRF protection."""
import datetime as dt
from dataclasses import asdict

from flask import Blueprint, g, jsonify, render_template, request
from flask_wtf.csrf import CSRFError, CSRFProtect
from werkzeug.exceptions import HTTPException

from .. import notices
from ..db import database
from ..models import Channel, ChannelState, Post, PostStatus, PublicationStatus, iso
from ..networks import LABELS, LIMITS, NETWORKS
from ..people import roles
from ..statuses import CommentStatus
from .auth import public
from .envelope import describe, error_response

bp = Blueprint("web", __name__, template_folder="templates", static_folder="static",
               static_url_path="/assets")

#: Created unbound; ``create_app`` calls ``csrf.init_app(app)`` and exempts the API.
csrf = CSRFProtect()

#: How each network is named on the pages.
NETWORK_LABELS = LABELS
#: How statuses read on the pages (the JavaScript gets the same words).
STATUS_LABELS = {
    PublicationStatus.PENDING: "Not sent", PublicationStatus.QUEUED: "Queued", PublicationStatus.PROCESSING: "Sending",
    PublicationStatus.RETRYING: "Retrying", PublicationStatus.PUBLISHED: "Published", PublicationStatus.FAILED: "Failed",
    PublicationStatus.PARTLY_FAILED: "Partly failed",
    PublicationStatus.EXPIRED: "Expired", PublicationStatus.UNCONFIRMED: "Unconfirmed",
    PostStatus.DRAFT: "Draft", PostStatus.SCHEDULED: "Scheduled", PostStatus.AWAITING: "Waiting for approval",
    PostStatus.PUBLISHING: "Publishing",
    PostStatus.PARTIAL: "Partially published",
}
#: How each kind of video post reads: VIDEO_LABELS["facebook"]["reel"] is "a Facebook Reel".
VIDEO_LABELS = {n: {rules.kind: rules.label for rules in LIMITS[n].videos} for n in NETWORKS}
CHANNEL_STATE_LABELS = {ChannelState.ACTIVE: "Active", ChannelState.NEEDS_REAUTH: "Needs re-authorisation"}


def limits_data() -> dict:
    """networks.LIMITS as the page's JavaScript reads it, so both sides check the same numbers."""
    return {n: dict(asdict(LIMITS[n]), label=NETWORK_LABELS[n]) for n in NETWORKS}


def moment(value):
    """A stored (naive UTC) time, or an ISO 8601 string as the monitor's JSON holds them, as naive UTC."""
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    if value.tzinfo is not None:
        value = value.astimezone(dt.timezone.utc).replace(tzinfo=None)
    return value


@bp.app_template_filter("when")
def when(value):
    """A time as ISO 8601 for <time datetime=…>."""
    return iso(moment(value)) if value else ""


@bp.app_template_filter("utc")
def utc(value):
    """A time as people read it before the page's script shows it in their zone (common.js)."""
    if not value:
        return ""
    value = moment(value)
    return f"{value.day} {value:%b %Y, %H:%M} UTC"


@bp.app_template_global()
def can(role: str) -> bool:
    """Whether the signed-in user's role allows what needs ``role`` (links and buttons shown)."""
    user = g.get("user")
    return user is not None and roles.allows(user.role, role)


@bp.app_template_global()
def comment_line(c) -> str:
    """A first comment's state in words (post.js's commentLine says the same)."""
    if c.status == CommentStatus.POSTED:
        return "First comment: posted."
    if c.status == CommentStatus.FAILED:
        return f"First comment: not posted — {c.last_error or ''}"
    if c.status == CommentStatus.SENDING:
        return "First comment: being posted."
    return "First comment: to be tried again." if c.next_attempt_at else "First comment: goes once the post is out."


@bp.app_template_global()
def nav_counts() -> dict:
    """The navigation's numbers, once per page: the signed-in user's unread
    notices (the bell) and, for admins, the posts waiting for their approval."""
    user = g.get("user")
    if user is None:
        return {}
    if "nav_counts" not in g:
        waiting = (Post.select().where(Post.status == PostStatus.AWAITING).count()
                   if roles.allows(user.role, roles.ADMIN) else 0)
        g.nav_counts = {"unread": notices.unread(user.id), "waiting": waiting}
    return g.nav_counts


@bp.record_once
def template_globals(state):
    """Names every page and macro may use (globals, so imported macros see them too)."""
    state.app.jinja_env.globals.update(
        NETWORKS=NETWORKS, NETWORK_LABELS=NETWORK_LABELS, STATUS_LABELS=STATUS_LABELS,
        CHANNEL_STATE_LABELS=CHANNEL_STATE_LABELS, VIDEO_LABELS=VIDEO_LABELS, PublicationStatus=PublicationStatus,
        PostStatus=PostStatus,
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
    """Errors on pages are pages: a form that expired, an unknown post, a
    database that is down, a bug. A request that asked for JSON gets the API's
    one error shape."""
    if isinstance(exc, HTTPException) and (exc.code is None or exc.code < 400):
        return exc
    if wants_json() or request.endpoint == "web.healthz":
        return error_response(exc)
    status, error = describe(exc)
    if isinstance(exc, CSRFError):
        title = "This form has expired"
        message = "The page was open too long or came from elsewhere. Go back, reload it and submit again."
    elif isinstance(exc, HTTPException) and status < 500:
        title, message = exc.name, exc.description
    else:
        title, message = PAGE_TEXTS.get(error["code"], ("Something went wrong on our side", None))
        message = message or error["message"][:1].upper() + error["message"][1:] + "."
    return render_template("web/error.html", title=title, message=message, status=status), status


#: How a page says what the API says in its error codes.
PAGE_TEXTS = {
    "database_unavailable": ("Database unavailable", "The database is unreachable; try again shortly."),
}


def enabled_channels():
    return list(Channel.select().where(Channel.enabled == True).order_by(Channel.id))  # noqa: E712

