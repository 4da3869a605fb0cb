"""Outcome events, written to the outbox in the transaction of the status
change that causes them.

:func:`emit` is called inside the lifecycle's write transaction (through
outcomes.tell, which writes the outcome's e-mails and notices too): it
stores the event and one pending delivery per enabled endpoint that takes
that type — so an event exists exactly when its cause committed. Once the
transaction commits, a message is sent for each delivery; if the process dies
before that, the reconciler finds the pending delivery and sends it
(sending.py). No endpoint, no row: an installation without webhooks pays one
small read per event.

Each body is ``{"type", "timestamp", "data"}``; ``data`` holds the post's,
publication's or channel's public fields, never a token.
"""
from __future__ import annotations

import secrets

import dramatiq

from ..db import after_commit
from ..models import (
    Channel,
    OutboxEvent,
    Post,
    PostMetrics,
    Publication,
    WebhookDelivery,
    WebhookEndpoint,
    iso,
    utcnow,
)
from ..models.reviews import ReviewDecision
from ..networks.insights import METRICS

POST_PUBLISHED, POST_PARTIAL, POST_FAILED = "post.published", "post.partially_published", "post.failed"
PUBLICATION_PUBLISHED, PUBLICATION_PARTLY_FAILED, PUBLICATION_FAILED, PUBLICATION_UNCONFIRMED = (
    "publication.published", "publication.partly_failed", "publication.failed", "publication.unconfirmed")
CHANNEL_NEEDS_REAUTH, CHANNEL_EXPIRES_SOON = "channel.needs_reauth", "channel.expires_soon"
#: A post's numbers moved (analytics/collection.py): each of its published items' latest numbers.
POST_METRICS_UPDATED = "post.metrics_updated"
#: A reviewer without an account approved a post, or asked for changes, on a review link (reviewing/).
POST_REVIEW_APPROVED, POST_CHANGES_REQUESTED = "post.review_approved", "post.changes_requested"
#: Sent by an admin to one endpoint to try it (:func:`emit_test`): not among TYPES, as no endpoint subscribes to it.
WEBHOOK_TEST = "webhook.test"
TYPES = (POST_PUBLISHED, POST_PARTIAL, POST_FAILED, PUBLICATION_PUBLISHED, PUBLICATION_PARTLY_FAILED, PUBLICATION_FAILED,
         PUBLICATION_UNCONFIRMED, CHANNEL_NEEDS_REAUTH, CHANNEL_EXPIRES_SOON, POST_METRICS_UPDATED,
         POST_REVIEW_APPROVED, POST_CHANGES_REQUESTED)
#: The event a post's final status makes, and a publication's.
FOR_POST = {"published": POST_PUBLISHED, "partially_published": POST_PARTIAL, "failed": POST_FAILED}
FOR_PUBLICATION = {"published": PUBLICATION_PUBLISHED, "partly_failed": PUBLICATION_PARTLY_FAILED,
                   "failed": PUBLICATION_FAILED,
                   "expired": PUBLICATION_FAILED, "unconfirmed": PUBLICATION_UNCONFIRMED}

def send(delivery_id: int) -> None:
    """Send a delivery's message (the actor is looked up on the broker by name:
    the web process only sends it)."""
    dramatiq.get_broker().get_actor("deliver_webhook").send(delivery_id)


def emit(event_type: str, subject_id: int) -> int:
    """Store the event about the post, publication or channel ``subject_id``
    and its deliveries in the caller's transaction (called by outcomes.tell,
    with the e-mails and notices the outcome makes); return how many endpoints
    get it. The messages go once the transaction commits."""
    endpoints = [e.id for e in WebhookEndpoint.select(WebhookEndpoint.id, WebhookEndpoint.events)
                 .where(WebhookEndpoint.enabled == True)  # noqa: E712
                 if not e.events or event_type in e.events]
    if not endpoints:
        return 0
    now = utcnow()
    data = DATA.get(event_type, DATA[event_type.split(".")[0]])(subject_id)
    event = OutboxEvent.create(msg_id=f"msg_{secrets.token_urlsafe(18)}", type=event_type, created_at=now,
                               payload={"type": event_type, "timestamp": iso(now), "data": data})
    ids = [WebhookDelivery.insert(event=event.id, endpoint=endpoint, next_attempt_at=now, touched_at=now)
           .execute() for endpoint in endpoints]
    after_commit(lambda: [send(i) for i in ids])
    return len(ids)


def emit_test(endpoint: WebhookEndpoint) -> int:
    """Store a ``webhook.test`` event and its one delivery, to ``endpoint``
    alone whatever events it takes, in the caller's transaction; return the
    delivery's id. It then goes the way every event goes — the outbox, the
    ``deliver_webhook`` actor, signed, retried, in the delivery log — so a
    receiver tried with it is tried as the real events will find it."""
    now = utcnow()
    event = OutboxEvent.create(msg_id=f"msg_{secrets.token_urlsafe(18)}", type=WEBHOOK_TEST, created_at=now,
                               payload={"type": WEBHOOK_TEST, "timestamp": iso(now),
                                        "data": {"endpoint_id": endpoint.id, "url": endpoint.url}})
    delivery_id = WebhookDelivery.insert(event=event.id, endpoint=endpoint.id, next_attempt_at=now,
                                         touched_at=now).execute()
    after_commit(lambda: send(delivery_id))
    return delivery_id


def post_data(post_id: int) -> dict:
    post = Post.get_by_id(post_id)
    publications = Publication.select(Publication.id, Publication.network, Publication.channel,
                                      Publication.status, Publication.external_url, Publication.last_error) \
        .where(Publication.post == post_id).order_by(Publication.id)
    return {"id": post.id, "status": post.status, "text": post.text, "link": post.link,
            "scheduled_at": iso(post.scheduled_at), "finished_at": iso(post.finished_at),
            "publications": [{"id": p.id, "network": p.network, "channel_id": p.channel_id, "status": p.status,
                              "url": p.external_url, "error": p.last_error} for p in publications]}


def publication_data(publication_id: int) -> dict:
    p = Publication.get_by_id(publication_id)
    return {"id": p.id, "post_id": p.post_id, "network": p.network, "channel_id": p.channel_id,
            "status": p.status, "external_id": p.external_id, "url": p.external_url, "error": p.last_error,
            "attempts": p.attempts, "published_at": iso(p.published_at), "finished_at": iso(p.finished_at)}


def channel_data(channel_id: int) -> dict:
    c = Channel.get_by_id(channel_id)
    return {"id": c.id, "network": c.network, "name": c.name, "account_id": c.account_id, "state": c.state,
            "state_reason": c.state_reason, "token_expires_at": iso(c.token_expires_at)}


def post_metrics_data(post_id: int) -> dict:
    """The post's id and each published item's latest numbers (null: the network does not give it)."""
    rows = (PostMetrics.select().join(Publication).where(Publication.post == post_id)
            .order_by(PostMetrics.publication))
    return {"id": post_id, "publications": [
        {"id": row.publication_id, "network": row.network, "channel_id": row.channel_id,
         "read_at": iso(row.read_at), **{name: getattr(row, name) for name in METRICS}} for row in rows]}


def post_review_data(post_id: int) -> dict:
    """The post, and the reviewer's latest decision about it (their name, the comment, when)."""
    decision = (ReviewDecision.select().where(ReviewDecision.post == post_id)
                .order_by(ReviewDecision.decided_at.desc(), ReviewDecision.id.desc()).get())
    return {**post_data(post_id), "review": {"link_id": decision.link_id, "reviewer": decision.reviewer,
                                             "decision": decision.decision, "comment": decision.comment,
                                             "decided_at": iso(decision.decided_at)}}


#: The data of an event, by its type, else by the kind its type starts with.
DATA = {"post": post_data, "publication": publication_data, "channel": channel_data,
        POST_METRICS_UPDATED: post_metrics_data, POST_REVIEW_APPROVED: post_review_data,
        POST_CHANGES_REQUESTED: post_review_data}
