"""Connecting accounts with a click: "Connect LinkedIn" sends the person to
LinkedIn's consent dialog, its callback exchanges the code (connecting/), reads
who the token belongs to, and stores the channel — or, for pages, asks which to
connect. A refusal on the network's side, a used or tampered ``state``, a code
LinkedIn no longer takes or a permission withheld is a clear page, never a 500,
and connects nothing."""
from __future__ import annotations

import requests
from authlib.integrations.base_client.errors import MismatchingStateError, OAuthError
from flask import abort, current_app, flash, g, redirect, render_template, request, session, url_for

from ..connecting import linkedin, pending, store
from ..connecting.oauth import client
from ..networks.base import PublishError
from ..queue.broker import redis_client
from .blueprint import NETWORK_LABELS, bp

#: The choices a LinkedIn connection offers.
LINKEDIN_CHOICES = {"member": "your profile", "organization": "the pages you administer"}


def _settings():
    return current_app.extensions["socialpub"]


def callback_url(network: str) -> str:
    """The redirect URI: PUBLIC_BASE_URL (or where this request came) and the callback's path."""
    base = _settings().public_base_url or request.host_url.rstrip("/")
    return base + url_for("web.connect_callback", network=network)


def _outcome(title: str, message: str, status: int = 400):
    return render_template("web/connect_outcome.html", title=title, message=message), status


@bp.get("/channels/connect/linkedin")
def connect_linkedin():
    """Off to LinkedIn's dialog, asking only for what the choice (``as``) needs."""
    oauth_client = client("linkedin")
    if oauth_client is None:
        abort(404, "LinkedIn is not configured here: set LINKEDIN_CLIENT_ID and LINKEDIN_CLIENT_SECRET.")
    choice = request.args.get("as", "member")
    if choice not in LINKEDIN_CHOICES:
        abort(400, f"as: one of {', '.join(LINKEDIN_CHOICES)}")
    session["connect_choice"] = choice
    return oauth_client.authorize_redirect(callback_url("linkedin"), scope=" ".join(linkedin.SCOPES[choice]))


@bp.get("/channels/connect/<network>/callback")
def connect_callback(network):
    oauth_client = client(network) if network == "linkedin" else None
    if oauth_client is None:
        abort(404, f"{network} cannot be connected here.")
    label = NETWORK_LABELS[network]
    if request.args.get("error"):
        description = request.args.get("error_description") or request.args["error"]
        cancelled = request.args["error"].startswith("user_cancelled")
        return _outcome(f"{label} was not connected",
                        "You cancelled on LinkedIn; nothing was connected." if cancelled
                        else f"LinkedIn said: {description}. Nothing was connected.", 200 if cancelled else 400)
    try:
        token = oauth_client.authorize_access_token()
    except MismatchingStateError:
        return _outcome(f"{label} was not connected",
                        "This answer from LinkedIn does not belong to a connection started here, or was "
                        "already used. Nothing was connected: start again from the Channels page.")
    except OAuthError as exc:
        return _outcome(f"{label} was not connected",
                        f"LinkedIn refused the code: {exc.description or exc.error}. Nothing was connected: "
                        f"start again from the Channels page.")
    except requests.RequestException as exc:
        return _outcome(f"{label} was not connected", f"LinkedIn's token endpoint did not answer "
                        f"({exc.__class__.__name__}). Nothing was connected: try again in a moment.", 502)
    choice = session.pop("connect_choice", "member")
    missing = linkedin.missing_scopes(choice, token.get("scope"))
    if missing:
        needs = "; ".join(f"{s} ({linkedin.PURPOSE[s]})" for s in missing)
        return _outcome(f"{label} was not connected",
                        f"LinkedIn did not grant every permission socialpub needs: {needs}. Nothing was "
                        f"connected: connect again and allow them.")
    api_url = _settings().linkedin_api_url
    try:
        found = linkedin.accounts(api_url, token["access_token"], choice)
    except PublishError as exc:
        return _outcome(f"{label} was not connected", f"LinkedIn did not say whose account this is: "
                        f"{exc.message}. Nothing was connected.", 502)
    if choice == "member":
        channel, created = store.save(network, found[0], token, api_url)
        flash(f"{'Connected' if created else 'Reconnected'} {label} profile “{channel.name}”.", "success")
        return redirect(url_for("web.channels"))
    if not found:
        return _outcome(f"{label} was not connected",
                        "You administer no LinkedIn page: nothing to connect.", 200)
    key = pending.keep(redis_client(current_app), g.user.id, network, token, found)
    return render_template("web/connect_choose.html", key=key, network=network, label=label, accounts=found)


@bp.post("/channels/connect/<network>/choose")
def connect_choose(network):
    """Connect the pages the person ticked, with the token just granted."""
    data = pending.take(redis_client(current_app), request.form.get("key"), g.user.id)
    if data is None or data["network"] != network:
        return _outcome("Nothing was connected", "This choice has expired or was already made: start again "
                        "from the Channels page.")
    ticked = set(request.form.getlist("account"))
    chosen = [linkedin.Account(**a) for a in data["accounts"] if a["account_id"] in ticked]
    if not chosen:
        flash("No page was ticked: nothing was connected.", "error")
        return redirect(url_for("web.channels"))
    names = []
    for account in chosen:
        channel, created = store.save(network, account, data["token"], _settings().linkedin_api_url)
        names.append(f"“{channel.name}”" + ("" if created else " (reconnected)"))
    flash(f"Connected {NETWORK_LABELS[network]}: {', '.join(names)}.", "success")
    return redirect(url_for("web.channels"))
