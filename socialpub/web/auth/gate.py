"""Who is asking: every request passes here before its view.

- ``Authorization: Bearer <API token>`` works everywhere; a header that is
  present but wrong is refused, never ignored.
- A signed-in session (the web app's cookie) works for pages, and for reading
  the API (the post page's script polls it); writes to the API need a token,
  so a cookie riding along a cross-site request can change nothing there.
- Views marked :func:`public` (sign-in, health, assets, the OpenAPI document)
  need neither. ``/metrics`` needs ``SOCIALPUB_METRICS_TOKEN`` when one is configured.

Then the user's role (roles.py) must allow the view.

Refusals: 401 JSON for the API and JSON clients, a redirect to sign-in for
pages; 403 JSON, or a page saying which role it needs, for a role too weak.
"""
from __future__ import annotations

import hmac

from flask import current_app, g, jsonify, redirect, render_template, request, session, url_for

from ... import acting
from ...errors import Forbidden
from ...models import User
from ...people import roles
from ...people.accounts import user_for_token
from ...people.roles import SAFE_METHODS  # a session may use them on the API

#: Endpoints of static files, which need no sign-in (the sign-in page uses them).
STATIC_ENDPOINTS = frozenset({"static", "web.static"})


def public(view):
    """Mark a view as reachable without signing in."""
    view.is_public = True
    return view


def require_identity():
    """``before_request``: let the request through, or answer 401 / redirect."""
    endpoint = request.endpoint
    view = current_app.view_functions.get(endpoint)
    if endpoint in STATIC_ENDPOINTS or getattr(view, "is_public", False):
        return None
    if endpoint == "metrics":
        return _metrics_gate()
    api = request.path.startswith("/api/")
    header = request.headers.get("Authorization")
    if header is not None:
        scheme, _, token = header.partition(" ")
        user = user_for_token(token.strip()) if scheme.lower() == "bearer" else None
        if user is None:
            return unauthorised("Authorization: the API token is malformed, unknown or revoked")
        return _admit(user, view, api)
    user = session_user()
    if user is not None and (not api or request.method in SAFE_METHODS):
        return _admit(user, view, api)
    if api or request.accept_mimetypes.best == "application/json":
        message = ("Authorization: send an API token as 'Authorization: Bearer <token>'"
                   + (" (a signed-in session may only read the API)" if user else ""))
        return unauthorised(message)
    return redirect(url_for("auth.sign_in", next=request.full_path.rstrip("?")))


def _admit(user: User, view, api: bool):
    """Let ``user`` through if their role allows the view, else a 403 (JSON, or a page)."""
    wanted = roles.needed(view, request.method)
    if roles.allows(user.role, wanted):
        g.user = user
        acting.user.set(user)
        return None
    refusal = Forbidden(roles.refusal_message(user.role, wanted))
    if api or request.accept_mimetypes.best == "application/json":
        return jsonify({"error": refusal.as_dict()}), 403
    g.user = user  # the error page still shows who is signed in
    return render_template("web/error.html", title="Not allowed", message=refusal.message[0].upper()
                           + refusal.message[1:] + ".", status=403), 403


def session_user() -> User | None:
    user_id = session.get("user_id")
    if not isinstance(user_id, int):
        return None
    return User.get_or_none(User.id == user_id, User.session_version == session.get("v"),
                            User.disabled == False)  # noqa: E712


def sign_in_session(user: User) -> None:
    """Start a fresh session for ``user`` (nothing from before sign-in carries over)."""
    session.clear()
    session["user_id"] = user.id
    session["v"] = user.session_version
    session.permanent = True


def end_sessions(user: User) -> None:
    """End every session of ``user``: the cookie is signed, not stored, so a copy
    of it would otherwise stay valid until it expires."""
    User.update(session_version=User.session_version + 1).where(User.id == user.id).execute()
    session.clear()


def unauthorised(message: str):
    response = jsonify({"error": {"code": "unauthorized", "message": message, "field": "Authorization"}})
    response.status_code = 401
    response.headers["WWW-Authenticate"] = 'Bearer realm="socialpub"'
    return response


def _metrics_gate():
    token = current_app.extensions["socialpub"].metrics_token
    if not token:
        return None
    given = request.headers.get("Authorization", "")
    if hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
        return None
    return unauthorised("Authorization: /metrics needs 'Authorization: Bearer <SOCIALPUB_METRICS_TOKEN>'")
