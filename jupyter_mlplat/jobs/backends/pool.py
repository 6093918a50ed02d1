"""A pool of warm local runners: papermill imported and a fresh kernel started, waiting for work.

A job takes a ready runner (``take``), else the one that has started longest ago (it is further
on than a runner started now), and the pool starts another in the background; with no runner at
all the job starts cold at once. A runner serves one job and exits. An idle runner reads its
stdin, which is this process's end of a pipe, so it exits (stopping its kernel) when the server
stops, however the server stops.
"""

from __future__ import annotations

import contextlib
import logging
import os
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger(__name__)

#: Runners that died before they were ready, in a row, after which the pool stops refilling
#: (a broken kernel or environment: the cold path reports the cause on the job).
MAX_FAILURES = 3


@dataclass
class WarmRunner:
    proc: subprocess.Popen[bytes]
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
        self._closed = False

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
        with self._lock:
            if self._closed or self._failures >= MAX_FAILURES:
                return
            self._runners = [r for r in self._runners if r.proc.poll() is None]
            missing = self.size - len(self._runners)
            for _ in range(max(0, missing)):
                try:
                    self._runners.append(self._spawn())
                except OSError as exc:
                    log.warning("mlplat: starting a warm runner failed: %s", exc)
                    self._failures += 1
                    return

    def _spawn(self) -> WarmRunner:
        self._log_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        log_path = self._log_dir / f"warm-{uuid.uuid4().hex[:12]}.log"
        read_end, write_end = os.pipe()
        try:
            fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            with os.fdopen(fd, "ab") as out:
                proc = subprocess.Popen(
                    [sys.executable, "-m", "jupyter_mlplat.warm_runner", self.kernel,
                     str(write_end), str(log_path)],
                    stdin=subprocess.PIPE, stdout=out, stderr=subprocess.STDOUT,
                    env=self._env(), cwd=str(self._cwd), start_new_session=True,
                    pass_fds=(write_end,),
                )
        except BaseException:
            os.close(read_end)
            raise
        finally:
            os.close(write_end)
        runner = WarmRunner(proc=proc, log_path=log_path)
        threading.Thread(target=self._watch, args=(runner, read_end), daemon=True,
                         name=f"mlplat-warm-{proc.pid}").start()
        return runner

    def _watch(self, runner: WarmRunner, read_end: int) -> None:
        """Mark the runner ready when it says so; reap it when it exits."""
        with os.fdopen(read_end, "rb") as ready:
            said = ready.readline()
        if said.strip() == b"ready":
            runner.ready.set()
            with self._lock:
                self._failures = 0
        runner.proc.wait()
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
