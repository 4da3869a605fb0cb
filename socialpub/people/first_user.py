"""The embedded default's first user, admin@localhost. Its generated password
is kept in the instance folder (readable by this user alone) until it is
changed on the Account page, so that ``socialpub up`` can show it again once
start-up has settled instead of in the first lines, under the workers' logs."""
from __future__ import annotations

from pathlib import Path

from ..config import instance_secret
from ..models import User
from .accounts import create_user

EMAIL = "admin@localhost"
FILE = "first-password"


def path(instance_dir) -> Path:
    return Path(instance_dir) / FILE


def ensure(instance_dir) -> str | None:
    """Create the first user with a generated password when there is no user
    yet, keep the password in the instance folder and return it; None when
    users exist already."""
    if User.select().exists():
        return None
    password = create_user(EMAIL)[1]
    path(instance_dir).unlink(missing_ok=True)  # one of an earlier database
    instance_secret(path(instance_dir), lambda: password)
    return password


def password(instance_dir) -> str | None:
    """The first user's password while it is still the generated one."""
    try:
        return path(instance_dir).read_text().strip() or None
    except OSError:
        return None


def changed(instance_dir, user: User) -> None:
    """The user changed their password: forget the generated one."""
    if user.email == EMAIL:
        path(instance_dir).unlink(missing_ok=True)
