"""The JSON API under /api: posts, channels, the OpenAPI document, one error shape."""
from . import (  # noqa: F401  (their routes register on the blueprint)
    calendar,
    channels,
    errors,
    events,
    media,
    notices,
    openapi,
    posts,
    team,
    webhooks,
    whatsapp,
)
from .blueprint import bp

__all__ = ["bp"]
