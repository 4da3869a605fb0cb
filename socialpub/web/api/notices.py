"""The caller's in-app notices (notices.py): list, and mark read. Everyone's own; viewers too."""
from __future__ import annotations

from flask import g, request

from ... import notices
from ...db import write_transaction
from ...models import iso
from ...people.roles import VIEWER, requires
from .. import shapes
from ..serialize import answer
from .blueprint import bp
from .helpers import json_body


def notice(n) -> shapes.Notice:
    return shapes.Notice(id=n.id, kind=n.kind, text=n.text, post_id=n.post, channel_id=n.channel,
                         link=notices.link(n), created_at=iso(n.created_at), read_at=iso(n.read_at))


@bp.get("/notices")
def list_notices():
    """The caller's newest notices (at most notices.PAGE), and how many are unread; ``unread=1``: only those."""
    unread_only = request.args.get("unread", "") in ("1", "true")
    return answer(shapes.NoticeList, items=[notice(n) for n in notices.listed(g.user.id, unread_only)],
                  unread=notices.unread(g.user.id))


@bp.post("/notices/read")
@requires(VIEWER)
def read_notices():
    """Mark the caller's notices read: ``{"ids": [...]}``, or every one without ``ids``."""
    ids = json_body(shapes.ReadNotices, required=False).get("ids")
    with write_transaction():
        marked = notices.mark_read(g.user.id, ids)
    return answer(shapes.NoticesRead, marked=marked, unread=notices.unread(g.user.id))
