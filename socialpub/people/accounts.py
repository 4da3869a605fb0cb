"""Users and API tokens: creating them, checking a password, finding the user
behind a bearer token.

Passwords are hashed with scrypt (Werkzeug's default KDF). API tokens are 256
random bits, so a plain SHA-256 of them is enough to store: nothing can be
guessed from it, and looking a token up is one indexed query.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
from email.utils import getaddresses

from werkzeug.security import check_password_hash, generate_password_hash

from ..db import Prepared, Slot, row_to
from ..errors import Conflict, InvalidInput, NotFound
from ..input_checks import refuse_unstorable_text
from ..models import ApiToken, User, utcnow
from . import roles

#: What every token starts with, so secret scanners and people recognise one.
TOKEN_PREFIX = "sp_"
#: Shortest password accepted (NIST SP 800-63B asks for at least 8).
MIN_PASSWORD = 10
MAX_PASSWORD = 1024
EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,189}$")
#: A token's last use is written at most this often, so using it costs no write.
LAST_USED_EVERY = dt.timedelta(minutes=1)
#: Checked against when the email is unknown, so a wrong email takes as long as a wrong password.
_DUMMY_HASH = generate_password_hash(secrets.token_hex(16))


def normalise_email(email) -> str:
    """One plain address, lower-cased.

    An address goes into an e-mail's To header, where a comma, a semicolon, a
    group (``list:;``), a display name or a comment would add a recipient or
    hide one: the standard library's reading of an address header
    (``email.utils.getaddresses``, what smtplib reads the recipients with)
    must find exactly the address given, and nothing else."""
    if not isinstance(email, str) or not EMAIL.match(email.strip()):
        raise InvalidInput("email: must be an email address such as ana@example.com", field="email")
    refuse_unstorable_text(email, "email")
    address = email.strip()
    if getaddresses([address]) != [("", address)]:
        raise InvalidInput("email: must be one email address alone, such as ana@example.com (no name, "
                           "comment or second address)", field="email")
    return address.lower()


def check_role(role) -> str:
    if role not in roles.ROLES:
        raise InvalidInput(f"role: must be one of {', '.join(roles.ROLES)}", field="role")
    return role


def create_user(email: str, password: str | None = None, role: str = roles.ADMIN) -> tuple[User, str]:
    """Create a user; return it and its password (generated when none is given).
    The command line makes admins; the team page invites any role.

    Raises:
      InvalidInput: the email, password or role is not acceptable.
      Conflict: a user with that email exists.
    """
    email, role = normalise_email(email), check_role(role)
    if password is None:
        password = secrets.token_urlsafe(12)
    check_password(password)
    if User.select().where(User.email == email).exists():
        raise Conflict(f"email: a user {email} already exists", field="email")
    user = User.create(email=email, password_hash=generate_password_hash(password), role=role)
    return user, password


def check_password(password) -> None:
    if not isinstance(password, str) or not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise InvalidInput(f"password: must be {MIN_PASSWORD} to {MAX_PASSWORD} characters", field="password")


def set_password(user: User, password: str) -> None:
    check_password(password)
    User.update(password_hash=generate_password_hash(password)).where(User.id == user.id).execute()


def authenticate(email: str, password: str) -> User | None:
    """The user with this email and password, or None (in about the same time either way)."""
    user = User.get_or_none(User.email == (email or "").strip().lower())
    if user is None or not user.password_hash or user.disabled:
        check_password_hash(_DUMMY_HASH, password or "")
        return None
    if not check_password_hash(user.password_hash, password or ""):
        return None
    User.update(last_sign_in_at=utcnow()).where(User.id == user.id).execute()
    return user


def find_user(email: str) -> User:
    user = User.get_or_none(User.email == (email or "").strip().lower())
    if user is None:
        raise NotFound(f"no user {email}", field="email")
    return user


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(user: User, name: str) -> tuple[ApiToken, str]:
    """A new token for ``user``; the plaintext is returned here and never again."""
    name = (name or "").strip()
    if not name or len(name) > 100:
        raise InvalidInput("name: give the token a name of 1 to 100 characters", field="name")
    plaintext = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.create(user=user, name=name, prefix=plaintext[:10], digest=_digest(plaintext))
    return token, plaintext


def revoke_token(token_id: int, user: User | None = None) -> bool:
    """Revoke a token (only one of ``user``'s when given); False if there was none to revoke."""
    query = ApiToken.update(revoked_at=utcnow()).where(ApiToken.id == token_id,
                                                       ApiToken.revoked_at.is_null())
    if user is not None:
        query = query.where(ApiToken.user == user.id)
    return query.execute() == 1


#: The live token with this digest, and its active user: compiled once (this
#: runs on every API request, and building it cost more than running it).
_TOKEN_OWNER_FIELDS = (User.id, User.email, User.session_version, User.role)
_TOKEN_OWNER = Prepared(lambda: (
    ApiToken.select(ApiToken.id, ApiToken.last_used_at, *_TOKEN_OWNER_FIELDS).join(User)
    .where(ApiToken.digest == Slot("digest"), ApiToken.revoked_at.is_null(),
           User.disabled == False)))  # noqa: E712


def user_for_token(plaintext: str) -> User | None:
    """The active user a live token belongs to, or None."""
    if not plaintext.startswith(TOKEN_PREFIX) or len(plaintext) > 100:
        return None
    row = _TOKEN_OWNER.execute(digest=_digest(plaintext)).fetchone()
    if row is None:
        return None
    token_id, last_used_at = row[0], ApiToken.last_used_at.python_value(row[1])
    now = utcnow()
    if last_used_at is None or now - last_used_at > LAST_USED_EVERY:
        ApiToken.update(last_used_at=now).where(ApiToken.id == token_id).execute()
    return row_to(User, _TOKEN_OWNER_FIELDS, row[2:])


def tokens_of(user: User) -> list[ApiToken]:
    return list(ApiToken.select().where(ApiToken.user == user.id)
                .order_by(ApiToken.id.desc()))
