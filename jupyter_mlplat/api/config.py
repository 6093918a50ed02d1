"""``GET /config``: what the frontend needs to know of the platform — never secrets."""

from __future__ import annotations

from tornado import web

from .base import MLPlatHandler


class ConfigHandler(MLPlatHandler):
    @web.authenticated
    async def get(self) -> None:
        self.send(self.platform.config.public())
