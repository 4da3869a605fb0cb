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

A token is looked up in the database on every request (one indexed query),
except for views marked :func:`checks_token` — the publish call —, which take
the check into their own first statement: there the gate lets a request in
from the token it remembers (:class:`Remembered`, for LAST_USED_EVERY after
a lookup, which also keeps ``last_used_at`` as exact as before), and the
view's first statement reads the token's role again beside what it reads
(audit.role_now). A token revoked, or whose user was disabled, deleted or
given another role, since it was remembered is thus never acted on: the view
stops before it writes (audit.ActorChanged), and the request is let in again
from the database — or refused. A request with an ``Idempotency-Key`` always
takes the lookup (a stored answer is given back without the view running).
"""
from __future__ import annotations

import datetime as dt
import functools
import hmac
import threading
import time
from dataclasses import dataclass

from flask import current_app, g, jsonify, redirect, render_template, request, session, url_for

from ... import acting, audit
from ...errors import AppError, Forbidden
from ...intake.idempotency import HEADER as IDEMPOTENCY_KEY
from ...models import User
from ...people import roles
from ...people.accounts import LAST_USED_EVERY, _digest, user_for_token
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
        if scheme.lower() != "bearer":
            return _unknown_token()
        token = token.strip()
        if getattr(view, "checks_token", False) and IDEMPOTENCY_KEY not in request.headers:
            remembered = _REMEMBERED.get(token)
            user = remembered.user if remembered is not None else None
            if user is not None and roles.allows(user.role, roles.needed(view, request.method)):
                g.unverified = audit.Unverified(remembered.digest, user.role)
                return _admit(user, view, api)
        return _look_up(token, view, api)
    user = session_user()
    if user is not None and (not api or request.method in SAFE_METHODS):
        return _admit(user, view, api)
    if api or request.accept_mimetypes.best == "application/json":
        message = ("Authorization: send an API token as 'Authorization: Bearer <token>'"
                   + (" (a signed-in session may only read the API)" if user else ""))
        return unauthorised(message)
    return redirect(url_for("auth.sign_in", next=request.full_path.rstrip("?")))


def _look_up(token: str, view, api: bool):
    """Let the request in from the database's word on ``token`` (and remember it for :func:`checks_token` views)."""
    g.pop("unverified", None)
    user = user_for_token(token)
    if user is None:
        _REMEMBERED.forget(token)
        return _unknown_token()
    _REMEMBERED.put(token, user)
    return _admit(user, view, api)


def _unknown_token():
    return unauthorised("Authorization: the API token is malformed, unknown or revoked")


def checks_token(view):
    """Mark a view that checks a remembered API token in its own first statement (see the module's doc):
    it passes :func:`unverified` to the domain, which raises audit.ActorChanged before it writes when the
    token or its user changed. Then, and before any refusal the view makes from a remembered token, the
    request is let in again from the database, and the view runs again (nothing was written) — or the
    gate's refusal is the answer."""

    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        try:
            return view(*args, **kwargs)
        except audit.ActorChanged:
            pass
        except AppError:
            if g.get("unverified") is None:
                raise
            refusal = _again()
            if refusal is not None:
                return refusal
            raise
        return _again() or view(*args, **kwargs)

    wrapper.checks_token = True
    return wrapper


def unverified() -> audit.Unverified | None:
    """The request's token as remembered, for its view's first statement to check (None: it was looked up)."""
    return g.get("unverified")


def _again():
    """The request let in again from the database (None), or the gate's refusal."""
    token = request.headers.get("Authorization", "").partition(" ")[2].strip()
    return _look_up(token, current_app.view_functions.get(request.endpoint), request.path.startswith("/api/"))


@dataclass(frozen=True)
class _Entry:
    user_fields: dict
    digest: str
    looked_up: float

    @property
    def user(self) -> User:
        """A User of its own for each request (the one looked up is never shared between threads)."""
        return User(**self.user_fields)


class Remembered:
    """API tokens this process looked up lately (by SHA-256, never the token itself), each with its
    user, for LAST_USED_EVERY: the lookup writes ``last_used_at`` at most that often, so taking the
    token from here meanwhile changes nothing there. At most ``size`` tokens; one past them is not kept."""

    def __init__(self, size: int = 1000, keep: dt.timedelta = LAST_USED_EVERY):
        self.size, self.keep_s = size, keep.total_seconds()
        self._entries: dict[str, _Entry] = {}
        self._lock = threading.Lock()

    def get(self, token: str) -> _Entry | None:
        digest = _digest(token)
        entry = self._entries.get(digest)
        if entry is None or time.monotonic() - entry.looked_up >= self.keep_s:
            return None
        return entry

    def put(self, token: str, user: User) -> None:
        digest = _digest(token)
        with self._lock:
            if digest not in self._entries and len(self._entries) >= self.size:
                now = time.monotonic()
                self._entries = {d: e for d, e in self._entries.items() if now - e.looked_up < self.keep_s}
                if len(self._entries) >= self.size:
                    return
            self._entries[digest] = _Entry(dict(user.__data__), digest, time.monotonic())

    def forget(self, token: str) -> None:
        with self._lock:
            self._entries.pop(_digest(token), None)


_REMEMBERED = Remembered()


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
