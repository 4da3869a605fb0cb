"""The team (admins): members and their roles, invitations, disabling and
resetting access; and who the caller is (anyone)."""
from __future__ import annotations

from flask import g

from ...mail import notices
from ...people import team
from ...people.roles import ADMIN, VIEWER, requires
from .. import serialize, shapes
from ..auth.team_pages import handed_over
from ..serialize import answer
from .blueprint import bp
from .helpers import json_body


@bp.get("/me")
def me():
    """The caller: their e-mail address and role (an API token acts with its user's role), and what
    they are told by e-mail."""
    user = team.get_user(g.user.id)  # a token's user is read with a few columns only
    return answer(serialize.user(user, notifications=notices.preferences(user)))


@bp.patch("/me")
@requires(VIEWER)
def change_me():
    """``{"notifications": {"posts"?, "channels"?}}``: immediately, digest or off."""
    data = json_body(shapes.ChangeMe)
    user = team.get_user(g.user.id)
    chosen = notices.set_preferences(user, data.get("notifications"))
    return answer(serialize.user(user, notifications=chosen))


@bp.get("/users")
@requires(ADMIN)
def list_users():
    return answer(shapes.UserList, items=[serialize.user(u) for u in team.members()])


@bp.patch("/users/<int:user_id>")
@requires(ADMIN)
def change_user(user_id):
    """``{"role"?, "disabled"?}``: disabling ends the user's sessions and revokes their tokens at once."""
    data = json_body(shapes.ChangeUser)
    user = team.get_user(user_id)
    if "role" in data:
        user = team.set_role(user_id, data["role"])
    if "disabled" in data:
        user = team.set_disabled(user_id, data["disabled"], g.user)
    return answer(serialize.user(user))


@bp.post("/users/<int:user_id>/reset")
@requires(ADMIN)
def reset_user(user_id):
    """Sign the user out everywhere, revoke their tokens, clear their password;
    the answer's ``link`` (shown once) lets them set a new one."""
    invitation, token = team.reset_access(user_id, g.user)
    link = handed_over(invitation, token, "reset")
    return answer(serialize.invitation(invitation, link["url"], link["emailed"]), 201)


@bp.get("/invitations")
@requires(ADMIN)
def list_invitations():
    return answer(shapes.InvitationList, items=[serialize.invitation(i) for i in team.open_invitations()])


@bp.post("/invitations")
@requires(ADMIN)
def invite():
    """``{"email", "role"}``: a single-use link that expires (``link``, shown once)."""
    data = json_body(shapes.Invite)
    invitation, token = team.invite(data.get("email"), data.get("role", "editor"), g.user)
    link = handed_over(invitation, token, "invitation")
    return answer(serialize.invitation(invitation, link["url"], link["emailed"]), 201)


@bp.delete("/invitations/<int:invitation_id>")
@requires(ADMIN)
def withdraw_invitation(invitation_id):
    team.withdraw(invitation_id)
    return "", 204
