"""TensorBoard through the REST API and the authenticated proxy, with a real ``tensorboard``."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

import psutil
import pytest
from tensorboardX import SummaryWriter
from tornado.httpclient import AsyncHTTPClient

from .helpers import all_gone, server_config, write_notebook


def write_scalars(logdir: Path, tag: str = "loss", steps: range = range(3)) -> None:
    with SummaryWriter(str(logdir)) as writer:
        for step in steps:
            writer.add_scalar(tag, 1.0 / (step + 1), step)


def manager(jp_serverapp: Any) -> Any:
    return jp_serverapp.web_app.settings["mlplat"].tensorboards


def tensorboard_children() -> list[psutil.Process]:
    found = []
    for proc in psutil.Process().children(recursive=True):
        try:
            if any("tensorboard" in part for part in proc.cmdline()):
                found.append(proc)
        except (psutil.ZombieProcess, psutil.NoSuchProcess):
            continue  # an ended child of another test: not a running TensorBoard
    return found


async def running(api: Any, board: dict[str, Any], timeout: float = 120) -> dict[str, Any]:
    """Poll until the instance has left ``starting`` (TensorBoard starts in the background)."""
    deadline = time.monotonic() + timeout
    while board["state"] == "starting":
        assert time.monotonic() < deadline, board
        await asyncio.sleep(0.3)
        status, board = await api(f"tensorboards/{board['id']}")
        assert status == 200, board
    return board


async def proxied(jp_fetch: Callable[..., Any], tb_id: str, *path: str) -> Any:
    resp = await jp_fetch("jupyter-mlplat", "tensorboard", tb_id, *path)
    return json.loads(resp.body)


async def test_local_logdir_served_through_the_proxy(
        api: Any, jp_fetch: Callable[..., Any], jp_root_dir: Path, jp_serverapp: Any,
        jp_http_port: int, jp_base_url: str) -> None:
    write_scalars(jp_root_dir / "runs" / "exp1")
    status, board = await api("tensorboards", "POST", {"logdir": "runs"})
    assert status == 201, board
    assert board["state"] in ("starting", "running") and board["logdir"] == "runs"
    board = await running(api, board)
    assert board["state"] == "running", board
    assert board["url"] == f"{jp_base_url}jupyter-mlplat/tensorboard/{board['id']}/"

    status, again = await api("tensorboards", "POST", {"logdir": "./runs/"})
    assert (status, again["id"]) == (200, board["id"])  # one instance per log dir
    status, listing = await api("tensorboards")
    assert [b["id"] for b in listing["tensorboards"]] == [board["id"]]

    assert "exp1" in await proxied(jp_fetch, board["id"], "data", "runs")
    tags = await proxied(jp_fetch, board["id"], "data", "plugin", "scalars", "tags")
    assert "loss" in tags["exp1"]
    page = await jp_fetch("jupyter-mlplat", "tensorboard", board["id"], "")
    assert b"<html" in page.body.lower() or b"<!doctype" in page.body.lower()

    # No credentials, no TensorBoard: 403 for GET and POST alike (not a login redirect).
    client = AsyncHTTPClient()
    url = (f"http://localhost:{jp_http_port}{jp_base_url}jupyter-mlplat/tensorboard/"
           f"{board['id']}/data/runs")
    for method, body in (("GET", None), ("POST", b"")):
        resp = await client.fetch(url, method=method, body=body, raise_error=False,
                                  follow_redirects=False)
        assert resp.code == 403, (method, resp.code)

    pid = manager(jp_serverapp)._instances[board["id"]].process.pid
    status, _ = await api(f"tensorboards/{board['id']}", "DELETE")
    assert status == 204
    assert all_gone([pid])
    status, err = await api(f"tensorboards/{board['id']}")
    assert status == 404 and "tensorboard" in err["message"].lower()


async def test_tensorboard_posts_from_its_own_page_pass_cross_site_ones_do_not(
        api: Any, jp_root_dir: Path, jp_serverapp: Any, jp_http_port: int,
        jp_base_url: str) -> None:
    """TensorBoard's charts load by POST (``timeSeries``) without Jupyter's ``_xsrf`` token:
    with a browser's cookie session they pass when the browser marks them same-origin, and
    are refused from any other origin."""
    from .test_auth_sweep import cookie_header, login_cookies

    write_scalars(jp_root_dir / "runs" / "exp1", steps=range(4))
    status, board = await api("tensorboards", "POST", {"logdir": "runs"})
    assert status == 201, board
    board = await running(api, board)
    assert board["state"] == "running", board

    origin = f"http://127.0.0.1:{jp_http_port}"
    cookies = await login_cookies(origin, jp_base_url, jp_serverapp.identity_provider.token)
    session = {"Cookie": cookie_header(cookies),
               "Content-Type": "application/x-www-form-urlencoded"}
    url = f"{origin}{board['url']}experiment/defaultExperimentId/data/plugin/timeseries/timeSeries"
    body = "requests=" + quote(json.dumps([{"plugin": "scalars", "tag": "loss"}]))
    page = f"{origin}{board['url']}"

    async def post(headers: dict[str, str]) -> Any:
        return await AsyncHTTPClient().fetch(url, method="POST", body=body,
                                             headers={**session, **headers},
                                             raise_error=False, follow_redirects=False)

    accepted = {
        "Origin": {"Origin": origin},
        "Origin and Sec-Fetch-Site": {"Origin": origin, "Sec-Fetch-Site": "same-origin"},
        "Sec-Fetch-Site alone": {"Sec-Fetch-Site": "same-origin"},
        "Referer alone": {"Referer": page},
        "the _xsrf token": {"X-XSRFToken": cookies["_xsrf"]},
    }
    for what, headers in accepted.items():
        resp = await post(headers)
        assert resp.code == 200, (what, resp.code, resp.body[:200])
        series = json.loads(resp.body)[0]["runToSeries"]["exp1"]
        assert [p["step"] for p in series] == [0, 1, 2, 3], what
        assert [round(p["value"], 4) for p in series] == [1.0, 0.5, 0.3333, 0.25], what

    refused = {
        "no origin at all": {},
        "another origin": {"Origin": "http://evil.example"},
        "another port of this host": {"Origin": f"http://127.0.0.1:{jp_http_port + 1}"},
        "an opaque origin": {"Origin": "null"},
        "a cross-site fetch": {"Origin": origin, "Sec-Fetch-Site": "cross-site"},
        "a same-site fetch": {"Sec-Fetch-Site": "same-site"},
        "another site's referer": {"Referer": "http://evil.example/page"},
        "a wrong _xsrf token": {"X-XSRFToken": "2|00|00|0"},
    }
    for what, headers in refused.items():
        resp = await post(headers)
        assert resp.code == 403, (what, resp.code, resp.body[:200])
        assert b"runToSeries" not in resp.body
    # A script with the server's token is not a browser riding a session.
    resp = await AsyncHTTPClient().fetch(
        url, method="POST", body=body, raise_error=False,
        headers={"Authorization": f"token {jp_serverapp.identity_provider.token}",
                 "Content-Type": "application/x-www-form-urlencoded"})
    assert resp.code == 200, resp.body[:200]


async def test_bad_requests(api: Any, jp_root_dir: Path) -> None:
    (jp_root_dir / "afile").write_text("x")
    cases = [
        ({"logdir": "nope"}, 404), ({"logdir": "afile"}, 400), ({"logdir": "../x"}, 400),
        ({"job_id": "jdoesnotexist"}, 404), ({}, 400), ({"logdir": ".", "job_id": "j1"}, 400),
        ({"logdir": "hdfs://nosuchcluster/x"}, 400),
    ]
    for body, expected in cases:
        status, err = await api("tensorboards", "POST", body)
        assert status == expected, (body, status, err)
        assert err["message"]
    assert tensorboard_children() == []


async def test_failing_start_reports_stderr_and_leaves_no_process(
        api: Any, jp_root_dir: Path, jp_serverapp: Any, jp_fetch: Callable[..., Any]) -> None:
    (jp_root_dir / "logs").mkdir()
    manager(jp_serverapp).command = (sys.executable, "-m", "tensorboard.main",
                                     "--no_such_flag_x")
    status, board = await api("tensorboards", "POST", {"logdir": "logs"})
    assert status == 201, board
    board = await running(api, board)
    assert board["state"] == "failed"
    assert "no_such_flag_x" in board["error"]  # the stderr tail says what went wrong
    assert tensorboard_children() == []
    # The proxy of a failed instance answers 503 with the reason, never a hang.
    resp = await jp_fetch("jupyter-mlplat", "tensorboard", board["id"], "", raise_error=False)
    assert resp.code == 503


async def test_job_gets_a_log_dir_and_opens_in_tensorboard(
        api: Any, jp_fetch: Callable[..., Any], jp_root_dir: Path) -> None:
    write_notebook(jp_root_dir / "train.ipynb", "steps = 3",
                   "import os\nfrom tensorboardX import SummaryWriter\n"
                   "with SummaryWriter(os.environ['MLPLAT_TENSORBOARD_DIR']) as w:\n"
                   "    for i in range(steps):\n        w.add_scalar('acc', i / 10, i)")
    status, job = await api("jobs", "POST", {"notebook": "train.ipynb"})
    assert status == 201, job
    assert job["outputs"]["tensorboard"] == f"mlplat-outputs/train-{job['id']}/tensorboard"
    deadline = time.monotonic() + 120
    while job["state"] not in ("succeeded", "failed"):
        assert time.monotonic() < deadline, job
        await asyncio.sleep(0.5)
        job = (await api(f"jobs/{job['id']}"))[1]
    assert job["state"] == "succeeded", job
    status, board = await api("tensorboards", "POST", {"job_id": job["id"]})
    assert status == 201, board
    board = await running(api, board)
    assert board["job_id"] == job["id"]
    assert board["logdir"] == job["outputs"]["tensorboard"]
    tags = await proxied(jp_fetch, board["id"], "data", "plugin", "scalars", "tags")
    assert "acc" in tags["."]


class TestIdle:
    @pytest.fixture
    def jp_server_config(self, mlplat_data_dir: Path) -> dict[str, Any]:
        return server_config(mlplat_data_dir, tensorboard_idle_timeout=3.0)

    async def test_idle_instance_is_stopped(self, api: Any, jp_root_dir: Path,
                                            jp_serverapp: Any) -> None:
        """Idle from when it is up: a start slower than the idle timeout (a loaded machine)
        does not stop it the moment it answers."""
        manager(jp_serverapp).command = ("sh", "-c", 'sleep 4 && exec "$0" "$@"',
                                         *manager(jp_serverapp).command)
        (jp_root_dir / "idle").mkdir()
        status, board = await api("tensorboards", "POST", {"logdir": "idle"})
        assert status == 201, board
        board = await running(api, board)
        assert board["state"] == "running", board
        up_for = dt.datetime.fromisoformat(board["last_activity"]) \
            - dt.datetime.fromisoformat(board["started"])
        assert up_for >= dt.timedelta(seconds=4), board  # the idle clock starts once it is up
        pid = manager(jp_serverapp)._instances[board["id"]].process.pid
        deadline = time.monotonic() + 30
        while (await api("tensorboards"))[1]["tensorboards"]:
            assert time.monotonic() < deadline, "idle TensorBoard was not stopped"
            await asyncio.sleep(0.5)
        assert all_gone([pid])


def test_cli_talks_to_the_running_server(tmp_path: Path) -> None:
    """``mlp tensorboard`` finds the server by ``MLPLAT_SERVER_URL`` and its runtime file."""
    import os
    import subprocess

    from .live_server import live_server

    with live_server(tmp_path) as server:
        write_scalars(server.root / "logs" / "a")
        env = {**os.environ, "MLPLAT_SERVER_URL": server.url + "/",
               "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime")}

        def mlp(*args: str) -> subprocess.CompletedProcess[str]:
            return subprocess.run([sys.executable, "-m", "jupyter_mlplat.cli", *args], env=env,
                                  cwd=server.root,
                                  capture_output=True, text=True, timeout=120, check=False)

        started = mlp("tensorboard", "start", "logs")
        assert started.returncode == 0, started.stderr
        tb_id, logdir, url = started.stdout.split()
        assert logdir == "logs" and url == f"{server.url}/jupyter-mlplat/tensorboard/{tb_id}/"
        assert tb_id in mlp("tensorboard", "list").stdout
        missing = mlp("tensorboard", "start", "nope")
        assert missing.returncode == 1 and "does not exist" in missing.stderr
        assert mlp("tensorboard", "stop", tb_id).returncode == 0
        assert "no TensorBoard running" in mlp("tensorboard", "list").stdout
