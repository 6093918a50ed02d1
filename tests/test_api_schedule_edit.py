"""A schedule is a job definition: every part of it can be edited through the REST API, and the
next firing runs what was saved."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pytest

from .helpers import RUN_FINAL, scheduling_server_config, write_notebook

FINAL = RUN_FINAL


@pytest.fixture
def jp_server_config(mlplat_data_dir: Path) -> dict[str, Any]:
    return scheduling_server_config(mlplat_data_dir)


async def test_edit_every_part_of_a_schedule(api: Any, jp_root_dir: Path) -> None:
    write_notebook(jp_root_dir / "a" / "daily.ipynb")
    write_notebook(jp_root_dir / "b" / "weekly.ipynb", "n: int = 1\nlabel = 'x'",
                   'print(f"weekly n={n} label={label}")')
    status, schedule = await api("schedules", "POST", {
        "notebook": "a/daily.ipynb", "cron": "0 6 * * *", "timezone": "UTC",
        "parameters": {"n": 4}, "paused": True})
    assert status == 201, schedule
    assert schedule["resources"] == {"cpu": None, "memory": None, "gpu": 0}

    # A parameter the new notebook does not declare is refused, and nothing changes.
    status, answer = await api(f"schedules/{schedule['id']}", "PATCH",
                               {"notebook": "b/weekly.ipynb", "parameters": {"lr": 0.1}})
    assert status == 400 and "lr" in answer["message"], answer
    status, same = await api(f"schedules/{schedule['id']}")
    assert same["notebook"] == "a/daily.ipynb" and same["parameters"] == {"n": 4}

    change = {"notebook": "b/weekly.ipynb", "parameters": {"n": 7, "label": "edited"},
              "resources": {"cpu": "500m", "memory": "1Gi", "gpu": 0},
              "output": "b/results", "timeout": 600, "cron": "*/2 * * * * *",
              "timezone": "Europe/Paris", "misfire_policy": "skip",
              "concurrency_policy": "allow", "name": "weekly-report"}
    status, edited = await api(f"schedules/{schedule['id']}", "PATCH", change)
    assert status == 200, edited
    for key, value in change.items():
        assert edited[key] == value, key
    status, answer = await api(f"schedules/{schedule['id']}", "PATCH",
                               {"resources": {"cpu": "lots"}})
    assert status == 400 and "quantity" in answer["message"]
    status, answer = await api(f"schedules/{schedule['id']}", "PATCH",
                               {"notebook": "../outside.ipynb"})
    assert status == 400, answer

    # Resumed, it fires the edited definition.
    status, _ = await api(f"schedules/{schedule['id']}", "PATCH", {"paused": False})
    assert status == 200
    deadline = time.monotonic() + 120
    run: dict[str, Any] = {}
    while time.monotonic() < deadline:
        _, page = await api("runs", params={"schedule_id": schedule["id"]})
        done = [r for r in page["runs"] if r["state"] in FINAL]
        if done:
            run = done[-1]
            break
        await asyncio.sleep(0.3)
    assert run, "the edited schedule did not fire"
    await api(f"schedules/{schedule['id']}", "PATCH", {"paused": True})
    assert run["state"] == "succeeded", run["error"]
    assert run["notebook"] == "b/weekly.ipynb"
    assert run["parameters"] == {"n": 7, "label": "edited"}
    assert run["output"].startswith("b/results/")
    status, job = await api(f"jobs/{run['job_id']}")
    assert job["spec"]["resources"] == {"cpu": "500m", "memory": "1Gi", "gpu": 0}
    assert job["spec"]["timeout"] == 600
    assert "weekly n=7 label=edited" in (jp_root_dir / run["output"]).read_text()


async def test_compare_shows_values_used_and_metrics(api: Any, jp_root_dir: Path) -> None:
    write_notebook(
        jp_root_dir / "fit.ipynb", "n: int = 3\nlr = 0.5\nmsg = 'hi'",
        "import json, os\n"
        "out = os.environ['MLPLAT_OUTPUT_DIR']\n"
        "json.dump({'auc': 0.5 + n / 100, 'loss': lr, 'note': 'text'},"
        " open(os.path.join(out, 'metrics.json'), 'w'))")
    runs = []
    for parameters in ({}, {"n": 9, "lr": 0.1}):
        status, run = await api("runs", "POST", {"notebook": "fit.ipynb",
                                                 "parameters": parameters})
        assert status == 201, run
        runs.append(run["id"])
    for run_id in runs:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            _, run = await api(f"runs/{run_id}")
            if run["state"] in FINAL:
                break
            await asyncio.sleep(0.3)
        assert run["state"] == "succeeded", run["error"]
    status, diff = await api("runs/diff", params={"a": runs[0], "b": runs[1]})
    assert status == 200, diff
    assert diff["used_a"] == {"n": 3, "lr": 0.5, "msg": "hi"}
    assert diff["defaulted_a"] == ["lr", "msg", "n"]
    assert diff["used_b"] == {"n": 9, "lr": 0.1, "msg": "hi"}
    assert diff["defaulted_b"] == ["msg"]
    assert diff["metrics_a"] == {"auc": 0.53, "loss": 0.5}  # numbers only
    assert diff["metrics_b"] == {"auc": 0.59, "loss": 0.1}
    assert diff["added"] == {"lr": 0.1, "n": 9}  # the given parameters, as before
