"""A pool of warm local runners: papermill imported and a fresh kernel started, waiting for work.

A job takes a ready runner (``take``), else the one that has started longest ago (it is further
on than a runner started now), and the pool starts another in the background; with no runner at
all the job starts cold at once. A runner serves one job and exits.

Runners are forked by one *zygote* process that has papermill, nbclient and jupyter_client
imported (:mod:`jupyter_mlplat.warm_runner`): a refill costs a fork and a kernel start, not an
interpreter start and its imports, so runners keep up with jobs that come back to back. The
zygote ends at end of file on its socket, an idle runner at end of file on its stdin: both are
this process's ends, so they go when the server stops, however it stops.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Protocol

log = logging.getLogger(__name__)

#: Runners that died before they were ready, in a row, after which the pool stops refilling
#: (a broken kernel or environment: the cold path reports the cause on the job).
MAX_FAILURES = 3
#: Seconds the zygote may take to fork a runner and answer.
FORK_TIMEOUT = 30.0


class RunnerProcess(Protocol):
    """What the local backend needs of a runner's process (a ``Popen`` or a forked runner)."""

    pid: int
    stdin: IO[bytes] | None

    def poll(self) -> int | None: ...

    def wait(self, timeout: float | None = None) -> int: ...

    def terminate(self) -> None: ...

    def kill(self) -> None: ...


class Forked:
    """A runner the zygote forked. This process is not its parent: it is gone when the write end
    of its readiness pipe, which it holds until it exits, closes (``gone``, set by the pool).
    Its exit status is not known here (the job's state is what tells how it went): ``poll``
    gives 0 once it is gone."""

    def __init__(self, pid: int, stdin: IO[bytes]) -> None:
        self.pid = pid
        self.stdin: IO[bytes] | None = stdin
        self.gone = threading.Event()

    def poll(self) -> int | None:
        return 0 if self.gone.is_set() else None

    def wait(self, timeout: float | None = None) -> int:
        if not self.gone.wait(timeout):
            raise subprocess.TimeoutExpired(f"runner {self.pid}", timeout or 0.0)
        return 0

    def _signal(self, sig: int) -> None:
        if not self.gone.is_set():
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, sig)

    def terminate(self) -> None:
        self._signal(signal.SIGTERM)

    def kill(self) -> None:
        self._signal(signal.SIGKILL)


@dataclass
class WarmRunner:
    proc: Forked
    log_path: Path
    started: float = field(default_factory=time.monotonic)
    ready: threading.Event = field(default_factory=threading.Event)

    def hand(self, job_id: str) -> bool:
        """Give the runner its job; False if it is gone."""
        if self.proc.poll() is not None or self.proc.stdin is None:
            return False
        try:
            self.proc.stdin.write(f"{job_id}\n".encode())
            self.proc.stdin.flush()
            self.proc.stdin.close()
        except OSError:
            return False
        return True

    def stop(self) -> None:
        """End of file on its stdin: an idle runner stops its kernel and exits."""
        if self.proc.stdin is not None:
            with contextlib.suppress(OSError):
                self.proc.stdin.close()


class Zygote:
    """The process that forks runners: started with ``env`` in ``cwd`` on first use, and again
    when it died."""

    def __init__(self, kernel: str, env: Callable[[], dict[str, str]], cwd: Path,
                 log_path: Path) -> None:
        self.kernel = kernel
        self._env = env
        self._cwd = cwd
        self._log_path = log_path
        self.proc: subprocess.Popen[bytes] | None = None
        self._sock: socket.socket | None = None
        self._lock = threading.Lock()

    def _start(self) -> socket.socket:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            fd = os.open(self._log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            with os.fdopen(fd, "ab") as out:
                self.proc = subprocess.Popen(
                    [sys.executable, "-m", "jupyter_mlplat.warm_runner", "zygote", self.kernel,
                     str(theirs.fileno())],
                    stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                    env=self._env(), cwd=str(self._cwd), start_new_session=True,
                    pass_fds=(theirs.fileno(),))
        except BaseException:
            ours.close()
            raise
        finally:
            theirs.close()
        threading.Thread(target=self.proc.wait, daemon=True, name="mlplat-zygote-reap").start()
        ours.settimeout(FORK_TIMEOUT)
        self._sock = ours
        return ours

    def fork(self, stdin: int, ready: int, log: int, log_path: Path) -> int:
        """A runner with these descriptors as its stdin, readiness pipe and output; its pid."""
        request = json.dumps({"log": str(log_path), "env": self._env()}).encode()
        with self._lock:
            sock = self._sock
            if sock is None or self.proc is None or self.proc.poll() is not None:
                self._close()
                sock = self._start()  # its first answer comes once it has imported all
            try:
                socket.send_fds(sock, [request], [stdin, ready, log])
                answer = sock.recv(64)
            except OSError as exc:
                self._close()
                raise OSError(f"the runner zygote did not answer: {exc}") from exc
        pid = int(answer or b"0")
        if pid <= 0:
            self._close()
            raise OSError("the runner zygote ended (see warm-runners/zygote.log)")
        return pid

    def _close(self) -> None:
        if self._sock is not None:
            self._sock.close()  # its end of file: the zygote exits
            self._sock = None
        if self.proc is not None and self.proc.poll() is None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout=5)
            if self.proc.poll() is None:
                self.proc.kill()

    def close(self) -> None:
        with self._lock:
            self._close()


class WarmPool:
    """Up to ``size`` runners for ``kernel``, started with ``env`` in ``cwd``."""

    def __init__(self, size: int, kernel: str, env: Callable[[], dict[str, str]],
                 cwd: Path, log_dir: Path) -> None:
        self.size = size
        self.kernel = kernel
        self._env = env
        self._cwd = cwd
        self._log_dir = log_dir
        self._runners: list[WarmRunner] = []
        self._lock = threading.Lock()
        self._failures = 0
        self._forking = 0  # runners being forked now
        self._closed = False
        self._zygote = Zygote(kernel, env, cwd, log_dir / "zygote.log")

    # -- use -------------------------------------------------------------------------------
    def take(self, kernel: str) -> WarmRunner | None:
        """A runner of ``kernel`` (removed from the pool): a ready one, else the one started
        first (it takes the job once its kernel is up, sooner than a runner started now);
        None at once when the pool has none."""
        if kernel != self.kernel:
            return None
        with self._lock:
            alive = [r for r in self._runners if r.proc.poll() is None]
            ready = [r for r in alive if r.ready.is_set()]
            starting = sorted((r for r in alive if not r.ready.is_set()),
                              key=lambda r: r.started)
            first = ready or starting
            runner = first[0] if first else None
            if runner is not None:
                self._runners.remove(runner)
        self.fill()
        return runner

    def idle(self) -> int:
        with self._lock:
            return sum(1 for r in self._runners if r.ready.is_set() and r.proc.poll() is None)

    def pids(self) -> list[int]:
        with self._lock:
            return [r.proc.pid for r in self._runners]

    def wait_ready(self, count: int | None = None, timeout: float = 60.0) -> bool:
        """Block until ``count`` (default: all) runners are ready; for benchmarks and tests."""
        want = self.size if count is None else count
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.idle() >= want:
                return True
            time.sleep(0.05)
        return False

    # -- keeping it full -------------------------------------------------------------------
    def fill(self) -> None:
        """Start runners in the background until the pool holds ``size`` of them."""
        threading.Thread(target=self._fill, name="mlplat-warm-pool", daemon=True).start()

    def _fill(self) -> None:
        # the lock is not held while a runner is forked (the zygote may be importing still):
        # ``take`` never waits for a refill
        with self._lock:
            if self._closed or self._failures >= MAX_FAILURES:
                return
            self._runners = [r for r in self._runners if r.proc.poll() is None]
            missing = max(0, self.size - len(self._runners) - self._forking)
            self._forking += missing
        for started in range(missing):
            try:
                runner = self._spawn()
            except OSError as exc:
                log.warning("mlplat: starting a warm runner failed: %s", exc)
                with self._lock:
                    self._failures += 1
                    self._forking -= missing - started
                return
            with self._lock:
                self._forking -= 1
                if self._closed:
                    runner.stop()
                    continue
                self._runners.append(runner)

    def _spawn(self) -> WarmRunner:
        self._log_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        log_path = self._log_dir / f"warm-{uuid.uuid4().hex[:12]}.log"
        stdin_r, stdin_w = os.pipe()
        ready_r, ready_w = os.pipe()
        log_fd = -1
        try:
            log_fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            pid = self._zygote.fork(stdin_r, ready_w, log_fd, log_path)
        except BaseException:
            for fd in (stdin_w, ready_r):
                os.close(fd)
            with contextlib.suppress(OSError):
                log_path.unlink()
            raise
        finally:
            for fd in (stdin_r, ready_w, log_fd):
                if fd >= 0:
                    os.close(fd)
        runner = WarmRunner(proc=Forked(pid, os.fdopen(stdin_w, "wb")), log_path=log_path)
        threading.Thread(target=self._watch, args=(runner, ready_r), daemon=True,
                         name=f"mlplat-warm-{pid}").start()
        return runner

    def _watch(self, runner: WarmRunner, read_end: int) -> None:
        """Mark the runner ready when it says so; reap it when it exits."""
        with os.fdopen(read_end, "rb") as ready:
            said = ready.readline()
            if said.strip() == b"ready":
                runner.ready.set()
                with self._lock:
                    self._failures = 0
            ready.read()  # end of file: the runner exited
        runner.proc.gone.set()
        if not runner.ready.is_set():
            with self._lock:
                if runner in self._runners:
                    self._runners.remove(runner)
                if self._closed:
                    return
                self._failures += 1
                failures = self._failures
            tail = ""
            with contextlib.suppress(OSError):
                tail = runner.log_path.read_text(errors="replace")[-2000:]
                runner.log_path.unlink()
            log.warning("mlplat: a warm runner exited before it was ready (%d in a row): %s",
                        failures, tail)
            self.fill()

    def close(self, timeout: float = 10.0) -> None:
        """Stop the idle runners (runners with a job go on: they record their own states)."""
        with self._lock:
            self._closed = True
            runners, self._runners = self._runners, []
        for runner in runners:
            if runner.ready.is_set():
                runner.stop()
            else:  # still starting: no need to wait for a kernel that will not be used
                with contextlib.suppress(OSError):
                    runner.proc.terminate()
        deadline = time.monotonic() + timeout
        for runner in runners:
            try:
                runner.proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                runner.proc.kill()
                with contextlib.suppress(subprocess.TimeoutExpired):
                    runner.proc.wait(timeout=5)
        self._zygote.close()
