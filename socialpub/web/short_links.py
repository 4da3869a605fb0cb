"""``/l/<code>``: a post's short link (campaigns/links.py), public. It counts the click and sends the
browser on with a 302; it reads no cookie and sets none, and keeps nothing about who followed it."""
from __future__ import annotations

from flask import abort, redirect

from ..campaigns import links
from .auth import public
from .blueprint import bp


@bp.get("/l/<code>")
@public
def short_link(code):
    target = links.follow(code)
    if target is None:
        abort(404, "This short link does not exist.")
    response = redirect(target, code=302)
    # Not kept by a browser or a proxy: each following is counted here.
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response
