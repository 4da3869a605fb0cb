"""Channels: the connected accounts, their state, and the forms to add or change one.
Tokens are write-only: a form never shows one back."""
from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, request, url_for

from .. import api_versions
from ..connecting import refresh, verify
from ..errors import AppError, SecretUnreadable
from ..intake import channels as channel_service
from ..intake import queue_slots
from ..models import Channel
from ..networks import NETWORKS
from ..networks.base import DEFAULT_BASE_URLS
from ..people.roles import ADMIN, requires
from ..whatsapp import contacts
from . import forms
from .blueprint import NETWORK_LABELS, bp
from .connect import connectable


def reconnect_url(channel: Channel, apps: dict) -> str | None:
    """Where "Reconnect" goes: the flow the channel came through (a pasted
    LinkedIn channel: LinkedIn's), when that app is configured here."""
    via = channel.connected_via or ("linkedin" if channel.network == "linkedin" else None)
    if not apps.get(via):
        return None
    if via == "linkedin":
        choice = "member" if channel.account_id.startswith("urn:li:person:") else "organization"
    elif via == "facebook":
        choice = "pages" if channel.network == "facebook" else "instagram"
    else:
        choice = "account"
    return url_for("web.connect", network=via, **{"as": choice})


@bp.get("/channels")
def channels():
    """Every channel with its network, state and last success."""
    items = list(Channel.select().order_by(Channel.network, Channel.id))
    apps = connectable()
    defaults, today = current_app.extensions["socialpub"].api_versions(), api_versions.today()
    versions = {c.id: api_versions.channel_notice(c.network, c.base_url, c.api_version, defaults, today)
                for c in items}
    return render_template("web/channels.html", channels=items, connectable=apps,
                           reconnect={c.id: reconnect_url(c, apps) for c in items},
                           expiring={c.id for c in items if refresh.expiring_soon(c)}, versions=versions)


def token_hint(channel) -> str | None:
    """Enough of a long token to tell two apart; never the token."""
    try:
        token = channel.token if channel else ""
    except SecretUnreadable as exc:
        return f"but it cannot be read: {exc.message}"
    return f"ends in …{token[-4:]}" if token and len(token) >= 20 else None


def render_form(channel, values, errors=None, status=200):
    return render_template("web/channel_form.html", channel=channel, values=values, errors=errors or {},
                           default_base_urls=DEFAULT_BASE_URLS, token_hint=token_hint(channel),
                           countries=contacts.countries(),
                           default_send_rate=current_app.extensions["socialpub"].whatsapp_send_rate,
                           settings=current_app.extensions["socialpub"]), status


def channel_values(channel: Channel) -> dict:
    """A channel as its form shows it: everything but the token."""
    return {"network": channel.network, "name": channel.name, "account_id": channel.account_id,
            "base_url": channel.base_url, "api_version": channel.api_version or "",
            "recipients": "\n".join(channel.recipients or []), "enabled": channel.enabled,
            "default_country": channel.default_country or "",
            "send_rate": channel.send_rate or "",
            "min_gap_s": "" if channel.min_gap_s is None else channel.min_gap_s,
            "max_per_hour": channel.max_per_hour or "",
            "requires_approval": channel.requires_approval, "queue": queue_slots.as_lines(channel.queue), "queue_zone": (channel.queue or {}).get("zone", "")}


def submitted_values(network) -> dict:
    """The form as submitted, to show again when refused (without the token)."""
    form = request.form
    return {"network": network, "name": form.get("name", ""), "account_id": form.get("account_id", ""),
            "base_url": form.get("base_url", ""), "api_version": form.get("api_version", ""),
            "recipients": forms.clean_text(form.get("recipients")), "enabled": bool(form.get("enabled")),
            "default_country": form.get("default_country", ""),
            "send_rate": form.get("send_rate", ""),
            "min_gap_s": form.get("min_gap_s", "").strip(), "max_per_hour": form.get("max_per_hour", "").strip(),
            "requires_approval": bool(form.get("requires_approval")), "queue": forms.clean_text(form.get("queue")), "queue_zone": (form.get("queue_zone") or "").strip()}


@bp.route("/channels/new", methods=["GET", "POST"])
@requires(ADMIN)
def new_channel():
    """Connect an account."""
    if request.method == "GET":
        network = request.args.get("network")
        values = {"network": network if network in NETWORKS else "", "name": "", "account_id": "",
                  "base_url": "", "api_version": "", "recipients": "", "enabled": True}
        return render_form(None, values)
    network = request.form.get("network", "")
    data = dict(forms.channel_request(request.form, network), network=network)
    try:
        channel = channel_service.create_channel(data, identify=verify.identify)
    except AppError as exc:
        return render_form(None, submitted_values(network), forms.channel_errors(exc), 422)
    flash(f"Channel “{channel.name}” added{f' ({channel.detail})' if channel.detail else ''}: "
          f"{NETWORK_LABELS[channel.network]} knows its token.", "success")
    return redirect(url_for("web.channels"))


@bp.route("/channels/<int:channel_id>/edit", methods=["GET", "POST"])
@requires(ADMIN)
def edit_channel(channel_id):
    """Change a channel; a new token re-authorises it."""
    channel = Channel.get_or_none(Channel.id == channel_id)
    if channel is None:
        abort(404, f"Channel {channel_id} doesn't exist.")
    if request.method == "GET":
        return render_form(channel, channel_values(channel))
    data = forms.channel_request(request.form, channel.network)
    try:
        queue = queue_slots.parse_lines(request.form.get("queue", ""), request.form.get("queue_zone") or "UTC")
        updated = channel_service.update_channel(channel, data, identify=verify.identify)
        updated = channel_service.set_queue(updated, queue)
    except AppError as exc:
        return render_form(channel, submitted_values(channel.network), forms.channel_errors(exc), 422)
    note = " It is active again." if data["token"] and channel.state != updated.state else ""
    flash(f"Channel “{updated.name}” saved.{note}", "success")
    return redirect(url_for("web.channels"))
