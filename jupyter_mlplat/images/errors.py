"""The builder's errors, as subclasses of the platform's domain errors.

The jobs service turns any of them into a ``failed`` job at ``building`` or ``pushing`` with
``message`` as the reason; the API maps the base classes to HTTP statuses, so a size limit or a
push/pull address mismatch is the user's 400 while an unreachable registry is a 503.
"""

from __future__ import annotations

from ..errors import Forbidden, InvalidRequest, Unavailable


class CodeTooLarge(InvalidRequest):
    """The notebook and its included files exceed the size limit; names the biggest files."""


class BadInclude(InvalidRequest):
    """An include glob that escapes the notebook's folder or matches nothing."""


class BadImageReference(InvalidRequest):
    """A runtime image that is not ``repo[:tag|@digest]`` in the platform registry."""


class BaseImageNotFound(InvalidRequest):
    """The runtime's base image is not in the registry (or has no linux/amd64 manifest)."""


class PullAddressMismatch(InvalidRequest):
    """The pull address does not serve the image that was pushed: a registry config error."""


class RegistryError(Unavailable):
    """The registry could not be reached or answered an error; ``message`` quotes it."""

    def __init__(self, message: str, *, status_code: int | None = None,
                 registry_message: str | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.registry_message = registry_message


class RegistryAuthError(RegistryError):
    """The registry refused the credentials (or none were configured)."""

    status = Forbidden.status
    reason = Forbidden.reason


class RuntimeImageIncomplete(InvalidRequest):
    """The runtime image does not declare what a job needs (Python, papermill, the kernel)."""
