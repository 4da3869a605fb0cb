"""The monitor page and its JSON twin."""
from flask import current_app, jsonify, render_template

from ..queue.broker import declared_queues, redis_client
from . import stats
from .blueprint import bp


def _snapshot() -> dict:
    settings = current_app.extensions["socialpub"]
    return stats.snapshot(redis_client(current_app), declared_queues(settings),
                          settings.heartbeat_timeout_ms)


@bp.get("/monitor")
def page():
    """Workers, queues, what is being sent, success rates and the latest failures."""
    settings = current_app.extensions["socialpub"]
    return render_template("monitor/monitor.html", data=_snapshot(), queue_name=settings.queue_name,
                           media_retention_days=settings.media_retention_days)


@bp.get("/monitor.json")
def data():
    """The monitor page's numbers, as JSON."""
    return jsonify(_snapshot())
