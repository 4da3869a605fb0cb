"""One JSON error shape for the API and every JSON answer of the web app:
``{"error": {"code", "message", "field"?, "details"?}}``."""
import secrets

from flask import current_app, jsonify, request
from peewee import InterfaceError, OperationalError
from werkzeug.exceptions import HTTPException

from ..errors import AppError

#: Messages of the HTTP errors the API answers itself (werkzeug's are pages' prose).
HTTP_MESSAGES = {404: "no such endpoint or object", 413: "the request body is too large"}


def describe(exc: BaseException) -> tuple[int, dict]:
    """``(status, error object)`` for any exception; unexpected ones are logged."""
    if isinstance(exc, AppError):
        return exc.status, exc.as_dict()
    if isinstance(exc, HTTPException):
        code = (exc.name or "error").lower().replace(" ", "_")
        message = f"{request.method} is not allowed here" if exc.code == 405 else \
            HTTP_MESSAGES.get(exc.code, exc.description)
        if (exc.code or 500) >= 500:  # werkzeug's "Internal Server Error" says neither what happened nor what to do
            message = "something went wrong on our side; try again in a moment, or tell your admin"
        return exc.code or 500, {"code": code, "message": message}
    if isinstance(exc, (OperationalError, InterfaceError)):
        current_app.logger.warning("Database unavailable: %s", exc)
        return 503, {"code": "database_unavailable", "message": "the database is unreachable; try again"}
    # A reference that finds the log's traceback: a person passes it on, and reads no exception.
    reference = secrets.token_hex(4)
    current_app.logger.exception("Unhandled error %s on %s %s", reference, request.method, request.path, exc_info=exc)
    return 500, {"code": "internal_error", "reference": reference,
                 "message": f"something went wrong on our side; it was logged. Try again, or tell your admin "
                            f"this reference: {reference}"}


def error_response(exc: BaseException):
    status, error = describe(exc)
    return jsonify({"error": error}), status


def register(app) -> None:
    """Every error the app does not answer otherwise gets this shape (pages keep
    their own error pages for HTTP errors: web.page_error)."""
    app.register_error_handler(AppError, error_response)
    app.register_error_handler(HTTPException, _http_error)
    # Never a bare 500 page: log it and answer in the API's shape.
    app.register_error_handler(Exception, error_response)


def _http_error(exc: HTTPException):
    """JSON for API paths; pages keep their own error pages."""
    if not request.path.startswith("/api/"):
        return exc
    return error_response(exc)
