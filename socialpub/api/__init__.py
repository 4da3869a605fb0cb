"""The JSON API under /api: posts, channels, the OpenAPI document, one error shape."""
from . import calendar, channels, errors, events, media, notices, openapi, posts, team, webhooks, whatsapp  # noqa: F401  (their routes register on the blueprint)
from .blueprint import bp

__all__ = ["bp"]
