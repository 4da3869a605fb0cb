"""Instagram Login's side of a connection (Instagram API with Instagram Login,
Business Login for Instagram): the code is exchanged at
``api.instagram.com/oauth/access_token`` for a short-lived token (one hour),
that token at ``graph.instagram.com/access_token`` (``ig_exchange_token``) for
a long-lived one (60 days), which ``refresh_access_token``
(``ig_refresh_token``) renews for 60 more once it is a day old. ``/me`` says
who the account is; only professional accounts (Business, Creator) may publish.
"""
from __future__ import annotations

from ..config import Settings
from ..networks.base import ErrorKind, PublishError, Timeouts
from ..networks.graph import graph_call, graph_error
from ..networks.http import json_body, send
from .store import Account, NotConnected

SCOPES = ("instagram_business_basic", "instagram_business_content_publish", "instagram_business_manage_comments",
          "instagram_business_manage_insights")
#: Without these nothing can be published; the permission to comment only posts first comments
#: (a channel without it is told so in the compose form), the one to read insights only its numbers.
NEEDED = ("instagram_business_basic", "instagram_business_content_publish")
PURPOSE = {
    "instagram_business_basic": "to read the account's name, picture and posts",
    "instagram_business_content_publish": "to publish posts on the account",
    "instagram_business_manage_comments": "to post a first comment under the account's posts",
    "instagram_business_manage_insights": "to read how the account's posts did (Analytics)",
}
#: ``account_type`` of the accounts the API publishes for.
PROFESSIONAL = ("BUSINESS", "MEDIA_CREATOR")
TIMEOUTS = Timeouts(connect=5, read=15)


def graph_base(settings: Settings) -> str:
    return f"{settings.instagram_graph_url}/{settings.graph_api_version}"


def reshape_token(body: dict) -> dict:
    """The code exchange's answer in OAuth's words (an Authlib compliance fix):
    Instagram wraps the token in ``{"data": [...]}``, lists the permissions,
    and its errors are ``{"error_type", "code", "error_message"}``."""
    if isinstance(body.get("data"), list) and body["data"] and isinstance(body["data"][0], dict):
        body = body["data"][0]
    if "error_message" in body:
        return {"error": body.get("error_type") or "OAuthException", "error_description": body["error_message"]}
    if isinstance(body.get("permissions"), list):
        body = dict(body, permissions=",".join(body["permissions"]))
    return {"token_type": "bearer", **body}


def _token_call(settings: Settings, path: str, **params) -> dict:
    response = send("instagram", TIMEOUTS, "GET", f"{settings.instagram_graph_url}/{path}", params=params)
    if response.status_code >= 400:
        raise graph_error("instagram", response)
    body = json_body(response)
    if not isinstance(body, dict) or not body.get("access_token"):
        raise PublishError("instagram", f"{path} answered {response.text[:100]!r}", kind=ErrorKind.TRANSIENT,
                           http_status=response.status_code)
    return {"access_token": body["access_token"], "expires_in": body.get("expires_in")}


def long_lived(settings: Settings, short_token: str) -> dict:
    """The 60-day token for a short-lived one.

    Raises:
      PublishError: Instagram refused or did not answer.
    """
    return _token_call(settings, "access_token", grant_type="ig_exchange_token",
                       client_secret=settings.instagram_app_secret, access_token=short_token)


def refreshed(settings: Settings, token: str) -> dict:
    """A long-lived token renewed for 60 days from now (it must be a day old and unexpired).

    Raises:
      PublishError: Instagram refused (kind AUTH: expired or revoked) or did not answer.
    """
    return _token_call(settings, "refresh_access_token", grant_type="ig_refresh_token", access_token=token)


def accounts(settings: Settings, token: dict) -> tuple:
    """``([account], long-lived token, [])`` for the account that signed in.

    Raises:
      NotConnected: a permission was declined, or the account is not a professional one.
      PublishError: Instagram refused or did not answer.
    """
    granted = (token.get("permissions") or token.get("scope") or "").replace(",", " ").split()
    missing = [s for s in NEEDED if s not in granted]
    if missing:
        needs = "; ".join(f"{s} ({PURPOSE[s]})" for s in missing)
        raise NotConnected(f"Instagram did not grant every permission socialpub needs: {needs}. Nothing was "
                           f"connected: connect again and allow them.")
    user = long_lived(settings, token["access_token"])
    user["scope"] = " ".join(granted)
    me = graph_call("instagram", TIMEOUTS, "GET", f"{graph_base(settings)}/me", token=user["access_token"],
                    params={"fields": "user_id,username,name,account_type,profile_picture_url"})
    if me.get("account_type") not in PROFESSIONAL:
        raise NotConnected(f"@{me.get('username')} is a personal Instagram account, and Instagram publishes "
                           f"only for professional accounts. In the Instagram app: Settings → Account type "
                           f"and tools → Switch to professional account (Business or Creator), then connect "
                           f"again. Nothing was connected.", 200)
    account_id = str(me.get("user_id") or me["id"])
    return [Account("instagram", account_id, me.get("name") or me.get("username") or account_id,
                    me.get("profile_picture_url"), detail=f"@{me.get('username')}")], user, []
