"""The team: invitations, roles, disabling and resetting access (admins only;
the routes check the role).

An invitation is a single-use link that expires: 256 random bits, of which
only the SHA-256 is stored. Accepting it is one conditional UPDATE (unused,
not withdrawn, not expired), so a link used twice at the same moment makes
one account. A newer invitation to the same address withdraws the older one.

Disabling a user ends their sessions and revokes their API tokens in the same
transaction; resetting their access does that too, clears their password, and
gives an admin a link for them to set a new one. The last active admin can be
neither disabled nor made something else, so a team always has an admin.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from werkzeug.security import generate_password_hash

from .. import audit
from ..db import supports_row_locks, write_transaction
from ..errors import Conflict, InvalidInput, NotFound
from ..models import ApiToken, Invitation, User, utcnow
from . import roles
from .accounts import check_password, check_role, normalise_email

#: How long an invitation or reset link works.
LINK_LIFETIME = dt.timedelta(days=7)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _new_link(email: str, role: str, by: int | None, user: User | None = None) -> tuple[Invitation, str]:
    """A new link for ``email`` (inside a transaction); earlier unused ones are withdrawn."""
    now = utcnow()
    Invitation.update(withdrawn_at=now).where(
        (Invitation.email == email) & Invitation.used_at.is_null() & Invitation.withdrawn_at.is_null()).execute()
    token = secrets.token_urlsafe(32)
    invitation = Invitation.create(email=email, role=role, digest=_digest(token), user=user, invited_by=by,
                                   created_at=now, expires_at=now + LINK_LIFETIME)
    return invitation, token


def invite(email, role, by: User) -> tuple[Invitation, str]:
    """Invite ``email`` as ``role``; return the invitation and its link token (shown once).

    Raises:
      InvalidInput: the address or role is not acceptable (naming the field).
      Conflict: someone with that address is on the team already.
    """
    email, role = normalise_email(email), check_role(role)
    with write_transaction():
        if User.select().where(User.email == email).exists():
            raise Conflict(f"email: {email} is on the team already", field="email")
        invitation, token = _new_link(email, role, by.id)
        audit.record(audit.INVITATION, invitation.id, "invited", email=email, role=role)
    return invitation, token


def withdraw(invitation_id: int) -> None:
    with write_transaction():
        withdrawn = (Invitation.update(withdrawn_at=utcnow())
                     .where((Invitation.id == invitation_id) & Invitation.used_at.is_null()
                            & Invitation.withdrawn_at.is_null()).execute())
        if not withdrawn:
            raise NotFound(f"no open invitation {invitation_id}")
        audit.record(audit.INVITATION, invitation_id, "withdrawn",
                     email=Invitation.get_by_id(invitation_id).email)


def open_link(token: str) -> Invitation:
    """The live invitation or reset behind ``token``.

    Raises:
      NotFound: no such link, or it was used, withdrawn or has expired (one message for all).
    """
    invitation = Invitation.get_or_none(
        (Invitation.digest == _digest(token or "")) & Invitation.used_at.is_null()
        & Invitation.withdrawn_at.is_null() & (Invitation.expires_at > utcnow()))
    if invitation is None:
        raise NotFound("this link was used already, was replaced by a newer one or has expired; "
                       "ask an admin for a new one")
    return invitation


def accept(token: str, password: str) -> User:
    """Use the link: a new user with the invited role, or the reset user's new
    password. Single use, atomically.

    Raises:
      NotFound: the link does not work (see open_link).
      InvalidInput: the password is not acceptable (nothing changes).
      Conflict: the address joined the team another way meanwhile.
    """
    check_password(password)
    invitation = open_link(token)
    now = utcnow()
    with write_transaction():
        taken = (Invitation.update(used_at=now)
                 .where((Invitation.id == invitation.id) & Invitation.used_at.is_null()
                        & Invitation.withdrawn_at.is_null() & (Invitation.expires_at > now)).execute())
        if not taken:
            raise NotFound("this link was used already; ask an admin for a new one")
        password_hash = generate_password_hash(password)
        if invitation.user_id is None:
            if User.select().where(User.email == invitation.email).exists():
                raise Conflict(f"{invitation.email} is on the team already: sign in instead")
            user = User.create(email=invitation.email, role=invitation.role, password_hash=password_hash)
            audit.record(audit.USER, user.id, "joined", actor=user.id, email=user.email, role=user.role)
        else:
            User.update(password_hash=password_hash).where(User.id == invitation.user_id).execute()
            user = User.get_by_id(invitation.user_id)
            audit.record(audit.USER, user.id, "set a new password", actor=user.id, email=user.email)
    return user


def get_user(user_id: int) -> User:
    user = User.get_or_none(User.id == user_id)
    if user is None:
        raise NotFound(f"user {user_id} does not exist")
    return user


def _refuse_if_last_admin(user: User, doing: str):
    """Inside the transaction: a team keeps at least one active admin."""
    if user.role != roles.ADMIN or user.disabled:
        return
    # Every active admin's row is locked, in one order: two admins demoting
    # each other at once are served one after the other, and the second finds
    # itself the last one.
    admins = (User.select(User.id).where((User.role == roles.ADMIN) & (User.disabled == False))  # noqa: E712
              .order_by(User.id))
    if supports_row_locks():
        admins = admins.for_update()
    if not [a for a in admins if a.id != user.id]:
        raise Conflict(f"{user.email} is the only admin: make someone else an admin before {doing}")


def set_role(user_id: int, role) -> User:
    role = check_role(role)
    with write_transaction():
        user = get_user(user_id)
        if user.role == role:
            return user
        if role != roles.ADMIN:
            _refuse_if_last_admin(user, "changing their role")
            if user.role == roles.ADMIN:  # links an admin made stop with their power to make them
                _withdraw_links_of(user, utcnow())
        User.update(role=role).where(User.id == user.id).execute()
        audit.record(audit.USER, user.id, "role changed", email=user.email, role=role, was=user.role)
    return get_user(user_id)


def _cut_off(user: User, now) -> None:
    """End every session and revoke every API token of ``user``, and withdraw
    the open links they made or that are for them."""
    User.update(session_version=User.session_version + 1).where(User.id == user.id).execute()
    ApiToken.update(revoked_at=now).where((ApiToken.user == user.id) & ApiToken.revoked_at.is_null()).execute()
    _withdraw_links_of(user, now)


def _withdraw_links_of(user: User, now) -> None:
    """The open invitations ``user`` sent, and the reset links for them, stop working."""
    (Invitation.update(withdrawn_at=now)
     .where(((Invitation.invited_by == user.id) | (Invitation.user == user.id))
            & Invitation.used_at.is_null() & Invitation.withdrawn_at.is_null()).execute())


def set_disabled(user_id: int, disabled: bool, by: User) -> User:
    """Disable (sessions end and tokens stop working at once) or enable again.

    Raises:
      Conflict: disabling oneself, or the last admin.
    """
    if not isinstance(disabled, bool):
        raise InvalidInput("disabled: must be true or false", field="disabled")
    with write_transaction():
        user = get_user(user_id)
        if user.disabled == disabled:
            return user
        if disabled:
            if user.id == by.id:
                raise Conflict("you cannot disable yourself: ask another admin")
            _refuse_if_last_admin(user, "disabling them")
            _cut_off(user, utcnow())
        User.update(disabled=disabled).where(User.id == user.id).execute()
        audit.record(audit.USER, user.id, "disabled" if disabled else "enabled", email=user.email)
    return get_user(user_id)


def reset_access(user_id: int, by: User) -> tuple[Invitation, str]:
    """Sign ``user`` out everywhere, revoke their tokens, clear their password,
    and return a link for them to set a new one (shown once)."""
    with write_transaction():
        user = get_user(user_id)
        if user.id == by.id:
            raise Conflict("you cannot reset your own access: change your password on the Account page")
        if user.disabled:
            raise Conflict(f"{user.email} is disabled: enable them first")
        now = utcnow()
        _cut_off(user, now)
        User.update(password_hash="").where(User.id == user.id).execute()
        invitation, token = _new_link(user.email, user.role, by.id, user=user)
        audit.record(audit.USER, user.id, "access reset", email=user.email)
    return invitation, token


def members() -> list[User]:
    return list(User.select().order_by(User.email))


def open_invitations() -> list[Invitation]:
    return list(Invitation.select().where(
        Invitation.used_at.is_null() & Invitation.withdrawn_at.is_null() & Invitation.user.is_null()
        & (Invitation.expires_at > utcnow())).order_by(Invitation.id.desc()))
