"""Jobs as text: durations, times and the tables of ``mlp jobs`` and ``%mlp_jobs``."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence

from ..jobs.schemas import Job


def duration(job: Job, now: dt.datetime | None = None) -> float | None:
    """Seconds the job has run (or ran); None before it started."""
    if job.started is None:
        return None
    end = job.finished or now or dt.datetime.now(dt.timezone.utc)
    return max(0.0, (end - job.started).total_seconds())


def format_seconds(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{secs:02d}s"


def local_time(value: dt.datetime) -> str:
    return value.astimezone().strftime("%Y-%m-%d %H:%M:%S")


def job_source(job: Job) -> str:
    return job.spec.notebook or "(cell code)"


def table(rows: Sequence[Sequence[str]]) -> str:
    """Left-aligned columns, two spaces apart; the first row is the header."""
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip()
                     for r in rows)


def jobs_text(jobs: Sequence[Job]) -> str:
    """A plain-text table of jobs, newest first (as the store pages them)."""
    if not jobs:
        return "No jobs yet. Submit one with `mlp jobs submit NOTEBOOK` or `%mlp_submit`."
    rows = [("ID", "NAME", "STATE", "TARGET", "CREATED", "DURATION", "SOURCE")]
    rows += [(j.id, j.name, j.state.value, j.spec.target, local_time(j.created),
              format_seconds(duration(j)), job_source(j)) for j in jobs]
    return table(rows)


def job_text(job: Job) -> str:
    """One job with its timeline of events, for ``mlp jobs show``."""
    lines = [
        f"job       {job.id}",
        f"name      {job.name}",
        f"state     {job.state.value}",
        f"source    {job_source(job)}",
        f"target    {job.spec.target} (runtime {job.spec.runtime}, kind {job.spec.kind})",
        f"user      {job.user}",
        f"created   {local_time(job.created)}",
        f"duration  {format_seconds(duration(job))}",
    ]
    if job.spec.parameters:
        lines.append(f"params    {json.dumps(job.spec.parameters, default=str)}")
    if job.parent_id:
        lines.append(f"rerun of  {job.parent_id}")
    if job.image:
        lines.append(f"image     {job.image}")
    if job.k8s_object:
        k8s = job.k8s_object
        lines.append(f"object    {k8s.kind} {k8s.namespace}/{k8s.name}")
    if job.outputs.notebook:
        lines.append(f"output    {job.outputs.notebook}")
    if job.error:
        lines.append("error     " + job.error.replace("\n", "\n          "))
    lines.append("timeline")
    for ev in job.events:
        offset = (ev.time - job.created).total_seconds()
        state = ev.state.value if ev.state else ""
        lines.append(f"  {local_time(ev.time)}  +{offset:7.1f}s  {state:<10} {ev.message}")
    return "\n".join(lines)
