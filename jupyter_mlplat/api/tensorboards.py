"""Routes of the TensorBoard API, and the authenticated proxy to the TensorBoard processes."""

from __future__ import annotations

from typing import Any

from jupyter_server.base.handlers import JupyterHandler
from jupyter_server_proxy.handlers import LocalProxyHandler
from tornado import web

from ..errors import MLPlatError
from ..tensorboard.models import TensorBoardRequest
from .base import MLPlatHandler


class TensorBoardsHandler(MLPlatHandler):
    @web.authenticated
    async def get(self) -> None:
        self.send(self.platform.tensorboards.list_all())

    @web.authenticated
    async def post(self) -> None:
        body = self.body_as(TensorBoardRequest)
        board, created = await self.call(
            self.platform.tensorboards.start, body.logdir, body.job_id, self.platform.jobs,
            self.user_name)
        self.send(board, 201 if created else 200)


class TensorBoardHandler(MLPlatHandler):
    @web.authenticated
    async def get(self, tb_id: str) -> None:
        self.send(self.platform.tensorboards.get(tb_id))

    @web.authenticated
    async def delete(self, tb_id: str) -> None:
        await self.call(self.platform.tensorboards.stop, tb_id)
        self.set_status(204)
        self.finish()


class TensorBoardProxyHandler(LocalProxyHandler):
    """``/jupyter-mlplat/tensorboard/{id}/…`` → the instance's loopback port, with Jupyter auth.

    jupyter-server-proxy does the HTTP forwarding (headers, bodies, streaming); this class maps
    the id to a port, restarts the idle clock, and answers 403 (not a login redirect) to a
    request without credentials, for every verb. The full path is forwarded because TensorBoard
    runs with ``--path_prefix`` set to this route.
    """

    # jupyter-server-proxy defers XSRF to the proxied app, which TensorBoard does not check: keep
    # Jupyter's check, so a cross-site form cannot POST through a user's cookie session.
    check_xsrf_cookie = JupyterHandler.check_xsrf_cookie

    async def prepare(self, *args: Any, **kwargs: Any) -> None:
        prepared = JupyterHandler.prepare(self, _redirect_to_login=False)
        if prepared is not None:
            await prepared
        if not self.current_user:
            raise web.HTTPError(403, "authentication required")

    def _target(self, tb_id: str, proxied_path: str | None) -> tuple[int, str]:
        manager = self.settings["mlplat"].tensorboards
        try:
            port = manager.port(tb_id)
        except MLPlatError as exc:
            raise web.HTTPError(exc.status, exc.message) from None
        return port, manager.path_prefix(tb_id) + (proxied_path or "/")

    async def http_get(self, tb_id: str, proxied_path: str | None = None) -> Any:
        return await self.proxy(*self._target(tb_id, proxied_path))

    async def open(self, tb_id: str, proxied_path: str | None = None) -> Any:
        raise web.HTTPError(400, "TensorBoard does not use websockets")

    def post(self, tb_id: str, proxied_path: str | None = None) -> Any:
        return self.proxy(*self._target(tb_id, proxied_path))

    def put(self, tb_id: str, proxied_path: str | None = None) -> Any:
        return self.proxy(*self._target(tb_id, proxied_path))

    def delete(self, tb_id: str, proxied_path: str | None = None) -> Any:
        return self.proxy(*self._target(tb_id, proxied_path))

    def head(self, tb_id: str, proxied_path: str | None = None) -> Any:
        return self.proxy(*self._target(tb_id, proxied_path))

    def patch(self, tb_id: str, proxied_path: str | None = None) -> Any:
        return self.proxy(*self._target(tb_id, proxied_path))

    def options(self, tb_id: str, proxied_path: str | None = None) -> Any:
        return self.proxy(*self._target(tb_id, proxied_path))

    def proxy(self, port: Any, proxied_path: Any) -> Any:
        # TensorBoard listens on 127.0.0.1 only; "localhost" may resolve to ::1 first.
        return super(LocalProxyHandler, self).proxy("127.0.0.1", port, proxied_path)
