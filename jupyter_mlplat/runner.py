"""Runs one notebook with papermill: on this machine for local jobs, or inside a job's image.

``python -m jupyter_mlplat.runner local JOB_ID``
    the local backend's runner: records ``running``/``succeeded``/``failed`` in the store.
``python -m jupyter_mlplat.runner notebook --input IN --output OUT [--parameters JSON]``
    the in-image entry point: no database, exit status 0 on success and 1 on failure. This
    file also runs as a copy in the job's code layer, on papermill and what it brings
    (nbformat, jupyter_client) alone: it imports nothing else of the package at module level.
"""

from __future__ import annotations

import argparse
import faulthandler
import json
import os
import re
import signal
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from queue import Empty
from typing import IO, Any, cast

from jupyter_client.asynchronous import AsyncKernelClient
from jupyter_core.utils import run_sync

ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
#: Seconds a local runner keeps trying to record a state while the database is unreachable.
RECORD_TIMEOUT = 600.0


#: The arguments nbclient gives a kernel it starts itself (papermill's cold path).
KERNEL_ARGS = ["--HistoryManager.hist_file=:memory:"]
STARTUP_TIMEOUT = 60.0
#: Seconds a client waits for IOPub to show its kernel_info request ended before asking again
#: (a subscription that is not connected yet sees nothing).
IOPUB_WAIT = 0.2


class ExecutionFailed(Exception):
    """The notebook raised; ``str()`` is the excerpt shown in the job detail."""


def code_notebook(code: str) -> Any:
    """A notebook for a ``%%mlp_submit`` cell: an empty parameters cell, then the code."""
    import nbformat

    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell("# parameters")
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, nbformat.v4.new_code_cell(code)]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    return nb


def excerpt(exc: BaseException) -> str:
    """``cell N: Name: value`` and the traceback's last lines, without terminal colours."""
    ename = getattr(exc, "ename", type(exc).__name__)
    evalue = getattr(exc, "evalue", str(exc))
    where = getattr(exc, "exec_count", None)
    head = f"{ename}: {evalue}" if where is None else f"cell [{where}]: {ename}: {evalue}"
    tb = getattr(exc, "traceback", None) or []
    lines = ANSI.sub("", "\n".join(tb)).strip().splitlines()[-8:]
    return head + ("\n" + "\n".join(lines) if lines else "")


class ReadyClient(AsyncKernelClient):
    """A client whose ``wait_for_ready`` returns once the kernel answered ``kernel_info`` and
    IOPub carried that request's ``idle``: both channels are up and nothing of the request is
    left to come. jupyter_client's listens for 0.2 s of silence on IOPub after that instead,
    which nbclient (so papermill) pays once per notebook.

    Asynchronous, as the client papermill starts itself: nbclient then waits for replies in its
    event loop, where a signal (a cancelled job's SIGTERM) ends the wait. A blocking client
    waits inside zmq's poll, and the runner would outlive its job's grace period."""

    async def wait_for_ready(self, timeout: float | None = None) -> None:
        limit = STARTUP_TIMEOUT if timeout is None else timeout
        deadline = time.monotonic() + limit
        while True:
            msg_id = self.kernel_info()
            reply = await self._shell_reply(msg_id,
                                            min(1.0, max(0.0, deadline - time.monotonic())))
            if reply is not None and await self._idle_after(msg_id):
                self._handle_kernel_info_reply(reply)
                return
            if not await self.is_alive():
                raise RuntimeError("Kernel died before replying to kernel_info")
            if time.monotonic() > deadline:
                raise RuntimeError(f"Kernel didn't respond in {limit:.0f} seconds")

    async def _shell_reply(self, msg_id: str, timeout: float) -> dict[str, Any] | None:
        end = time.monotonic() + timeout
        while True:
            try:
                msg: dict[str, Any] = await self.shell_channel.get_msg(
                    timeout=max(0.0, end - time.monotonic()))
            except Empty:
                return None
            if msg["parent_header"].get("msg_id") == msg_id:
                return msg

    async def _idle_after(self, msg_id: str) -> bool:
        end = time.monotonic() + IOPUB_WAIT
        while True:
            try:
                msg = await self.iopub_channel.get_msg(
                    timeout=max(0.0, end - time.monotonic()))
            except Empty:
                return False
            if (msg["msg_type"] == "status" and msg["parent_header"].get("msg_id") == msg_id
                    and msg["content"].get("execution_state") == "idle"):
                return True


def start_kernel(kernel: str, cwd: str, attempts: int = 3) -> Any:
    """A kernel as nbclient would start it for papermill, and ready to execute.

    A kernel that does not come up is replaced by one on new ports: the ports a manager picks
    are free when it picks them, but another process starting a kernel at the same moment can
    bind one first ("Address already in use"), and that kernel never answers. That process can
    be another job's runner, or, in a pod on the node's network, anything else on the node.
    """
    from jupyter_client.manager import KernelManager

    for attempt in range(1, attempts + 1):
        km = KernelManager(kernel_name=kernel)  # new ports each time
        km.client_factory = ReadyClient  # papermill's client, too
        try:
            km.start_kernel(extra_arguments=list(KERNEL_ARGS), cwd=cwd)
            kc = cast(ReadyClient, km.client())  # the client_factory above
            kc.start_channels()
            try:
                run_sync(kc.wait_for_ready)(timeout=STARTUP_TIMEOUT / attempts)
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


def execute(source: str, output: str, parameters: dict[str, Any], *, log: IO[str],
            cwd: str | None, kernel: str | None = None, code: str | None = None,
            label: str | None = None, km: Any = None) -> None:
    """Execute with papermill, writing cell output to ``log`` as it happens.

    ``km`` is a kernel already started (a warm runner's): papermill runs in it and leaves it
    running. Else one of ``kernel`` is started here (``start_kernel``) and shut down after.
    """
    import papermill
    from papermill.exceptions import PapermillExecutionError

    own = None
    if km is None and kernel is not None:
        try:
            km = own = start_kernel(kernel, cwd or os.getcwd())
        except RuntimeError as exc:
            raise ExecutionFailed(f"the kernel did not start: {exc}") from exc
    tmp_input = None
    if code is not None:
        fd, tmp_input = tempfile.mkstemp(suffix=".ipynb")
        os.close(fd)
        import nbformat

        nbformat.write(code_notebook(code), tmp_input)
        source = tmp_input
    shown = label or (source if code is None else "cell code")
    log.write(f"[mlplat] executing {shown}"
              f" with parameters {json.dumps(parameters, default=str)}\n")
    log.flush()
    try:
        papermill.execute_notebook(
            source, output, parameters=parameters, kernel_name=kernel, cwd=cwd,
            progress_bar=False, log_output=False, stdout_file=log, stderr_file=log,
            request_save_on_cell_execute=True, **({} if km is None else {"km": km}),
        )
    except PapermillExecutionError as exc:
        raise ExecutionFailed(excerpt(exc)) from exc
    except Exception as exc:
        raise ExecutionFailed(f"{type(exc).__name__}: {exc}") from exc
    finally:
        if tmp_input:
            os.unlink(tmp_input)
        if own is not None:
            own.shutdown_kernel(now=True)
    log.write("[mlplat] notebook finished\n")
    log.flush()


def _on_sigterm(_signum: int, _frame: Any) -> None:
    raise SystemExit(143)


def dump_stacks_on(sig: int) -> None:
    """On ``sig``, every thread's stack to stderr (the log): what a runner that seems stuck is
    doing, without stopping it (``kill -USR1 PID``)."""
    faulthandler.register(sig, file=sys.stderr, all_threads=True)


def _job_context() -> Any:
    """Only what a local runner needs: the job store of the server's config, no migration.

    Building the whole :class:`~jupyter_mlplat.platform.Platform` here would import every
    service and check the schema on each job start; the server already did both.
    """
    from .config import CONFIG_ENV, config_from_env
    from .db import Database
    from .jobs.context import ROOT_ENV, JobContext
    from .jobs.store import JobStore

    config = config_from_env()
    config_file = os.environ.get(CONFIG_ENV)
    return JobContext(config=config, store=JobStore(Database(config.resolved_database_url())),
                      root_dir=Path(os.environ.get(ROOT_ENV) or os.getcwd()),
                      config_file=Path(config_file) if config_file else None)


def _record(ctx: Any, job_id: str, to: Any, **kwargs: Any) -> bool:
    """A state change that outlives a database restart: retried while it is unreachable.

    The runner alone knows how its notebook ended; while it retries it still runs, so the
    server does not take the job for lost meanwhile.
    """
    from .db import retry_disconnects

    return retry_disconnects(lambda: bool(ctx.store.transition(job_id, to, **kwargs)),
                             timeout=RECORD_TIMEOUT, what=f"job {job_id}: recording {to.value}")


def run_local(job_id: str) -> int:
    from .jobs.schemas import JobState

    signal.signal(signal.SIGTERM, _on_sigterm)
    dump_stacks_on(signal.SIGUSR1)
    ctx = _job_context()
    try:
        return _run_local(ctx, job_id)
    except Exception as exc:  # anything unexpected still ends the job with a reason
        _record(ctx, job_id, JobState.failed, message="runner error",
                error=f"{type(exc).__name__}: {exc}")
        raise


def _run_local(ctx: Any, job_id: str,
               warm: Callable[[str, Any], Any] | None = None) -> int:
    """Run a stored job; ``warm(cwd, job)`` hands over a started kernel (warm runners)."""
    from .containment import contain, private_dirs
    from .db import retry_disconnects
    from .errors import MLPlatError
    from .jobs.schemas import JobState

    store = ctx.store
    job = retry_disconnects(lambda: store.get(job_id), timeout=RECORD_TIMEOUT,
                            what=f"job {job_id}: reading the job")
    if not _record(ctx, job_id, JobState.running, message="runner started",
                   only_from=[JobState.queued]):
        # cancelled before it started (or ended by someone else): said in the runner's log
        state = retry_disconnects(lambda: store.get(job_id).state, timeout=RECORD_TIMEOUT,
                                  what=f"job {job_id}: reading its state")
        print(f"[mlplat] job {job_id} is {state.value} already: not running it", flush=True)
        return 0
    spec = job.spec
    try:
        # Checked again where they are used: a symlink planted since the submit is refused.
        output = contain(ctx.root_dir, job.outputs.notebook or f"mlplat-outputs/{job.id}.ipynb",
                         "output")
        private_dirs(output.parent)
        # the output notebook and the log are the user's alone (papermill keeps the mode)
        os.close(os.open(output, os.O_WRONLY | os.O_CREAT, 0o600))
        source = None if spec.notebook is None else \
            str(contain(ctx.root_dir, spec.notebook, "notebook"))
    except MLPlatError as exc:
        _record(ctx, job_id, JobState.failed, message="refused", error=exc.message)
        return 1
    cwd = str(Path(source).parent) if source else str(ctx.root_dir)
    config = ctx.config
    kernel = config.runtime_for(spec.runtime).kernel
    log_path = ctx.job_dir(job_id) / "job.log"
    log_fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    with open(log_fd, "a", buffering=1, encoding="utf-8") as log:
        try:
            km = None if warm is None else warm(cwd, job)
            execute(source or "", str(output), spec.parameters, log=log, cwd=cwd, kernel=kernel,
                    code=spec.code, label=spec.notebook, km=km)
        except ExecutionFailed as exc:
            log.write(f"[mlplat] failed: {exc}\n")
            _record(ctx, job_id, JobState.failed, message="notebook raised an exception",
                    error=str(exc))
            return 1
    _record(ctx, job_id, JobState.succeeded, message="notebook finished")
    return 0


#: Where Kubernetes reads a container's termination message (the pod's default path).
TERMINATION_LOG = "/dev/termination-log"


def _termination_message(text: str, path: str = TERMINATION_LOG) -> None:
    """Tell Kubernetes why the container failed (shown in the pod status, 4 KB at most)."""
    if not os.path.exists(path):
        return  # not in a Kubernetes container
    try:
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(text.encode("utf-8")[:4000].decode("utf-8", errors="ignore"))
    except OSError:
        pass


#: ``envvars.OUTPUT_DIR``/``TENSORBOARD_DIR``/``OUTPUT_NOTEBOOK``/``OUTPUT_LOG``, named here
#: again because this file also runs as a script in job images (a unit test holds them equal).
OUTPUT_DIR_ENV = "MLPLAT_OUTPUT_DIR"
TENSORBOARD_DIR_ENV = "MLPLAT_TENSORBOARD_DIR"
OUTPUT_NOTEBOOK_ENV = "MLPLAT_OUTPUT_NOTEBOOK"
OUTPUT_LOG_ENV = "MLPLAT_OUTPUT_LOG"


class Tee:
    """A text stream that writes to ``stream`` and keeps a copy in a temporary file."""

    def __init__(self, stream: IO[str]) -> None:
        self.stream = stream
        self.copy = tempfile.TemporaryFile("w+", encoding="utf-8")  # noqa: SIM115 (closed at exit)

    def write(self, text: str) -> int:
        self.copy.write(text)
        return self.stream.write(text)

    def flush(self) -> None:
        self.copy.flush()
        self.stream.flush()

    def text(self) -> bytes:
        self.copy.flush()
        self.copy.seek(0)
        return self.copy.read().encode("utf-8")


def replica_of(env: Any) -> str:
    """``""`` for the replica whose outputs are the job's (a single pod, PyTorch's master, TF's
    chief), else its name (``worker-0``, ``ps-1``) from what the training operator injects."""
    if env.get("TF_CONFIG"):
        try:
            task = json.loads(env["TF_CONFIG"]).get("task") or {}
        except ValueError:
            return ""
        kind, index = str(task.get("type", "")), int(task.get("index", 0))
        return "" if kind in ("chief", "master", "") else f"{kind}-{index}"
    rank = env.get("RANK")
    if rank and rank.isdigit() and int(rank) > 0:
        return f"worker-{int(rank) - 1}"
    return ""


def replica_path(url: str, replica: str) -> str:
    """``…/train.ipynb`` → ``…/train.worker-0.ipynb``: replicas do not overwrite each other."""
    if not replica:
        return url
    head, dot, ext = url.rpartition(".")
    return f"{head}.{replica}.{ext}" if dot and "/" not in ext else f"{url}.{replica}"


def _remote_makedirs(*urls: str) -> None:
    """Create the job's output folders on their storage cluster (fails early if it cannot)."""
    import fsspec

    for url in urls:
        if url and "://" in url:
            fs, path = fsspec.core.url_to_fs(url)
            fs.makedirs(path, exist_ok=True)


def _remote_write(url: str, data: bytes) -> None:
    import fsspec

    with fsspec.open(url, "wb") as handle:
        handle.write(data)


def run_notebook(args: argparse.Namespace) -> int:
    """Run the notebook in a job's container. When its outputs live on a storage cluster
    (``MLPLAT_OUTPUT_NOTEBOOK``), papermill writes the output notebook there at each cell's
    start and end, and the runner's own output (what the pod log shows) is copied to
    ``MLPLAT_OUTPUT_LOG`` when it ends, so both outlive the pod. A write that fails fails the
    job with that error."""
    # The runner is the container's first process, which ignores SIGTERM unless it handles
    # it: a cancelled job would wait out the grace period and be killed.
    signal.signal(signal.SIGTERM, _on_sigterm)
    parameters = json.loads(args.parameters) if args.parameters else {}
    # Every replica of a distributed job runs the notebook: each keeps its own output
    # notebook and log beside the head replica's.
    replica = replica_of(os.environ)
    remote = os.environ.get(OUTPUT_NOTEBOOK_ENV)
    output = replica_path(remote, replica) if remote else args.output
    log_url = os.environ.get(OUTPUT_LOG_ENV)
    log_url = replica_path(log_url, replica) if log_url else None
    log: Any = Tee(sys.stdout) if log_url else sys.stdout
    failure = None
    try:
        _remote_makedirs(os.environ.get(OUTPUT_DIR_ENV, ""),
                         os.environ.get(TENSORBOARD_DIR_ENV, ""))
        execute(args.input, output, parameters, log=log, cwd=args.cwd, kernel=args.kernel,
                code=Path(args.code).read_text() if args.code else None)
    except ExecutionFailed as exc:
        failure = str(exc)
    except Exception as exc:  # the output folder could not be made
        failure = f"writing the job's outputs to {os.environ.get(OUTPUT_DIR_ENV)}: " \
                  f"{type(exc).__name__}: {exc}"
    if failure is not None:
        print(f"[mlplat] failed: {failure}", file=log, flush=True)
    if log_url:
        try:
            _remote_write(log_url, log.text())
        except Exception as exc:
            message = f"writing the log to {log_url}: {type(exc).__name__}: {exc}"
            print(f"[mlplat] failed: {message}", file=sys.stdout, flush=True)
            failure = failure or message
    if failure is not None:
        _termination_message(failure)
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m jupyter_mlplat.runner")
    sub = parser.add_subparsers(dest="mode", required=True)
    local = sub.add_parser("local", help="run a stored local job")
    local.add_argument("job_id")
    nb = sub.add_parser("notebook", help="run a notebook (inside a job image)")
    nb.add_argument("--input", default="")
    nb.add_argument("--code", help="file with code to run instead of --input")
    nb.add_argument("--output", required=True)
    nb.add_argument("--parameters", help="JSON object of parameters")
    nb.add_argument("--cwd")
    nb.add_argument("--kernel")
    args = parser.parse_args(argv)
    if args.mode == "local":
        return run_local(args.job_id)
    return run_notebook(args)


if __name__ == "__main__":
    sys.exit(main())
