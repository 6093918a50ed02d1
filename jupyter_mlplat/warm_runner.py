"""A warm local runner: papermill imported and a fresh kernel started before any job exists.

``python -m jupyter_mlplat.warm_runner KERNEL READY_FD LOG``
    started by the local backend's pool (:mod:`jupyter_mlplat.jobs.backends.pool`). It imports
    papermill, starts a kernel of ``KERNEL``, writes ``ready`` to the pipe ``READY_FD`` and waits
    for one job id on stdin. It then runs that job exactly as ``runner local JOB_ID`` does
    (recording its own states, so the job outlives a server restart), in the kernel it started,
    and exits: a kernel serves one job only.

Its stdin is the server's end of a pipe: end of file before a job arrived means the server
stopped (or shrank the pool), and the runner shuts its kernel down and exits. Once it has a job
it no longer reads stdin. ``LOG`` is the file its output and its kernel's go to; it is moved
into the job's folder as the job's ``runner.log`` when the job arrives.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sys
from pathlib import Path
from typing import Any

from .runner import _on_sigterm, _run_local

#: The arguments nbclient gives a kernel it starts itself (papermill's cold path).
KERNEL_ARGS = ["--HistoryManager.hist_file=:memory:"]
STARTUP_TIMEOUT = 60.0


def start_kernel(kernel: str, cwd: str, attempts: int = 3) -> Any:
    """A kernel as nbclient would start it for papermill, and ready to execute.

    A kernel that does not come up is replaced by one on new ports: the ports a manager picks
    are free when it picks them, but another process starting a kernel at the same moment can
    bind one first ("Address already in use"), and that kernel never answers.
    """
    from jupyter_client.manager import KernelManager

    for attempt in range(1, attempts + 1):
        km = KernelManager(kernel_name=kernel)  # new ports each time
        try:
            km.start_kernel(extra_arguments=list(KERNEL_ARGS), cwd=cwd)
            kc = km.client()
            kc.start_channels()
            try:
                kc.wait_for_ready(timeout=STARTUP_TIMEOUT / attempts)
            finally:
                kc.stop_channels()
            return km
        except RuntimeError as exc:  # died or did not answer: try again on other ports
            if km.has_kernel:
                km.shutdown_kernel(now=True)
            print(f"[mlplat] kernel start {attempt}/{attempts} failed: {exc}", flush=True)
            if attempt == attempts:
                raise
        except BaseException:  # stopped while starting (SIGTERM): leave no kernel behind
            if km.has_kernel:
                km.shutdown_kernel(now=True)
            raise
    raise AssertionError("unreachable")


def place_kernel(km: Any, cwd: str, env: dict[str, str]) -> None:
    """Give the waiting kernel the job's folder and environment, as a cold start would have.

    A silent execution that keeps no history: the notebook's execution counts still start at 1.
    """
    code = (f"import os as _mlplat_os\n_mlplat_os.chdir({cwd!r})\n"
            f"_mlplat_os.environ.update({json.dumps(env)})\ndel _mlplat_os\n")
    kc = km.client()
    kc.start_channels()
    try:
        kc.wait_for_ready(timeout=STARTUP_TIMEOUT)
        msg_id = kc.execute(code, silent=True, store_history=False)
        while True:
            reply = kc.get_shell_msg(timeout=STARTUP_TIMEOUT)
            if reply["parent_header"].get("msg_id") == msg_id:
                break
        if reply["content"].get("status") != "ok":
            raise RuntimeError(f"preparing the warm kernel failed: {reply['content']}")
    finally:
        kc.stop_channels()


def job_env(ctx: Any, job: Any) -> dict[str, str]:
    """What a job's environment adds to the runner's own (its folders, the target's extras)."""
    env = ctx.child_env(job)
    return {k: v for k, v in env.items() if os.environ.get(k) != v}


def serve(kernel: str, ready_fd: int, log_path: Path) -> int:
    from .runner import _job_context

    ctx = _job_context()
    km: Any = None
    # if none comes up, a job handed over still runs: it gets a kernel of its own (below)
    with contextlib.suppress(RuntimeError):
        km = start_kernel(kernel, str(ctx.root_dir))
    try:
        # papermill's own import (its engines, nbclient) is paid here, before any job
        import papermill  # noqa: F401

        # The server may be gone already (killed while this kernel started); a job it handed
        # over before that is still in stdin and runs all the same, so a closed pipe here is
        # no reason to stop.
        with contextlib.suppress(OSError), os.fdopen(ready_fd, "w") as ready:
            ready.write("ready\n")
        job_id = sys.stdin.readline().strip()
        if not job_id:
            return 0  # the server stopped or no longer needs this runner
        job_log = ctx.job_dir(job_id) / "runner.log"
        if not job_log.exists():
            os.replace(log_path, job_log)  # the open descriptors follow the file
        print(f"[mlplat] warm runner {os.getpid()} takes job {job_id}", flush=True)

        def warm(cwd: str, job: Any) -> Any:
            nonlocal km
            if km is None or not km.is_alive():  # none came up, or it died while waiting
                if km is not None:
                    km.shutdown_kernel(now=True)
                km = start_kernel(kernel, cwd)
            place_kernel(km, cwd, job_env(ctx, job))
            return km

        from .jobs.models import JobState
        from .runner import _record

        try:
            return _run_local(ctx, job_id, warm=warm)
        except Exception as exc:
            _record(ctx, job_id, JobState.failed, message="runner error",
                    error=f"{type(exc).__name__}: {exc}")
            raise
    finally:
        if km is not None:
            km.shutdown_kernel(now=True)
        if log_path.exists():
            log_path.unlink()


def main(argv: list[str] | None = None) -> int:
    sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]  # see runner.main
    kernel, ready_fd, log = (argv if argv is not None else sys.argv[1:])
    signal.signal(signal.SIGTERM, _on_sigterm)
    return serve(kernel, int(ready_fd), Path(log))


if __name__ == "__main__":
    sys.exit(main())
