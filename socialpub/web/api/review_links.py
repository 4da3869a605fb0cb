"""Review links through the API: make one for posts (its URL in that answer only), list them with their
reviewers' answers, withdraw one (reviewing/links.py; the reviewer's page is web/review.py)."""
from __future__ import annotations

from flask import current_app, g, request, url_for

from ...models import Post, ReviewDecision, ReviewLink, ReviewLinkPost, iso, utcnow
from ...people.roles import EDITOR, requires
from ...reviewing import links
from .. import shapes
from ..serialize import answer
from .blueprint import bp
from .helpers import json_body

#: Links listed, newest first.
LISTED = 100


def _shape(link: ReviewLink, url: str | None = None) -> shapes.ReviewLink:
    post_ids = [p for (p,) in ReviewLinkPost.select(ReviewLinkPost.post).where(ReviewLinkPost.link == link.id)
                .order_by(ReviewLinkPost.id).tuples()]
    contents = {p.id: links.content_of(p) for p in Post.select().where(Post.id.in_(post_ids or [0]))}
    answers = [shapes.ReviewAnswer(post_id=d.post_id, reviewer=d.reviewer, decision=d.decision, comment=d.comment,
                                   decided_at=iso(d.decided_at), current=contents.get(d.post_id) == d.content)
               for d in ReviewDecision.select().where(ReviewDecision.link == link.id)
               .order_by(ReviewDecision.decided_at, ReviewDecision.id)]
    values = dict(id=link.id, label=link.label, post_ids=post_ids, state=links.state(link, utcnow()),
                  created_at=iso(link.created_at), expires_at=iso(link.expires_at), revoked_at=iso(link.revoked_at),
                  answers=answers)
    return shapes.ReviewLink(**values, **({"url": url} if url else {}))


@bp.post("/review-links")
@requires(EDITOR)
def create_review_link():
    data = json_body(shapes.CreateReviewLink)
    link, token = links.make(data["post_ids"], data["label"], data.get("days"), by=g.user.id)
    base = current_app.extensions["socialpub"].public_base_url or request.host_url
    return answer(_shape(link, f"{base.rstrip('/')}{url_for('web.review_page', token=token)}"), 201)


@bp.get("/review-links")
def list_review_links():
    rows = ReviewLink.select().order_by(ReviewLink.id.desc()).limit(LISTED)
    return answer(shapes.ReviewLinkList, items=[_shape(link) for link in rows])


@bp.delete("/review-links/<int:link_id>")
@requires(EDITOR)
def revoke_review_link(link_id):
    return answer(_shape(links.revoke(link_id)))
