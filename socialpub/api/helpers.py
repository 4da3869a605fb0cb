"""Reading requests and writing responses for the API."""
from __future__ import annotations

from flask import current_app, request

from ..errors import InvalidInput, UnsupportedMediaType


def json_body(required=True):
    """The request's JSON object; a clear 400 when it is missing or malformed."""
    raw = request.get_data(cache=True)
    if not raw.strip():
        if required:
            raise InvalidInput("body: a JSON object is required")
        return {}
    if not request.is_json:
        # A cross-site HTML form can post text/plain that parses as JSON; a JSON
        # content type needs a CORS preflight, which this API never grants.
        raise UnsupportedMediaType("body: send it as application/json (Content-Type header)")
    data = request.get_json(silent=True)
    if data is None:
        raise InvalidInput("body: malformed JSON")
    if not isinstance(data, dict):
        raise InvalidInput("body: must be a JSON object")
    return data


def int_arg(name, default, minimum, maximum):
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise InvalidInput(f"{name}: must be a whole number, not {raw[:20]!r}", field=name) from None
    if not minimum <= value <= maximum:
        raise InvalidInput(f"{name}: must be between {minimum} and {maximum}", field=name)
    return value


def settings():
    return current_app.extensions["socialpub"]
