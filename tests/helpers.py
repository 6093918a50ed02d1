"""Shared test helpers: small notebooks and a throw-away platform environment.

Test modules import these with ``from tests.helpers import ...``.
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import nbformat

REPO_ROOT = Path(__file__).resolve().parents[1]

#: The states in which a run is over.
RUN_FINAL = {"succeeded", "failed", "cancelled", "skipped"}

DEFAULT_PARAMETERS = 'n: int = 3\nlr = 0.5\nmsg = "hi"'
DEFAULT_BODY = 'print(f"n is {n}, lr is {lr}, msg is {msg}")'


#: The local target of the REST tests' servers. Its jobs start cold: a runner pool costs each
#: server a zygote and two kernels, and these tests start a server each (hundreds per run)
#: mostly to send it requests. The pool is tested where it is the subject (test_warm_runners.py
#: and the fault tests' live servers, which keep the default).
LOCAL_TARGET: dict[str, Any] = {"name": "local", "kind": "local", "warm_runners": 0}


def server_config(data_dir: Path, extensions: dict[str, bool] | None = None,
                  **app: Any) -> dict[str, Any]:
    """A REST test's server config (``jp_server_config``): alice's workbench on ``data_dir``
    with ``app`` as its MLPlatApp settings and, unless ``targets`` are given, ``LOCAL_TARGET``."""
    return {
        "ServerApp": {"jpserver_extensions": {"jupyter_mlplat": True, **(extensions or {})}},
        "MLPlatApp": {"data_dir": str(data_dir), "user": "alice", "targets": [LOCAL_TARGET],
                      **app},
    }


def local_server_config(data_dir: Path, **local: Any) -> dict[str, Any]:
    """A REST test's server config: one local target, ``LOCAL_TARGET`` changed by ``local``."""
    return server_config(data_dir, reconcile_interval=0.5, targets=[{**LOCAL_TARGET, **local}])


def write_notebook(path: Path, parameters: str | None = DEFAULT_PARAMETERS,
                   body: str = DEFAULT_BODY, *more: str) -> Path:
    """A notebook with a cell tagged ``parameters`` (unless None), then ``body`` and ``more``."""
    nb = nbformat.v4.new_notebook()
    if parameters is not None:
        cell = nbformat.v4.new_code_cell(parameters)
        cell.metadata["tags"] = ["parameters"]
        nb.cells.append(cell)
    nb.cells.extend(nbformat.v4.new_code_cell(src) for src in (body, *more))
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(path))
    return path


def write_sleeping_notebook(path: Path, seconds: int = 120) -> Path:
    """A notebook that announces itself in the log, then sleeps: something to cancel."""
    return write_notebook(path, parameters="seconds = 1",
                          body=f'import time\nprint("sleeping", flush=True)\ntime.sleep({seconds})')


def platform_env(root: Path, data_dir: Path | None = None) -> dict[str, str]:
    """Environment variables of a platform rooted at ``root`` with its own database.

    The config file is what the server would hand its kernels and terminals; ``PYTHONPATH``
    lets runner and kernel subprocesses import this checkout even when it is not installed.
    """
    data_dir = data_dir or root / ".mlplat-data"
    config = root.parent / f"{root.name}-mlplat.json"
    config.write_text(json.dumps({"data_dir": str(data_dir)}))
    python_path = os.pathsep.join(p for p in (str(REPO_ROOT), os.environ.get("PYTHONPATH"))
                                  if p)
    return {"MLPLAT_CONFIG_FILE": str(config), "MLPLAT_ROOT_DIR": str(root),
            "PYTHONPATH": python_path}


def wait_for(predicate: Callable[[], Any], timeout: float = 60, interval: float = 0.2,
             what: str = "condition") -> Any:
    """Poll until ``predicate()`` is truthy; return its value or fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def tree_pids(pid: int) -> list[int]:
    """``pid`` and all its descendants that are alive now."""
    import psutil

    try:
        proc = psutil.Process(pid)
        return [proc.pid, *(p.pid for p in proc.children(recursive=True))]
    except psutil.NoSuchProcess:
        return []


def dump_runner_stacks(under: Path) -> dict[int, str]:
    """Ask the job runners that write under ``under`` (a job's folder, a test's temp folder) to
    print every thread's stack into their log (runners register SIGUSR1 with
    ``faulthandler``), and give each one's log tail: what a test that found a job stuck shows.
    Kernels are left alone (SIGUSR1 would end them)."""
    import signal

    import psutil

    logs: dict[int, Path] = {}
    for proc in psutil.process_iter(["cmdline"]):
        try:
            cmd = " ".join(proc.info["cmdline"] or ())
            if "jupyter_mlplat.runner " not in cmd and "jupyter_mlplat.warm_runner " not in cmd:
                continue
            mine = [Path(f.path) for f in proc.open_files()
                    if Path(f.path).is_relative_to(under) and f.path.endswith(".log")]
            if mine:
                os.kill(proc.pid, signal.SIGUSR1)
                logs[proc.pid] = mine[0]
        except (psutil.Error, OSError):
            continue
    if logs:
        time.sleep(1.0)
    tails = {}
    for pid, log in logs.items():
        try:
            tails[pid] = f"{log}:\n" + log.read_text(errors="replace")[-6000:]
        except OSError as exc:
            tails[pid] = f"{log}: {exc}"
    return tails


def all_gone(pids: list[int], timeout: float = 10) -> bool:
    """True once none of ``pids`` runs any more (zombies count as gone)."""
    import psutil

    def gone() -> bool:
        for pid in pids:
            try:
                if psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
                    return False
            except psutil.NoSuchProcess:
                continue
        return True

    try:
        return bool(wait_for(gone, timeout=timeout, what="processes to end"))
    except AssertionError:
        return False


def scheduling_server_config(data_dir: Path) -> dict[str, Any]:
    """An in-process server whose scheduler ticks every half second, so that a seconds-level
    cron fires during a test (``limits.min_schedule_interval`` lifted for it)."""
    return server_config(data_dir, scheduler_interval=0.5, misfire_grace=5.0,
                         limits={"min_schedule_interval": 0})


async def tensorboard_scalars(jp_fetch: Callable[..., Any], tb_id: str, run: str,
                              tag: str) -> list[tuple[float, int, float]]:
    """``(wall_time, step, value)`` of a tag, through our TensorBoard proxy (the route the UI's
    TensorBoard frame uses); empty while TensorBoard has no such run or tag yet."""
    from tornado.httpclient import HTTPClientError

    try:
        resp = await jp_fetch("jupyter-mlplat", "tensorboard", tb_id, "data", "plugin",
                              "scalars", "scalars", params={"tag": tag, "run": run})
    except HTTPClientError as exc:
        if exc.code in (400, 404):
            return []
        raise
    return [(float(t), int(s), float(v)) for t, s, v in json.loads(resp.body)]


def percentile(values: list[float], fraction: float) -> float:
    """The nearest-rank percentile (``fraction`` 0.95: p95) of ``values``."""
    ranked = sorted(values)
    rank = math.ceil(len(ranked) * fraction)
    return ranked[max(0, min(len(ranked), rank) - 1)]


def final_job(plat: Any, job_id: str, timeout: float = 240) -> Any:
    """The job once its recorded state is final (succeeded, failed, cancelled)."""
    return wait_for(lambda: (j := plat.jobs.store.get(job_id)).state.final and j,
                    timeout=timeout, interval=0.2, what=f"job {job_id} to finish")


def job_pods(api: Any, job_id: str, namespace: str) -> list[Any]:
    """The pods the platform labelled as ``job_id``'s, seen by the cluster's administrator."""
    from kubernetes import client

    from jupyter_mlplat.jobs.k8s.manifests import LABEL_JOB

    return list(client.CoreV1Api(api).list_namespaced_pod(
        namespace, label_selector=f"{LABEL_JOB}={job_id}").items)
