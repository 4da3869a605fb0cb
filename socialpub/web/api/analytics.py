"""How published posts did, through the API: a post's numbers and curves, a period across channels, a
channel's days, its best times to post, and a period as CSV (analytics/reports.py reads them all)."""
from __future__ import annotations

from flask import Response, request

from ...analytics import reports
from ...intake import composing
from ...models import Channel, utcnow
from .. import shapes
from ..serialize import answer
from .blueprint import bp
from .channels import channel_or_404


def _period() -> reports.Period:
    return reports.period(request.args.get("from"), request.args.get("to"), utcnow().date())


def _channel_ids():
    """``?channel=`` (repeated) as ids of channels that exist, or None for every channel."""
    asked = request.args.getlist("channel")
    if not asked:
        return None
    ids = [int(value) for value in asked if value.isdigit() and len(value) < 19]
    return [c.id for c in Channel.select(Channel.id).where(Channel.id.in_(ids))]


@bp.get("/posts/<int:post_id>/metrics")
def post_metrics(post_id):
    """Each published item's latest numbers and its curve since publishing."""
    post = composing.get_post(post_id)
    return answer(shapes.PostMetrics, post_id=post.id, publications=reports.post_metrics(post.id))


@bp.get("/analytics")
def analytics():
    """A period's totals beside the period before's, each channel's, and the best posts."""
    return answer(shapes.Analytics, **reports.overview(_period(), _channel_ids()))


@bp.get("/analytics/export")
def analytics_export():
    """The period's items and their latest numbers as CSV (an empty cell: not available)."""
    span = _period()
    return Response(reports.export_csv(span, _channel_ids()), mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="socialpub-{span.start}-{span.end}.csv"'})


@bp.get("/channels/<int:channel_id>/metrics")
def channel_metrics(channel_id):
    """The account by day, and the channel's items published in the period."""
    channel = channel_or_404(channel_id)
    span = _period()
    overview = reports.overview(span, [channel.id])
    return answer(shapes.ChannelMetrics, channel_id=channel.id, **{"from": overview["from"], "to": overview["to"]},
                  days=reports.channel_days(channel.id, span), totals=overview["totals"],
                  best_posts=overview["best_posts"])


@bp.get("/channels/<int:channel_id>/best-times")
def best_times(channel_id):
    """When the channel's own posts did best, by weekday and hour, with the best offered as posting times."""
    return answer(shapes.BestTimes, **reports.best_times(channel_or_404(channel_id), utcnow()))
