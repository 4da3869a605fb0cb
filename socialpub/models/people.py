"""The people and what they did: User, ApiToken, Invitation, the in-app Notice, the audit trail's Event."""
from __future__ import annotations

from peewee import BooleanField, CharField, DateTimeField, ForeignKeyField, IntegerField, TextField

from .base import BaseModel, IdField, JSONField, utcnow


class User(BaseModel):
    """A person who may sign in. Everyone signed in shares the same channels and
    posts; their role (people/roles.py) says what they may do with them."""

    id = IdField()
    #: Lower-cased; the sign-in name.
    email = CharField(max_length=254, unique=True)
    #: viewer, editor or admin; users from before roles existed are admins (schema step 16).
    role = CharField(max_length=16, default="viewer")
    #: Werkzeug's scrypt hash; empty means no password sign-in (API tokens only).
    password_hash = CharField(max_length=255, default="")
    #: A disabled user can neither sign in nor use their tokens.
    disabled = BooleanField(default=False)
    #: Every session cookie carries the version it was issued under; signing
    #: out or changing the password moves it on, which ends all of them.
    session_version = IntegerField(default=0)
    created_at = DateTimeField(default=utcnow)
    last_sign_in_at = DateTimeField(null=True)
    #: What to be told by e-mail (mail/notices.py): {"posts": …, "channels": …},
    #: each "immediately", "digest" or "off"; None: the defaults of the role.
    notifications = JSONField(null=True)


class Notice(BaseModel):
    """One line of a user's in-app notice list (notices.py): written in the
    transaction of what it tells, read or not. ``post`` / ``channel`` name what
    it is about (kept as plain ids: a deleted post's notice says it is gone)."""

    id = IdField()
    user = ForeignKeyField(User, on_delete="CASCADE")
    #: "approval", "rejected", "failed", "partly_failed" or "reconnect".
    kind = CharField(max_length=16)
    post = IntegerField(null=True)
    channel = IntegerField(null=True)
    text = TextField()
    created_at = DateTimeField(default=utcnow)
    read_at = DateTimeField(null=True)

    class Meta:
        indexes = ((("user", "read_at"), False),)


class ApiToken(BaseModel):
    """A bearer token for the JSON API. Only its SHA-256 is kept: it is shown once."""

    id = IdField()
    user = ForeignKeyField(User, backref="tokens", on_delete="CASCADE")
    name = CharField(max_length=100)
    #: The token's first characters, so people can tell their tokens apart.
    prefix = CharField(max_length=16)
    digest = CharField(max_length=64, unique=True)
    created_at = DateTimeField(default=utcnow)
    last_used_at = DateTimeField(null=True)
    revoked_at = DateTimeField(null=True)


class Invitation(BaseModel):
    """A single-use link that lets a person set their password (people/team.py):
    an invitation to join (``user`` empty until accepted), or an admin's reset
    of someone's access (``user`` set). Only the link token's SHA-256 is kept."""

    id = IdField()
    email = CharField(max_length=254, index=True)
    role = CharField(max_length=16)
    digest = CharField(max_length=64, unique=True)
    user = ForeignKeyField(User, null=True, on_delete="CASCADE")
    invited_by = ForeignKeyField(User, null=True, on_delete="SET NULL", backref="invitations_sent")
    created_at = DateTimeField(default=utcnow)
    expires_at = DateTimeField()
    used_at = DateTimeField(null=True)
    #: Set when a newer link for the same person replaced this one, or it was withdrawn.
    withdrawn_at = DateTimeField(null=True)


class Event(BaseModel):
    """One line of the audit trail (audit.py): who did what to which post,
    channel or user, and when. ``actor`` is empty for socialpub itself (the
    workers, the scheduler)."""

    id = IdField()
    at = DateTimeField(default=utcnow, index=True)
    actor = ForeignKeyField(User, null=True, on_delete="SET NULL")
    subject = CharField(max_length=16)
    subject_id = IntegerField()
    action = CharField(max_length=32)
    #: What changed, in a few public fields (never a token).
    detail = JSONField(null=True)

    class Meta:
        indexes = ((("subject", "subject_id", "id"), False),)
