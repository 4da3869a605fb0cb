"""The JSON API under /api: posts, channels, media, the team, webhooks, WhatsApp,
the OpenAPI document (its one error shape is web/envelope.py's)."""
from . import (  # noqa: F401  (their routes register on the blueprint)
    analytics,
    calendar,
    channels,
    events,
    media,
    notices,
    openapi,
    posts,
    renditions,
    review_links,
    snippets,
    team,
    webhooks,
    whatsapp,
)
from .blueprint import bp

__all__ = ["bp"]
