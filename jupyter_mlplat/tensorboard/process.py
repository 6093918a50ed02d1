"""One ``tensorboard`` child process on a free loopback port.

TensorBoard runs in its own process group (never in the server's process: its TensorFlow-style
imports and reload threads would share the server's GIL and memory). Starting waits until the
HTTP server answers; a process that exits or never answers is killed with its whole group and the
error carries the tail of its stderr, so a failed start leaves no orphan behind.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections import deque
from pathlib import Path

import requests

from ..errors import MLPlatError

DEFAULT_COMMAND = (sys.executable, "-m", "tensorboard.main")
STDERR_TAIL_LINES = 20


class TensorBoardFailed(MLPlatError):
    """TensorBoard did not come up; the message ends with its stderr tail."""

    status = 502
    reason = "tensorboard failed"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _tail(path: Path, lines: int = STDERR_TAIL_LINES) -> str:
    try:
        with open(path, errors="replace") as handle:
            return "".join(deque(handle, maxlen=lines)).strip()
    except OSError:
        return ""


class TensorBoardProcess:
    """``tensorboard --logdir DIR --host 127.0.0.1 --port P --path_prefix PREFIX``."""

    def __init__(self, logdir: Path, path_prefix: str, log_file: Path,
                 command: tuple[str, ...] = DEFAULT_COMMAND, reload_interval: float = 1.0
                 ) -> None:
        self.logdir = logdir
        self.path_prefix = path_prefix.rstrip("/")
        self.log_file = log_file
        self.command = command
        self.reload_interval = reload_interval
        self.port = 0
        self.proc: subprocess.Popen[bytes] | None = None

    def argv(self) -> list[str]:
        return [*self.command, "--logdir", str(self.logdir), "--host", "127.0.0.1",
                "--port", str(self.port), "--path_prefix", self.path_prefix,
                # Poll the log dir every second (default 5 s) so new points show within the lag
                # budget; the pure-Python loader behaves the same everywhere.
                "--reload_interval", str(self.reload_interval), "--load_fast", "false"]

    def start(self, timeout: float) -> None:
        self.port = free_port()
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_file, "wb") as err:
            self.proc = subprocess.Popen(
                self.argv(), stdin=subprocess.DEVNULL, stdout=err, stderr=subprocess.STDOUT,
                start_new_session=True, env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                code = self.proc.returncode
                self.stop()
                raise TensorBoardFailed(
                    f"TensorBoard exited with status {code} while starting:\n"
                    f"{_tail(self.log_file)}")
            if self._answers():
                return
            if time.monotonic() > deadline:
                self.stop()
                raise TensorBoardFailed(
                    f"TensorBoard did not answer within {timeout:.0f} s:\n{_tail(self.log_file)}")
            time.sleep(0.2)

    def _answers(self) -> bool:
        try:
            resp = requests.get(f"http://127.0.0.1:{self.port}{self.path_prefix}/data/logdir",
                                timeout=2)
        except requests.RequestException:
            return False
        return resp.status_code == 200

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    @property
    def pid(self) -> int | None:
        return None if self.proc is None else self.proc.pid

    def stop(self, grace: float = 5.0) -> None:
        """Terminate the whole process group, then kill what is left; reap the child."""
        proc = self.proc
        if proc is None:
            return
        for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 5.0)):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, sig)
            try:
                proc.wait(timeout=wait)
                break
            except subprocess.TimeoutExpired:
                continue
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)  # stragglers that left the leader behind
