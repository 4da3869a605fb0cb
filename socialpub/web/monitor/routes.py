"""The monitor page and its JSON twin."""
import redis
from flask import current_app, flash, jsonify, redirect, render_template, url_for

from ... import api_versions
from ...people.roles import ADMIN, requires
from ...worker.broker import declared_queues, redis_client
from . import stats
from .blueprint import bp


def _snapshot() -> dict:
    settings = current_app.extensions["socialpub"]
    return stats.snapshot(redis_client(current_app), declared_queues(settings),
                          settings.heartbeat_timeout_ms, settings.api_versions())


@bp.get("/monitor")
def page():
    """Workers, queues, what is being sent, success rates and the latest failures."""
    settings = current_app.extensions["socialpub"]
    return render_template("monitor/monitor.html", data=_snapshot(), queue_name=settings.queue_name,
                           media_retention_days=settings.media_retention_days, warn_days=api_versions.WARN_DAYS)


@bp.post("/monitor/dead-letters/clear")
@requires(ADMIN)
def clear_dead_letters():
    """Forget the dead-lettered messages: they were publications that ended failed
    (each one's outcome is on its post, and a retry sends a new message)."""
    settings = current_app.extensions["socialpub"]
    try:
        cleared = stats.clear_dead_letters(redis_client(current_app), declared_queues(settings))
    except redis.RedisError as exc:
        flash(f"Not cleared: Redis did not answer ({exc.__class__.__name__}).", "error")
    else:
        flash(f"Cleared {cleared} dead-lettered message{'' if cleared == 1 else 's'}.", "success")
    return redirect(url_for("monitor.page"))


@bp.get("/monitor.json")
def data():
    """The monitor page's numbers, as JSON."""
    return jsonify(_snapshot())
