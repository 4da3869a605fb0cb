"""Webhook endpoints (admins): their URL, the events they take, whether they
are on; their signing secret — ``whsec_`` and 24 random bytes in base64, as
the Standard Webhooks specification has it — shown once, and rotated with a
day's overlap during which both secrets sign (the previous one revocable at
once, when it leaked); a test event; the delivery log and "send again".
"""
from __future__ import annotations

import base64
import datetime as dt
import ipaddress
import secrets
from urllib.parse import urlsplit

from .. import audit
from ..db import after_commit, write_transaction
from ..errors import Conflict, InvalidInput, NotFound, Unprocessable
from ..input_checks import check_url, refuse_unstorable_text
from ..models import OutboxEvent, WebhookAttempt, WebhookDelivery, WebhookEndpoint, utcnow
from ..networks.outbound import Guard
from ..statuses import DeliveryStatus as D
from . import events

FIELDS = {"url", "events", "enabled", "description"}
#: After a rotation the previous secret signs too, for this long.
ROTATION_OVERLAP = dt.timedelta(hours=24)
MAX_DESCRIPTION = 200


def new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


def refuse_unreachable(url: str, allow) -> None:
    """Refuse an endpoint whose every delivery the outbound guard would refuse
    (``allow``: ``SOCIALPUB_OUTBOUND_ALLOW``), naming the setting that would
    allow it — instead of accepting it and failing each event later.

    Only what is known without network I/O on the request path: an address
    written as such, and ``localhost`` (RFC 6761: loopback; always
    ``127.0.0.1``, so that is what must be allowed — where it also means
    ``::1`` the delivery says to allow that too). A host name's addresses can
    only be known by resolving it, which can take seconds and may differ by
    the time an event is sent: the delivery checks them then, and a refused
    one fails at once, naming the same setting.

    Raises:
      Unprocessable: the address is not public and not allowed.
    """
    parts = urlsplit(url)
    host = parts.hostname
    port = parts.port or (443 if parts.scheme == "https" else 80)
    if host == "localhost" or host.endswith(".localhost"):
        addresses, named = ["127.0.0.1"], host
    else:
        try:
            ipaddress.ip_address(host.split("%")[0])
        except ValueError:  # a host name: checked at each delivery
            return
        addresses, named = [host], None
    guard = Guard(allow)
    refusals = [refused for refused in (guard.refusal(a, port) for a in addresses) if refused]
    if refusals:
        needed = [entry for a in addresses for entry in guard.to_allow(a, port)]
        shown, kind = refusals[0]
        raise Unprocessable(f"url: {named or shown} is {kind}, and socialpub sends events only to public "
                            f"addresses unless told otherwise: to allow this one, set "
                            f"SOCIALPUB_OUTBOUND_ALLOW={','.join(needed)} in socialpub's environment and restart it",
                            field="url")


def _checked(data: dict, partial: bool, allow) -> dict:
    refuse_unstorable_text(data)  # a NUL or a lone surrogate: a 400 naming the field, not the database's 500
    unknown = sorted(set(data) - FIELDS)
    if unknown:
        raise InvalidInput(f"{unknown[0][:100]}: unknown field (expected one of {', '.join(sorted(FIELDS))})",
                           field=unknown[0][:100])
    values = {}
    if "url" in data or not partial:
        url = check_url(data.get("url"), "url")
        if not url:
            raise InvalidInput("url: the endpoint's address is required, such as https://example.com/hooks",
                               field="url")
        refuse_unreachable(url, allow)
        values["url"] = url
    if "events" in data:
        chosen = data["events"]
        if not isinstance(chosen, list) or not all(isinstance(e, str) for e in chosen):
            raise InvalidInput("events: a list of event types (empty: all of them)", field="events")
        unknown_types = [e for e in chosen if e not in events.TYPES]
        if unknown_types:
            raise InvalidInput(f"events: {unknown_types[0][:60]!r} is not an event; they are "
                               f"{', '.join(events.TYPES)}", field="events")
        values["events"] = list(dict.fromkeys(chosen))
    if "enabled" in data:
        if not isinstance(data["enabled"], bool):
            raise InvalidInput("enabled: must be true or false", field="enabled")
        values["enabled"] = data["enabled"]
    if "description" in data:
        text = data["description"]
        if not isinstance(text, str) or len(text) > MAX_DESCRIPTION:
            raise InvalidInput(f"description: text of at most {MAX_DESCRIPTION} characters", field="description")
        values["description"] = text.strip()
    return values


def get(endpoint_id: int) -> WebhookEndpoint:
    endpoint = WebhookEndpoint.get_or_none(WebhookEndpoint.id == endpoint_id)
    if endpoint is None:
        raise NotFound(f"webhook endpoint {endpoint_id} does not exist")
    return endpoint


def create(data: dict, allow=()) -> tuple[WebhookEndpoint, str]:
    """A new endpoint and its secret (returned here only); ``allow``: the
    outbound guard's ``SOCIALPUB_OUTBOUND_ALLOW`` (:func:`refuse_unreachable`)."""
    values = _checked(data, partial=False, allow=allow)
    secret = new_secret()
    with write_transaction():
        endpoint = WebhookEndpoint.create(secret=secret, **values)
        audit.record(audit.WEBHOOK, endpoint.id, "created", url=endpoint.url, events=endpoint.events)
    return endpoint, secret


def update(endpoint_id: int, data: dict, allow=()) -> WebhookEndpoint:
    values = _checked(data, partial=True, allow=allow)
    if values.get("enabled"):
        values.update(disabled_reason=None, failing_since=None)
    with write_transaction():
        endpoint = get(endpoint_id)
        WebhookEndpoint.update(**values).where(WebhookEndpoint.id == endpoint.id).execute()
        audit.record(audit.WEBHOOK, endpoint.id, "edited", fields=sorted(values))
    return get(endpoint_id)


def rotate(endpoint_id: int) -> tuple[WebhookEndpoint, str]:
    """A new secret (returned here only); the old one signs too for ROTATION_OVERLAP."""
    secret = new_secret()
    with write_transaction():
        endpoint = get(endpoint_id)
        if endpoint.previous_secret_until and endpoint.previous_secret_until > utcnow():
            # Rotating again would drop the previous secret while receivers may still rely on it.
            raise Conflict(f"the previous secret still signs until {endpoint.previous_secret_until:%Y-%m-%d %H:%M} "
                           f"UTC: rotate again after that")
        (WebhookEndpoint.update(secret=secret, previous_secret=endpoint.secret,
                                previous_secret_until=utcnow() + ROTATION_OVERLAP)
         .where(WebhookEndpoint.id == endpoint.id).execute())
        audit.record(audit.WEBHOOK, endpoint.id, "secret rotated")
    return get(endpoint_id), secret


def revoke_previous(endpoint_id: int) -> WebhookEndpoint:
    """Stop signing with the previous secret now, before its overlap ends: the
    answer to a leaked secret (rotate, then revoke the previous one), which
    also lets the endpoint be rotated again at once.

    Raises:
      Conflict: no previous secret signs now.
    """
    with write_transaction():
        endpoint = get(endpoint_id)
        # Conditional on what was read, so that two admins revoking at once record it once.
        revoked = (WebhookEndpoint.update(previous_secret=None, previous_secret_until=None)
                   .where((WebhookEndpoint.id == endpoint.id) & (WebhookEndpoint.previous_secret_until > utcnow()))
                   .execute())
        if not revoked:
            raise Conflict("no previous secret signs now: only the current one does")
        audit.record(audit.WEBHOOK, endpoint.id, "previous secret revoked",
                     would_have_signed_until=endpoint.previous_secret_until.isoformat())
    return get(endpoint_id)


def send_test(endpoint_id: int) -> int:
    """Send the endpoint a ``webhook.test`` event now (events.emit_test); return its delivery's id.

    Raises:
      Conflict: the endpoint is turned off (nothing is sent to it).
    """
    with write_transaction():
        endpoint = get(endpoint_id)
        if not endpoint.enabled:
            raise Conflict("the endpoint is turned off, so nothing is sent to it; turn it on, then send the test")
        delivery_id = events.emit_test(endpoint)
        audit.record(audit.WEBHOOK, endpoint.id, "test event sent", delivery=delivery_id)
    return delivery_id


def delete(endpoint_id: int) -> None:
    with write_transaction():
        endpoint = get(endpoint_id)
        WebhookEndpoint.delete().where(WebhookEndpoint.id == endpoint.id).execute()
        audit.record(audit.WEBHOOK, endpoint.id, "deleted", url=endpoint.url)


def signing_secrets(endpoint: WebhookEndpoint, now: dt.datetime) -> list[str]:
    """The secrets a delivery is signed with: the current one, and the previous
    one while the rotation's overlap lasts."""
    keys = [endpoint.secret]
    if endpoint.previous_secret_until and endpoint.previous_secret_until > now:
        keys.append(endpoint.previous_secret)
    return keys


def log(endpoint_id: int, limit: int = 50, delivery_id: int | None = None) -> list[dict]:
    """The endpoint's latest deliveries (or just ``delivery_id``), newest first, each with its tries."""
    get(endpoint_id)
    which = WebhookDelivery.endpoint == endpoint_id
    if delivery_id is not None:
        which &= WebhookDelivery.id == delivery_id
    deliveries = list(WebhookDelivery.select(WebhookDelivery, OutboxEvent).join(OutboxEvent)
                      .where(which).order_by(WebhookDelivery.id.desc()).limit(limit))
    tries: dict = {}
    for attempt in (WebhookAttempt.select().where(WebhookAttempt.delivery.in_([d.id for d in deliveries] or [0]))
                    .order_by(WebhookAttempt.id)):
        tries.setdefault(attempt.delivery_id, []).append(attempt)
    return [{"delivery": d, "event": d.event, "tries": tries.get(d.id, [])} for d in deliveries]


def send_again(endpoint_id: int, delivery_id: int) -> WebhookDelivery:
    """Send a delivery again now, with the same ``webhook-id`` (a delivered one too)."""
    now = utcnow()
    with write_transaction():
        moved = (WebhookDelivery.update(status=D.PENDING, next_attempt_at=now, touched_at=now)
                 .where((WebhookDelivery.id == delivery_id) & (WebhookDelivery.endpoint == endpoint_id)
                        & (WebhookDelivery.status != D.SENDING)).execute())
        if not moved:
            delivery = WebhookDelivery.get_or_none((WebhookDelivery.id == delivery_id)
                                                   & (WebhookDelivery.endpoint == endpoint_id))
            if delivery is None:
                raise NotFound(f"delivery {delivery_id} of webhook endpoint {endpoint_id} does not exist")
            raise Conflict(f"delivery {delivery_id} is being sent right now")
        audit.record(audit.WEBHOOK, endpoint_id, "sent again", delivery=delivery_id)
        after_commit(lambda: events.send(delivery_id))
    return WebhookDelivery.get_by_id(delivery_id)
