"""A real ``jupyter server`` subprocess with the extension, for tests that need a live URL."""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import requests

from jupyter_mlplat.devcluster.base import free_port, stop_process_group
from tests.helpers import dump_runner_stacks


@dataclass
class LiveServer:
    url: str
    token: str
    root: Path
    data_dir: Path
    proc: subprocess.Popen[bytes]
    tmp: Path
    args: tuple[str, ...] = ()
    user: str = "alice"
    python: str = sys.executable
    env: dict[str, str] | None = None

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"token {self.token}"}

    @property
    def log_path(self) -> Path:
        return self.tmp / "server.log"

    def kill(self) -> None:
        """SIGKILL the server's process group: no shutdown hook runs, as in a crash or OOM kill.

        Local job runners start their own sessions, so they are not in the group and go on.
        """
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=30)

    def restart(self) -> None:
        """Start the server again on the same root, data dir, config and token (new port)."""
        if self.proc.poll() is None:
            raise RuntimeError("the server still runs; kill() it first")
        _start(self)


def _start(server: LiveServer) -> None:
    port = free_port()
    cmd = [
        server.python, "-m", "jupyter", "server", "--no-browser", f"--port={port}",
        "--ServerApp.port_retries=0", "--ip=127.0.0.1", f"--ServerApp.root_dir={server.root}",
        f"--IdentityProvider.token={server.token}",
        "--ServerApp.jpserver_extensions={'jupyter_mlplat': True}",
        f"--MLPlatApp.data_dir={server.data_dir}", f"--MLPlatApp.user={server.user}",
        *server.args,
    ]
    if os.geteuid() == 0:
        cmd.append("--allow-root")
    with open(server.log_path, "ab") as log:
        server.proc = subprocess.Popen(
            cmd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            env={**(server.env or os.environ), "JUPYTER_RUNTIME_DIR": str(server.tmp / "runtime")})
    server.url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180
    while True:
        if server.proc.poll() is not None:
            raise RuntimeError("jupyter server exited:\n" + server.log_path.read_text())
        try:
            if requests.get(f"{server.url}/jupyter-mlplat/api/config",
                            headers=server.headers, timeout=2).ok:
                return
        except requests.ConnectionError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError("jupyter server did not answer in 180 s")
        time.sleep(0.3)


@contextmanager
def live_server(tmp: Path, *extra_args: str, user: str = "alice", python: str = sys.executable,
                env: dict[str, str] | None = None) -> Iterator[LiveServer]:
    """A server of ``python``'s environment (this one by default) with ``env`` (this one's)."""
    root, data = tmp / "root", tmp / "data"
    root.mkdir(parents=True, exist_ok=True)
    data.mkdir(parents=True, exist_ok=True)
    server = LiveServer("", secrets.token_hex(16), root, data,
                        None,  # type: ignore[arg-type]  # set by _start
                        tmp, tuple(extra_args), user, python, env)
    try:
        _start(server)
        yield server
    except BaseException:
        # before the runners are cancelled below: what the test's stuck job was doing
        for pid, text in dump_runner_stacks(tmp).items():
            print(f"--- job runner {pid}'s stacks and log: {text}")
        raise
    finally:
        if server.proc is not None:
            if server.proc.poll() is None:
                _cancel_active_jobs(server)
            stop_process_group(server.proc.pid)
            with contextlib.suppress(subprocess.TimeoutExpired):
                server.proc.wait(timeout=10)


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
