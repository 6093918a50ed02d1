"""Routes of the storage API: clusters with health, and Jupyter contents per cluster.

Thin on purpose: parse, call :class:`~jupyter_mlplat.storage.service.StorageService` off the event
loop, serialize. Contents models go out as plain JSON (a 10,000-entry listing is not validated
entry by entry); their schema is in the OpenAPI file.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import orjson
from tornado import web

from ..jobs.outputs import job_of_cluster_output
from ..storage.schemas import CreateRequest, RenameRequest, SaveRequest
from .base import MLPlatHandler
from .contents_guard import refusal

FORMATS = ("json", "text", "base64")
TYPES = ("directory", "file", "notebook")


class StorageHandler(MLPlatHandler):
    @web.authenticated
    async def get(self) -> None:
        self.send(await self.call(self.platform.storage.clusters))


class ContentsHandler(MLPlatHandler):
    """``/storage/{cluster}/contents/{path}`` with the verbs of Jupyter's contents API."""

    body_limit = "max_upload_bytes"

    def _choice(self, name: str, choices: tuple[str, ...]) -> str | None:
        value = self.get_query_argument(name, None) or None
        if value is not None and value not in choices:
            raise web.HTTPError(400, f"query argument {name!r} must be one of "
                                f"{', '.join(choices)}", reason="invalid")
        return value

    async def _do(self, cluster: str, method: str, *args: Any, **kwargs: Any) -> Any:
        return await self.call(self.platform.storage.call, cluster, method, *args, **kwargs)

    async def _output_of(self, cluster: str, path: str) -> str | None:
        """The job id whose output notebook this is (a cluster job's record: read-only)."""
        job = await self.call(job_of_cluster_output, self.platform.jobs.store, cluster, path)
        return job.id if job is not None else None

    def _model(self, model: dict[str, Any], status: int = 200, cluster: str = "") -> None:
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        if status == 201 and cluster:
            self.set_header("Location", f"{self.base_url.rstrip('/')}/jupyter-mlplat/api/storage/"
                            f"{cluster}/contents/{quote(model['path'])}")
        self.finish(orjson.dumps(model))

    @web.authenticated
    async def get(self, cluster: str, path: str | None = None) -> None:
        content = self.get_query_argument("content", "1")
        if content not in ("0", "1"):
            raise web.HTTPError(400, "query argument 'content' must be 0 or 1", reason="invalid")
        compact = self.get_query_argument("compact", "0")
        if compact not in ("0", "1"):
            raise web.HTTPError(400, "query argument 'compact' must be 0 or 1", reason="invalid")
        model = await self._do(cluster, "get", path or "", content=content == "1",
                               type=self._choice("type", TYPES),
                               format=self._choice("format", FORMATS), compact=compact == "1")
        if model.get("type") == "notebook" and await self._output_of(cluster, path or ""):
            model["writable"] = False  # JupyterLab then neither autosaves nor saves in place
        self._model(model)

    @web.authenticated
    async def put(self, cluster: str, path: str | None = None) -> None:
        body = self.body_as(SaveRequest)
        job_id = await self._output_of(cluster, path or "")
        if job_id is not None:
            raise web.HTTPError(403, refusal(f"hdfs://{cluster}/{(path or '').strip('/')}",
                                             job_id), reason="read-only")
        model, created = await self._do(cluster, "save", path or "", body.type, body.format,
                                        body.content, body.chunk)
        self._model(model, 201 if created else 200, cluster)

    @web.authenticated
    async def patch(self, cluster: str, path: str | None = None) -> None:
        body = self.body_as(RenameRequest)
        self._model(await self._do(cluster, "rename", path or "", body.path))

    @web.authenticated
    async def post(self, cluster: str, path: str | None = None) -> None:
        body = self.body_as(CreateRequest)
        model = await self._do(cluster, "create", path or "", copy_from=body.copy_from,
                               type=body.type, ext=body.ext)
        self._model(model, 201, cluster)

    @web.authenticated
    async def delete(self, cluster: str, path: str | None = None) -> None:
        await self._do(cluster, "delete", path or "")
        self.set_status(204)
        self.finish()
