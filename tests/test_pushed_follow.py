"""``mlp jobs … --follow`` and the ``%mlp_submit`` monitor wake on changes the server pushes.

A process of the server (a terminal, a kernel) finds it by ``MLPLAT_SERVER_URL`` and its runtime
file, subscribes to Jupyter's events websocket and is woken by each change of the job it follows,
long before its fallback poll would read again.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from jupyter_mlplat.entry.pushed import JobWaker
from tests.helpers import wait_for, write_notebook
from tests.live_server import LiveServer, live_server


def server_env(srv: LiveServer) -> dict[str, str]:
    """What a terminal of the server has: its URL, runtime dir, config and root."""
    config = next((srv.tmp / "runtime").glob("mlplat-config-*.json"))
    return {"MLPLAT_SERVER_URL": srv.url + "/", "JUPYTER_RUNTIME_DIR": str(srv.tmp / "runtime"),
            "MLPLAT_CONFIG_FILE": str(config), "MLPLAT_ROOT_DIR": str(srv.root)}


def submit(srv: LiveServer, notebook: str) -> str:
    resp = requests.post(f"{srv.url}/jupyter-mlplat/api/jobs", headers=srv.headers,
                         json={"notebook": notebook}, timeout=60)
    assert resp.status_code == 201, resp.text
    return str(resp.json()["id"])


def test_a_follower_is_woken_by_each_pushed_change(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    with live_server(tmp_path) as srv:
        write_notebook(srv.root / "w.ipynb", None, "import time\ntime.sleep(2)\nprint('done')")
        for key, value in server_env(srv).items():
            monkeypatch.setenv(key, value)
        job_id = submit(srv, "w.ipynb")
        waker = JobWaker(job_id).start()
        try:
            wait_for(lambda: waker.connected, timeout=30, what="the events socket")
            waker.wait(0)  # the wake-up of the connection itself
            woken = []
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                began = time.monotonic()
                # a long fallback: only a pushed change returns before it
                if waker.wait(30):
                    woken.append(time.monotonic() - began)
                state = requests.get(f"{srv.url}/jupyter-mlplat/api/jobs/{job_id}",
                                     headers=srv.headers, timeout=30).json()["state"]
                if state == "succeeded":
                    break
            assert state == "succeeded"
            assert woken and max(woken) < 25, woken
        finally:
            waker.close()


def test_mlp_jobs_logs_follow_through_the_server(tmp_path: Path) -> None:
    with live_server(tmp_path) as srv:
        write_notebook(srv.root / "f.ipynb", None,
                       "import time\nfor i in range(3):\n    print('line', i, flush=True)\n"
                       "    time.sleep(0.5)")
        job_id = submit(srv, "f.ipynb")
        env = {**os.environ, **server_env(srv)}
        done = subprocess.run([sys.executable, "-m", "jupyter_mlplat.cli", "jobs", "logs",
                               job_id, "--follow"], env=env, capture_output=True, text=True,
                              timeout=120, cwd=srv.root)
        assert done.returncode == 0, done.stderr
        assert "line 0" in done.stdout and "line 2" in done.stdout, done.stdout
