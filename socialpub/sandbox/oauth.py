"""LinkedIn's side of "Connect LinkedIn": the authorization dialog, the token
endpoint and the identity reads a connection needs, answering as LinkedIn's
documentation describes them (Authorization Code Flow, 3-legged OAuth; Sign
In with LinkedIn using OpenID Connect's ``/v2/userinfo``; the Community
Management API's ``organizationAcls`` and ``organizations``).

The sandbox knows one application, :data:`LINKEDIN_APP` (``socialpub up``
gives the app its credentials), and one member, who administers two
organization pages. The dialog lets the person allow or cancel, and allow
fewer permissions than asked (LinkedIn asks for all or nothing; the sandbox
can withhold some, to show what the app does then). Codes are single-use and
live 30 minutes; access tokens live 60 days and refresh tokens a year, as
LinkedIn's do, and an access token it issued is refused once it has expired.
"""
from __future__ import annotations

import html
import time
from urllib.parse import urlencode

from flask import Blueprint, Response, jsonify, redirect, request

from .common import bearer_token, is_bad_token, state
from .errors import linkedin_error
from .linkedin import version_error

bp = Blueprint("linkedin_oauth", __name__)

#: The application the sandbox knows: (client id, client secret).
LINKEDIN_APP = ("sandbox-linkedin-app", "sandbox-linkedin-secret")
#: The fake member who signs in, and the organization pages they administer.
MEMBER = {"sub": "782bbtaQ", "name": "Sandra Box", "given_name": "Sandra", "family_name": "Box",
          "locale": "en-US", "email": "sandra.box@example.com", "email_verified": True}
ORGANIZATIONS = {"5515715": "Sandbox Co", "2414183": "Sandbox Labs"}
#: What each scope lets the app do, as the dialog shows it.
SCOPE_WORDS = {
    "openid": "Use your name and photo to sign you in",
    "profile": "Use your name and photo",
    "email": "Use the primary email address of your LinkedIn account",
    "w_member_social": "Create, modify, and delete posts, comments, and reactions on your behalf",
    "r_organization_admin": "Retrieve your organizations' pages and their reporting data",
    "w_organization_social": "Create, modify, and delete posts, comments, and reactions on your "
                             "organizations' behalf",
    "r_organization_social": "Retrieve your organizations' posts, comments, reactions, and other engagement data",
    "rw_organization_admin": "Manage your organizations' pages and retrieve reporting data",
    "r_member_postAnalytics": "Retrieve your posts' analytics",
}
CODE_LIFETIME_S = 30 * 60
TOKEN_LIFETIME_S = 60 * 24 * 3600
REFRESH_LIFETIME_S = 365 * 24 * 3600


def _app_known(client_id) -> bool:
    return client_id == LINKEDIN_APP[0]


def _back(redirect_uri: str, **params) -> Response:
    separator = "&" if "?" in redirect_uri else "?"
    return redirect(f"{redirect_uri}{separator}{urlencode(params)}")


@bp.get("/oauth/v2/authorization")
def authorization():
    """The consent dialog (``response_type=code``, ``client_id``, ``redirect_uri``, ``state``, ``scope``)."""
    args = request.args
    if args.get("response_type") != "code" or not _app_known(args.get("client_id")) \
            or not args.get("redirect_uri"):
        # LinkedIn shows its own error page: nothing goes back to an unverified redirect URI.
        return Response("<h1>Invalid request</h1><p>The client id, response type or redirect URI is "
                        "not valid.</p>", status=400, mimetype="text/html")
    scopes = [s for s in args.get("scope", "").replace(",", " ").split() if s]
    unknown = [s for s in scopes if s not in SCOPE_WORDS]
    if unknown:
        return _back(args["redirect_uri"], error="unauthorized_scope_error",
                     error_description=f'Scope "{unknown[0]}" is not authorized for your application',
                     state=args.get("state", ""))
    hidden = "".join(f'<input type="hidden" name="{name}" value="{html.escape(args.get(name, ""))}">'
                     for name in ("client_id", "redirect_uri", "state"))
    items = "".join(f'<li><label><input type="checkbox" name="scope" value="{s}" checked> '
                    f'{html.escape(SCOPE_WORDS[s])}</label></li>' for s in scopes)
    page = f"""<!doctype html><html><head><title>LinkedIn (sandbox): allow access</title></head><body>
<h1>socialpub (sandbox app) would like to</h1>
<p>Signed in as <strong>{html.escape(MEMBER["name"])}</strong> — the sandbox's LinkedIn member.</p>
<form method="post" action="/oauth/v2/authorization/decision">{hidden}<ul>{items}</ul>
<p><small>LinkedIn asks for every permission at once; untick one to see what happens without it.</small></p>
<button type="submit" name="decision" value="allow" id="allow">Allow</button>
<button type="submit" name="decision" value="cancel" id="cancel">Cancel</button>
</form></body></html>"""
    return Response(page, mimetype="text/html")


@bp.post("/oauth/v2/authorization/decision")
def decision():
    form = request.form
    if not _app_known(form.get("client_id")) or not form.get("redirect_uri"):
        return Response("<h1>Invalid request</h1>", status=400, mimetype="text/html")
    if form.get("decision") != "allow":
        return _back(form["redirect_uri"], error="user_cancelled_authorize",
                     error_description="The user cancelled the authorization", state=form.get("state", ""))
    code = state().grant_code(form["client_id"], form["redirect_uri"], form.getlist("scope"))
    return _back(form["redirect_uri"], code=code, state=form.get("state", ""))


def _token_error(status, error, description):
    response = jsonify(error=error, error_description=description)
    response.status_code = status
    return response


@bp.post("/oauth/v2/accessToken")
def access_token():
    """``grant_type=authorization_code`` (with ``code``, ``redirect_uri``) or
    ``refresh_token``; the client id and secret in the form."""
    form = request.form
    if (form.get("client_id"), form.get("client_secret")) != LINKEDIN_APP:
        return _token_error(401, "invalid_client", "Client authentication failed")
    grant_type = form.get("grant_type")
    if grant_type == "authorization_code":
        grant = state().redeem_code(form.get("code", ""), form["client_id"], form.get("redirect_uri", ""),
                                    CODE_LIFETIME_S)
        if grant is None:
            return _token_error(400, "invalid_request", "Unable to retrieve access token: appid/redirect uri/"
                                "code verifier does not match authorization code. Or authorization code "
                                "expired. Or external member binding exists")
        refresh = REFRESH_LIFETIME_S if state().setting("linkedin", "refresh_tokens") else None
        token = state().issue_token(form["client_id"], grant["scopes"], TOKEN_LIFETIME_S, refresh)
    elif grant_type == "refresh_token":
        grant = state().refresh_grant(form.get("refresh_token", ""), form["client_id"])
        if grant is None:
            return _token_error(400, "invalid_request", "The provided authorization grant or refresh token is "
                                "invalid, expired or revoked.")
        token = state().issue_token(form["client_id"], grant["scopes"], TOKEN_LIFETIME_S,
                                    REFRESH_LIFETIME_S, refresh_token=form["refresh_token"])
    else:
        return _token_error(400, "unsupported_grant_type", f"grant_type {grant_type!r} is not supported")
    now = time.time()
    body = {"access_token": token["access_token"], "expires_in": int(token["expires_at"] - now),
            "scope": ",".join(grant["scopes"]), "token_type": "Bearer"}
    if "refresh_token" in token:
        body.update(refresh_token=token["refresh_token"],
                    refresh_token_expires_in=int(token["refresh_expires_at"] - now))
    return jsonify(body)


def _member_token(*needed):
    """``(scopes, None)`` for a live token with one of ``needed``, or ``(None, error)``. A
    token the sandbox did not issue (a pasted one, the demo's) is taken with every scope,
    as the posts endpoint takes it; "invalid-token" and "expired…" are refused."""
    token = bearer_token()
    if not token or is_bad_token(token):
        expired = bool(token) and token.startswith("expired")
        return None, linkedin_error(401, "The token used in the request has expired" if expired
                                    else "Invalid access token", service_code=65602 if expired else 65600,
                                    code="EXPIRED_ACCESS_TOKEN" if expired else "INVALID_ACCESS_TOKEN")
    info = state().token_info(token) or {"scopes": list(SCOPE_WORDS), "expires_at": float("inf")}
    if info["expires_at"] < time.time():
        return None, linkedin_error(401, "The token used in the request has expired", service_code=65602,
                                    code="EXPIRED_ACCESS_TOKEN")
    if needed and not set(needed) & set(info["scopes"]):
        return None, linkedin_error(403, f"Not enough permissions to access: {request.method} {request.path}",
                                    service_code=100, code="ACCESS_DENIED")
    return info["scopes"], None


@bp.get("/v2/userinfo")
def userinfo():
    """The member, for a token with ``openid`` (``profile`` adds the names and picture)."""
    scopes, error = _member_token("openid")
    if error:
        return error
    body = {"sub": MEMBER["sub"]}
    if "profile" in scopes:
        body.update({k: MEMBER[k] for k in ("name", "given_name", "family_name", "locale")},
                    picture=f"{request.host_url.rstrip('/')}/_sandbox/image.jpg?width=100&height=100")
    if "email" in scopes:
        body.update(email=MEMBER["email"], email_verified=MEMBER["email_verified"])
    return jsonify(body)


@bp.get("/rest/organizationAcls")
def organization_acls():
    """The pages the member administers (``q=roleAssignee&role=ADMINISTRATOR&state=APPROVED``)."""
    _, error = _member_token("r_organization_admin", "rw_organization_admin")
    error = error or version_error()
    if error:
        return error
    if request.args.get("q") != "roleAssignee":
        return linkedin_error(400, "Invalid query parameters passed to request", code="ILLEGAL_ARGUMENT")
    elements = [{"roleAssignee": f"urn:li:person:{MEMBER['sub']}", "state": "APPROVED", "role": "ADMINISTRATOR",
                 "organization": f"urn:li:organization:{org_id}"} for org_id in ORGANIZATIONS]
    return jsonify(paging={"count": 10, "start": 0, "links": []}, elements=elements)


@bp.get("/rest/organizations/<org_id>")
def organization(org_id):
    _, error = _member_token("r_organization_admin", "rw_organization_admin")
    error = error or version_error()
    if error:
        return error
    if org_id not in ORGANIZATIONS:
        return linkedin_error(404, f"Organization {org_id} not found", code="NOT_FOUND")
    return jsonify(id=int(org_id), localizedName=ORGANIZATIONS[org_id],
                   vanityName=ORGANIZATIONS[org_id].lower().replace(" ", "-"))
