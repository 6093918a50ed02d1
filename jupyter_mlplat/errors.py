"""Domain errors. Services raise these; the API maps each class to one HTTP status in one place."""

from __future__ import annotations


class MLPlatError(Exception):
    """Base class; ``message`` is written for the user and says what to fix."""

    status = 500
    reason: str | None = None

    def __init__(self, message: str, *, reason: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if reason is not None:
            self.reason = reason


class InvalidRequest(MLPlatError):
    status = 400
    reason = "invalid"


class NotFound(MLPlatError):
    status = 404
    reason = "not found"


class Forbidden(MLPlatError):
    status = 403
    reason = "forbidden"


class Conflict(MLPlatError):
    status = 409
    reason = "conflict"


class Unavailable(MLPlatError):
    status = 503
    reason = "unavailable"
