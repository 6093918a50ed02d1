"""Runs and schedules REST API through a real Jupyter server, papermill and the scheduler loop."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from .helpers import RUN_FINAL, scheduling_server_config, write_notebook

FINAL = RUN_FINAL


@pytest.fixture
def jp_server_config(mlplat_data_dir: Path) -> dict[str, Any]:
    return scheduling_server_config(mlplat_data_dir)


@pytest.fixture
def report_nb(jp_root_dir: Path) -> Path:
    return write_notebook(
        jp_root_dir / "reports" / "daily.ipynb",
        "day: str = '2024-01-01'\nlimit: int = 3  # rows\nrate = 0.5\nflags = [1]\nopts = {}",
        "print(f'report {day} limit={limit} rate={rate} flags={flags} opts={opts}')",
    )


async def until(predicate: Callable[[], Any], timeout: float = 120, what: str = "") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = await predicate()
        if value:
            return value
        await asyncio.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}")


async def final_run(api: Any, run_id: str) -> dict[str, Any]:
    async def done() -> dict[str, Any] | None:
        status, run = await api(f"runs/{run_id}")
        assert status == 200, run
        return run if run["state"] in FINAL else None

    return await until(done, what=f"run {run_id}")  # type: ignore[no-any-return]


async def test_run_history_diff_rerun_and_output(api: Any, jp_fetch: Any, report_nb: Path,
                                                 jp_root_dir: Path) -> None:
    typed = {"day": "2024-05-01", "limit": 7, "rate": 0.25, "flags": [1, 2], "opts": {"a": True}}
    status, run = await api("runs", "POST", {"notebook": "reports/daily.ipynb",
                                             "parameters": typed})
    assert status == 201, run
    assert run["trigger"] == "manual" and run["job_id"] and run["warnings"] == []
    run = await final_run(api, run["id"])
    assert run["state"] == "succeeded", run["error"]
    assert run["parameters"] == typed and run["duration"] > 0
    assert run["output"].startswith("reports/mlplat-outputs/runs/")
    text = (jp_root_dir / run["output"]).read_text()
    assert "report 2024-05-01 limit=7 rate=0.25 flags=[1, 2] opts={'a': True}" in text
    resp = await jp_fetch("api", "contents", *run["output"].split("/"))  # opens in JupyterLab
    assert resp.code == 200

    status, again = await api(f"runs/{run['id']}/rerun", "POST",
                              {"parameters": {"limit": 9, "day": "2024-05-02"}})
    assert status == 201 and again["parent_id"] == run["id"] and again["trigger"] == "rerun"
    again = await final_run(api, again["id"])
    assert again["state"] == "succeeded"
    assert again["parameters"] == {**typed, "limit": 9, "day": "2024-05-02"}

    status, diff = await api("runs/diff", params={"a": run["id"], "b": again["id"]})
    assert status == 200
    assert diff["changed"] == {"day": {"a": "2024-05-01", "b": "2024-05-02"},
                               "limit": {"a": 7, "b": 9}}
    assert diff["added"] == {} and diff["removed"] == {}
    assert set(diff["unchanged"]) == {"rate", "flags", "opts"}

    status, page = await api("runs", params={"notebook": "reports/daily.ipynb"})
    assert status == 200 and page["total"] == 2
    assert [r["id"] for r in page["runs"]] == [again["id"], run["id"]]
    status, page = await api("runs", params={"notebook": "reports/other.ipynb"})
    assert page["total"] == 0
    status, job = await api(f"jobs/{run['job_id']}")  # one store of truth: the run is a job
    assert status == 200 and job["spec"]["parameters"] == typed


async def test_run_bad_input(api: Any, report_nb: Path, jp_root_dir: Path) -> None:
    status, err = await api("runs", "POST", {"notebook": "reports/daily.ipynb",
                                             "parameters": {"limit": "many"}})
    assert status == 400 and "limit" in err["message"] and "int" in err["message"]
    status, err = await api("runs", "POST", {"notebook": "reports/daily.ipynb",
                                             "parameters": {"lmit": 3}})
    assert status == 400 and "lmit" in err["message"] and "limit" in err["message"]
    status, err = await api("runs", "POST", {"notebook": "nope.ipynb"})
    assert status == 404
    status, err = await api("runs", "POST", {"notebook": "reports/daily.ipynb", "target": "x"})
    assert status == 400 and "target" in err["message"]
    status, page = await api("runs")
    assert page["total"] == 0, "a refused run leaves nothing behind"
    status, err = await api("runs/diff", params={"a": "rnope", "b": "rnope"})
    assert status == 404
    status, err = await api("runs/rnope")
    assert status == 404

    write_notebook(jp_root_dir / "plain.ipynb", None, "print('x is', x)")
    status, run = await api("runs", "POST", {"notebook": "plain.ipynb", "parameters": {"x": 5}})
    assert status == 201
    assert any("no cell tagged `parameters`" in w for w in run["warnings"])
    run = await final_run(api, run["id"])
    assert run["state"] == "succeeded"
    assert "x is 5" in (jp_root_dir / run["output"]).read_text()


async def test_schedules_crud_preview_and_400s(api: Any, report_nb: Path) -> None:
    status, prev = await api("schedules/preview", params={
        "cron": "30 2 * * *", "timezone": "Europe/Berlin", "count": "3"})
    assert status == 200 and prev["description"] == "At 02:30, every day"
    assert len(prev["next_fire_times"]) == 3
    assert all(t.endswith(("+01:00", "+02:00")) for t in prev["next_fire_times"])
    for params, field in [({"cron": "61 * * * *"}, "cron"), ({"cron": "* * *"}, "cron"),
                          ({"cron": "* * * * *", "timezone": "Mars/Olympus"}, "timezone")]:
        status, err = await api("schedules/preview", params=params)
        assert status == 400 and err["message"].startswith(field), err

    body = {"notebook": "reports/daily.ipynb", "cron": "0 9 * * 1-5",
            "timezone": "America/New_York", "parameters": {"limit": 5}}
    for bad, field in [({"cron": "0 25 * * *"}, "cron"), ({"timezone": "Nowhere"}, "timezone"),
                       ({"parameters": {"limit": "x"}}, "limit"),
                       ({"misfire_policy": "sometimes"}, "misfire_policy"),
                       ({"concurrency_policy": "queue"}, "concurrency_policy")]:
        status, err = await api("schedules", "POST", {**body, **bad})
        assert status == 400 and field in err["message"], err
    status, sched = await api("schedules", "POST", body)
    assert status == 201, sched
    assert sched["description"] == "At 09:00, on Monday through Friday"
    assert sched["misfire_policy"] == "run_once" and sched["concurrency_policy"] == "forbid"
    assert len(sched["next_fire_times"]) == 5 and sched["next_fire"]
    sid = sched["id"]

    status, got = await api(f"schedules/{sid}")
    assert status == 200 and got == sched
    status, page = await api("schedules")
    assert page["total"] == 1 and page["schedules"][0]["id"] == sid

    status, paused = await api(f"schedules/{sid}", "PATCH", {"paused": True})
    assert status == 200 and paused["paused"] and paused["next_fire"] is None
    status, resumed = await api(f"schedules/{sid}", "PATCH", {"paused": False})
    assert not resumed["paused"] and resumed["next_fire"]
    status, edited = await api(f"schedules/{sid}", "PATCH", {
        "cron": "15 * * * *", "timezone": "UTC", "concurrency_policy": "replace",
        "parameters": {"limit": 6}})
    assert status == 200, edited
    assert edited["description"] == "At minute 15 of every hour"
    assert edited["next_fire"].endswith(("15:00Z", "15:00+00:00"))
    assert edited["parameters"] == {"limit": 6} and edited["concurrency_policy"] == "replace"
    status, err = await api(f"schedules/{sid}", "PATCH", {"cron": "bad"})
    assert status == 400 and err["message"].startswith("cron")
    status, err = await api(f"schedules/{sid}", "PATCH", {"timezone": "Bad/Zone"})
    assert status == 400 and err["message"].startswith("timezone")

    status, _ = await api(f"schedules/{sid}", "DELETE")
    assert status == 204
    status, _ = await api(f"schedules/{sid}")
    assert status == 404
    status, _ = await api(f"schedules/{sid}", "DELETE")
    assert status == 404


async def test_schedule_fires_through_the_scheduler_loop(api: Any, report_nb: Path,
                                                         jp_root_dir: Path) -> None:
    status, sched = await api("schedules", "POST", {
        "notebook": "reports/daily.ipynb", "cron": "*/3 * * * * *", "parameters": {"limit": 1},
        "concurrency_policy": "allow"})
    assert status == 201, sched
    assert sched["description"] == "Every 3 seconds"
    sid = sched["id"]

    async def two_runs() -> list[dict[str, Any]] | None:
        _, page = await api("runs", params={"schedule_id": sid})
        return page["runs"] if page["total"] >= 2 else None

    runs = await until(two_runs, what="two firings")
    status, _ = await api(f"schedules/{sid}", "PATCH", {"paused": True})
    assert status == 200
    due = [r["due_time"] for r in runs]
    assert len(set(due)) == len(due), "one run per due time"
    assert all(r["trigger"] == "schedule" and r["parameters"] == {"limit": 1} for r in runs)
    first = await final_run(api, runs[-1]["id"])
    assert first["state"] == "succeeded", first["error"]
    assert "report 2024-01-01 limit=1" in (jp_root_dir / first["output"]).read_text()
    status, got = await api(f"schedules/{sid}")
    assert got["last_fire"] is not None and got["paused"]
    await api(f"schedules/{sid}", "DELETE")
