"""Connecting accounts with a click. "Connect …" sends the person to the
network's dialog (Facebook Login, Instagram Login, LinkedIn's consent page),
asking only for what their choice needs; the callback exchanges the code,
reads who the token may publish for (connecting/), and stores the channels —
or asks which to connect. A refusal on the network's side, a used or tampered
``state``, a code the network no longer takes or a permission withheld is a
clear page, never a 500, and connects nothing."""
from __future__ import annotations

from dataclasses import asdict, dataclass

import requests
from authlib.integrations.base_client.errors import MismatchingStateError, OAuthError
from flask import abort, current_app, flash, g, redirect, render_template, request, session, url_for

from ..connecting import facebook, instagram, linkedin, pending, store
from ..connecting.store import Account, NotConnected
from ..networks.base import PublishError
from ..people.roles import ADMIN, requires
from ..worker.broker import redis_client
from .blueprint import bp
from .oauth import client


@dataclass(frozen=True)
class Flow:
    """One app's way of connecting: its choices (``as``) and the permissions each asks for."""

    label: str
    choices: dict
    #: choice -> permissions, and how the dialog wants them joined.
    scopes: dict
    separator: str = " "
    #: Choices that name one account, stored without asking.
    single: tuple = ()


FLOWS = {
    "facebook": Flow("Facebook", {"pages": "your Facebook Pages", "instagram": "the Instagram accounts of your "
                                  "Pages"}, facebook.SCOPES, ","),
    "instagram": Flow("Instagram", {"account": "your Instagram professional account"},
                      {"account": instagram.SCOPES}, ",", single=("account",)),
    "linkedin": Flow("LinkedIn", {"member": "your profile", "organization": "the pages you administer"},
                     linkedin.SCOPES, single=("member",)),
}


def _settings():
    return current_app.extensions["socialpub"]


def connectable() -> dict:
    """``{app: True}`` for each app whose credentials are set (its buttons are shown)."""
    return {network: client(network) is not None for network in FLOWS}


def callback_url(network: str) -> str:
    """The redirect URI: PUBLIC_BASE_URL (or where this request came) and the callback's path."""
    base = _settings().public_base_url or request.host_url.rstrip("/")
    return base + url_for("web.connect_callback", network=network)


def _outcome(title: str, message: str, status: int = 400):
    return render_template("web/connect_outcome.html", title=title, message=message), status


def _client_or_404(network):
    oauth_client = client(network) if network in FLOWS else None
    if oauth_client is None:
        abort(404, f"{network} cannot be connected here: its app credentials are not set "
                   f"(see docs/networks.md).")
    return oauth_client


@bp.get("/channels/connect/<network>")
@requires(ADMIN)
def connect(network):
    """Off to the network's dialog, asking only for what the choice (``as``) needs."""
    oauth_client, flow = _client_or_404(network), FLOWS.get(network)
    choice = request.args.get("as", next(iter(flow.choices)))
    if choice not in flow.choices:
        abort(400, f"as: one of {', '.join(flow.choices)}")
    session[f"connect_choice:{network}"] = choice
    params = {"scope": flow.separator.join(flow.scopes[choice])}
    if network == "facebook" and _settings().facebook_config_id:
        # Facebook Login for Business: the configuration holds the permissions and assets.
        params = {"config_id": _settings().facebook_config_id, "override_default_response_type": "true"}
    return oauth_client.authorize_redirect(callback_url(network), **params)


def _cancelled(args) -> bool:
    return args["error"].startswith("user_cancelled") or args.get("error_reason") == "user_denied"


@bp.get("/channels/connect/<network>/callback")
@requires(ADMIN)
def connect_callback(network):
    oauth_client, flow = _client_or_404(network), FLOWS.get(network)
    not_connected = f"{flow.label} was not connected"
    if request.args.get("error"):
        description = request.args.get("error_description") or request.args["error"]
        if _cancelled(request.args):
            return _outcome(not_connected, f"You cancelled on {flow.label}; nothing was connected.", 200)
        return _outcome(not_connected, f"{flow.label} said: {description}. Nothing was connected.")
    try:
        token = oauth_client.authorize_access_token()
    except MismatchingStateError:
        return _outcome(not_connected, f"This answer from {flow.label} does not belong to a connection started "
                        f"here, or was already used. Nothing was connected: start again from the Channels page.")
    except OAuthError as exc:
        return _outcome(not_connected, f"{flow.label} refused the code: {exc.description or exc.error}. Nothing "
                        f"was connected: start again from the Channels page.")
    except requests.RequestException as exc:
        return _outcome(not_connected, f"{flow.label}'s token endpoint did not answer ({exc.__class__.__name__})."
                        f" Nothing was connected: try again in a moment.", 502)
    choice = session.pop(f"connect_choice:{network}", next(iter(flow.choices)))
    try:
        found, token, problems = _accounts(network, token, choice)
    except NotConnected as exc:
        return _outcome(not_connected, exc.message, exc.status)
    except PublishError as exc:
        return _outcome(not_connected, f"{flow.label} did not say which accounts this is for: {exc.message}. "
                        f"Nothing was connected.", 502)
    base_url = _base_url(network)
    if choice in flow.single and len(found) == 1:
        channel, created = store.save(found[0], token, base_url, network)
        flash(f"{'Connected' if created else 'Reconnected'} {flow.label} account “{channel.name}”.", "success")
        return redirect(url_for("web.channels"))
    if not found:
        return _outcome(not_connected, " ".join(problems) or f"There is nothing to connect: "
                        f"{flow.choices[choice]} came back empty.", 200)
    key = pending.keep(redis_client(current_app), g.user.id, network,
                       {"token": token, "base_url": base_url, "accounts": [asdict(a) for a in found]})
    return render_template("web/connect_choose.html", key=key, network=network, label=flow.label,
                           what=flow.choices[choice], accounts=found, problems=problems)


def _accounts(network: str, token: dict, choice: str) -> tuple:
    """``(accounts, the token to store, problems)`` the grant may publish for."""
    settings = _settings()
    if network == "facebook":
        return facebook.accounts(settings, token, choice)
    if network == "instagram":
        return instagram.accounts(settings, token)
    missing = linkedin.missing_scopes(choice, token.get("scope"))
    if missing:
        needs = "; ".join(f"{s} ({linkedin.PURPOSE[s]})" for s in missing)
        raise NotConnected(f"LinkedIn did not grant every permission socialpub needs: {needs}. Nothing was "
                           f"connected: connect again and allow them.")
    found = linkedin.accounts(settings.linkedin_api_url, token["access_token"], choice,
                            settings.linkedin_api_version)
    return found, token, [] if found else ["You administer no LinkedIn page."]


def _base_url(network: str) -> str:
    settings = _settings()
    return {"facebook": facebook.graph_base(settings), "instagram": instagram.graph_base(settings),
            "linkedin": settings.linkedin_api_url}[network]


@bp.post("/channels/connect/<network>/choose")
@requires(ADMIN)
def connect_choose(network):
    """Connect the accounts the person ticked, with the token just granted."""
    data = pending.take(redis_client(current_app), request.form.get("key"), g.user.id)
    if data is None or data["network"] != network or network not in FLOWS:
        return _outcome("Nothing was connected", "This choice has expired or was already made: start again "
                        "from the Channels page.")
    ticked = set(request.form.getlist("account"))
    chosen = [Account(**a) for a in data["accounts"] if a["account_id"] in ticked]
    if not chosen:
        flash("Nothing was ticked: nothing was connected.", "error")
        return redirect(url_for("web.channels"))
    names = []
    for account in chosen:
        channel, created = store.save(account, data["token"], data["base_url"], network)
        names.append(f"“{channel.name}”" + ("" if created else " (reconnected)"))
    flash(f"Connected {FLOWS[network].label}: {', '.join(names)}.", "success")
    return redirect(url_for("web.channels"))
