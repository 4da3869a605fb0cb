"""Reading requests and writing responses for the API."""
from __future__ import annotations

import functools
import re

from flask import current_app, g, jsonify, make_response, request

from ...errors import AppError, InvalidInput, UnsupportedMediaType
from ...intake import idempotency
from .. import shapes

#: A deeper body is refused before anything walks it (no request of the API nests deeper than 3).
MAX_DEPTH = 32


def json_body(shape: type[shapes.Shape] | None = None, required: bool = True, values: bool = True) -> dict:
    """The request's JSON object, checked against ``shape`` (declared once in web/shapes.py): a clear
    400 naming the field when it is missing, malformed, unknown or, unless ``values`` is false (a body
    whose values the domain checks, with its own messages and 422s), does not fit. The object is
    returned as sent: what a field's value means is the domain's to check."""
    raw = request.get_data(cache=True)
    if not raw.strip():
        if required:
            raise InvalidInput("body: a JSON object is required")
        return {}
    if not request.is_json:
        # A cross-site HTML form can post text/plain that parses as JSON; a JSON
        # content type needs a CORS preflight, which this API never grants.
        raise UnsupportedMediaType("body: send it as application/json (Content-Type header)")
    try:
        data = request.get_json(silent=True)
    except RecursionError:  # [[[[…: json.loads recurses once per level
        data = None
    if data is None:
        raise InvalidInput("body: malformed JSON")
    if not isinstance(data, dict):
        raise InvalidInput("body: must be a JSON object")
    if _depth(data) > MAX_DEPTH:
        raise InvalidInput(f"body: nested more than {MAX_DEPTH} levels deep")
    if shape is not None:
        (shapes.check if values else shapes.check_fields)(shape, data)
    return data


def _depth(data) -> int:
    deepest, todo = 0, [(data, 1)]
    while todo:
        value, depth = todo.pop()
        deepest = max(deepest, depth)
        if depth <= MAX_DEPTH:
            children = value.values() if isinstance(value, dict) else value if isinstance(value, list) else ()
            todo.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return deepest


def int_arg(name, default, minimum, maximum):
    """A whole-number query parameter, in ASCII digits, from ``minimum`` to ``maximum``."""
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    if not re.fullmatch(r"-?[0-9]+", raw):  # int() would also take " 7", "1_0" and "٧"
        raise InvalidInput(f"{name}: must be a whole number, not {raw[:20]!r}", field=name)
    if len(raw) > 20 or not minimum <= int(raw) <= maximum:
        raise InvalidInput(f"{name}: must be between {minimum} and {maximum}", field=name)
    return int(raw)


def settings():
    return current_app.extensions["socialpub"]


def idempotent(view=None, *, made=None):
    """Honour an ``Idempotency-Key`` header on ``view`` (see idempotency.py):
    the same request again gets the first answer, refusals included. ``made(post_id, **view_args)``:
    the answer to give, from the post it changed, for a request whose process died before
    its answer was kept (None: the post is gone, so the request is carried out again)."""
    if view is None:
        return functools.partial(idempotent, made=made)

    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        key = request.headers.get(idempotency.HEADER)
        if key is None:
            return view(*args, **kwargs)
        key = idempotency.check_key(key.strip())
        user_id = g.user.id
        try:
            stored = idempotency.begin(user_id, key, idempotency.fingerprint(
                request.method, request.path, request.get_data(cache=True)))
        except idempotency.StillRunning as exc:
            response = make_response(jsonify({"error": exc.as_dict()}), exc.status)
            response.headers["Retry-After"] = str(exc.retry_after)
            return response
        if isinstance(stored, idempotency.Answer):
            response = current_app.response_class(stored.body, status=stored.status,
                                                  mimetype="application/json")
            if stored.location:
                response.headers["Location"] = stored.location
            response.headers["Idempotent-Replayed"] = "true"
            return response
        try:
            answer = made(stored.post_id, **kwargs) if isinstance(stored, idempotency.Made) and made else None
            response = make_response(answer if answer is not None else view(*args, **kwargs))
        except AppError as exc:  # a refusal is an answer too: kept, and given again
            response = make_response(jsonify({"error": exc.as_dict()}), exc.status)
        except BaseException:
            idempotency.release(user_id, key)
            raise
        idempotency.finish(user_id, key, idempotency.Answer(
            response.status_code, response.get_data(as_text=True), response.headers.get("Location")))
        return response

    return wrapper
