"""How posts did, in the pages: the Analytics page (a period's totals beside
the period before's, each channel's, the best posts, a CSV of the period), a
channel's page (its followers by day, its best posts and its best times to
post, offered as its posting times) and the numbers on a post's page
(``post_numbers``). Everything is read by analytics/reports.py; the charts are
web/charts.py's, each beside a table of the same numbers."""
from __future__ import annotations

import datetime as dt

from flask import Response, abort, flash, redirect, render_template, request, url_for

from ..analytics import reports
from ..errors import AppError
from ..intake import channels as channel_service
from ..intake import queue_slots
from ..models import Channel, utcnow
from ..networks.insights import METRIC_LABELS, METRICS
from ..people.roles import ADMIN, requires
from . import charts
from .blueprint import NETWORK_LABELS, bp

#: The period picker's choices, in days.
PERIODS = (7, 28, 90)


def _period() -> tuple:
    """The asked period (``days``, or ``from``/``to``) and the error to show, if it was refused."""
    days = request.args.get("days", type=int)
    days = days if days in PERIODS else 28
    try:
        return reports.period(request.args.get("from"), request.args.get("to"), utcnow().date(), days), None
    except AppError as exc:
        return reports.period(None, None, utcnow().date(), days), exc.message


def change(now, before) -> str | None:
    """The change from the period before, in words ("+12 %", "new"), or None when it cannot be said."""
    if now is None or before is None:
        return None
    if before == 0:
        return "new" if now else "no change"
    percent = round(100 * (now - before) / before)
    return f"{percent:+d} %" if percent else "no change"


@bp.get("/analytics")
def analytics_page():
    span, problem = _period()
    overview = reports.overview(span)
    channels = overview["channels"]
    chart = charts.bars([f"{NETWORK_LABELS[c['network']]} {c['name']}" for c in channels], {
        "Views": [c["totals"]["views"] for c in channels],
        "Engagement": [c["totals"]["engagement"] for c in channels]}) if channels else None
    return render_template("web/analytics.html", overview=overview, span=span, problem=problem, chart=chart,
                           change=change, periods=PERIODS, days=request.args.get("days", type=int) or 28,
                           metrics=[m for m in METRICS if m != "watch_time_ms"], labels=METRIC_LABELS)


@bp.get("/analytics/export")
def analytics_export():
    span, problem = _period()
    if problem:
        abort(400, problem)
    return Response(reports.export_csv(span), mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="socialpub-{span.start}-{span.end}.csv"'})


@bp.get("/analytics/channels/<int:channel_id>")
def channel_analytics(channel_id):
    channel = Channel.get_or_none(Channel.id == channel_id)
    if channel is None:
        abort(404, f"Channel {channel_id} doesn't exist.")
    span, problem = _period()
    overview = reports.overview(span, [channel.id])
    days = reports.channel_days(channel.id, span)
    times = reports.best_times(channel, utcnow())
    followers = charts.days(days, "followers") if any(d["followers"] is not None for d in days) else None
    return render_template("web/analytics_channel.html", channel=channel, overview=overview, span=span,
                           problem=problem, days=days, times=times, followers_chart=followers, change=change,
                           periods=PERIODS, days_asked=request.args.get("days", type=int) or 28,
                           metrics=[m for m in METRICS if m != "watch_time_ms"], labels=METRIC_LABELS)


@bp.post("/analytics/channels/<int:channel_id>/use-best-times")
@requires(ADMIN)
def use_best_times(channel_id):
    """The channel's posting times become its best times (reports.best_times' suggestion)."""
    channel = Channel.get_or_none(Channel.id == channel_id)
    if channel is None:
        abort(404, f"Channel {channel_id} doesn't exist.")
    times = reports.best_times(channel, utcnow())
    if not times["suggested"]:
        flash("There is not enough history yet to suggest times: each suggested time rests on at least "
              f"{reports.OFFERED_FROM} posts published at that weekday and hour.", "error")
    else:
        channel_service.set_queue(channel, queue_slots.check({"zone": times["zone"], "slots": times["suggested"]}))
        flash(f"“{channel.name}” now posts from its queue at its best times: "
              + ", ".join(f"{s['weekday'].capitalize()} {s['time']}" for s in times["suggested"])
              + f" ({times['zone']}).", "success")
    return redirect(url_for("web.channel_analytics", channel_id=channel.id))


def post_numbers(post_id: int) -> dict:
    """What a post's page shows of its numbers: each item's, and a chart of their views and reach since
    publishing (None before the first reading)."""
    items = reports.post_metrics(post_id)
    series = {}
    for item in items:
        # The page writes times as <time> elements, read in the viewer's zone (the API's are ISO text).
        item["read_at_time"] = _instant(item["read_at"])
        for reading in item["readings"]:
            reading["taken_at_time"] = _instant(reading["taken_at"])
        label = NETWORK_LABELS[item["network"]]
        for name in ("views", "reach"):
            points = [(r["taken_at_time"], r[name]) for r in item["readings"] if r[name] is not None]
            if points:
                series[f"{label} {METRIC_LABELS[name].lower()}"] = points
    return {"items": items, "chart": charts.lines(series) if series else None,
            "metrics": list(METRICS), "labels": METRIC_LABELS,
            "link_clicks": any(item["link_clicks"] is not None for item in items)}


def _instant(text: str | None) -> dt.datetime | None:
    """An ISO time of the API's as a naive UTC datetime, as the pages' ``time`` macro takes it."""
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).replace(tzinfo=None) if text else None
