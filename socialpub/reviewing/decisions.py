"""What a reviewer decided about a post on a review link: approved, or
changes asked with a comment, giving their name.

The decision is of what the reviewer saw: the page sends the content digest
it showed (links.content_of), and a post edited since is refused with
"changed since you opened this page" — the page shows the new version to
decide on. It enters the post's History (the reviewer named, the comment
quoted) and, through outcomes.tell, the author's notices and e-mail and the
webhook endpoints (``post.review_approved``, ``post.changes_requested``),
all in the decision's transaction. A decision moves nothing: the team acts on
it (publishes, edits, asks again), and an admin's approval stays the app's.
"""
from __future__ import annotations

from .. import audit, outcomes
from ..db import write_transaction
from ..errors import Conflict, InvalidInput
from ..input_checks import refuse_unstorable_text
from ..models import Post, utcnow
from ..models.reviews import ReviewDecision, ReviewLink
from ..webhooks.events import POST_CHANGES_REQUESTED, POST_REVIEW_APPROVED
from . import links

APPROVED, CHANGES = "approved", "changes"
MAX_NAME, MAX_COMMENT = 100, 2000


def decide(link: ReviewLink, post_id: int, reviewer, decision, comment, seen: str) -> ReviewDecision:
    """The reviewer's ``decision`` about ``post_id`` on ``link``, of the content digest ``seen``.

    Raises:
      NotFound: the post is not on this link.
      InvalidInput: naming the field (no name, no comment when asking for changes, too long).
      Conflict: the post changed since the page showed it.
    """
    name = " ".join(reviewer.split()) if isinstance(reviewer, str) else ""
    if not name or len(name) > MAX_NAME:
        raise InvalidInput(f"reviewer: your name, so the team knows who answered (at most {MAX_NAME} characters)",
                           field="reviewer")
    if decision not in (APPROVED, CHANGES):
        raise InvalidInput("decision: approve the post, or ask for changes", field="decision")
    comment = comment.strip() if isinstance(comment, str) else ""
    if decision == CHANGES and not comment:
        raise InvalidInput("comment: say what should change", field="comment")
    if len(comment) > MAX_COMMENT:
        raise InvalidInput(f"comment: at most {MAX_COMMENT} characters", field="comment")
    refuse_unstorable_text(name, "reviewer")
    refuse_unstorable_text(comment, "comment")
    links.on_link(link, post_id)
    with write_transaction():
        post = Post.get_by_id(post_id)
        if links.content_of(post) != seen:
            raise Conflict("This post changed since you opened this page: read it again and decide on what it "
                           "says now.", field="post", code="changed")
        made = ReviewDecision.create(link=link.id, post=post_id, reviewer=name, decision=decision,
                                     comment=comment or None, content=seen, decided_at=utcnow())
        audit.record(audit.POST, post_id, "approved on the review link" if decision == APPROVED
                     else "changes asked on the review link", actor=None, reviewer=name,
                     comment=comment or None, link=link.id)
        outcomes.tell(POST_REVIEW_APPROVED if decision == APPROVED else POST_CHANGES_REQUESTED, post_id)
    return made


def latest(post_id: int) -> ReviewDecision | None:
    """The newest decision about a post on any link."""
    return (ReviewDecision.select().where(ReviewDecision.post == post_id)
            .order_by(ReviewDecision.decided_at.desc(), ReviewDecision.id.desc()).first())
