"""What an outcome makes, written in one place: a post published, partly
published or failed, a publication's end, a channel to reconnect or expiring,
a post waiting for approval or rejected. :func:`tell` writes, in the
caller's transaction — the status change's own —, the webhook event and its
deliveries (webhooks/events.py; only for the outcomes endpoints may take), the
e-mails (mail/notices.py) and the in-app notices (notices.py); each of those
decides whom it tells, and their messages go once the transaction commits.
The lifecycle and the token refresh call it; nobody else writes them.
"""
from __future__ import annotations

from . import notices as in_app
from .mail import notices as mail
from .webhooks import events

#: A post waits for an admin's approval (lifecycle/review.py), or an admin sent it back
#: (lifecycle/approval.py): told by e-mail and in the app, never to a webhook endpoint.
POST_AWAITING_APPROVAL, POST_REJECTED = "post.awaiting_approval", "post.rejected"


def tell(outcome: str, subject_id: int) -> int:
    """In the caller's transaction: what ``outcome`` about the post,
    publication or channel ``subject_id`` makes — e-mails, in-app notices,
    and the webhook event when it is one of ``events.TYPES``; return how
    many endpoints get it."""
    mail.queue(outcome, subject_id)
    in_app.tell(outcome, subject_id)
    return events.emit(outcome, subject_id) if outcome in events.TYPES else 0
