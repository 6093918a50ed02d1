"""What a domain error means to a user, whichever entry point shows it."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import ValidationError

from ..config import ConfigError, UnknownName, format_validation_error
from ..errors import InvalidRequest, MLPlatError

#: The errors an entry point shows as one line instead of a traceback.
USER_ERRORS = (MLPlatError, UnknownName, ValidationError, ConfigError)


@dataclass(frozen=True)
class UserError:
    message: str
    #: what was typed cannot be run (a bad value or name), as opposed to a request that failed
    bad_input: bool


def user_error(exc: Exception) -> UserError | None:
    """The message a domain error means to a user (None: not ours)."""
    if isinstance(exc, InvalidRequest | UnknownName):
        return UserError(exc.message if isinstance(exc, MLPlatError) else str(exc), True)
    if isinstance(exc, ValidationError):
        return UserError(format_validation_error(exc, "job spec"), True)
    if isinstance(exc, MLPlatError):
        return UserError(exc.message, False)
    if isinstance(exc, ConfigError):
        return UserError(str(exc), False)
    return None
