"""Warm local runners: papermill imported and a fresh kernel started before any job exists.

``python -m jupyter_mlplat.warm_runner zygote KERNEL SOCKET_FD``
    started once by the local backend's pool (:mod:`jupyter_mlplat.jobs.backends.pool`): it
    imports papermill, nbclient, jupyter_client and the runner's modules, then waits on the
    socket ``SOCKET_FD``. For each request (the runner's stdin, readiness pipe and log file as
    descriptors, its log path and environment) it forks a runner, and answers with its pid. A
    runner so costs a fork and a kernel start, not an interpreter start and seconds of imports.
    It runs no job itself; end of file on the socket (the server stopped, however) ends it.

A runner starts a kernel of ``KERNEL``, writes ``ready`` to its readiness pipe (which it keeps
open until it exits: the pool sees its end there, not being its parent) and waits for one job
id on stdin. It then runs that job exactly as ``runner local JOB_ID`` does (recording its own
states, so the job outlives a server restart), in the kernel it started, and exits: a kernel
serves one job only, and each runner is a fresh fork of a process that ran no job.

Its stdin is the server's end of a pipe: end of file before a job arrived means the server
stopped (or shrank the pool), and the runner shuts its kernel down and exits. Once it has a job
it no longer reads stdin. Its log file gets its output and its kernel's; it is moved into the
job's folder as the job's ``runner.log`` when the job arrives.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import sys
import threading
import traceback
from pathlib import Path
from typing import Any

from .runner import STARTUP_TIMEOUT, _on_sigterm, _run_local, dump_stacks_on, start_kernel

#: The largest fork request (a log path and an environment).
REQUEST_BYTES = 1 << 20


def place_kernel(km: Any, cwd: str, env: dict[str, str]) -> None:
    """Give the waiting kernel the job's folder and environment, as a cold start would have.

    A silent execution that keeps no history: the notebook's execution counts still start at 1.
    The kernel answered before (``start_kernel``), and the shell channel queues the request
    until it is connected: no readiness round trip here.
    """
    code = (f"import os as _mlplat_os\n_mlplat_os.chdir({cwd!r})\n"
            f"_mlplat_os.environ.update({json.dumps(env)})\ndel _mlplat_os\n")
    kc = km.blocking_client()
    kc.start_channels()
    try:
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
    # kept open until this process exits: the pool sees the runner's end as its end of file
    ready = os.fdopen(ready_fd, "w")
    try:
        # papermill's own import (its engines, nbclient) is paid here, before any job
        import papermill  # noqa: F401

        # The server may be gone already (killed while this kernel started); a job it handed
        # over before that is still in stdin and runs all the same, so a closed pipe here is
        # no reason to stop.
        with contextlib.suppress(OSError):
            ready.write("ready\n")
            ready.flush()
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

        from .jobs.schemas import JobState
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


def preload() -> None:
    """What every runner needs, imported (and nbformat's schema compiled) once, before forks."""
    import nbclient  # noqa: F401
    import nbformat
    import papermill
    import papermill.translators  # noqa: F401
    from jupyter_client.manager import KernelManager  # noqa: F401

    from . import containment, db, errors  # noqa: F401
    from .jobs import schemas, store  # noqa: F401
    from .runner import _job_context  # noqa: F401

    nbformat.validate(nbformat.v4.new_notebook())


def forked(kernel: str, fds: list[int], request: dict[str, Any]) -> int:
    """In a fork of the zygote: become the runner the request asked for."""
    os.setsid()  # its own session, as a runner the server started itself
    for sig in (signal.SIGCHLD, signal.SIGINT):
        signal.signal(sig, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, _on_sigterm)
    stdin, ready, log = fds
    os.dup2(stdin, 0)
    os.dup2(log, 1)
    os.dup2(log, 2)
    os.close(stdin)
    os.close(log)
    os.set_inheritable(ready, False)  # its end is this process's, not its kernel's
    os.environ.clear()
    os.environ.update(request["env"])
    dump_stacks_on(signal.SIGUSR1)
    return serve(kernel, ready, Path(request["log"]))


def zygote(kernel: str, sock_fd: int) -> int:
    """Fork a runner per request on the socket until its end of file."""
    sock = socket.socket(fileno=sock_fd)
    preload()
    if threading.active_count() > 1:  # a fork copies only this thread: no fork server then
        print("[mlplat] imports started threads; not forking runners", flush=True)
        return 1
    # forked runners are reaped by the system: the server sees their end on their own pipe
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)
    while True:
        try:
            data, fds, _flags, _addr = socket.recv_fds(sock, REQUEST_BYTES, 3)
        except OSError:
            return 0
        if not data:
            return 0  # the server stopped, however it stopped
        if len(fds) != 3:
            for fd in fds:
                os.close(fd)
            sock.send(b"0")
            continue
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:  # the runner
            code = 1
            try:
                sock.close()
                code = forked(kernel, fds, json.loads(data))
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else 1
            except BaseException:
                traceback.print_exc()
            finally:
                with contextlib.suppress(Exception):
                    sys.stdout.flush()
                    sys.stderr.flush()
                os._exit(code)
        for fd in fds:
            os.close(fd)
        sock.send(str(pid).encode())


def main(argv: list[str] | None = None) -> int:
    mode, kernel, sock_fd = argv if argv is not None else sys.argv[1:]
    if mode != "zygote":
        raise SystemExit(f"usage: python -m jupyter_mlplat.warm_runner zygote KERNEL FD ({mode}?)")
    signal.signal(signal.SIGTERM, _on_sigterm)
    dump_stacks_on(signal.SIGUSR1)
    return zygote(kernel, int(sock_fd))


if __name__ == "__main__":
    sys.exit(main())
