"""The web blueprint: pages for people — compose, posts, one post, channels.

Server-rendered Jinja with a little JavaScript; every form carries a CSRF
token (Flask-WTF's :data:`csrf`, which the JSON API under /api is exempt from).
"""
# Their routes register on the blueprint.
from . import (  # noqa: F401
    analytics,
    calendar,
    channels,
    compose,
    connect,
    editing,
    importing,
    media,
    meta_webhook,
    notices,
    posts,
    review,
    review_links,
    short_links,
    snippets,
    webhooks,
    whatsapp,
)
from .blueprint import bp, csrf

__all__ = ["bp", "csrf"]
