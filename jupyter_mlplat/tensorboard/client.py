"""TensorBoard from a kernel or a terminal: through the REST API of the Jupyter server.

TensorBoard instances are processes of the server (it proxies them), so the CLI and the magics
ask the server rather than starting their own. The server exports its URL as
``MLPLAT_SERVER_URL`` to the kernels and terminals it starts; the token is looked up in the
server's own runtime file (``list_running_servers``), so no secret travels in the environment.
"""

from __future__ import annotations

import os
from typing import Any

import requests

from .. import envvars
from ..errors import MLPlatError, Unavailable
from .schemas import TensorBoard, TensorBoardList

SERVER_URL_ENV = envvars.SERVER_URL


class ServerError(MLPlatError):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def find_server(url: str | None = None, token: str | None = None) -> tuple[str, str]:
    """(base URL ending in ``/``, token) of the Jupyter server this process belongs to."""
    url = url or os.environ.get(SERVER_URL_ENV)
    if not url:
        raise Unavailable(f"no Jupyter server known: run this inside JupyterLab (which sets "
                          f"{SERVER_URL_ENV}) or pass --url and --token", reason="no server")
    url = url if url.endswith("/") else url + "/"
    if token is None:
        token = os.environ.get("JUPYTER_TOKEN", "")
        from jupyter_server.serverapp import list_running_servers

        for info in list_running_servers():
            if info.get("url", "").rstrip("/") == url.rstrip("/"):
                token = info.get("token", token)
                break
    return url, token


class TensorBoardClient:
    def __init__(self, url: str | None = None, token: str | None = None) -> None:
        self.url, token = find_server(url, token)
        self.session = requests.Session()
        if token:
            self.session.headers["Authorization"] = f"token {token}"

    def _call(self, method: str, path: str, json: Any = None) -> Any:
        try:
            resp = self.session.request(method, f"{self.url}jupyter-mlplat/api/{path}",
                                        json=json, timeout=120)
        except requests.RequestException as exc:
            raise Unavailable(f"the Jupyter server at {self.url} does not answer: {exc}",
                              reason="no server") from exc
        if resp.status_code >= 400:
            try:
                message = resp.json().get("message") or resp.reason
            except ValueError:
                message = resp.text[:500] or resp.reason
            raise ServerError(resp.status_code, str(message))
        return None if resp.status_code == 204 else resp.json()

    def start(self, logdir: str | None = None, job_id: str | None = None) -> TensorBoard:
        """Start (or reuse) and wait until it answers; a failed start raises with its reason."""
        import time

        body = {"logdir": logdir} if job_id is None else {"job_id": job_id}
        board = TensorBoard.model_validate(self._call("POST", "tensorboards", body))
        deadline = time.monotonic() + 180
        while board.state == "starting" and time.monotonic() < deadline:
            time.sleep(0.3)
            board = TensorBoard.model_validate(self._call("GET", f"tensorboards/{board.id}"))
        if board.state != "running":
            raise ServerError(502, f"TensorBoard {board.state}: {board.error or 'no answer'}")
        return board

    def list(self) -> TensorBoardList:
        return TensorBoardList.model_validate(self._call("GET", "tensorboards"))

    def stop(self, tb_id: str) -> None:
        self._call("DELETE", f"tensorboards/{tb_id}")

    def absolute(self, board: TensorBoard) -> str:
        """The instance's URL with scheme and host (for a terminal)."""
        from urllib.parse import urljoin

        return urljoin(self.url, board.url)
