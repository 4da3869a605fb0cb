"""Accounts waiting for the person to tick the ones to connect (a person's
Facebook Pages, a member's LinkedIn pages), with the grant: kept in Redis for ten minutes, encrypted, under a key that
only their session knows, and used once."""
from __future__ import annotations

import json
import secrets

from ..encryption import decrypt, encrypt

TTL_S = 600
PREFIX = "socialpub:connect:"


def keep(redis_client, user_id: int, network: str, payload: dict) -> str:
    """Keep ``payload`` (JSON) for this user's choice; return the key the form carries."""
    key = secrets.token_urlsafe(24)
    data = dict(payload, user=user_id, network=network)
    redis_client.set(PREFIX + key, str(encrypt(json.dumps(data))), ex=TTL_S)
    return key


def peek(redis_client, key: str | None, user_id: int) -> dict | None:
    """What ``keep`` stored under ``key`` for this user, else None."""
    raw = redis_client.get(PREFIX + key) if key else None
    if raw is None:
        return None
    data = json.loads(decrypt(raw.decode()))
    return data if data["user"] == user_id else None


def take(redis_client, key: str | None, user_id: int) -> dict | None:
    """As ``peek``, and forgotten: a second submit finds nothing."""
    data = peek(redis_client, key, user_id)
    if data is not None and not redis_client.delete(PREFIX + key):
        return None  # another request took it first
    return data
