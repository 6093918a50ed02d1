"""Routes of the TensorBoard API, and the authenticated proxy to the TensorBoard processes."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlparse

from jupyter_server.base.handlers import JupyterHandler
from jupyter_server_proxy.handlers import LocalProxyHandler
from tornado import web

from ..errors import MLPlatError
from ..tensorboard.schemas import TensorBoardRequest
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

    def check_xsrf_cookie(self) -> None:
        """A cookie-session write must come from this server's own pages.

        jupyter-server-proxy defers XSRF to the proxied app, which TensorBoard does not check.
        TensorBoard's own page (in the JupyterLab tab's iframe, served by this proxy) POSTs its
        data requests without Jupyter's ``_xsrf`` token, so Jupyter's token check alone would
        refuse every chart. A write is accepted when it carries the token (as Jupyter's other
        routes want) or when the browser says it comes from this very origin (see
        :func:`same_origin`); anything else with a cookie session is 403. Token-authenticated
        requests pass as everywhere in Jupyter. The rule holds even with
        ``disable_check_xsrf``: TensorBoard's own requests pass it, so it costs nothing.
        """
        if not hasattr(self, "_jupyter_current_user"):
            return  # called by tornado before prepare(); prepare() calls it again
        if self.token_authenticated or self.request.method in ("GET", "HEAD", "OPTIONS"):
            return
        if same_origin(self.request.headers, self.request.host):
            return
        try:
            web.RequestHandler.check_xsrf_cookie(self)  # tornado's token comparison
        except web.HTTPError:
            raise web.HTTPError(
                403, "a TensorBoard request with a cookie session must come from this "
                     "server's own pages (Origin, Sec-Fetch-Site or Referer) or carry the "
                     "_xsrf token") from None

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


def same_origin(headers: Any, host: str) -> bool:
    """Whether the browser marks the request as made by a page of ``host`` itself.

    Browsers set ``Origin`` on every POST (and other writes) made by fetch, XHR or a form, and
    ``Sec-Fetch-Site`` on requests to https and localhost origins; a page cannot set either.
    A request from another site therefore shows that site's origin, ``null`` (sandboxed
    frames, ``file:``) or ``cross-site``. Without both headers, a ``Referer`` of this host is
    accepted (Jupyter's own check for GETs does the same); no header at all is refused. The
    host is the ``Host`` header, as in Jupyter's origin check (proxies in front of Jupyter
    must pass it unchanged, which they already must for Jupyter's websockets).
    """
    if not host:
        return False
    fetch_site = headers.get("Sec-Fetch-Site")
    if fetch_site is not None and fetch_site != "same-origin":
        return False
    origin = headers.get("Origin")
    if origin is not None:
        return origin != "null" and urlparse(origin).netloc == host
    if fetch_site == "same-origin":
        return True
    referer = headers.get("Referer")
    return bool(referer) and urlparse(referer).netloc == host
