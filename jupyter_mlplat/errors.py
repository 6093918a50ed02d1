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


class TooLarge(MLPlatError):
    """A request body over its limit; the message names the limit."""

    status = 413
    reason = "limit"


class LimitExceeded(MLPlatError):
    """A count a user may not exceed (schedules, queued jobs, TensorBoards); the message
    names the limit and what frees a place."""

    status = 429
    reason = "limit"


class Unavailable(MLPlatError):
    status = 503
    reason = "unavailable"


class MissingExtra(Unavailable):
    """An optional feature whose extra is not installed; the message names the install command."""

    reason = "not installed"

    def __init__(self, feature: str, extra: str, hint: str = "") -> None:
        super().__init__(
            f"{feature} needs the optional dependencies of jupyter_mlplat[{extra}]: "
            f"pip install 'jupyter_mlplat[{extra}]'{hint}")
        self.extra = extra


def require_extra(module: str, feature: str, extra: str, hint: str = "") -> None:
    """Raise :class:`MissingExtra` unless ``module`` can be imported (nothing is imported)."""
    import importlib.util

    if importlib.util.find_spec(module) is None:
        raise MissingExtra(feature, extra, hint)
