"""Review links, the team's side (editors): made from the ticked posts of the
Posts page or from a post's page, the link shown once; the list of links, each
open, expired or withdrawn, with what its reviewers decided; withdrawing one
stops it at once (reviewing/links.py)."""
from __future__ import annotations

from flask import current_app, flash, g, redirect, render_template, request, url_for

from ..errors import AppError
from ..models import ReviewDecision, ReviewLink, ReviewLinkPost, utcnow
from ..people.roles import EDITOR, requires
from ..reviewing import links
from .blueprint import bp

#: Links the list shows, newest first.
SHOWN = 100


def review_url(token: str) -> str:
    """The link as the reviewer opens it: on PUBLIC_BASE_URL when set (behind a proxy), else this host."""
    base = current_app.extensions["socialpub"].public_base_url or request.host_url
    return f"{base.rstrip('/')}{url_for('web.review_page', token=token)}"


def _listed() -> list:
    rows = list(ReviewLink.select().order_by(ReviewLink.id.desc()).limit(SHOWN))
    ids = [r.id for r in rows] or [0]
    posts, decided = {}, {}
    for row in ReviewLinkPost.select(ReviewLinkPost.link, ReviewLinkPost.post).where(ReviewLinkPost.link.in_(ids)):
        posts.setdefault(row.link_id, []).append(row.post_id)
    for d in ReviewDecision.select().where(ReviewDecision.link.in_(ids)).order_by(ReviewDecision.decided_at):
        decided.setdefault(d.link_id, []).append(d)
    now = utcnow()
    return [{"link": r, "state": links.state(r, now), "posts": posts.get(r.id, []), "decisions": decided.get(r.id, [])}
            for r in rows]


@bp.get("/review-links")
def review_links():
    return render_template("web/review_links.html", listed=_listed(), made=None)


@bp.post("/review-links")
@requires(EDITOR)
def make_review_link():
    """A link to the ticked posts (``ids``), with ``label`` and ``days``; the link is shown this once."""
    ids = [int(i) for i in request.form.getlist("ids") if i.isascii() and i.isdigit() and len(i) <= 18]
    label = request.form.get("label") or (f"Post #{ids[0]}" if len(ids) == 1 else f"{len(ids)} posts")
    days = request.form.get("days", "")
    try:
        link, token = links.make(ids, label, int(days) if days.isdigit() and len(days) < 4 else None,
                                 by=g.user.id)
    except AppError as exc:
        flash(f"No review link was made: {exc.message.split(': ', 1)[-1]}.", "error")
        return redirect(request.referrer if _same_site(request.referrer) else url_for("web.posts"))
    return render_template("web/review_links.html", listed=_listed(),
                           made={"link": link, "url": review_url(token), "posts": ids}), 201


@bp.post("/review-links/<int:link_id>/revoke")
@requires(EDITOR)
def revoke_review_link(link_id):
    try:
        link = links.revoke(link_id)
    except AppError as exc:
        flash(exc.message, "error")
    else:
        flash(f"“{link.label}” was withdrawn: it opens no post any more.", "success")
    return redirect(url_for("web.review_links"))


def _same_site(target: str | None) -> bool:
    return bool(target) and target.startswith(request.host_url)


@bp.app_template_global()
def review_links_of(post_id: int) -> list:
    """A post's review links for its page: each with its state and the decisions made on it."""
    return links.of_post(post_id)
