"""The content calendar: month and week views of what is scheduled and what
went out, drawn by calendar.js in the viewer's time zone from
``GET /api/calendar``; a scheduled post is moved by dragging it (or with its
Move button) through ``POST /calendar/move``, and an empty day starts a new
post at that time."""
from __future__ import annotations

from flask import jsonify, render_template, request

from ..errors import AppError, Stale
from ..lifecycle import scheduling, versions
from ..networks import NETWORKS
from .blueprint import bp


@bp.get("/calendar")
def calendar():
    view = request.args.get("view") if request.args.get("view") in ("month", "week") else "month"
    return render_template("web/calendar.html", view=view, date=request.args.get("date", ""), networks=NETWORKS)


@bp.post("/calendar/move")
def move_post():
    """``{post_id, scheduled_at, timezone, version}`` (the viewer's wall-clock
    time and zone; the post's version as the calendar showed it): the post
    moved (scheduling.schedule), or the API's error shape — a 409 when the post
    changed since the calendar showed it."""
    data = request.get_json(silent=True) or {}
    try:
        post_id = data.get("post_id")
        if type(post_id) is not int:
            raise AppError("post_id: the post to move", field="post_id")
        post = scheduling.schedule(post_id, data.get("scheduled_at"), data.get("timezone"),
                                   versions.parse(data.get("version"), "version"), version_field="version")
    except Stale as exc:
        response = jsonify(error={**exc.as_dict(), "message": f"Post {post_id} was changed by someone else since "
                                  f"the calendar showed it, so it was not moved: the calendar now shows it as it is."})
        response.status_code = 409
        return response
    except AppError as exc:
        response = jsonify(error=exc.as_dict())
        response.status_code = exc.status
        return response
    return jsonify(id=post.id, status=post.status, at=post.scheduled_at.isoformat() + "+00:00")
