"""Sign-in, sign-out, and the account page: change the password, create and
revoke API tokens (a new token is shown once, on the page that made it)."""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import current_app, flash, g, redirect, render_template, request, url_for

from ...errors import AppError
from ...mail import notices
from ...people import accounts, first_user
from ...people.roles import VIEWER, requires
from ...people.throttle import SignInThrottle
from ...worker.broker import redis_client
from .blueprint import bp
from .gate import end_sessions, public, session_user, sign_in_session


def throttle() -> SignInThrottle:
    return SignInThrottle(redis_client(current_app))


def safe_next(target: str | None) -> str:
    """Only a path on this site: ``next`` must not send people elsewhere after sign-in."""
    fallback = url_for("web.posts")
    # A control character (CR, LF) cannot go into a Location header at all.
    if not target or not target.isprintable() or not target.startswith("/") or target.startswith("//") \
            or "\\" in target:
        return fallback
    try:
        parts = urlsplit(target)
    except ValueError:  # a broken bracketed host
        return fallback
    return fallback if parts.scheme or parts.netloc else target


@bp.route("/sign-in", methods=["GET", "POST"])
@public
def sign_in():
    """The sign-in form; attempts are counted per account and per address (see throttle.py)."""
    next_url = safe_next(request.values.get("next"))
    if request.method == "GET":
        if session_user() is not None:
            return redirect(next_url)
        return render_template("auth/sign_in.html", email="", next_url=next_url, error=None)
    email = (request.form.get("email") or "").strip()[:254]
    password = request.form.get("password") or ""
    address = request.remote_addr or "unknown"
    wait = throttle().attempt(email, address)
    if wait:
        minutes = max(1, round(wait / 60))
        error = f"Too many failed sign-ins. Try again in {minutes} minute{'s' if minutes > 1 else ''}."
        return render_template("auth/sign_in.html", email=email, next_url=next_url, error=error), 429
    user = accounts.authenticate(email, password[:accounts.MAX_PASSWORD])
    if user is None:
        current_app.logger.info("Failed sign-in for %r from %s.", email[:80], address)
        return render_template("auth/sign_in.html", email=email, next_url=next_url,
                               error="That email and password do not match."), 401
    throttle().succeeded(email, address)
    sign_in_session(user)
    return redirect(next_url)


@bp.post("/sign-out")
@requires(VIEWER)
def sign_out():
    """Sign out here and on every other device (see :func:`end_sessions`)."""
    end_sessions(g.user)
    flash("You are signed out.", "ok")
    return redirect(url_for("auth.sign_in"))


def render_account(new_token=None, errors=None, status=200):
    return render_template("auth/account.html", tokens=accounts.tokens_of(g.user), new_token=new_token,
                           errors=errors or {}, values=request.form, notifications=notices.preferences(g.user),
                           mail_on=notices.enabled(), choices=notices.CHOICES), status


@bp.get("/account")
def account():
    """The signed-in user's password and API tokens."""
    return render_account()


@bp.post("/account/tokens")
@requires(VIEWER)
def create_token():
    """Create a token and show it, this once."""
    try:
        token, plaintext = accounts.issue_token(g.user, request.form.get("name", ""))
    except AppError as exc:
        return render_account(errors={exc.field or "form": [exc.message]}, status=exc.status)
    return render_account(new_token={"name": token.name, "value": plaintext})


@bp.post("/account/tokens/<int:token_id>/revoke")
@requires(VIEWER)
def revoke_token(token_id):
    if accounts.revoke_token(token_id, g.user):
        flash("Token revoked: it no longer works.", "ok")
    return redirect(url_for("auth.account"))


@bp.post("/account/notifications")
@requires(VIEWER)
def change_notifications():
    """What this user is told by e-mail."""
    try:
        notices.set_preferences(g.user, {kind: request.form.get(kind, "") for kind in (notices.POSTS, notices.CHANNELS)})
    except AppError as exc:
        return render_account(errors={"notifications": [exc.message]}, status=exc.status)
    flash("Saved: what you are told by e-mail.", "ok")
    return redirect(url_for("auth.account"))


@bp.post("/account/password")
@requires(VIEWER)
def change_password():
    """A new password; every other session of this user ends."""
    address = request.remote_addr or "unknown"
    if throttle().attempt(g.user.email, address):
        return render_account(errors={"current_password": ["Too many wrong passwords; try again later."]},
                              status=429)
    user = accounts.authenticate(g.user.email, request.form.get("current_password") or "")
    if user is None:
        return render_account(errors={"current_password": ["That is not your current password."]}, status=400)
    new = request.form.get("new_password") or ""
    if new != (request.form.get("confirm_password") or ""):
        return render_account(errors={"confirm_password": ["The two new passwords differ."]}, status=400)
    throttle().succeeded(user.email, address)
    try:
        accounts.set_password(user, new)
    except AppError as exc:
        return render_account(errors={"new_password": [exc.message.split(": ", 1)[-1]]}, status=400)
    first_user.changed(current_app.extensions["socialpub"].instance_dir, user)
    end_sessions(user)
    sign_in_session(accounts.find_user(user.email))
    flash("Password changed. Other sessions are signed out.", "ok")
    return redirect(url_for("auth.account"))
