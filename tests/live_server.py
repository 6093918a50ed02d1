"""A real ``jupyter server`` subprocess with the extension, for tests that need a live URL."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import requests

from jupyter_mlplat.devcluster.base import free_port, stop_process_group


@dataclass
class LiveServer:
    url: str
    token: str
    root: Path
    data_dir: Path
    proc: subprocess.Popen[bytes]

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"token {self.token}"}


@contextmanager
def live_server(tmp: Path, *extra_args: str, user: str = "alice") -> Iterator[LiveServer]:
    root, data = tmp / "root", tmp / "data"
    root.mkdir(parents=True, exist_ok=True)
    data.mkdir(parents=True, exist_ok=True)
    port, token = free_port(), secrets.token_hex(16)
    cmd = [
        sys.executable, "-m", "jupyter", "server", "--no-browser", f"--port={port}",
        "--ip=127.0.0.1", f"--ServerApp.root_dir={root}", f"--IdentityProvider.token={token}",
        "--ServerApp.jpserver_extensions={'jupyter_mlplat': True}",
        f"--MLPlatApp.data_dir={data}", f"--MLPlatApp.user={user}", *extra_args,
    ]
    if os.geteuid() == 0:
        cmd.append("--allow-root")
    log = open(tmp / "server.log", "wb")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                            env={**os.environ, "JUPYTER_RUNTIME_DIR": str(tmp / "runtime")})
    server = LiveServer(f"http://127.0.0.1:{port}", token, root, data, proc)
    try:
        deadline = time.monotonic() + 180
        while True:
            if proc.poll() is not None:
                raise RuntimeError("jupyter server exited:\n" + (tmp / "server.log").read_text())
            try:
                if requests.get(f"{server.url}/jupyter-mlplat/api/config",
                                headers=server.headers, timeout=2).ok:
                    break
            except requests.ConnectionError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("jupyter server did not answer in 180 s")
            time.sleep(0.3)
        yield server
    finally:
        _cancel_active_jobs(server)
        stop_process_group(proc.pid)
        log.close()


def _cancel_active_jobs(server: LiveServer) -> None:
    """Local job runners outlive their server by design; a test's must not outlive the test."""
    active = "queued,building,pushing,submitted,pending,running"
    try:
        page = requests.get(f"{server.url}/jupyter-mlplat/api/jobs", headers=server.headers,
                            params={"state": active, "limit": 500}, timeout=10).json()
        for job in page.get("jobs", []):
            requests.post(f"{server.url}/jupyter-mlplat/api/jobs/{job['id']}/cancel",
                          headers=server.headers, timeout=30)
    except (requests.RequestException, ValueError):
        pass  # the server is already gone: nothing to ask it
