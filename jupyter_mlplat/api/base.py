"""The base handler: auth, JSON in/out, and the one place where errors become HTTP statuses."""

from __future__ import annotations

import asyncio
import functools
import json
from collections.abc import Callable
from typing import Any, TypeVar

from jupyter_server.base.handlers import APIHandler
from jupyter_server.extension.handler import ExtensionHandlerMixin
from pydantic import BaseModel, ValidationError
from tornado.web import HTTPError, stream_request_body

from ..db import is_disconnect
from ..errors import MLPlatError, TooLarge
from ..parameters import human_bytes
from ..platform import Platform

M = TypeVar("M", bound=BaseModel)
T = TypeVar("T")


def validation_message(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err["loc"]) or "body"
        parts.append(f"{where}: {err['msg']}")
    return "invalid request: " + "; ".join(parts)


BODY_METHODS = ("POST", "PUT", "PATCH", "DELETE")


@stream_request_body
class MLPlatHandler(ExtensionHandlerMixin, APIHandler):
    """Every route of the extension derives from this class.

    Bodies are streamed in and kept only up to the route's limit: a body declared larger is
    answered 413 before any of it is read, and one that grows larger while it arrives
    (chunked) is dropped as it comes, so no request can make the server hold more than the
    limit.
    """

    #: The field of ``limits`` that bounds this route's request bodies.
    body_limit = "max_body_bytes"

    async def prepare(self) -> None:  # type: ignore[override]
        self._body = bytearray()
        self._body_size = 0
        await super().prepare()
        if self.current_user and self.request.method in BODY_METHODS:
            declared = self.request.headers.get("Content-Length", "")
            if declared.isdigit():
                self._refuse_over(int(declared))

    def _limit(self) -> int:
        return int(getattr(self.platform.config.limits, self.body_limit))

    def _refuse_over(self, size: int) -> None:
        """413 naming the limit for a body over it."""
        limit = self._limit()
        if size > limit:
            raise TooLarge(f"request body is {human_bytes(size)}; this route takes at most "
                           f"{human_bytes(limit)} (limits.{self.body_limit})")

    def data_received(self, chunk: bytes) -> None:
        self._body_size += len(chunk)
        if self.current_user and self._body_size <= self._limit():
            self._body.extend(chunk)
        else:  # over the limit, or nobody to act for: keep nothing (the method answers)
            self._body.clear()

    @property
    def body(self) -> bytes:
        """The request body (what a route reads instead of ``request.body``)."""
        self._refuse_over(self._body_size)
        return bytes(self._body)

    @property
    def platform(self) -> Platform:
        return self.settings["mlplat"]

    @property
    def user_name(self) -> str:
        return self.platform.config.user

    async def call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run a (blocking) service call off the event loop."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(None, functools.partial(fn, *args, **kwargs))

    def body_as(self, model: type[M]) -> M:
        raw = self.body or b"{}"
        try:
            return model.model_validate_json(raw)
        except ValidationError as exc:
            if any(e["type"] == "json_invalid" for e in exc.errors()):
                raise HTTPError(400, "request body is not valid JSON", reason="invalid json") \
                    from exc
            raise HTTPError(400, validation_message(exc), reason="invalid") from exc

    def int_arg(self, name: str, default: int, low: int, high: int) -> int:
        raw = self.get_query_argument(name, None)
        if raw is None:
            return default
        try:
            value = int(raw)
        except ValueError:
            raise HTTPError(400, f"query argument {name!r} must be an integer, got {raw!r}",
                            reason="invalid") from None
        if not low <= value <= high:
            raise HTTPError(400, f"query argument {name!r} must be between {low} and {high}",
                            reason="invalid")
        return value

    def bool_arg(self, name: str) -> bool:
        """A flag in the query: ``true``/``1`` or ``false``/``0`` (absent: false)."""
        raw = (self.get_query_argument(name, None) or "false").lower()
        if raw not in ("true", "1", "false", "0"):
            raise HTTPError(400, f"query argument {name!r} must be true or false, got {raw!r}",
                            reason="invalid")
        return raw in ("true", "1")

    def send(self, payload: BaseModel | dict[str, Any] | list[Any], status: int = 200) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        if isinstance(payload, BaseModel):
            self.finish(payload.model_dump_json())
        else:
            self.finish(json.dumps(payload, default=str))

    def _handle_request_exception(self, e: BaseException) -> None:
        """Domain and validation errors are the user's: answer ``{message, reason}`` with 4xx."""
        if isinstance(e, MLPlatError):
            status, message, reason = e.status, e.message, e.reason
        elif isinstance(e, ValidationError):
            status, message, reason = 400, validation_message(e), "invalid"
        elif is_disconnect(e):
            status, reason = 503, "database unavailable"
            message = ("the platform's database is not reachable; retry in a moment (the "
                       "server reconnects by itself once the database is back)")
            self.log.warning("%s %s -> 503: database unreachable: %s", self.request.method,
                             self.request.path, str(getattr(e, "orig", e)).strip())
        else:
            super()._handle_request_exception(e)
            return
        self.log.info("%s %s -> %s: %s", self.request.method, self.request.path, status, message)
        if not self._finished:
            self.clear()
            self.set_status(status)
            self.set_header("Content-Type", "application/json")
            self.finish(json.dumps({"message": message, "reason": reason}))
