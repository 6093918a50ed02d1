"""What the job benchmarks share: one timed job through the jobs service, and percentiles."""

from __future__ import annotations

import time
from typing import Any


def timed_job(platform: Any, spec: Any, user: str, *, timeout: float = 120,
              poll: float = 0.02) -> tuple[float, float]:
    """(submit -> started, submit -> finished) in seconds, from the job's recorded times."""
    t0 = time.time()
    job = platform.jobs.submit(spec, user)
    job = platform.jobs.wait(job.id, timeout=timeout, poll=poll)
    assert job.state.value == "succeeded", (spec.target, job.state, job.error)
    assert job.started is not None and job.finished is not None
    return job.started.timestamp() - t0, job.finished.timestamp() - t0


def pct(values: list[float], q: float) -> float:
    """The ``q`` quantile (0..1) of ``values``, nearest rank."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]
