"""Delivering an outbox event to an endpoint (the ``deliver_webhook`` actor).

A delivery is an outbox row (outbox.py): claimed with one conditional UPDATE
(pending and due, or left "sending" by a worker that died), so a message that
arrives twice sends once.
The body is the event's JSON; the headers are the Standard Webhooks ones,
signed with the ``standardwebhooks`` package: ``webhook-id`` (the event's, the
same on every try), ``webhook-timestamp`` (this try's), ``webhook-signature``
(``v1,`` + base64 HMAC-SHA256 of ``id.timestamp.body``; two during a secret
rotation's overlap). The POST goes through the outbound guard (no private
address unless SOCIALPUB_OUTBOUND_ALLOW allows it), 15 s at most.

- 2xx: delivered.
- 410 Gone: the endpoint is turned off, saying why; nothing more is sent to it.
- anything else, or no answer: tried again after a growing pause with jitter
  (``Retry-After`` honoured), for about three days; then failed.

Every try is logged (status, duration, the answer's first characters). The
reconciler re-drives a delivery whose message was lost (``OUTBOX.redrive``).
"""
from __future__ import annotations

import datetime as dt
import email.utils
import json
import logging
import time

from standardwebhooks.webhooks import Webhook

from .. import audit
from ..config import Settings
from ..db import write_transaction
from ..metrics import series
from ..models import OutboxEvent, WebhookAttempt, WebhookDelivery, WebhookEndpoint, utcnow
from ..networks import outbound
from ..outbox import Outbox
from ..statuses import DeliveryStatus as D
from . import endpoints

logger = logging.getLogger(__name__)

TIMEOUT_S = 15.0
#: Retried for about three days in all (Standard Webhooks suggests such a schedule), each pause ±20 %;
#: a delivery "sending" for four times the POST's limit lost its worker. One sent again after it was
#: delivered ("send again") and then failed is no longer delivered.
OUTBOX = Outbox(WebhookDelivery, D.DELIVERED, schedule=tuple(dt.timedelta(seconds=s) for s in (
    5, 300, 1800, 7200, 18000, 36000, 50400, 72000, 86400)), lease=dt.timedelta(seconds=TIMEOUT_S * 4),
    grace=dt.timedelta(seconds=60), noun="webhook deliveries", jitter=0.2, forget={"delivered_at": None})
#: A Retry-After longer than this is not waited for.
MAX_RETRY_AFTER = dt.timedelta(hours=24)
EXCERPT = 500


def signed_headers(endpoint: WebhookEndpoint, msg_id: str, body: str, now: dt.datetime) -> dict:
    """The Standard Webhooks headers, signed with each of the endpoint's secrets."""
    at = now.replace(tzinfo=dt.timezone.utc)
    signatures = [Webhook(secret).sign(msg_id, at, body) for secret in endpoints.signing_secrets(endpoint, now)]
    return {"webhook-id": msg_id, "webhook-timestamp": str(int(at.timestamp())),
            "webhook-signature": " ".join(signatures), "Content-Type": "application/json",
            "User-Agent": "socialpub-webhooks"}


def deliver(delivery_id: int, settings: Settings) -> int | None:
    """One try of a delivery; return the milliseconds until the next one, or
    None when there is none (delivered, failed, or not ours to send)."""
    now = utcnow()
    if not OUTBOX.claim(delivery_id, now):
        return None
    delivery = (WebhookDelivery.select(WebhookDelivery, OutboxEvent, WebhookEndpoint).join(OutboxEvent)
                .switch(WebhookDelivery).join(WebhookEndpoint).where(WebhookDelivery.id == delivery_id).get())
    endpoint, event = delivery.endpoint, delivery.event
    if not endpoint.enabled:
        OUTBOX.fail(delivery.id, "the endpoint is turned off", last_status_code=None)
        return None
    body = json.dumps(event.payload, separators=(",", ":"), ensure_ascii=False)
    started = time.monotonic()
    try:
        answer = outbound.post(endpoint.url, body.encode(), signed_headers(endpoint, event.msg_id, body, now),
                               time_limit=TIMEOUT_S, allow=settings.outbound_allow)
    except Exception as exc:  # Unsent; or a bug, an unforeseen answer: a failed try all the same
        if not isinstance(exc, outbound.Unsent):
            logger.exception("Webhook delivery %d: unexpected error.", delivery_id)
            exc = outbound.Unsent(f"unexpected error: {exc!r}")
        if exc.refused:  # an address this installation may not call: trying again changes nothing
            _record_try(delivery, None, str(exc), _ms(started))
            series.webhook_delivered("failed")
            OUTBOX.fail(delivery.id, f"{exc}; allow it with SOCIALPUB_OUTBOUND_ALLOW, then send it again",
                        last_status_code=None)
            return None
        return _after_try(delivery, None, str(exc), _ms(started), None)
    return _after_try(delivery, answer.status, answer.excerpt[:EXCERPT].replace("\x00", ""), _ms(started), answer)


def _ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)


def _record_try(delivery: WebhookDelivery, status: int | None, excerpt: str, duration_ms: int):
    with write_transaction():
        WebhookAttempt.create(delivery=delivery.id, at=utcnow(), status_code=status, duration_ms=duration_ms,
                              excerpt=excerpt or None)


def _after_try(delivery: WebhookDelivery, status: int | None, excerpt: str, duration_ms: int, answer):
    _record_try(delivery, status, excerpt, duration_ms)
    now = utcnow()
    endpoint = delivery.endpoint
    if status is not None and 200 <= status < 300:
        series.webhook_delivered("delivered")
        OUTBOX.settle_sent(delivery.id, last_status_code=status, last_error=None, delivered_at=now)
        WebhookEndpoint.update(failing_since=None).where(WebhookEndpoint.id == endpoint.id).execute()
        return None
    if status == 410:
        series.webhook_delivered("gone")
        reason = "the endpoint answered 410 Gone, so socialpub stopped sending to it"
        with write_transaction():
            (WebhookEndpoint.update(enabled=False, disabled_reason=reason)
             .where(WebhookEndpoint.id == endpoint.id).execute())
            audit.record(audit.WEBHOOK, endpoint.id, "turned off", actor=None, reason=reason)
        OUTBOX.fail(delivery.id, reason, last_status_code=status)
        return None
    error = f"HTTP {status}" if status is not None else excerpt
    (WebhookEndpoint.update(failing_since=now)
     .where((WebhookEndpoint.id == endpoint.id) & WebhookEndpoint.failing_since.is_null()).execute())
    wanted = _retry_after(answer.headers.get("Retry-After")) if answer is not None else None
    delay_ms = OUTBOX.retry_later(delivery, error, at_least=None if wanted is None else min(wanted, MAX_RETRY_AFTER),
                                  gave_up=f"{error}; gave up after {delivery.attempts} tries", last_status_code=status)
    series.webhook_delivered("failed" if delay_ms is None else "retrying")
    return delay_ms


def _retry_after(value: str | None) -> dt.timedelta | None:
    """``Retry-After`` as a pause: seconds, or an HTTP date (RFC 9110 §10.2.3)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return dt.timedelta(seconds=int(value))
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    return max(dt.timedelta(0), when.astimezone(dt.timezone.utc).replace(tzinfo=None) - utcnow())
