"""Meta's side of "Connect Facebook Pages" and "Connect Instagram", answering as
Meta's documentation describes it:

- Facebook Login (Manually Build a Login Flow): the ``/vN.0/dialog/oauth``
  dialog — with ``scope`` or a Facebook Login for Business ``config_id`` —
  where the person picks the Pages to share and may decline permissions; the
  code exchange and ``fb_exchange_token`` at ``/vN.0/oauth/access_token``;
  ``/debug_token``, ``/me``, ``/me/permissions``, ``/me/accounts``,
  ``/me/businesses`` and a business's ``owned_pages`` / ``client_pages``.
- Instagram Login (Business Login for Instagram): the ``/oauth/authorize``
  dialog, the code exchange at ``/oauth/access_token`` (Instagram's own error
  shape), ``/access_token`` (``ig_exchange_token``), ``/refresh_access_token``
  (``ig_refresh_token``, for a token at least a day old) and ``/vN.0/me``.

Codes are single-use and live 10 minutes; short-lived user tokens an hour or
two, long-lived ones 60 days, Page tokens got from a long-lived user token do
not expire. Graph refuses the tokens it issued once they expire (190, subcode
463), and the Facebook app's tokens without a valid ``appsecret_proof``
(graph.py). The people, Pages and apps are in meta_apps.py.
"""
from __future__ import annotations

import html
import re
import time
from urllib.parse import urlencode

from flask import Blueprint, Response, jsonify, redirect, request

from .common import bearer_token, state
from .errors import graph_error, graph_param_error
from .graph import _params
from .meta_apps import (
    APP_SECRETS,
    BUSINESS,
    FACEBOOK_APP,
    IG_ACCOUNTS,
    INSTAGRAM_APP,
    LOGIN_CONFIG,
    PAGES,
    PERSON,
)

bp = Blueprint("meta_oauth", __name__)

CODE_LIFETIME_S = 10 * 60
SHORT_LIFETIME_S = 6500          # "about an hour or two"
LONG_LIFETIME_S = 60 * 24 * 3600  # Graph answers expires_in 5183944 and the like
#: What each permission lets the app do, as the dialogs show it.
PERMISSION_WORDS = {
    "pages_show_list": "Show a list of the Pages you manage",
    "pages_read_engagement": "Read content posted on the Page",
    "pages_manage_posts": "Create and manage content on your Page",
    "business_management": "Manage your business",
    "instagram_basic": "Access profile and posts from the Instagram account connected to your Page",
    "instagram_content_publish": "Create content on the Instagram account connected to your Page",
    "instagram_business_basic": "Access your profile and media",
    "instagram_business_content_publish": "Publish content",
    "pages_manage_engagement": "Create, edit and delete comments posted on the Page",
    "instagram_manage_comments": "Manage comments on the Instagram account connected to your Page",
    "instagram_business_manage_comments": "Manage comments",
    "read_insights": "Read Insights of the Page",
    "instagram_manage_insights": "Access insights for the Instagram account connected to your Page",
    "instagram_business_manage_insights": "Access insights",
}


def _back(redirect_uri: str, **params) -> Response:
    return redirect(f"{redirect_uri}{'&' if '?' in redirect_uri else '?'}{urlencode(params)}")


def _error_page(message: str) -> Response:
    # Meta shows its own error page: nothing goes back to an unverified redirect URI.
    return Response(f"<!doctype html><title>Error</title><h1>Sorry, something went wrong.</h1><p>{message}</p>",
                    status=400, mimetype="text/html")


def _hidden(values: dict) -> str:
    return "".join(f'<input type="hidden" name="{k}" value="{html.escape(v or "")}">' for k, v in values.items())


def _checkboxes(name: str, items) -> str:
    return "".join(f'<li><label><input type="checkbox" name="{name}" value="{value}" checked> '
                   f'{html.escape(words)}</label></li>' for value, words in items)


def _page(title: str, body: str) -> Response:
    return Response(f"<!doctype html><html><head><title>{title}</title></head><body>{body}</body></html>",
                    mimetype="text/html")


# -- Facebook Login ------------------------------------------------------------------------


@bp.get("/<gv:version>/dialog/oauth")
def facebook_dialog(version):
    """The Login dialog: the Pages to share, the permissions asked, Allow and Cancel."""
    args = request.args
    if args.get("client_id") != FACEBOOK_APP[0]:
        return _error_page("Invalid App ID: The provided app ID does not look like a valid app ID.")
    if not args.get("redirect_uri"):
        return _error_page("URL blocked: This redirect failed because the redirect URI is not whitelisted "
                           "in the app's client OAuth settings.")
    if args.get("config_id"):
        if args["config_id"] != LOGIN_CONFIG[0]:
            return _error_page("The configuration you are using is not valid for this app.")
        scopes = list(LOGIN_CONFIG[1])
    else:
        scopes = [s for s in args.get("scope", "").replace(" ", ",").split(",") if s]
    unknown = [s for s in scopes if s not in PERMISSION_WORDS]
    if unknown:
        return _error_page(f"Invalid Scopes: {', '.join(unknown)}.")
    hidden = _hidden({**{k: args.get(k) for k in ("client_id", "redirect_uri", "state")}, "asked": ",".join(scopes)})
    pages = _checkboxes("page", ((pid, f"{p['name']}" + (f" — {BUSINESS['name']}" if p["business"] else ""))
                                 for pid, p in PAGES.items()))
    permissions = _checkboxes("scope", ((s, PERMISSION_WORDS[s]) for s in scopes))
    return _page("Facebook (sandbox): log in with Facebook", f"""
<h1>socialpub (sandbox app) is requesting access</h1>
<p>Continuing as <strong>{html.escape(PERSON["name"])}</strong> — the sandbox's Facebook user.</p>
<form method="post" action="/{version}/dialog/oauth/decision">{hidden}
<fieldset><legend>Choose the Pages you want socialpub to access</legend><ul>{pages}</ul></fieldset>
<fieldset><legend>socialpub would like to</legend><ul>{permissions}</ul></fieldset>
<p><small>Untick a permission to decline it, as Facebook's "Edit access" allows.</small></p>
<button type="submit" name="decision" value="allow" id="allow">Continue</button>
<button type="submit" name="decision" value="cancel" id="cancel">Cancel</button>
</form>""")


@bp.post("/<gv:version>/dialog/oauth/decision")
def facebook_decision(version):
    form = request.form
    if form.get("client_id") != FACEBOOK_APP[0] or not form.get("redirect_uri"):
        return _error_page("Invalid request.")
    if form.get("decision") != "allow":
        return _back(form["redirect_uri"], error="access_denied", error_code="200",
                     error_description="Permissions error", error_reason="user_denied", state=form.get("state", ""))
    granted = form.getlist("scope")
    code = state().grant_code(form["client_id"], form["redirect_uri"], granted,
                              pages=[p for p in form.getlist("page") if p in PAGES],
                              declined=[s for s in form.get("asked", "").split(",") if s and s not in granted])
    return _back(form["redirect_uri"], code=code, state=form.get("state", ""))


def _oauth_exception(message: str, code: int = 100, subcode=None) -> Response:
    return graph_error("facebook", 400, code, message, subcode=subcode)


@bp.get("/<gv:version>/oauth/access_token")
def facebook_token(version):
    """The code exchange (``client_id``, ``redirect_uri``, ``client_secret``, ``code``) or
    ``grant_type=fb_exchange_token``."""
    args = request.args
    if args.get("client_id") != FACEBOOK_APP[0]:
        return _oauth_exception("Error validating application. Invalid application ID.", 101)
    if args.get("client_secret") != FACEBOOK_APP[1]:
        return _oauth_exception("Error validating client secret.", 1)
    if args.get("grant_type") == "fb_exchange_token":
        old = state().token_info(args.get("fb_exchange_token", ""))
        if old is None or old.get("kind") != "user" or old["expires_at"] < time.time():
            return _oauth_exception("Error validating access token: The session is invalid or has expired.",
                                    190, 463)
        token = state().issue_token(FACEBOOK_APP[0], old["scopes"], LONG_LIFETIME_S, prefix="EAAL",
                                    kind="user", pages=old["pages"], declined=old["declined"])
        return jsonify(access_token=token["access_token"], token_type="bearer", expires_in=LONG_LIFETIME_S - 56)
    code = args.get("code", "")
    if state().code_used(code):
        return _oauth_exception("This authorization code has been used.", 100, 36009)
    grant = state().redeem_code(code, FACEBOOK_APP[0], args.get("redirect_uri", ""), CODE_LIFETIME_S)
    if grant is None:
        if state().code_used(code):  # it existed: expired, or another redirect_uri
            return _oauth_exception("Error validating verification code. Please make sure your redirect_uri is "
                                    "identical to the one you used in the OAuth dialog request", 100, 36008)
        return _oauth_exception("Invalid verification code format.", 100)
    token = state().issue_token(FACEBOOK_APP[0], grant["scopes"], SHORT_LIFETIME_S, prefix="EAAS", kind="user",
                                pages=grant["pages"], declined=grant["declined"])
    return jsonify(access_token=token["access_token"], token_type="bearer", expires_in=SHORT_LIFETIME_S)


def _user_token():
    """``(token info, None)`` for a live Facebook user token with a valid proof, or ``(None, error)``."""
    values, error = _params("facebook")
    if error:
        return None, error
    info = state().token_info(values.get("access_token") or bearer_token())
    if info is None or info.get("kind") != "user":
        return None, graph_error("facebook", 400, 190, "Invalid OAuth access token - Cannot parse access token",
                                 subcode=467)
    return dict(info, values=values), None


def top_fields(spec: str) -> dict:
    """``{"id": None, "picture": "url", …}``: the top-level fields of a Graph
    ``fields`` value and what each asks of its object (``picture{url}``)."""
    found, depth, current = {}, 0, ""
    for char in spec + ",":
        depth += char == "{"
        depth -= char == "}"
        if char == "," and depth == 0:
            name, _, sub = current.strip().partition("{")
            if name:
                found[name] = sub.rstrip("}") or None
            current = ""
        else:
            current += char
    return found


def _page_node(page_id: str, info: dict, fields: dict) -> dict:
    page = PAGES[page_id]
    node = {"id": page_id, "name": page["name"], "tasks": page["tasks"],
            "picture": {"data": {"url": f"{request.host_url.rstrip('/')}/_sandbox/image.jpg?width=50&height=50",
                                 "height": 50, "width": 50, "is_silhouette": False}}}
    if page["tasks"]:
        # A Page token exists only for Pages the person has a task on.
        node["access_token"] = _page_token(page_id, info)
    ig_id = page["ig"]
    if ig_id and {"instagram_basic", "pages_show_list"} <= set(info["scopes"]):
        account = IG_ACCOUNTS[ig_id]
        node["instagram_business_account"] = {
            "id": ig_id, "username": account["username"], "name": account["name"],
            "profile_picture_url": f"{request.host_url.rstrip('/')}/_sandbox/image.jpg?width=150&height=150"}
    return {k: v for k, v in node.items() if k in fields or k == "id"}


def _page_token(page_id: str, info: dict) -> str:
    lifetime = float("inf") if info["expires_at"] - info["issued_at"] > SHORT_LIFETIME_S else SHORT_LIFETIME_S
    return state().issue_token(FACEBOOK_APP[0], info["scopes"], lifetime, prefix="EAAP", kind="page",
                               page_id=page_id)["access_token"]


def _listing(page_ids, info) -> Response:
    fields = top_fields(info["values"].get("fields") or "id,name,access_token,tasks")
    return jsonify(data=[_page_node(pid, info, fields) for pid in page_ids],
                   paging={"cursors": {"before": "QVFIU", "after": "QVFIU"}})


@bp.get("/<gv:version>/me")
def me(version):
    """The person (a Facebook user token) or the Instagram account (an Instagram Login token)."""
    values, error = _params("facebook")
    if error:
        return error
    info = state().token_info(values.get("access_token") or bearer_token())
    if info is not None and info.get("kind") == "instagram":
        account = IG_ACCOUNTS[info["ig_user"]]
        node = {"id": f"app-scoped-{info['ig_user']}", "user_id": info["ig_user"], **account,
                "profile_picture_url": f"{request.host_url.rstrip('/')}/_sandbox/image.jpg?width=150&height=150"}
    else:
        node = dict(PERSON)
    fields = top_fields(values.get("fields") or "id,name")
    return jsonify({k: v for k, v in node.items() if k in fields or k == "id"})


@bp.get("/<gv:version>/me/permissions")
def permissions(version):
    info, error = _user_token()
    if error:
        return error
    return jsonify(data=[{"permission": p, "status": "granted"} for p in info["scopes"]]
                   + [{"permission": p, "status": "declined"} for p in info["declined"]])


@bp.get("/<gv:version>/me/accounts")
def accounts(version):
    """The person's own Pages among those they shared (none without pages_show_list)."""
    info, error = _user_token()
    if error:
        return error
    shared = [pid for pid in info["pages"] if PAGES[pid]["business"] is None]
    return _listing(shared if "pages_show_list" in info["scopes"] else [], info)


@bp.get("/<gv:version>/me/businesses")
def businesses(version):
    info, error = _user_token()
    if error:
        return error
    if "business_management" not in info["scopes"]:
        return graph_error("facebook", 403, 200, "(#200) Requires business_management permission to manage "
                                                 "the object")
    return jsonify(data=[BUSINESS], paging={"cursors": {"before": "QVFIU", "after": "QVFIU"}})


@bp.get("/<gv:version>/<business_id>/<any(owned_pages, client_pages):edge>")
def business_pages(version, business_id, edge):
    info, error = _user_token()
    if error:
        return error
    if business_id != BUSINESS["id"]:
        return graph_param_error("facebook", f"Unsupported get request. Object with ID '{business_id}' does "
                                 f"not exist", subcode=33)
    kind = "owned" if edge == "owned_pages" else "client"
    return _listing([pid for pid in info["pages"] if PAGES[pid]["business"] == kind], info)


@bp.get("/<gv:version>/debug_token")
def debug_token(version):
    """What a token is, asked with the app token ``{app-id}|{app-secret}``."""
    app_token = request.args.get("access_token") or bearer_token() or ""
    app_id, _, secret = app_token.partition("|")
    if APP_SECRETS.get(app_id) != secret:
        return graph_error("facebook", 400, 190, "Invalid OAuth access token - Cannot parse access token",
                           subcode=467)
    info = state().token_info(request.args.get("input_token", ""))
    if info is None or info["client_id"] != app_id:
        return jsonify(data={"error": {"code": 190, "message": "Invalid OAuth access token."}, "is_valid": False,
                             "scopes": []})
    expires = 0 if info["expires_at"] == float("inf") else int(info["expires_at"])
    return jsonify(data={"app_id": app_id, "type": "PAGE" if info.get("kind") == "page" else "USER",
                         "application": "socialpub (sandbox)", "data_access_expires_at": int(time.time()) + 90 * 86400,
                         "expires_at": expires, "is_valid": info["expires_at"] > time.time(),
                         "issued_at": int(info["issued_at"]), "scopes": info["scopes"], "user_id": PERSON["id"]})


# -- Instagram Login -----------------------------------------------------------------------


@bp.get("/oauth/authorize")
def instagram_dialog():
    """Business Login for Instagram's authorization window: which account, which permissions."""
    args = request.args
    if args.get("client_id") != INSTAGRAM_APP[0] or args.get("response_type") != "code" \
            or not args.get("redirect_uri"):
        return _error_page("Invalid request: the client id, response type or redirect URI is not valid.")
    scopes = [s for s in re.split(r"[ ,]+", args.get("scope", "")) if s]
    unknown = [s for s in scopes if s not in PERMISSION_WORDS]
    if unknown:
        return _error_page(f"Invalid scope: {', '.join(unknown)}")
    hidden = _hidden({k: args.get(k) for k in ("client_id", "redirect_uri", "state")})
    choices = "".join(f'<li><label><input type="radio" name="account" value="{ig_id}"{" checked" if i == 0 else ""}>'
                      f' @{html.escape(a["username"])} ({a["account_type"].replace("MEDIA_CREATOR", "CREATOR").lower()}'
                      f' account)</label></li>' for i, (ig_id, a) in enumerate(
                          (k, v) for k, v in IG_ACCOUNTS.items() if k != "17841400000000077"))
    permissions = _checkboxes("scope", ((s, PERMISSION_WORDS[s]) for s in scopes))
    return _page("Instagram (sandbox): allow access", f"""
<h1>Allow socialpub (sandbox app) to access your account?</h1>
<form method="post" action="/oauth/authorize/decision">{hidden}
<fieldset><legend>Log in as</legend><ul>{choices}</ul></fieldset>
<fieldset><legend>socialpub will be able to</legend><ul>{permissions}</ul></fieldset>
<button type="submit" name="decision" value="allow" id="allow">Allow</button>
<button type="submit" name="decision" value="cancel" id="cancel">Cancel</button>
</form>""")


@bp.post("/oauth/authorize/decision")
def instagram_decision():
    form = request.form
    if form.get("client_id") != INSTAGRAM_APP[0] or not form.get("redirect_uri"):
        return _error_page("Invalid request.")
    if form.get("decision") != "allow":
        return _back(form["redirect_uri"], error="access_denied", error_reason="user_denied",
                     error_description="The user denied your request", state=form.get("state", ""))
    account = form.get("account") if form.get("account") in IG_ACCOUNTS else "17841405822304914"
    code = state().grant_code(form["client_id"], form["redirect_uri"], form.getlist("scope"), ig_user=account)
    # Instagram appends "#_" to the redirect; a browser keeps fragments out of requests.
    return _back(form["redirect_uri"], code=code, state=form.get("state", ""))


def _instagram_error(message: str, status: int = 400) -> Response:
    response = jsonify(error_type="OAuthException", code=status, error_message=message)
    response.status_code = status
    return response


@bp.post("/oauth/access_token")
def instagram_token():
    """The code exchange: form fields client_id, client_secret, grant_type, redirect_uri, code."""
    form = request.form
    if form.get("client_id") != INSTAGRAM_APP[0]:
        return _instagram_error("Invalid platform app")
    if form.get("client_secret") != INSTAGRAM_APP[1]:
        return _instagram_error("Error validating client secret.")
    if form.get("grant_type") != "authorization_code":
        return _instagram_error("Invalid grant_type: only authorization_code is supported")
    code = form.get("code", "")
    if state().code_used(code):
        return _instagram_error("This authorization code has been used")
    grant = state().redeem_code(code, INSTAGRAM_APP[0], form.get("redirect_uri", ""), CODE_LIFETIME_S)
    if grant is None:
        return _instagram_error("Error validating verification code. Please make sure your redirect_uri is "
                                "identical to the one you used in the OAuth dialog request"
                                if state().code_used(code) else "Invalid authorization code")
    token = state().issue_token(INSTAGRAM_APP[0], grant["scopes"], 3600, prefix="IGQS", kind="instagram",
                                ig_user=grant["ig_user"])
    return jsonify(data=[{"access_token": token["access_token"], "user_id": grant["ig_user"],
                          "permissions": ",".join(grant["scopes"])}])


def _long_lived_answer(info: dict) -> Response:
    token = state().issue_token(INSTAGRAM_APP[0], info["scopes"], LONG_LIFETIME_S, prefix="IGQL",
                                kind="instagram", ig_user=info["ig_user"])
    return jsonify(access_token=token["access_token"], token_type="bearer", expires_in=LONG_LIFETIME_S)


def _instagram_token_info(long_lived: bool):
    info = state().token_info(request.args.get("access_token", ""))
    if info is None or info.get("kind") != "instagram" or info["expires_at"] < time.time():
        return None, graph_error("instagram", 400, 190, "Error validating access token: Session has expired or "
                                 "the token is invalid.", subcode=463)
    is_long = info["expires_at"] - info["issued_at"] > 3600
    if is_long != long_lived:
        return None, graph_param_error("instagram", "The access token is not a long-lived token" if long_lived
                                       else "The access token is already a long-lived token")
    return info, None


@bp.get("/access_token")
def instagram_exchange():
    """``grant_type=ig_exchange_token``: a 60-day token for a short-lived one."""
    if request.args.get("grant_type") != "ig_exchange_token":
        return graph_param_error("instagram", "grant_type must be ig_exchange_token")
    if request.args.get("client_secret") != INSTAGRAM_APP[1]:
        return graph_error("instagram", 400, 101, "Error validating client secret.")
    info, error = _instagram_token_info(long_lived=False)
    return error or _long_lived_answer(info)


@bp.get("/refresh_access_token")
def instagram_refresh():
    """``grant_type=ig_refresh_token``: 60 more days for a long-lived token at least a day old."""
    if request.args.get("grant_type") != "ig_refresh_token":
        return graph_param_error("instagram", "grant_type must be ig_refresh_token")
    info, error = _instagram_token_info(long_lived=True)
    if error:
        return error
    if time.time() - info["issued_at"] < 24 * 3600:
        return graph_param_error("instagram", "The access token is less than 24 hours old and cannot be refreshed")
    return _long_lived_answer(info)
