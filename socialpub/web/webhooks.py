"""The Webhooks page (admins): endpoints, their secret shown once when made
or rotated, the previous secret's overlap cut short, turning them on and
off, a test event, and each one's delivery log with "send again" (webhooks/endpoints.py
holds the rules)."""
from __future__ import annotations

from flask import current_app, flash, redirect, render_template, request, url_for

from ..errors import AppError
from ..models import WebhookEndpoint, utcnow
from ..people.roles import ADMIN, requires
from ..webhooks import endpoints, events
from .blueprint import bp


def render_list(new_secret=None, errors=None, status=200):
    return render_template("web/webhooks.html", endpoints=list(WebhookEndpoint.select().order_by(WebhookEndpoint.id)),
                           types=events.TYPES, new_secret=new_secret, errors=errors or {},
                           values=request.form if errors else {}, now=utcnow()), status


@bp.get("/webhooks")
@requires(ADMIN)
def webhooks():
    return render_list()


@bp.post("/webhooks")
@requires(ADMIN)
def create_webhook():
    form = request.form
    data = {"url": (form.get("url") or "").strip(), "description": (form.get("description") or "").strip(),
            "events": form.getlist("events")}
    try:
        endpoint, secret = endpoints.create(data, current_app.extensions["socialpub"].outbound_allow)
    except AppError as exc:
        return render_list(errors={exc.field or "form": [exc.message]}, status=exc.status)
    return render_list(new_secret={"endpoint": endpoint, "value": secret})


@bp.post("/webhooks/<int:endpoint_id>/rotate")
@requires(ADMIN)
def rotate_webhook(endpoint_id):
    endpoint, secret = endpoints.rotate(endpoint_id)
    return render_list(new_secret={"endpoint": endpoint, "value": secret, "rotated": True})


@bp.post("/webhooks/<int:endpoint_id>/revoke_previous")
@requires(ADMIN)
def revoke_previous_webhook_secret(endpoint_id):
    try:
        endpoint = endpoints.revoke_previous(endpoint_id)
    except AppError as exc:
        flash(f"Nothing revoked: {exc.message}", "error")
    else:
        flash(f"The previous secret of {endpoint.url} no longer signs: only the new secret signs.", "ok")
    return redirect(url_for("web.webhooks"))


@bp.post("/webhooks/<int:endpoint_id>/enabled")
@requires(ADMIN)
def toggle_webhook(endpoint_id):
    on = request.form.get("enabled") == "1"
    endpoints.update(endpoint_id, {"enabled": on})
    flash("Endpoint turned on." if on else "Endpoint turned off: nothing is sent to it.", "ok")
    return redirect(url_for("web.webhooks"))


@bp.post("/webhooks/<int:endpoint_id>/test")
@requires(ADMIN)
def test_webhook(endpoint_id):
    try:
        endpoints.send_test(endpoint_id)
    except AppError as exc:
        flash(f"No test event sent: {exc.message}", "error")
        return redirect(url_for("web.webhooks"))
    flash("A test event (webhook.test) is on its way, signed like every event: its delivery is listed below.", "ok")
    return redirect(url_for("web.webhook_log", endpoint_id=endpoint_id))


@bp.post("/webhooks/<int:endpoint_id>/delete")
@requires(ADMIN)
def delete_webhook(endpoint_id):
    endpoints.delete(endpoint_id)
    flash("Endpoint deleted, with its delivery log.", "ok")
    return redirect(url_for("web.webhooks"))


@bp.get("/webhooks/<int:endpoint_id>")
@requires(ADMIN)
def webhook_log(endpoint_id):
    return render_template("web/webhook_log.html", endpoint=endpoints.get(endpoint_id),
                           log=endpoints.log(endpoint_id))


@bp.post("/webhooks/<int:endpoint_id>/deliveries/<int:delivery_id>/resend")
@requires(ADMIN)
def resend_webhook(endpoint_id, delivery_id):
    try:
        endpoints.send_again(endpoint_id, delivery_id)
    except AppError as exc:
        flash(f"Not sent: {exc.message}", "error")
    else:
        flash("Sent again, with the same webhook-id.", "ok")
    return redirect(url_for("web.webhook_log", endpoint_id=endpoint_id))
