"""Every route of the extension, as the running server registered it, refuses strangers.

The routes are read from the tornado application's own routing table (not from our route list),
so a handler added by any part of the extension — REST, a proxy such as TensorBoard's, a stream
or websocket — is swept the day it lands, without touching this file. For each route and each
HTTP method its handler implements:

* no credentials at all → 401/403 (a browser-facing proxy may instead redirect to the login
  page, which is how Jupyter refuses a page load);
* a real cookie session (logged in through ``/login``) but no XSRF token on a state-changing
  method → 403, which is what stops a cross-site form from acting as the user.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin

import pytest
from jupyter_server.base.handlers import APIHandler
from tornado.httpclient import AsyncHTTPClient, HTTPResponse
from tornado.routing import PathMatches, Router, Rule
from tornado.web import Application, RequestHandler
from tornado.websocket import WebSocketHandler

from jupyter_mlplat.api.base import MLPlatHandler

from .helpers import server_config

PREFIX = "jupyter-mlplat/"
STATE_CHANGING = ("POST", "PUT", "PATCH", "DELETE")
#: Handlers under our prefix that are not ``MLPlatHandler``s on purpose, by qualified name:
#: reverse proxies forward bytes to a child process and cannot answer JSON themselves. Each must
#: still pass the sweep below.
PROXY_HANDLERS: frozenset[str] = frozenset({
    "jupyter_mlplat.api.tensorboards.TensorBoardProxyHandler",
})


# -- a concrete URL for a route pattern ---------------------------------------------------------
with warnings.catch_warnings():  # deprecated aliases of re._parser, kept for 3.10
    warnings.simplefilter("ignore", DeprecationWarning)
    import sre_constants as sre_c
    import sre_parse as sre_p

SAMPLE_CHARS = "x1"


def _sample_char(items: list[Any]) -> str:
    """A character allowed by a ``[...]`` class: prefer plain ones, honour ``[^...]``."""
    if items and items[0][0] == sre_c.NEGATE:
        banned = {chr(v) for op, v in items[1:] if op == sre_c.LITERAL}
        return next(c for c in SAMPLE_CHARS + "abc" if c not in banned)
    for op, value in items:
        if op == sre_c.LITERAL:
            return chr(value)
        if op == sre_c.RANGE:
            return chr(value[0])
        if op == sre_c.CATEGORY:
            return "1" if value == sre_c.CATEGORY_DIGIT else "x"
    return "x"


def _render(parsed: Any, in_group: bool = False) -> str:
    out = []
    for op, value in parsed:
        if op == sre_c.LITERAL:
            out.append(chr(value))
        elif op == sre_c.NOT_LITERAL:
            out.append(next(c for c in SAMPLE_CHARS if ord(c) != value))
        elif op == sre_c.ANY:
            out.append("x")
        elif op == sre_c.IN:
            out.append(_sample_char(value))
        elif op == sre_c.SUBPATTERN:
            out.append(_render(value[-1], in_group=in_group or value[0] is not None))
        elif op in (sre_c.MAX_REPEAT, sre_c.MIN_REPEAT):
            low, _high, item = value
            # path parameters get a value (x1), optional literal parts are taken once
            out.append(_render(item, in_group) * max(low, 1 if in_group or low == 0 else low))
        elif op == sre_c.BRANCH:
            out.append(_render(value[1][0], in_group))
        # AT (anchors) and the like produce nothing
    return "".join(out)


def sample_path(pattern: str) -> str:
    """A URL path the pattern matches in full, with ``x1``-like values for its parameters."""
    path = _render(sre_p.parse(pattern))
    assert re.fullmatch(pattern.rstrip("$"), path), (pattern, path)
    return path


@dataclass(frozen=True)
class Route:
    pattern: str
    handler: type[RequestHandler]

    @property
    def methods(self) -> list[str]:
        """The methods the handler implements itself (tornado's defaults answer 405 anyway)."""
        found = []
        for method in self.handler.SUPPORTED_METHODS:
            impl = getattr(self.handler, method.lower(), None)
            if impl is not None and impl is not getattr(RequestHandler, method.lower(), None):
                found.append(method)
        return found

    def __str__(self) -> str:
        return f"{self.pattern} ({qualname(self.handler)})"


def qualname(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def _walk(router: Router) -> Iterator[Rule]:
    for rule in getattr(router, "rules", []):
        if isinstance(rule.target, Router):
            yield from _walk(rule.target)
        else:
            yield rule


def all_routes(app: Application) -> list[Route]:
    """Every route as the application routes requests: every router, nested ones included."""
    routes: dict[str, Route] = {}
    for router in (app.wildcard_router, app.default_router):
        for rule in _walk(router):
            if not isinstance(rule.matcher, PathMatches):
                continue
            target = rule.target
            if not (isinstance(target, type) and issubclass(target, RequestHandler)):
                continue
            pattern = rule.matcher.regex.pattern
            routes.setdefault(pattern, Route(pattern, target))
    return list(routes.values())


def registered_routes(app: Application, base_url: str) -> list[Route]:
    """Our routes: those under the extension's prefix."""
    return [r for r in all_routes(app)
            if r.pattern.startswith(re.escape(base_url + PREFIX))
            or r.pattern.startswith(base_url + PREFIX)]


@pytest.fixture
def routes(jp_serverapp: Any, jp_base_url: str) -> list[Route]:
    found = registered_routes(jp_serverapp.web_app, jp_base_url)
    # The core routes must be there, or the enumeration itself is broken.
    paths = {sample_path(r.pattern) for r in found}
    assert any(p.endswith("/api/config") for p in paths), sorted(paths)
    assert any(p.endswith("/api/jobs") for p in paths), sorted(paths)
    return found


@pytest.fixture
def origin(http_server_client: Any, jp_http_port: int) -> str:
    """Where the in-process server listens (``http_server_client`` starts it)."""
    return f"http://127.0.0.1:{jp_http_port}"


def ws_headers(route: Route) -> dict[str, str]:
    if issubclass(route.handler, WebSocketHandler):
        return {"Upgrade": "websocket", "Connection": "Upgrade", "Sec-WebSocket-Version": "13",
                "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ=="}
    return {}


async def fetch(url: str, method: str, headers: dict[str, str] | None = None,
                body: str | None = None) -> HTTPResponse:
    if body is None and method in ("POST", "PUT", "PATCH"):
        body = "{}"
    return await AsyncHTTPClient().fetch(
        url, method=method, headers=headers or {}, body=body, raise_error=False,
        follow_redirects=False, request_timeout=30, allow_nonstandard_methods=True)


def refused(resp: HTTPResponse, base_url: str) -> bool:
    if resp.code in (401, 403):
        return True
    location = resp.headers.get("Location", "")
    return resp.code == 302 and location.split("?")[0].endswith(base_url + "login")


def test_every_handler_derives_from_the_base_or_is_a_listed_proxy(routes: list[Route]) -> None:
    strays = [str(r) for r in routes
              if not issubclass(r.handler, MLPlatHandler) and qualname(r.handler)
              not in PROXY_HANDLERS]
    assert not strays, "handlers that skip MLPlatHandler (auth, JSON errors): " + ", ".join(strays)


async def test_no_credentials_refused_everywhere(routes: list[Route], origin: str,
                                                 jp_base_url: str) -> None:
    failures, checked = [], 0
    for route in routes:
        url = origin + sample_path(route.pattern)
        for method in route.methods:
            resp = await fetch(url, method, ws_headers(route))
            checked += 1
            if method == "OPTIONS" and route.handler.options is APIHandler.options:
                # jupyter_server's CORS preflight: it must answer without credentials (browsers
                # send none), and it discloses nothing.
                assert not resp.body, f"OPTIONS {url} answered a body"
                continue
            if not refused(resp, jp_base_url):
                failures.append(f"{method} {url} -> {resp.code} ({route})")
            elif resp.code in (401, 403) and issubclass(route.handler, MLPlatHandler):
                assert resp.body, f"{method} {url}: a refusal says why"
    assert not failures, "answered without credentials:\n" + "\n".join(failures)
    assert checked >= len(routes)


async def login_cookies(origin: str, base_url: str, token: str) -> dict[str, str]:
    """A real browser-style session: the login form, its XSRF cookie, the login cookie."""
    first = await fetch(urljoin(origin, base_url + "login"), "GET")
    cookies = parse_cookies(first)
    xsrf = cookies["_xsrf"]
    resp = await fetch(urljoin(origin, base_url + "login"), "POST",
                       {"Cookie": cookie_header(cookies),
                        "Content-Type": "application/x-www-form-urlencoded"},
                       body=f"password={token}&_xsrf={xsrf}")
    assert resp.code == 302, f"login failed: {resp.code}"
    cookies.update(parse_cookies(resp))
    assert any(name.startswith("username-") for name in cookies), cookies
    return cookies


def parse_cookies(resp: HTTPResponse) -> dict[str, str]:
    out = {}
    for header in resp.headers.get_list("Set-Cookie"):
        name, _, rest = header.partition("=")
        out[name.strip()] = rest.split(";")[0].strip('"')
    return out


def cookie_header(cookies: dict[str, str]) -> str:
    return "; ".join(f"{k}={v}" for k, v in cookies.items())


async def test_cookie_session_without_xsrf_refused(routes: list[Route], jp_serverapp: Any,
                                                   origin: str, jp_base_url: str) -> None:
    cookies = await login_cookies(origin, jp_base_url, jp_serverapp.identity_provider.token)
    session = {"Cookie": cookie_header(cookies)}
    api = origin + jp_base_url + PREFIX + "api/"

    # Positive controls: the session is good (a read passes, a write with the header reaches
    # validation), so the refusals below are the XSRF check and nothing else.
    assert (await fetch(api + "config", "GET", session)).code == 200
    with_xsrf = await fetch(api + "jobs", "POST", {**session, "X-XSRFToken": cookies["_xsrf"]})
    assert with_xsrf.code == 400, with_xsrf.body

    failures, checked = [], 0
    for route in routes:
        url = origin + sample_path(route.pattern)
        for method in route.methods:
            if method not in STATE_CHANGING:
                continue
            resp = await fetch(url, method, {**session, **ws_headers(route)})
            checked += 1
            if resp.code != 403:
                failures.append(f"{method} {url} -> {resp.code} ({route})")
    assert not failures, "state changed with a cookie but no XSRF token:\n" + "\n".join(failures)
    assert checked > 0


# -- jupyter-server-proxy: its handler class only, never its routes ------------------------------
#: Path segments of jupyter-server-proxy's own routes: ``/proxy/<port>/`` (any loopback port,
#: the Jupyter server itself included), ``/proxy/absolute/…``, ``/server-proxy/…`` and the
#: launcher entries' ``/<name>/`` routes it makes from its config.
SERVER_PROXY_SEGMENTS = ("proxy/", "server-proxy/")


def server_proxy_routes(app: Application, base_url: str) -> list[str]:
    found = []
    for route in all_routes(app):
        path = route.pattern.replace("\\", "")
        module = route.handler.__module__
        ours = module.startswith("jupyter_mlplat.")
        if (not ours and module.split(".")[0] == "jupyter_server_proxy") or any(
                path.startswith(base_url + segment) for segment in SERVER_PROXY_SEGMENTS):
            found.append(str(route))
    return found


class TestServerProxyStaysOff:
    """Installing jupyter-server-proxy enables its server extension in Jupyter's config (its
    ``jupyter_server_config.d`` file): the server here is configured the same way, and the
    workbench must still keep its routes out."""

    @pytest.fixture
    def jp_server_config(self, mlplat_data_dir: Any) -> dict[str, Any]:
        return server_config(mlplat_data_dir, extensions={"jupyter_server_proxy": True})

    def test_no_server_proxy_route_in_the_routing_table(self, jp_serverapp: Any,
                                                        jp_base_url: str) -> None:
        assert jp_serverapp.extension_manager.extensions["jupyter_server_proxy"].enabled is False
        routes = all_routes(jp_serverapp.web_app)
        # The walk sees the server's own and our routes, so an empty finding means something.
        assert any(r.pattern.startswith(jp_base_url + "api/") for r in routes)
        assert any(r.handler.__name__ == "TensorBoardProxyHandler" for r in routes)
        found = server_proxy_routes(jp_serverapp.web_app, jp_base_url)
        assert not found, "jupyter-server-proxy routes are served:\n" + "\n".join(found)

    async def test_proxy_to_a_loopback_port_is_404(self, jp_fetch: Any) -> None:
        """A loopback service the server could reach stays unreachable through it."""
        from tornado.httpserver import HTTPServer
        from tornado.netutil import bind_sockets
        from tornado.web import Application as WebApp

        class Secret(RequestHandler):
            def get(self, *_: Any) -> None:
                self.write("loopback secret")

        sockets = bind_sockets(0, "127.0.0.1")
        port = sockets[0].getsockname()[1]
        server = HTTPServer(WebApp([(r"/.*", Secret)]))
        server.add_sockets(sockets)
        try:
            for path in (("proxy", str(port), "x"), ("proxy", "absolute", str(port), "x"),
                         ("proxy", f"127.0.0.1:{port}", "x"), ("server-proxy", "servers-info")):
                resp = await jp_fetch(*path, raise_error=False)
                assert resp.code == 404, (path, resp.code, resp.body[:200])
                assert b"loopback secret" not in resp.body
        finally:
            server.stop()


def test_the_sweep_would_see_server_proxy_routes(jp_serverapp: Any, jp_base_url: str) -> None:
    """Positive control: with jupyter-server-proxy's extension loaded by hand, the finder
    reports its routes (so an empty finding above is not a blind spot)."""
    import jupyter_server_proxy

    app = jp_serverapp.web_app
    before = len(app.wildcard_router.rules)
    try:
        jupyter_server_proxy._load_jupyter_server_extension(jp_serverapp)
        found = server_proxy_routes(app, jp_base_url)
        assert any(r.startswith(jp_base_url + "proxy/(\\d+)") for r in found), found
        assert any("server-proxy/servers-info" in r for r in found), found
    finally:
        del app.wildcard_router.rules[before:]
