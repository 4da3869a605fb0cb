"""Outcome webhooks (admins): endpoints, their secrets (shown once), a test
event, their delivery log and "send again" (webhooks/)."""
from __future__ import annotations

from flask import url_for

from ...models import WebhookEndpoint
from ...people.roles import ADMIN, requires
from ...webhooks import endpoints
from .. import serialize, shapes
from ..serialize import answer
from .blueprint import bp
from .helpers import json_body, settings


@bp.get("/webhooks")
@requires(ADMIN)
def list_webhooks():
    return answer(shapes.WebhookList, items=[serialize.webhook(w) for w in WebhookEndpoint.select().order_by(WebhookEndpoint.id)])


@bp.post("/webhooks")
@requires(ADMIN)
def create_webhook():
    """``{"url", "events"?, "enabled"?, "description"?}``; the answer holds the ``whsec_`` secret, this once."""
    endpoint, secret = endpoints.create(json_body(shapes.CreateWebhook, values=False), settings().outbound_allow)
    response = answer(serialize.webhook(endpoint, secret))
    response.status_code = 201
    response.headers["Location"] = url_for("api.get_webhook", endpoint_id=endpoint.id)
    return response


@bp.get("/webhooks/<int:endpoint_id>")
@requires(ADMIN)
def get_webhook(endpoint_id):
    return answer(serialize.webhook(endpoints.get(endpoint_id)))


@bp.patch("/webhooks/<int:endpoint_id>")
@requires(ADMIN)
def change_webhook(endpoint_id):
    return answer(serialize.webhook(endpoints.update(endpoint_id, json_body(shapes.ChangeWebhook, values=False), settings().outbound_allow)))


@bp.delete("/webhooks/<int:endpoint_id>")
@requires(ADMIN)
def delete_webhook(endpoint_id):
    endpoints.delete(endpoint_id)
    return "", 204


@bp.post("/webhooks/<int:endpoint_id>/rotate")
@requires(ADMIN)
def rotate_webhook_secret(endpoint_id):
    """A new secret (in the answer, this once); the previous one signs too for a day."""
    json_body(shapes.Empty, required=False)
    endpoint, secret = endpoints.rotate(endpoint_id)
    return answer(serialize.webhook(endpoint, secret))


@bp.post("/webhooks/<int:endpoint_id>/revoke_previous")
@requires(ADMIN)
def revoke_previous_webhook_secret(endpoint_id):
    """Stop signing with the previous secret now (a rotation's overlap cut short); 409 when none signs."""
    json_body(shapes.Empty, required=False)
    return answer(serialize.webhook(endpoints.revoke_previous(endpoint_id)))


@bp.post("/webhooks/<int:endpoint_id>/test")
@requires(ADMIN)
def test_webhook(endpoint_id):
    """Send the endpoint a signed ``webhook.test`` event, alone, the way every event goes; 409 when it is off."""
    json_body(shapes.Empty, required=False)
    delivery_id = endpoints.send_test(endpoint_id)
    [entry] = endpoints.log(endpoint_id, delivery_id=delivery_id)
    response = answer(serialize.webhook_delivery(entry))
    response.status_code = 202
    response.headers["Location"] = url_for("api.webhook_deliveries", endpoint_id=endpoint_id)
    return response


@bp.get("/webhooks/<int:endpoint_id>/deliveries")
@requires(ADMIN)
def webhook_deliveries(endpoint_id):
    """The latest deliveries, newest first, each with its tries."""
    return answer(shapes.WebhookDeliveryList, items=[serialize.webhook_delivery(d) for d in endpoints.log(endpoint_id)])


@bp.post("/webhooks/<int:endpoint_id>/deliveries/<int:delivery_id>/resend")
@requires(ADMIN)
def resend_webhook(endpoint_id, delivery_id):
    """Send a delivery again now, with the same webhook-id."""
    json_body(shapes.Empty, required=False)
    endpoints.send_again(endpoint_id, delivery_id)
    [entry] = endpoints.log(endpoint_id, delivery_id=delivery_id)
    return answer(serialize.webhook_delivery(entry), 202)
