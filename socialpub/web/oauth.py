"""The OAuth clients of the networks that have one configured, on Authlib's
Flask integration: it makes the authorization redirect, binds ``state`` to the
signed-in session (single-use: it is removed once used) and exchanges the code.
One registry per app, so that each app has its own settings' clients.

Where a network's token endpoint does not answer in OAuth's words (Meta's),
an Authlib compliance hook reshapes the answer before Authlib reads it.
"""
from __future__ import annotations

from authlib.integrations.flask_client import OAuth
from flask import current_app

from ..config import Settings
from ..networks.http import json_body

#: Seconds a call to a token endpoint may take.
TOKEN_TIMEOUT_S = 15
EXTENSION = "socialpub.oauth"


def init_app(app, settings: Settings):
    """Register the networks whose app credentials are set."""
    from ..connecting import instagram

    registry = app.extensions[EXTENSION] = OAuth(app)
    if settings.linkedin_client_id:
        # LinkedIn's web flow authenticates the app with its secret in the form;
        # it documents PKCE for native apps only (enabled on request), so none here.
        registry.register("linkedin", client_id=settings.linkedin_client_id,
                          client_secret=settings.linkedin_client_secret,
                          authorize_url=f"{settings.linkedin_oauth_url}/authorization",
                          access_token_url=f"{settings.linkedin_oauth_url}/accessToken",
                          client_kwargs={"token_endpoint_auth_method": "client_secret_post",
                                         "timeout": TOKEN_TIMEOUT_S})
    if settings.facebook_app_id:
        # Manually Build a Login Flow: the dialog, then a GET of oauth/access_token
        # with the app's id and secret. Facebook offers PKCE only with its OIDC flow
        # (still "in testing"), so the code flow is protected by state alone.
        registry.register("facebook", client_id=settings.facebook_app_id,
                          client_secret=settings.facebook_app_secret,
                          authorize_url=f"{settings.facebook_dialog_url}/{settings.graph_api_version}/dialog/oauth",
                          access_token_url=f"{settings.facebook_graph_url}/{settings.graph_api_version}/oauth/access_token",
                          # A GET, so the app's credentials go in the query as Facebook documents
                          # (Authlib's client authentication would put them in a GET's body).
                          access_token_params={"method": "GET", "client_id": settings.facebook_app_id,
                                               "client_secret": settings.facebook_app_secret},
                          compliance_fix=reshaping(graph_token_error),
                          client_kwargs={"token_endpoint_auth_method": "none", "timeout": TOKEN_TIMEOUT_S})
    if settings.instagram_app_id:
        registry.register("instagram", client_id=settings.instagram_app_id,
                          client_secret=settings.instagram_app_secret,
                          authorize_url=f"{settings.instagram_dialog_url}/oauth/authorize",
                          access_token_url=f"{settings.instagram_token_url}/oauth/access_token",
                          compliance_fix=reshaping(instagram.reshape_token),
                          client_kwargs={"token_endpoint_auth_method": "client_secret_post",
                                         "timeout": TOKEN_TIMEOUT_S})


def client(network: str):
    """This app's client of ``network``, or None when it is not configured."""
    return current_app.extensions[EXTENSION].create_client(network)


def graph_token_error(body: dict) -> dict:
    """Graph's error envelope (``{"error": {"message", "type", "code", …}}``) as OAuth's error."""
    error = body.get("error")
    if isinstance(error, dict):
        return {"error": error.get("type") or "OAuthException",
                "error_description": error.get("message") or f"code {error.get('code')}"}
    return body


class _Reshaped:
    """A token endpoint's answer with its JSON object reshaped: what Authlib reads of it."""

    def __init__(self, response, body: dict):
        self.status_code, self._body, self._response = response.status_code, body, response

    def json(self):
        return self._body

    def raise_for_status(self):
        self._response.raise_for_status()


def reshaping(reshape):
    """An Authlib ``compliance_fix`` that passes the token answer's JSON object through ``reshape``."""
    def fix(session):
        def hook(response):
            body = json_body(response)
            return _Reshaped(response, reshape(body)) if isinstance(body, dict) else response
        session.register_compliance_hook("access_token_response", hook)
    return fix
