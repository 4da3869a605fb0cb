"""The Team page (admins): invite by e-mail address, change roles, disable,
reset access, withdraw an invitation; and the invitation link's page, where
the invited person sets their password (no sign-in needed: the link is the
proof). A new link is shown once, to copy; team.py holds the rules."""
from __future__ import annotations

from flask import current_app, flash, g, redirect, render_template, request, url_for

from ... import audit
from ...db import write_transaction
from ...errors import AppError
from ...mail import notices
from ...people import roles, team
from ...people.roles import ADMIN, requires
from .blueprint import bp
from .gate import public, sign_in_session


def link_to(token: str) -> str:
    """The full address of a link: on PUBLIC_BASE_URL when set (behind a proxy), else as requested."""
    base = current_app.extensions["socialpub"].public_base_url
    path = url_for("auth.accept_link", token=token)
    return f"{base}{path}" if base else url_for("auth.accept_link", token=token, _external=True)


def handed_over(invitation, token: str, kind: str) -> dict:
    """The new link: e-mailed to its person when SMTP_URL is set, else shown once for the admin to copy."""
    url = link_to(token)
    with write_transaction():
        emailed = notices.invitation(invitation.email, invitation.role, url, invitation.expires_at, kind)
    return {"email": invitation.email, "url": None if emailed else url, "emailed": emailed, "kind": kind,
            "expires_at": invitation.expires_at}


def render_team(new_link=None, errors=None, status=200):
    return render_template("auth/team.html", members=team.members(), invitations=team.open_invitations(),
                           roles=roles.ROLES, descriptions=roles.DESCRIPTIONS, new_link=new_link,
                           errors=errors or {}, values=request.form if errors else {},
                           log=_team_log()), status


def _team_log() -> list:
    """The latest changes to the team, newest first."""
    return audit.latest((audit.USER, audit.INVITATION), 20)


@bp.get("/team")
@requires(ADMIN)
def team_page():
    return render_team()


@bp.post("/team/invitations")
@requires(ADMIN)
def invite():
    try:
        invitation, token = team.invite(request.form.get("email", ""), request.form.get("role", ""), g.user)
    except AppError as exc:
        return render_team(errors={exc.field or "form": [exc.message]}, status=exc.status)
    return render_team(new_link=handed_over(invitation, token, "invitation"))


@bp.post("/team/invitations/<int:invitation_id>/withdraw")
@requires(ADMIN)
def withdraw_invitation(invitation_id):
    team.withdraw(invitation_id)
    flash("Invitation withdrawn: its link no longer works.", "ok")
    return redirect(url_for("auth.team_page"))


@bp.post("/team/<int:user_id>/role")
@requires(ADMIN)
def change_role(user_id):
    try:
        user = team.set_role(user_id, request.form.get("role", ""))
    except AppError as exc:
        return render_team(errors={"form": [exc.message]}, status=exc.status)
    flash(f"{user.email} is now {user.role}.", "ok")
    return redirect(url_for("auth.team_page"))


@bp.post("/team/<int:user_id>/disable")
@requires(ADMIN)
def disable(user_id):
    return _set_disabled(user_id, True)


@bp.post("/team/<int:user_id>/enable")
@requires(ADMIN)
def enable(user_id):
    return _set_disabled(user_id, False)


def _set_disabled(user_id, disabled):
    try:
        user = team.set_disabled(user_id, disabled, g.user)
    except AppError as exc:
        return render_team(errors={"form": [exc.message]}, status=exc.status)
    flash(f"{user.email} is disabled: signed out everywhere, API tokens revoked." if disabled
          else f"{user.email} can sign in again.", "ok")
    return redirect(url_for("auth.team_page"))


@bp.post("/team/<int:user_id>/reset")
@requires(ADMIN)
def reset(user_id):
    try:
        invitation, token = team.reset_access(user_id, g.user)
    except AppError as exc:
        return render_team(errors={"form": [exc.message]}, status=exc.status)
    return render_team(new_link=handed_over(invitation, token, "reset"))


@bp.route("/join/<token>", methods=["GET", "POST"])
@public
def accept_link(token):
    """Set a password with an invitation or reset link, then be signed in."""
    try:
        invitation = team.open_link(token)
    except AppError as exc:
        return render_template("web/error.html", title="This link does not work", message=exc.message,
                               status=410), 410
    errors = {}
    if request.method == "POST":
        password = request.form.get("password") or ""
        if password != (request.form.get("confirm_password") or ""):
            errors = {"confirm_password": ["The two passwords differ."]}
        else:
            try:
                user = team.accept(token, password)
            except AppError as exc:
                errors = {exc.field or "form": [exc.message.split(": ", 1)[-1] if exc.field else exc.message]}
            else:
                sign_in_session(user)
                flash(f"Welcome, {user.email}: you are signed in as {user.role}.", "ok")
                return redirect(url_for("web.posts"))
    return render_template("auth/accept.html", invitation=invitation, errors=errors,
                           description=roles.DESCRIPTIONS[invitation.role]), 400 if errors else 200
