"""The audit trails (audit.py): who did what to a post, a channel or a user, and when."""
from __future__ import annotations

from ... import audit
from ...errors import NotFound
from ...intake.composing import get_post
from ...models import Channel
from ...people import team
from ...people.roles import ADMIN, requires
from .. import serialize, shapes
from ..serialize import answer
from .blueprint import bp


@bp.get("/posts/<int:post_id>/events")
def post_events(post_id):
    """Who did what to the post, oldest first (also after it was deleted)."""
    return _trail(audit.POST, post_id, lambda: get_post(post_id))


@bp.get("/channels/<int:channel_id>/events")
@requires(ADMIN)
def channel_events(channel_id):
    """Who did what to the channel (admins: who connected it, its token changes, its contacts' consent)."""
    return _trail(audit.CHANNEL, channel_id, lambda: Channel.get_by_id(channel_id))


@bp.get("/users/<int:user_id>/events")
@requires(ADMIN)
def user_events(user_id):
    return _trail(audit.USER, user_id, lambda: team.get_user(user_id))


def _trail(subject, subject_id, existing):
    lines = audit.trail(subject, subject_id)
    if not lines:
        try:
            existing()
        except (NotFound, Channel.DoesNotExist):
            raise NotFound(f"{subject} {subject_id} does not exist and has no history") from None
    return answer(shapes.EventList, items=[serialize.event(e) for e in lines])
