"""Deleting jobs, runs and schedules through a real Jupyter server: a job must be final (or be
cancelled first), and a delete leaves no row, log or (when asked) output file behind."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest

from .helpers import RUN_FINAL, scheduling_server_config, write_notebook, write_sleeping_notebook

FINAL = RUN_FINAL


@pytest.fixture
def jp_server_config(mlplat_data_dir: Path) -> dict[str, Any]:
    return scheduling_server_config(mlplat_data_dir)


def rows(data_dir: Path, sql: str, *args: Any) -> list[tuple[Any, ...]]:
    """Rows of the platform's SQLite database, read beside the server."""
    (db,) = [p for p in data_dir.rglob("*.db") if p.is_file()]
    with sqlite3.connect(db) as conn:
        return list(conn.execute(sql, args))


async def final(api: Any, kind: str, ident: str, timeout: float = 120) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status, item = await api(f"{kind}/{ident}")
        assert status == 200, item
        if item["state"] in FINAL:
            return item  # type: ignore[no-any-return]
        await asyncio.sleep(0.3)
    raise AssertionError(f"{kind}/{ident} did not finish")


async def test_delete_job_with_and_without_outputs(api: Any, jp_root_dir: Path,
                                                   mlplat_data_dir: Path) -> None:
    write_notebook(jp_root_dir / "nb" / "train.ipynb")
    ids = []
    for _ in range(2):
        status, job = await api("jobs", "POST", {"notebook": "nb/train.ipynb"})
        assert status == 201, job
        ids.append(job["id"])
    jobs = [await final(api, "jobs", i) for i in ids]
    assert [j["state"] for j in jobs] == ["succeeded", "succeeded"]
    folders = [jp_root_dir / j["outputs"]["folder"] for j in jobs]
    assert all((f / "train.ipynb").is_file() for f in folders)
    assert all((mlplat_data_dir / "jobs" / i).is_dir() for i in ids)

    status, _ = await api(f"jobs/{ids[0]}", "DELETE")  # the record only
    assert status == 204
    status, _ = await api(f"jobs/{ids[1]}", "DELETE", params={"outputs": "true"})
    assert status == 204

    for i in ids:
        status, answer = await api(f"jobs/{i}")
        assert status == 404 and answer["message"]
        assert not (mlplat_data_dir / "jobs" / i).exists()
        assert rows(mlplat_data_dir, "SELECT id FROM jobs WHERE id = ?", i) == []
        assert rows(mlplat_data_dir, "SELECT id FROM job_events WHERE job_id = ?", i) == []
    assert (folders[0] / "train.ipynb").is_file()  # kept: asked without outputs
    assert not folders[1].exists()
    status, page = await api("jobs")
    assert page["total"] == 0

    status, answer = await api(f"jobs/{ids[0]}", "DELETE")  # twice: 404 with a message
    assert status == 404 and ids[0] in answer["message"]
    status, answer = await api(f"jobs/{ids[0]}", "DELETE", params={"outputs": "maybe"})
    assert status == 400 and "outputs" in answer["message"]


async def test_an_active_job_is_refused_until_cancelled(api: Any, jp_root_dir: Path,
                                                        mlplat_data_dir: Path) -> None:
    write_sleeping_notebook(jp_root_dir / "sleep.ipynb")
    status, job = await api("jobs", "POST", {"notebook": "sleep.ipynb"})
    assert status == 201
    status, answer = await api(f"jobs/{job['id']}", "DELETE", params={"outputs": "true"})
    assert status == 409 and "cancel it first" in answer["message"]
    status, still = await api(f"jobs/{job['id']}")
    assert status == 200 and still["state"] not in FINAL

    status, _ = await api(f"jobs/{job['id']}/cancel", "POST")
    assert status == 200
    status, _ = await api(f"jobs/{job['id']}", "DELETE", params={"outputs": "true"})
    assert status == 204
    assert not (jp_root_dir / still["outputs"]["folder"]).exists()
    assert rows(mlplat_data_dir, "SELECT id FROM jobs") == []


async def test_delete_run_takes_its_job(api: Any, jp_root_dir: Path,
                                        mlplat_data_dir: Path) -> None:
    write_notebook(jp_root_dir / "report.ipynb")
    status, run = await api("runs", "POST", {"notebook": "report.ipynb",
                                             "parameters": {"n": 5}})
    assert status == 201, run
    run = await final(api, "runs", run["id"])
    output = jp_root_dir / run["output"]
    assert output.is_file()

    status, _ = await api(f"runs/{run['id']}", "DELETE", params={"outputs": "1"})
    assert status == 204
    assert (await api(f"runs/{run['id']}"))[0] == 404
    assert (await api(f"jobs/{run['job_id']}"))[0] == 404
    assert rows(mlplat_data_dir, "SELECT id FROM runs") == []
    assert rows(mlplat_data_dir, "SELECT id FROM jobs") == []
    assert not output.exists()

    # Deleting a run's job from the jobs list removes the run too (no run without its job).
    status, other = await api("runs", "POST", {"notebook": "report.ipynb"})
    other = await final(api, "runs", other["id"])
    status, _ = await api(f"jobs/{other['job_id']}", "DELETE")
    assert status == 204
    assert (await api(f"runs/{other['id']}"))[0] == 404
    assert rows(mlplat_data_dir, "SELECT id FROM runs") == []


async def test_delete_schedule_with_and_without_its_runs(api: Any, jp_root_dir: Path,
                                                         mlplat_data_dir: Path) -> None:
    write_notebook(jp_root_dir / "tick.ipynb")
    made = []
    for _ in range(2):
        status, schedule = await api("schedules", "POST", {
            "notebook": "tick.ipynb", "cron": "*/2 * * * * *", "timezone": "UTC"})
        assert status == 201, schedule
        made.append(schedule["id"])

    async def fired(schedule_id: str) -> list[dict[str, Any]]:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            _, page = await api("runs", params={"schedule_id": schedule_id})
            done = [r for r in page["runs"] if r["state"] in FINAL]
            if done:
                return page["runs"]  # type: ignore[no-any-return]
            await asyncio.sleep(0.3)
        raise AssertionError("no run fired")

    for sid in made:
        await fired(sid)
        status, _ = await api(f"schedules/{sid}", "PATCH", {"paused": True})
        assert status == 200
    for sid in made:  # let what already started finish
        _, page = await api("runs", params={"schedule_id": sid})
        for run in page["runs"]:
            await final(api, "runs", run["id"])

    keep, purge = made
    status, _ = await api(f"schedules/{keep}", "DELETE")
    assert status == 204
    _, page = await api("runs", params={"schedule_id": keep})
    assert page["total"] >= 1  # the history stays

    _, page = await api("runs", params={"schedule_id": purge})
    outputs = [jp_root_dir / r["output"] for r in page["runs"] if r["output"]]
    job_ids = [r["job_id"] for r in page["runs"] if r["job_id"]]
    assert outputs and job_ids
    status, _ = await api(f"schedules/{purge}", "DELETE",
                          params={"runs": "true", "outputs": "true"})
    assert status == 204
    assert (await api(f"schedules/{purge}"))[0] == 404
    _, page = await api("runs", params={"schedule_id": purge})
    assert page["total"] == 0
    assert rows(mlplat_data_dir, "SELECT id FROM runs WHERE schedule_id = ?", purge) == []
    for job_id in job_ids:
        assert rows(mlplat_data_dir, "SELECT id FROM jobs WHERE id = ?", job_id) == []
    assert not any(p.exists() for p in outputs)
    assert rows(mlplat_data_dir, "SELECT id FROM schedules") == []
