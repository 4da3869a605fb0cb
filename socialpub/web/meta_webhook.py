"""``/webhooks/meta``: where Meta sends WhatsApp's notifications (message
statuses, inbound messages). ``GET`` answers the subscription's handshake;
``POST`` is kept only with a valid signature (one INSERT) and answered at
once — the ``apply_meta_notification`` actor applies it with the others
waiting (whatsapp/inbound.py), one message for a burst (worker/coalesce.py). Needs no
sign-in: Meta signs instead."""
from __future__ import annotations

import logging

import dramatiq
from flask import current_app, jsonify, request

from ..whatsapp import inbound
from ..worker import coalesce
from .auth import public
from .blueprint import bp, csrf

logger = logging.getLogger(__name__)


@bp.get("/webhooks/meta")
@public
def meta_handshake():
    challenge = inbound.handshake(request.args, current_app.extensions["socialpub"].whatsapp_verify_token)
    if challenge is None:
        return jsonify(error={"code": "forbidden", "message": "hub.verify_token: does not match "
                                                               "SOCIALPUB_WHATSAPP_VERIFY_TOKEN"}), 403
    return challenge, 200, {"Content-Type": "text/plain"}


@bp.post("/webhooks/meta")
@public
@csrf.exempt
def meta_notification():
    body = request.get_data(cache=False)
    secret = current_app.extensions["socialpub"].meta_webhook_secret()
    if not inbound.signature_valid(body, request.headers.get("X-Hub-Signature-256"), secret):
        logger.warning("A POST to /webhooks/meta without a valid X-Hub-Signature-256; refused.")
        return jsonify(error={"code": "bad_signature", "message": "X-Hub-Signature-256: not the HMAC-SHA256 "
                                                                  "of the body with the app secret"}), 401
    notification_id = inbound.receive(body)
    _send(notification_id)
    return "", 200


def _send(notification_id: int):
    """A run of the actor after the row is stored: one message for a burst of
    POSTs (worker/coalesce.py), each run applies every notification waiting."""
    try:
        coalesce.request(dramatiq.get_broker().get_actor("apply_meta_notification"), notification_id)
    except Exception:  # noqa: BLE001 — stored: the reconciler sends it within a couple of minutes
        logger.warning("Meta notification %d kept; its message waits for the broker.", notification_id,
                       exc_info=True)
