"""The OAuth clients of the networks that have one configured, on Authlib's
Flask integration: it makes the authorization redirect, binds ``state`` to the
signed-in session (single-use: it is removed once used) and exchanges the code.
One registry per app, so that each app has its own settings' clients.
"""
from __future__ import annotations

from authlib.integrations.flask_client import OAuth
from flask import current_app

from ..config import Settings

#: Seconds a call to a token endpoint may take.
TOKEN_TIMEOUT_S = 15
EXTENSION = "socialpub.oauth"


def init_app(app, settings: Settings):
    """Register the networks whose app credentials are set."""
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


def client(network: str):
    """This app's client of ``network``, or None when it is not configured."""
    return current_app.extensions[EXTENSION].create_client(network)
