"""The application's refusals: each carries the HTTP status, a short code and
a message that names the field at fault. The API turns them into
``{"error": {"code", "message", "field"?, "details"?}}``; forms show them
next to their field.
"""
from __future__ import annotations


class AppError(Exception):
    status = 400
    code = "bad_request"

    def __init__(self, message, *, field=None, details=None, code=None):
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        self.field = field
        #: Further problems, as ``[{"field", "message", "network"?}]``.
        self.details = details or []

    def as_dict(self) -> dict:
        body = {"code": self.code, "message": self.message}
        if self.field:
            body["field"] = self.field
        if self.details:
            body["details"] = self.details
        return body


class InvalidInput(AppError):
    """Malformed or missing input (400)."""

    status = 400
    code = "invalid"


class UnsupportedMediaType(AppError):
    status = 415
    code = "unsupported_media_type"


class TooLarge(AppError):
    """A file larger than the limit (413)."""

    status = 413
    code = "too_large"


class Forbidden(AppError):
    """Signed in, but the user's role does not allow it (403)."""

    status = 403
    code = "forbidden"


class NotFound(AppError):
    status = 404
    code = "not_found"


class Conflict(AppError):
    """The request does not fit the object's current state (409)."""

    status = 409
    code = "conflict"


class Stale(AppError):
    """A change made on a version of a post that has changed since (412): the
    answer gives the current version and what was done since, so nothing is
    overwritten unseen (lifecycle/versions.py)."""

    status = 412
    code = "stale"

    def __init__(self, message, *, current_version: str, changes: list, field=None):
        super().__init__(message, field=field)
        self.current_version = current_version
        #: ``[{at, by, action, fields}]``, oldest first.
        self.changes = changes

    @property
    def changed(self) -> list[str]:
        """The fields changed since, each once."""
        return sorted({f for change in self.changes for f in change["fields"]})

    def as_dict(self) -> dict:
        return {**super().as_dict(), "current_version": self.current_version, "changed": self.changed,
                "changes": self.changes}


class Unprocessable(AppError):
    """Well-formed input that cannot be carried out, such as content a
    network would reject (422)."""

    status = 422
    code = "unprocessable"


class UnprocessableImage(AppError):
    """An image socialpub will not take: damaged, or too many pixels (422)."""

    status = 422
    code = "unprocessable_image"


class SecretUnreadable(AppError):
    """A stored secret (a channel's token) that none of the configured keys
    decrypts: the server's configuration is at fault, not the request (500).
    The message names the row and what to do, never the secret."""

    status = 500
    code = "secret_unreadable"


class BrokerUnavailable(AppError):
    """The queue (Redis) could not take the messages; the rows were put back as
    they were, so the same request may simply be sent again (503)."""

    status = 503
    code = "queue_unavailable"


class StoreUnavailable(AppError):
    """The media store did not take or give the bytes (503)."""

    status = 503
    code = "media_store_unavailable"


class Busy(AppError):
    """socialpub is doing as much of this at once as it allows itself; try again (503)."""

    status = 503
    code = "busy"


class NetworkUnreachable(AppError):
    """A network that had to be asked before anything is stored (checking a
    channel's token) did not answer; nothing was stored (502)."""

    status = 502
    code = "network_unreachable"


class PublicationFailed(Exception):
    """Raised by the publish actor when a publication has failed for good:
    declared in the actor's ``throws`` so Dramatiq does not retry it."""
