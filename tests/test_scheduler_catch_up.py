"""One scheduler tick handles every due time of a schedule up to the tick's start.

A tick that starts late (a restarted server's first one, a loaded machine) fires the due times
still within the misfire grace one by one, judged against its own start: the work it does meanwhile
cannot turn them into misfires of the next tick.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest

from jupyter_mlplat.config import load_config, write_config_file
from jupyter_mlplat.platform import Platform
from jupyter_mlplat.runs.scheduler import Scheduler
from jupyter_mlplat.runs.schemas import ScheduleRequest

from .helpers import write_notebook

UTC = dt.timezone.utc


@pytest.fixture
def platform(tmp_path: Path) -> Iterator[Platform]:
    root = tmp_path / "root"
    write_notebook(root / "tick.ipynb", "n = 0", "print('tick', n)")
    config = load_config({"user": "alice", "data_dir": str(tmp_path / "data"),
                          "limits": {"min_schedule_interval": 0}})
    plat = Platform(config, root, write_config_file(config, tmp_path / "platform.json"))
    yield plat
    plat.close()


def test_a_late_tick_fires_each_due_time_within_grace_once(platform: Platform) -> None:
    now = dt.datetime.now(UTC).replace(microsecond=0)
    start = now.replace(second=now.second // 10 * 10) + dt.timedelta(seconds=5)  # hh:mm:s5
    sched = platform.schedules.create(ScheduleRequest(
        notebook="tick.ipynb", cron="*/10 * * * * *", misfire_policy="skip",
        concurrency_policy="forbid"), "alice", now=start - dt.timedelta(seconds=35))
    scheduler = Scheduler(platform.schedules, lease=30, grace=60)
    try:
        touched = scheduler.tick(now=start)
        runs = sorted(platform.runs.page(schedule_id=sched.id).runs,
                      key=lambda r: r.due_time or start)
        assert len(touched) == len(runs) == 3  # three due times in 35 s, within the grace
        assert [r.due_time for r in runs] == sorted({r.due_time for r in runs})
        assert not [r for r in runs if "misfire" in " ".join(r.warnings) + (r.error or "")]
        assert runs[0].job_id is not None
        assert [r.state.value for r in runs[1:]] == ["skipped", "skipped"]  # forbid
        assert all("concurrency policy forbid" in (r.error or "") for r in runs[1:])
        nxt = platform.schedules.get(sched.id).next_fire
        assert nxt is not None and nxt > start
        assert scheduler.tick(now=start) == []  # nothing left for this instant
    finally:
        for run in platform.runs.page(schedule_id=sched.id).runs:
            if run.job_id and not platform.jobs.get(run.job_id).state.final:
                platform.jobs.cancel(run.job_id)


def test_a_taken_over_claim_whose_job_was_submitted_records_that_job(platform: Platform) -> None:
    """A server died after submitting a firing's job but before recording it in the run: the
    server taking the claim over records that job; it does not judge the firing again (here
    the forbid policy would have skipped it while the job runs unrecorded)."""
    from jupyter_mlplat.jobs.schemas import JobSpec
    from jupyter_mlplat.runs.orm import RunRow

    now = dt.datetime.now(UTC).replace(microsecond=0)
    sched = platform.schedules.create(ScheduleRequest(
        notebook="tick.ipynb", cron="0 0 1 1 *", concurrency_policy="forbid"), "alice", now=now)
    claim = dict(user="alice", notebook="tick.ipynb", parameters={}, trigger="schedule",
                 schedule_id=sched.id, status="claimed", warnings=[],
                 spec={"notebook": "tick.ipynb"})
    with platform.db.session() as s:  # another firing, still active (its claim is held)
        s.add(RunRow(id="ractive000001", due_time=now - dt.timedelta(seconds=20),
                     lease_owner="live-server", lease_until=now + dt.timedelta(minutes=5),
                     **claim))
        s.add(RunRow(id="rdeadsubmit01", due_time=now - dt.timedelta(seconds=10),
                     lease_owner="dead-server", lease_until=now - dt.timedelta(seconds=1),
                     **claim))
    job = platform.jobs.store.create(
        spec=JobSpec(notebook="tick.ipynb", client_request_id="run-rdeadsubmit01"),
        user="alice", name="tick", outputs={})
    platform.jobs.store.add_event(job.id, "started by the dead server")
    assert "rdeadsubmit01" in Scheduler(platform.schedules, lease=30, grace=60).tick(now=now)
    run = platform.runs.get("rdeadsubmit01")
    assert run.job_id == job.id and run.state.value == "queued", run
