"""The jobs REST API on the embedded default (local target), through a real Jupyter server."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import psutil
import pytest

from jupyter_mlplat.db import Database
from jupyter_mlplat.jobs.store import JobStore

from .helpers import write_notebook

FINAL = {"succeeded", "failed", "cancelled"}


@pytest.fixture
def train_nb(jp_root_dir: Path) -> Path:
    return write_notebook(
        jp_root_dir / "work" / "train.ipynb",
        "n: int = 3  # how many steps\nlr = 0.1\nname = 'x'",
        "for i in range(n):\n    print('step', i, lr, name)",
    )


async def wait_final(api: Any, job_id: str, timeout: float = 90) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status, job = await api(f"jobs/{job_id}")
        assert status == 200
        if job["state"] in FINAL:
            return job  # type: ignore[no-any-return]
        await asyncio.sleep(0.3)
    raise AssertionError(f"job {job_id} not final after {timeout}s: {job['state']}")


async def test_config_has_embedded_defaults(api: Any) -> None:
    status, config = await api("config")
    assert status == 200
    assert [c["name"] for c in config["storage"]] == ["local"]
    assert [t["name"] for t in config["targets"]] == ["local"]
    assert config["user"] == "alice"


async def test_parameters_of_a_notebook(api: Any, train_nb: Path) -> None:
    status, body = await api("parameters", params={"path": "work/train.ipynb"})
    assert status == 200
    by_name = {p["name"]: p for p in body["parameters"]}
    assert by_name["n"]["inferred_type_name"] == "int"
    assert by_name["n"]["help"] == "how many steps"
    assert by_name["lr"]["default"] == "0.1"


async def test_submit_run_logs_output_and_rerun(api: Any, train_nb: Path,
                                                jp_root_dir: Path) -> None:
    status, job = await api("jobs", "POST", {"notebook": "work/train.ipynb",
                                             "parameters": {"n": 4, "lr": 0.5}})
    assert status == 201, job
    assert job["state"] == "queued" and job["user"] == "alice"
    job = await wait_final(api, job["id"])
    assert job["state"] == "succeeded", job["error"]
    assert [e["state"] for e in job["events"] if e["state"]] == ["queued", "running",
                                                                "succeeded"]
    assert job["started"] and job["finished"]
    status, logs = await api(f"jobs/{job['id']}/logs")
    assert "step 3 0.5 x" in logs["text"] and logs["complete"]
    status, more = await api(f"jobs/{job['id']}/logs", params={"offset": logs["offset"]})
    assert more["text"] == ""
    output = jp_root_dir / job["outputs"]["notebook"]
    assert output.is_file() and job["outputs"]["notebook"].startswith("work/mlplat-outputs/")
    assert "step 3 0.5 x" in output.read_text()

    status, again = await api(f"jobs/{job['id']}/rerun", "POST", {"parameters": {"n": 2}})
    assert status == 201 and again["parent_id"] == job["id"]
    assert again["spec"]["parameters"] == {"n": 2, "lr": 0.5}
    again = await wait_final(api, again["id"])
    assert again["state"] == "succeeded"

    status, page = await api("jobs", params={"limit": 1})
    assert page["total"] == 2 and [j["id"] for j in page["jobs"]] == [again["id"]]
    status, page = await api("jobs", params={"state": "succeeded", "offset": 1})
    assert [j["id"] for j in page["jobs"]] == [job["id"]]
    status, page = await api("jobs", params={"notebook": "work/other.ipynb"})
    assert page["total"] == 0


async def test_failing_cell_fails_the_job_with_an_excerpt(api: Any, jp_root_dir: Path) -> None:
    write_notebook(jp_root_dir / "bad.ipynb", None, "x = 1", "raise ValueError('bad data')")
    _status, job = await api("jobs", "POST", {"notebook": "bad.ipynb"})
    job = await wait_final(api, job["id"])
    assert job["state"] == "failed"
    assert "ValueError: bad data" in job["error"]


async def test_cancel_ends_the_process_tree(api: Any, jp_root_dir: Path,
                                            mlplat_data_dir: Path) -> None:
    write_notebook(jp_root_dir / "slow.ipynb", None, "import time\ntime.sleep(120)")
    status, job = await api("jobs", "POST", {"notebook": "slow.ipynb"})
    deadline = time.monotonic() + 60
    while job["state"] != "running" and time.monotonic() < deadline:
        await asyncio.sleep(0.3)
        _, job = await api(f"jobs/{job['id']}")
    # the runner the job was started in (a warm runner or one started for it)
    store = JobStore(Database(f"sqlite:///{mlplat_data_dir / 'mlplat.db'}"))
    runner = psutil.Process(store.backend_ref(job["id"])["pid"])
    while not runner.children(recursive=True) and time.monotonic() < deadline:
        await asyncio.sleep(0.3)  # the kernel starts under the runner
    tree = [runner, *runner.children(recursive=True)]
    assert len(tree) >= 2, "kernel not started under the runner"
    status, job = await api(f"jobs/{job['id']}/cancel", "POST")
    assert status == 200 and job["state"] == "cancelled"
    _gone, alive = psutil.wait_procs(tree, timeout=10)
    assert not alive, f"left running: {alive}"
    status, err = await api(f"jobs/{job['id']}/cancel", "POST")
    assert status == 409 and "already cancelled" in err["message"]


@pytest.mark.parametrize(
    ("body", "status", "needle"),
    [
        ({"notebook": "nope.ipynb"}, 404, "nope.ipynb"),
        ({"notebook": "work/train.ipynb", "parameters": {"epochs": 3}}, 400, "epochs"),
        ({"notebook": "work/train.ipynb", "parameters": {"n": "three"}}, 400, "'n' must be int"),
        ({"notebook": "work/train.ipynb", "target": "gpu"}, 400, "valid: local"),
        ({"notebook": "work/train.ipynb", "runtime": "tf9"}, 400, "valid: default"),
        ({"notebook": "../etc/passwd.ipynb"}, 400, ".."),
        ({"notebook": "work/train.ipynb", "resources": {"cpu": "lots"}}, 400, "resources.cpu"),
        ({"parameters": {}}, 400, "exactly one of"),
        ({"notebook": "work/train.ipynb", "kind": "pytorch", "workers": 2}, 400,
         "needs a Kubernetes target"),
        ({"notebook": "work/train.ipynb", "files": [""]}, 400, "not a usable glob"),
        ({"notebook": "work/train.ipynb", "color": "red"}, 400, "color"),
        ("{not json", 400, "not valid JSON"),
    ],
)
async def test_bad_submit_is_4xx_and_leaves_nothing(api: Any, train_nb: Path, body: Any,
                                                    status: int, needle: str) -> None:
    got, err = await api("jobs", "POST", body)
    assert got == status, err
    assert needle in err["message"]
    _, page = await api("jobs")
    assert page["total"] == 0


async def test_unknown_job_and_bad_query(api: Any) -> None:
    assert (await api("jobs/jdoesnotexist"))[0] == 404
    assert (await api("jobs/jdoesnotexist/logs"))[0] == 404
    status, err = await api("jobs", params={"state": "exploded"})
    assert status == 400 and "exploded" in err["message"]
    status, err = await api("jobs", params={"limit": "many"})
    assert status == 400 and "limit" in err["message"]


async def test_restart_reconciles_a_lost_runner(jp_serverapp: Any, api: Any,
                                                jp_root_dir: Path) -> None:
    write_notebook(jp_root_dir / "slow.ipynb", None, "import time\ntime.sleep(120)")
    _status, job = await api("jobs", "POST", {"notebook": "slow.ipynb"})
    platform = jp_serverapp.web_app.settings["mlplat"]
    ref = platform.jobs.store.backend_ref(job["id"])
    runner = psutil.Process(ref["pid"])
    for p in [runner, *runner.children(recursive=True)]:
        p.kill()
    job = await wait_final(api, job["id"], timeout=30)
    assert job["state"] == "failed"
    assert "ended without reporting" in job["error"]


async def test_listing_is_limited_to_the_workbench_user(api: Any) -> None:
    status, err = await api("jobs", params={"user": "bob"})
    assert status == 403 and "only your own jobs" in err["message"]
    status, _page = await api("jobs", params={"user": "alice"})
    assert status == 200


async def test_cursor_pages_and_bad_paging_arguments(jp_serverapp: Any, api: Any) -> None:
    from jupyter_mlplat.jobs.schemas import JobSpec

    store = jp_serverapp.web_app.settings["mlplat"].jobs.store
    made = [store.create(spec=JobSpec(code=f"print({i})"), user="alice", name=f"c{i}",
                         outputs={}).id for i in range(7)]
    seen: list[str] = []
    params: dict[str, Any] = {"limit": 3}
    while True:
        status, page = await api("jobs", params=params)
        assert status == 200 and page["total"] == 7 and page["total_exact"] is True
        seen += [j["id"] for j in page["jobs"]]
        if page["next"] is None:
            break
        params = {"limit": 3, "cursor": page["next"]}
    assert sorted(seen) == sorted(made) and len(seen) == 7
    assert seen == [j["id"] for j in (await api("jobs"))[1]["jobs"]]
    status, err = await api("jobs", params={"cursor": "not-a-cursor"})
    assert status == 400 and "not a jobs cursor" in err["message"]
    _, first = await api("jobs", params={"limit": 3})
    status, err = await api("jobs", params={"cursor": first["next"], "offset": 3})
    assert status == 400 and "not both" in err["message"]
