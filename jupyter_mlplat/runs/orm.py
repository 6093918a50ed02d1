"""Tables of runs and schedules.

Why a ``runs`` table next to ``jobs`` rather than more columns on ``jobs``:

* a scheduled firing must be recorded *before* its job exists. The scheduler claims a due time
  and inserts the run in one transaction; the job is submitted afterwards. A server that dies in
  between leaves a ``claimed`` run behind, which the next scheduler tick (on any server) submits:
  nothing is lost, and ``UNIQUE(schedule_id, due_time)`` makes a second row for the same due time
  impossible whatever happens;
* the job's state, timing, outputs and events stay in ``jobs`` (one store of truth): a run shows
  the state of its job; only what a job cannot know (the schedule, the due time, the warnings of
  the parameter check, a failure before any job could be made) lives here;
* the jobs table is owned by the jobs service; other feature areas add tables, not columns.

``schedule_id`` is not a foreign key on purpose: deleting a schedule stops its firings but keeps
its history of runs grouped under the old id.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Boolean, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Base, EnumText, UTCDateTime, utcnow
from .schemas import RunStatus


class ScheduleRow(Base):
    __tablename__ = "schedules"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    user: Mapped[str] = mapped_column(String(100), index=True)
    notebook: Mapped[str] = mapped_column(String(1000), index=True)
    parameters: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    target: Mapped[str] = mapped_column(String(100))
    runtime: Mapped[str] = mapped_column(String(100))
    output: Mapped[str | None] = mapped_column(String(1000))
    timeout: Mapped[int | None] = mapped_column()
    #: cpu, memory, gpu of the jobs it starts (null: the runtime's)
    resources: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    cron: Mapped[str] = mapped_column(String(200))
    timezone: Mapped[str] = mapped_column(String(100))
    executor: Mapped[str] = mapped_column(String(20))
    misfire_policy: Mapped[str] = mapped_column(String(20))
    concurrency_policy: Mapped[str] = mapped_column(String(20))
    paused: Mapped[bool] = mapped_column(Boolean, default=False)
    #: the next due time (UTC); the scheduler's claim compares and advances it atomically
    next_fire: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), index=True)
    last_fire: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    lease_owner: Mapped[str | None] = mapped_column(String(200))
    lease_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    k8s_object: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class RunRow(Base):
    __tablename__ = "runs"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    job_id: Mapped[str | None] = mapped_column(String(32), unique=True)
    user: Mapped[str] = mapped_column(String(100))
    notebook: Mapped[str] = mapped_column(String(1000), index=True)
    parameters: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    #: manual | rerun | schedule | cronjob
    trigger: Mapped[str] = mapped_column(String(20))
    schedule_id: Mapped[str | None] = mapped_column(String(32), index=True)
    due_time: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    parent_id: Mapped[str | None] = mapped_column(String(32))
    #: before a job exists: claimed | skipped | failed; then ``submitted`` (state: the job's)
    status: Mapped[RunStatus] = mapped_column(EnumText(RunStatus, 20))
    error: Mapped[str | None] = mapped_column(Text)
    warnings: Mapped[list[Any]] = mapped_column(JSON, default=list)
    spec: Mapped[dict[str, Any]] = mapped_column(JSON)
    lease_owner: Mapped[str | None] = mapped_column(String(200))
    lease_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    created: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)

    __table_args__ = (
        UniqueConstraint("schedule_id", "due_time", name="uq_runs_schedule_due"),
        Index("ix_runs_created", "created"),
    )
