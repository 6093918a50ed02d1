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
from jupyter_mlplat.runs.models import ScheduleRequest
from jupyter_mlplat.runs.scheduler import Scheduler

from .helpers import write_notebook

UTC = dt.timezone.utc


@pytest.fixture
def platform(tmp_path: Path) -> Iterator[Platform]:
    root = tmp_path / "root"
    write_notebook(root / "tick.ipynb", "n = 0", "print('tick', n)")
    config = load_config({"user": "alice", "data_dir": str(tmp_path / "data")})
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
