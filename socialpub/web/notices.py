"""The notice list (the bell): the signed-in user's notices, newest first,
read or not; marking one, or all, read (notices.py)."""
from __future__ import annotations

from flask import g, redirect, render_template, request, url_for

from .. import notices
from ..db import MAX_ID, write_transaction
from ..people.roles import VIEWER, requires
from .blueprint import bp
from .forms import ids_of


@bp.get("/notices")
def notices_page():
    unread_only = request.args.get("show") == "unread"
    return render_template("web/notices.html", notices=notices.listed(g.user.id, unread_only),
                           unread_only=unread_only, link=notices.link)


@bp.post("/notices/read")
@requires(VIEWER)
def read_notices():
    """Mark the notice ``id`` read — and, with ``open``, go where it is acted on — or, without ``id``, all of them."""
    chosen = [i for i in ids_of(request.form.getlist("id")) if i <= MAX_ID]
    with write_transaction():
        notices.mark_read(g.user.id, chosen or None)
    if chosen and request.form.get("open"):
        # Where the notice itself points (never an address taken from the form).
        mine = [n for n in notices.listed(g.user.id) if n.id == chosen[0]]
        if mine and notices.link(mine[0]):
            return redirect(notices.link(mine[0]))
    return redirect(url_for("web.notices_page", show=request.form.get("show") or None))
