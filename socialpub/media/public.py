"""Public URLs for a network that fetches the image itself (Instagram): with
S3, the store's presigned URL; with the local disk and ``PUBLIC_BASE_URL``,
this app's own — an unguessable token signed with the secret key, naming the
file, good for a day, served without sign-in (web/media.py). They are made by
the worker only for the post it is publishing. Without either, a post with
uploaded media to such a network is refused when it is composed."""
from __future__ import annotations

from itsdangerous import BadSignature, URLSafeTimedSerializer

from ..config import Settings
from .storage import S3Storage, store_of

#: How long a public URL works: Meta fetches the image while the container is made.
LIFETIME_S = 24 * 3600
SALT = "socialpub.media.public"


def available(settings: Settings, store) -> bool:
    """Whether this installation can give a network a URL of an upload."""
    return isinstance(store, S3Storage) or bool(settings.public_base_url)


def _serializer(settings: Settings) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(settings.ensure_secret_key(), salt=SALT)


def public_url(settings: Settings, media, key: str) -> str | None:
    store = store_of(settings)
    if isinstance(store, S3Storage):
        return store.presigned_url(key, LIFETIME_S)
    if not settings.public_base_url:
        return None
    token = _serializer(settings).dumps({"m": media.id, "k": key})
    return f"{settings.public_base_url}/m/{token}"


def opened(settings: Settings, token: str) -> dict | None:
    """``{"m": media id, "k": key}`` of a live token, else None (forged, or older than a day)."""
    try:
        return _serializer(settings).loads(token, max_age=LIFETIME_S)
    except BadSignature:  # SignatureExpired is one
        return None
