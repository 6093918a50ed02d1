"""Shared pieces of the devcluster harness: cache folder, ports, managed child processes.

Every engine (HDFS, Kubernetes, registry, PostgreSQL) is a :class:`Component` that knows how to
``build`` itself once into the cache, ``start`` on free loopback ports, answer ``info`` with its
addresses, and ``stop`` without leaving a process behind.
"""

from __future__ import annotations

import abc
import contextlib
import fcntl
import logging
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


class ComponentError(RuntimeError):
    """A component could not be built or did not come up; the message says what failed."""


def cache_dir(*parts: str) -> Path:
    """``~/.cache/jupyter-mlplat/<parts>`` (``MLPLAT_CACHE_DIR`` overrides the root), created."""
    root = Path(
        os.environ.get("MLPLAT_CACHE_DIR")
        or Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "jupyter-mlplat"
    )
    path = root.joinpath(*parts)
    path.mkdir(parents=True, exist_ok=True)
    return path


@contextlib.contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """Hold an exclusive ``flock`` on ``path`` (created): two processes building into one cache
    folder, or picking host addresses, take turns."""
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(
    check: Callable[[], bool],
    *,
    timeout: float,
    what: str,
    interval: float = 0.2,
    alive: Callable[[], str | None] | None = None,
) -> None:
    """Poll ``check`` until it is true; raise :class:`ComponentError` naming ``what`` on timeout.

    ``alive`` returns a message when the thing being waited for died, so a crashed process fails
    at once instead of after the whole timeout.
    """
    deadline = time.monotonic() + timeout
    last_error: BaseException | None = None
    while time.monotonic() < deadline:
        if alive is not None:
            dead = alive()
            if dead:
                raise ComponentError(f"{what}: {dead}")
        try:
            if check():
                return
        except Exception as exc:  # the check talks to a server that may not be up yet
            last_error = exc
        time.sleep(interval)
    raise ComponentError(f"{what}: not ready after {timeout:.0f}s (last error: {last_error})")


def run(cmd: Sequence[str], *, cwd: Path | None = None, env: dict[str, str] | None = None,
        what: str | None = None, timeout: float | None = None) -> str:
    """Run a build step; on failure raise with the command and the tail of its output."""
    log.info("running %s", " ".join(cmd))
    proc = subprocess.run(
        list(cmd), cwd=cwd, env={**os.environ, **(env or {})}, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True, timeout=timeout, check=False,
    )
    if proc.returncode != 0:
        tail = "\n".join(proc.stdout.splitlines()[-40:])
        raise ComponentError(f"{what or cmd[0]} failed ({' '.join(cmd)}):\n{tail}")
    return proc.stdout


class ManagedProcess:
    """A child process in its own process group with its output in a log file."""

    def __init__(self, name: str, cmd: Sequence[str], *, log_path: Path,
                 env: dict[str, str] | None = None, cwd: Path | None = None) -> None:
        self.name = name
        self.cmd = list(cmd)
        self.log_path = log_path
        self.env = env
        self.cwd = cwd
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> ManagedProcess:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as out:
            self.proc = subprocess.Popen(
                self.cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                cwd=self.cwd, env={**os.environ, **(self.env or {})}, start_new_session=True,
            )
        log.info("%s started (pid %s), log %s", self.name, self.proc.pid, self.log_path)
        return self

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    def died(self) -> str | None:
        """``None`` while running; otherwise the exit code and the log's tail."""
        if self.proc is None or self.proc.poll() is None:
            return None
        return f"exited with {self.proc.returncode}; log tail:\n{self.log_tail()}"

    def log_tail(self, lines: int = 30) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def stop(self, timeout: float = 15.0) -> None:
        """SIGTERM the whole process group, then SIGKILL what is left after ``timeout``."""
        if self.proc is None:
            return
        stop_process_group(self.proc.pid, timeout=timeout)
        with contextlib.suppress(Exception):
            self.proc.wait(timeout=1)
        self.proc = None


def stop_process_group(pid: int, timeout: float = 15.0) -> None:
    """Terminate the process group led by ``pid`` (started with ``start_new_session``)."""
    try:
        pgid = os.getpgid(pid)
    except ProcessLookupError:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)
        time.sleep(0.1)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGKILL)


class Component(abc.ABC):
    """One engine of the sandbox."""

    name: str
    #: Components that must be started before this one; their ``info()`` reaches ``use``.
    requires: tuple[str, ...] = ()
    #: Components used when they were started before this one, and not needed otherwise.
    wants: tuple[str, ...] = ()

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir / self.name
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.processes: list[ManagedProcess] = []
        self.deps: dict[str, dict[str, Any]] = {}

    def use(self, infos: dict[str, dict[str, Any]]) -> None:
        """The ``info()`` of each started component this one requires or wants, by name."""
        self.deps = infos

    @abc.abstractmethod
    def build(self) -> None:
        """Fetch or compile what the component needs into the cache; fast when cached."""

    @abc.abstractmethod
    def start(self) -> None:
        """Start on free loopback ports and return once the component answers."""

    @abc.abstractmethod
    def info(self) -> dict[str, Any]:
        """Addresses, credentials and file paths a client needs (JSON-serialisable)."""

    def spawn(self, name: str, cmd: Sequence[str], **kwargs: Any) -> ManagedProcess:
        proc = ManagedProcess(name, cmd, log_path=self.workdir / f"{name}.log", **kwargs).start()
        self.processes.append(proc)
        return proc

    def stop(self) -> None:
        for proc in reversed(self.processes):
            proc.stop()
        self.processes.clear()

    def pids(self) -> list[int]:
        return [p.pid for p in self.processes if p.pid is not None]

    def rss_mb(self) -> dict[str, float]:
        """Resident memory of each running process, in MiB (for reports and benchmarks)."""
        import psutil

        usage: dict[str, float] = {}
        for proc in self.processes:
            if proc.pid is not None and proc.died() is None:
                with contextlib.suppress(psutil.Error):
                    usage[proc.name] = round(
                        psutil.Process(proc.pid).memory_info().rss / 2**20, 1)
        return usage
