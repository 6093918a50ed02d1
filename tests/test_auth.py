"""Every route of the extension refuses requests without Jupyter credentials."""

from __future__ import annotations

import re
from pathlib import Path

import requests
from tornado.web import RequestHandler

from jupyter_mlplat.api.routes import ROUTES

from .live_server import live_server

METHODS = ("get", "post", "put", "patch", "delete")


def concrete(pattern: str) -> str:
    return re.sub(r"\(\?P<[a-z_]+>[^)]*\)", "x1", pattern)


def test_every_route_needs_auth(tmp_path: Path) -> None:
    checked = 0
    with live_server(tmp_path) as server:
        for pattern, handler in ROUTES:
            for method in METHODS:
                if method.upper() not in handler.SUPPORTED_METHODS:
                    continue
                if getattr(handler, method) is getattr(RequestHandler, method):
                    continue  # not implemented by this handler
                url = server.url + concrete(pattern)
                resp = requests.request(method, url, json={}, timeout=10)
                assert resp.status_code == 403, f"{method.upper()} {url}: {resp.status_code}"
                assert resp.json()["message"]
                checked += 1
        # with a token but a cookie-less POST, XSRF does not apply to token auth; a forged
        # cookie-only POST without the _xsrf token is refused
        resp = requests.post(server.url + "/jupyter-mlplat/api/jobs", json={},
                             cookies={"_xsrf": "abc"}, timeout=10)
        assert resp.status_code == 403
    assert checked >= len(ROUTES)
