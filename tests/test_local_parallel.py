"""The local target runs at most ``max_parallel`` jobs; the rest wait queued, first in first out."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pytest

from .helpers import local_server_config, write_notebook

FINAL = {"succeeded", "failed", "cancelled"}


@pytest.fixture
def jp_server_config(mlplat_data_dir: Path) -> dict[str, Any]:
    return local_server_config(mlplat_data_dir, max_parallel=1)


async def test_one_slot_runs_jobs_one_after_another_in_submit_order(
        api: Any, jp_root_dir: Path) -> None:
    write_notebook(jp_root_dir / "q" / "nap.ipynb", "seconds = 1",
                   "import time\ntime.sleep(seconds)\nprint('done', seconds)")
    ids = []
    for _ in range(3):
        status, job = await api("jobs", "POST", {"notebook": "q/nap.ipynb",
                                                 "parameters": {"seconds": 2}})
        assert status == 201, job
        ids.append(job["id"])
    status, waiting = await api(f"jobs/{ids[1]}")
    assert waiting["state"] == "queued"
    assert any("waiting for a free slot: 1 of at most 1" in e["message"]
               for e in waiting["events"]), waiting["events"]

    # A waiting job can be cancelled; it never starts.
    status, third = await api(f"jobs/{ids[2]}/cancel", "POST")
    assert status == 200 and third["state"] == "cancelled", third

    most_at_once, jobs = 0, {}
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        for job_id in ids:
            jobs[job_id] = (await api(f"jobs/{job_id}"))[1]
        most_at_once = max(most_at_once, sum(j["state"] == "running" for j in jobs.values()))
        if all(j["state"] in FINAL for j in jobs.values()):
            break
        await asyncio.sleep(0.2)
    first, second, third = (jobs[i] for i in ids)
    assert (first["state"], second["state"], third["state"]) == (
        "succeeded", "succeeded", "cancelled"), jobs
    assert most_at_once == 1
    assert third["started"] is None
    # The second started only once the first had ended.
    assert second["started"] >= first["finished"], (first, second)
