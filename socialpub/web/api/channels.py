"""Channels: the connected accounts posts are published to."""
from __future__ import annotations

from flask import url_for

from ...connecting import verify
from ...errors import NotFound
from ...intake import channels as channel_service
from ...intake import queue_slots
from ...lifecycle import pacing
from ...models import Channel, iso
from ...people.roles import ADMIN, requires
from .. import serialize, shapes
from ..serialize import answer
from .blueprint import bp
from .helpers import json_body, settings


@bp.get("/channels")
def list_channels():
    """Every channel; tokens are never shown."""
    return answer(shapes.ChannelList, items=[serialize.channel(c) for c in Channel.select().order_by(Channel.id)])


@bp.post("/channels")
@requires(ADMIN)
def create_channel():
    """Connect an account on one network."""
    channel = channel_service.create_channel(json_body(shapes.CreateChannel, values=False), identify=verify.identify)
    response = answer(serialize.channel(channel))
    response.status_code = 201
    response.headers["Location"] = url_for("api.get_channel", channel_id=channel.id)
    return response


@bp.get("/channels/<int:channel_id>")
def get_channel(channel_id):
    """One channel."""
    channel = channel_or_404(channel_id)
    return answer(serialize.channel(channel))


@bp.patch("/channels/<int:channel_id>")
@requires(ADMIN)
def change_channel(channel_id):
    """Change its name, whether it is offered, whether it needs approval, its spacing, its send rate."""
    channel = channel_or_404(channel_id)
    changes = json_body(shapes.ChangeChannel, values=False)
    return answer(serialize.channel(channel_service.update_channel(channel, changes)))


@bp.get("/channels/<int:channel_id>/quotas")
def channel_quotas(channel_id):
    """What its spacing and quotas hold now, and when a post sent now would go out."""
    channel = channel_or_404(channel_id)
    used = pacing.usage(channel, settings())
    return answer(shapes.ChannelQuotas, **{**used, "next_free_at": iso(used["next_free_at"])})


@bp.put("/channels/<int:channel_id>/queue")
@requires(ADMIN)
def set_channel_queue(channel_id):
    """Its posting times: ``{"zone", "slots": [{"weekday", "time"}]}`` (no slot: none)."""
    channel = channel_or_404(channel_id)
    channel = channel_service.set_queue(channel, queue_slots.check(json_body(shapes.Queue, values=False)))
    return answer(serialize.channel(channel))


def channel_or_404(channel_id: int) -> Channel:
    channel = Channel.get_or_none(Channel.id == channel_id)
    if channel is None:
        raise NotFound(f"channel {channel_id} does not exist")
    return channel
