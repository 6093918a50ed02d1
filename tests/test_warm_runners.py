"""Warm local runners, through a live server's REST API with real processes.

A job takes a runner that already has papermill imported and a kernel started; its output
notebook is the one ``papermill`` itself writes; a kernel serves one job (nothing leaks into the
next); idle runners and their kernels end with the server, a runner with a job outlives it.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import nbformat
import psutil
import requests

from jupyter_mlplat.jobs.backends.local import WARM_EVENT
from tests.helpers import all_gone, wait_for, write_notebook
from tests.live_server import LiveServer, live_server

FINAL = {"succeeded", "failed", "cancelled"}


def call(srv: LiveServer, method: str, path: str, **kw: Any) -> Any:
    resp = requests.request(method, f"{srv.url}/jupyter-mlplat/api/{path}", headers=srv.headers,
                            timeout=60, **kw)
    assert resp.ok, f"{method} {path}: {resp.status_code} {resp.text}"
    return resp.json()


def zygotes(srv: LiveServer) -> list[psutil.Process]:
    """The process that forks the server's warm runners (papermill imported, no job)."""
    found = []
    for child in psutil.Process(srv.proc.pid).children():
        with contextlib.suppress(psutil.NoSuchProcess):  # zombies too
            if "jupyter_mlplat.warm_runner" in " ".join(child.cmdline()):
                found.append(child)
    return found


def warm_runners(srv: LiveServer) -> list[psutil.Process]:
    """The server's warm runners that have their kernel started (ready or nearly, or running
    a job): forks of the zygote."""
    found = []
    for zygote in zygotes(srv):
        with contextlib.suppress(psutil.NoSuchProcess):
            for child in zygote.children():
                with contextlib.suppress(psutil.NoSuchProcess):
                    if child.children():
                        found.append(child)
    return found


def wait_warm(srv: LiveServer) -> list[psutil.Process]:
    runners = wait_for(lambda: warm_runners(srv), timeout=120, what="a warm runner")
    time.sleep(1.0)  # its kernel answers and papermill is imported a moment after it starts
    return runners


def finished(srv: LiveServer, job_id: str, timeout: float = 120) -> dict[str, Any]:
    def done() -> dict[str, Any] | None:
        job = call(srv, "GET", f"jobs/{job_id}")
        return job if job["state"] in FINAL else None
    return wait_for(done, timeout=timeout, interval=0.1, what=f"job {job_id} to finish")


def comparable(path: Path) -> dict[str, Any]:
    """A notebook without what differs between two runs of it: timings and papermill's paths."""
    nb = nbformat.read(str(path), as_version=4)
    cells = []
    for cell in nb.cells:
        meta = {k: v for k, v in cell.metadata.items() if k not in ("papermill", "execution")}
        cells.append({"type": cell.cell_type, "source": cell.source, "metadata": meta,
                      "outputs": cell.get("outputs"),
                      "execution_count": cell.get("execution_count")})
    pm = dict(nb.metadata.get("papermill", {}))
    for key in ("start_time", "end_time", "duration", "input_path", "output_path",
                "environment_variables", "version"):
        pm.pop(key, None)
    meta = {k: v for k, v in nb.metadata.items() if k != "papermill"}
    return {"cells": cells, "metadata": meta, "papermill": pm}


def test_a_warm_runner_runs_the_job_and_writes_what_papermill_writes(tmp_path: Path) -> None:
    with live_server(tmp_path) as srv:
        write_notebook(srv.root / "w" / "params.ipynb", 'n = 3\nlr = 0.5\nmsg = "hi"',
                       'import os\nprint(f"n is {n}, lr is {lr}, msg is {msg}")',
                       "print(os.getcwd().endswith('w'), bool(os.environ['MLPLAT_OUTPUT_DIR']))",
                       "n * lr")
        wait_warm(srv)
        job = call(srv, "POST", "jobs", json={"notebook": "w/params.ipynb",
                                              "parameters": {"n": 7, "msg": "warm"}})
        job = finished(srv, job["id"])
        assert job["state"] == "succeeded", job
        assert any(e["message"] == WARM_EVENT for e in job["events"]), job["events"]
        ours = srv.root / job["outputs"]["notebook"]
        theirs = tmp_path / "papermill.ipynb"
        subprocess.run([sys.executable, "-m", "papermill", "--no-progress-bar", "params.ipynb",
                        str(theirs), "-p", "n", "7", "-p", "msg", "warm"],
                       cwd=srv.root / "w", check=True, capture_output=True,
                       env={**os.environ, "MLPLAT_OUTPUT_DIR": str(tmp_path)})
        mine, papermills = comparable(ours), comparable(theirs)
        assert mine == papermills, json.dumps([mine, papermills], indent=1, default=str)
        printed = [o.get("text") for c in mine["cells"] for o in (c["outputs"] or [])]
        assert "n is 7, lr is 0.5, msg is warm\n" in printed
        assert "True True\n" in printed  # the job's folder and its own environment


def test_a_kernel_serves_one_job_and_the_pool_refills(tmp_path: Path) -> None:
    """Jobs back to back, each on a runner the zygote forked for it and a kernel of its own:
    nothing one job left in its kernel (globals, environment, folder) is seen by the next."""
    with live_server(tmp_path) as srv:
        write_notebook(srv.root / "leak.ipynb", "mark = 0",
                       "import os\nprint('seen before:', 'leaked' in globals(),"
                       " 'MLPLAT_LEAKED' in os.environ, os.getcwd() == '/')\n"
                       "print('kernel', os.getpid(), 'runner', os.getppid())\n"
                       "leaked = mark\nos.environ['MLPLAT_LEAKED'] = str(mark)\nos.chdir('/')")
        wait_warm(srv)
        jobs = [finished(srv, call(srv, "POST", "jobs", json={
            "notebook": "leak.ipynb", "parameters": {"mark": mark}})["id"])
            for mark in (1, 2, 3)]
        pids = []
        for job in jobs:
            assert job["state"] == "succeeded", job
            assert any(e["message"] == WARM_EVENT for e in job["events"]), job["events"]
            log = call(srv, "GET", f"jobs/{job['id']}/logs")["text"]
            assert "seen before: False False False" in log, log
            line = next(x for x in log.splitlines() if x.startswith("kernel "))
            pids.append((int(line.split()[1]), int(line.split()[3])))
        kernels, runners = {k for k, _ in pids}, {r for _, r in pids}
        assert len(kernels) == len(runners) == 3, pids
        # and the pool is full again
        wait_for(lambda: len([r for r in warm_runners(srv) if r.pid not in runners]) >= 2,
                 timeout=120, what="the pool to refill")


def test_idle_runners_end_with_the_server_and_a_warm_job_outlives_it(tmp_path: Path) -> None:
    with live_server(tmp_path, "--MLPlatApp.reconcile_interval=0.5") as srv:
        write_notebook(srv.root / "nap.ipynb", "seconds = 1",
                       "import os, time\nprint('runner', os.getppid(), flush=True)\n"
                       "time.sleep(seconds)\nprint('woke after', seconds)")
        wait_warm(srv)
        job = call(srv, "POST", "jobs", json={"notebook": "nap.ipynb",
                                              "parameters": {"seconds": 6}})

        def runner_pid() -> int | None:
            text = call(srv, "GET", f"jobs/{job['id']}/logs")["text"]
            line = next((x for x in text.splitlines() if x.startswith("runner ")), None)
            return None if line is None else int(line.split()[1])

        busy = wait_for(runner_pid, timeout=60, interval=0.1, what="the job to run")
        idle = wait_for(lambda: [r for r in warm_runners(srv) if r.pid != busy], timeout=120,
                        what="the refilled runner")
        idle_tree = [p.pid for r in idle for p in (r, *r.children(recursive=True))]
        idle_tree += [z.pid for z in zygotes(srv)]
        srv.kill()  # SIGKILL: no shutdown hook runs
        assert psutil.pid_exists(busy), "the runner with a job ended with the server"
        assert all_gone(idle_tree, timeout=30), "idle warm runners outlived the server"
        srv.restart()
        done = finished(srv, job["id"])
        assert done["state"] == "succeeded", done
        assert any(e["message"] == WARM_EVENT for e in done["events"]), done["events"]
        assert "woke after 6" in call(srv, "GET", f"jobs/{job['id']}/logs")["text"]


def test_a_job_handed_to_a_starting_runner_runs_when_the_server_dies_first(
        tmp_path: Path) -> None:
    """The pool hands a job to a runner whose kernel is still starting; the server is killed
    before the runner says it is ready. The runner must still run the job it was given (it
    used to stop on the closed readiness pipe, leaving the job 'ended without a result')."""
    with live_server(tmp_path, "--MLPlatApp.reconcile_interval=0.5") as srv:
        write_notebook(srv.root / "quick.ipynb", "n = 1", "print('ran', n)")
        job = call(srv, "POST", "jobs", json={"notebook": "quick.ipynb"})  # at once
        srv.kill()
        srv.restart()
        done = finished(srv, job["id"])
        assert done["state"] == "succeeded", done
        assert "ran 1" in call(srv, "GET", f"jobs/{job['id']}/logs")["text"]
