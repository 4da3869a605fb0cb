"""What goes out after a change commits, or comes in to be applied: webhook endpoints, events and
deliveries, e-mails, Meta's notifications."""
from __future__ import annotations

from peewee import BooleanField, CharField, DateTimeField, ForeignKeyField, IntegerField, TextField

from ..encryption import EncryptedTextField
from ..statuses import DeliveryStatus, EmailStatus
from .base import BaseModel, IdField, JSONField, utcnow
from .people import User


class WebhookEndpoint(BaseModel):
    """Where outcome events are sent (webhooks/), signed per the Standard
    Webhooks specification with its secret — and, for a day after a rotation,
    with the previous one too."""

    id = IdField()
    url = TextField()
    description = CharField(max_length=200, default="")
    #: Event types it receives; empty: all of them.
    events = JSONField(default=list)
    enabled = BooleanField(default=True)
    #: ``whsec_…``, encrypted at rest; shown once, when made or rotated.
    secret = EncryptedTextField()
    previous_secret = EncryptedTextField(null=True)
    previous_secret_until = DateTimeField(null=True)
    #: Why it was turned off by socialpub (410 Gone), if it was.
    disabled_reason = TextField(null=True)
    #: Since when its deliveries keep failing (None: the last one worked).
    failing_since = DateTimeField(null=True)
    created_at = DateTimeField(default=utcnow)


class OutboxEvent(BaseModel):
    """An outcome event, written in the transaction of the status change that
    causes it (webhooks/events.py), so none is lost: ``{"type", "timestamp",
    "data"}`` is its body, ``msg_id`` its ``webhook-id`` on every delivery."""

    id = IdField()
    msg_id = CharField(max_length=40, unique=True)
    type = CharField(max_length=40)
    payload = JSONField()
    created_at = DateTimeField(default=utcnow, index=True)


class WebhookDelivery(BaseModel):
    """One event to one endpoint: pending until it is sent (retried with a
    growing pause for about three days), then delivered or failed."""

    id = IdField()
    event = ForeignKeyField(OutboxEvent, on_delete="CASCADE")
    endpoint = ForeignKeyField(WebhookEndpoint, backref="deliveries", on_delete="CASCADE")
    status = CharField(max_length=16, default=DeliveryStatus.PENDING)
    attempts = IntegerField(default=0)
    next_attempt_at = DateTimeField(default=utcnow)
    #: When a message was last sent for it, or a worker took it.
    touched_at = DateTimeField(default=utcnow)
    last_status_code = IntegerField(null=True)
    last_error = TextField(null=True)
    delivered_at = DateTimeField(null=True)

    class Meta:
        indexes = ((("status", "next_attempt_at"), False), (("endpoint", "id"), False),
                   (("status", "touched_at"), False))


class WebhookAttempt(BaseModel):
    """One try of a delivery, for the endpoint's delivery log."""

    id = IdField()
    delivery = ForeignKeyField(WebhookDelivery, backref="tries", on_delete="CASCADE")
    at = DateTimeField(default=utcnow)
    status_code = IntegerField(null=True)
    duration_ms = IntegerField()
    #: The first characters of the answer, or why there was none.
    excerpt = TextField(null=True)


class Email(BaseModel):
    """An e-mail to send (mail/): queued in the transaction of what it tells,
    sent by a worker, retried when the server does not take it. A "digest" one
    waits to be gathered into its user's next digest. The body is cleared once
    sent (an invitation's holds a single-use link)."""

    id = IdField()
    user = ForeignKeyField(User, null=True, on_delete="CASCADE")
    to = CharField(max_length=254)
    subject = CharField(max_length=300)
    body = TextField(null=True)
    status = CharField(max_length=16, default=EmailStatus.PENDING)
    attempts = IntegerField(default=0)
    next_attempt_at = DateTimeField(default=utcnow)
    touched_at = DateTimeField(default=utcnow)
    last_error = TextField(null=True)
    created_at = DateTimeField(default=utcnow)
    sent_at = DateTimeField(null=True)

    class Meta:
        indexes = ((("status", "next_attempt_at"), False), (("status", "touched_at"), False))


class MetaNotification(BaseModel):
    """A POST to ``/webhooks/meta`` whose signature was good, kept until the
    ``apply_meta_notification`` actor has applied it (whatsapp/inbound.py)."""

    id = IdField()
    body = TextField()
    received_at = DateTimeField(default=utcnow)
    applied_at = DateTimeField(null=True, index=True)
