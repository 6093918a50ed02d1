"""Routes of the model registry. A model name with a ``/`` (``namespace`` policy:
``alice/resnet``) is sent percent-encoded in one path segment (``alice%2Fresnet``); the
unencoded two-segment form is accepted as well."""

from __future__ import annotations

from tornado import web

from ..models.schemas import DeployRequest, PublishRequest, StageRequest
from .base import MLPlatHandler


def version_number(raw: str) -> int:
    if not raw.isdigit() or len(raw) > 9:
        raise web.HTTPError(400, f"version must be a positive integer, got {raw!r}",
                            reason="invalid")
    return int(raw)


class ModelsHandler(MLPlatHandler):
    @web.authenticated
    async def get(self) -> None:
        self.send(await self.call(self.platform.models.list_models))

    @web.authenticated
    async def post(self) -> None:
        body = self.body_as(PublishRequest)
        self.send(await self.call(self.platform.models.publish, body, self.user_name), 201)


class ModelVersionsHandler(MLPlatHandler):
    @web.authenticated
    async def get(self, name: str) -> None:
        self.send(await self.call(self.platform.models.versions, name, self.user_name))


class ModelVersionHandler(MLPlatHandler):
    @web.authenticated
    async def get(self, name: str, version: str) -> None:
        self.send(await self.call(self.platform.models.version, name, version_number(version),
                                  self.user_name))


class ModelStageHandler(MLPlatHandler):
    @web.authenticated
    async def post(self, name: str, version: str) -> None:
        body = self.body_as(StageRequest)
        self.send(await self.call(self.platform.models.set_stage, name, version_number(version),
                                  body.stage, self.user_name))


class ModelDeployHandler(MLPlatHandler):
    @web.authenticated
    async def post(self, name: str, version: str) -> None:
        body = self.body_as(DeployRequest)
        number = version_number(version)
        await self.call(self.platform.models.version, name, number, self.user_name)
        self.send(await self.call(self.platform.models.deploy, name, body, self.user_name), 201)


class ModelDeploymentHandler(MLPlatHandler):
    @web.authenticated
    async def get(self, name: str) -> None:
        self.send(await self.call(self.platform.models.deployment, name, self.user_name))
