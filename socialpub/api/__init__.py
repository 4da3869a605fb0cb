"""The JSON API blueprint, under /api."""
from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api")

from . import errors, posts, channels, openapi  # noqa: E402,F401  (routes register on import)
