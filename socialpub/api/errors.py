"""One error shape for the whole API: ``{"error": {"code", "message", …}}``."""
from flask import jsonify, request
from werkzeug.exceptions import HTTPException

from ..errors import AppError
from ..publishing import BrokerUnavailable
from . import bp


def error_response(status, code, message, **extra):
    body = {"code": code, "message": message}
    body.update({k: v for k, v in extra.items() if v})
    return jsonify({"error": body}), status


@bp.app_errorhandler(AppError)
def app_error(exc: AppError):
    return jsonify({"error": exc.as_dict()}), exc.status


@bp.app_errorhandler(BrokerUnavailable)
def broker_unavailable(exc):
    return error_response(503, "queue_unavailable", str(exc))


@bp.app_errorhandler(HTTPException)
def http_error(exc: HTTPException):
    """JSON for API paths; HTML pages keep Flask's own error pages."""
    if not request.path.startswith("/api/"):
        return exc
    messages = {
        404: "no such endpoint or object",
        405: f"{request.method} is not allowed here",
        413: "the request body is too large",
    }
    code = (exc.name or "error").lower().replace(" ", "_")
    return error_response(exc.code or 500, code, messages.get(exc.code, exc.description))


@bp.app_errorhandler(Exception)
def unexpected_error(exc):
    """Never a bare 500 page: log it and answer in the API's shape."""
    from flask import current_app
    from peewee import InterfaceError, OperationalError

    if isinstance(exc, (OperationalError, InterfaceError)):
        current_app.logger.warning("Database unavailable: %s", exc)
        return error_response(503, "database_unavailable", "the database is unreachable; try again")
    current_app.logger.exception("Unhandled error on %s %s", request.method, request.path)
    return error_response(500, "internal_error", "an unexpected error occurred; it has been logged")
