"""Schedules: a notebook, its parameters and a cron in a time zone; each firing is a run.

The pure parts live in :mod:`.cron` (validation, due times, words) and :mod:`.policies`
(misfire and concurrency decisions) and are re-exported here. This service stores schedules and
keeps ``next_fire`` right on every edit; the firing itself is :mod:`.scheduler`'s (executor
``local``) or a Kubernetes CronJob's (executor ``kubernetes``, through a ``CronJobs`` adapter).
"""

from __future__ import annotations

import datetime as dt
import secrets
from pathlib import PurePosixPath
from typing import Any

from sqlalchemy import func, select

from ..config import Resources
from ..db import Database, utcnow
from ..errors import Conflict, InvalidRequest, LimitExceeded, NotFound
from .cron import Cron, describe, parse, preview
from .executors import (
    CronJobs,
    KubernetesExecutor,
    LocalExecutor,
    ScheduleExecutor,
)
from .orm import ScheduleRow
from .policies import Firing, concurrency_decision, misfire_decision
from .schemas import (
    Run,
    RunRequest,
    Schedule,
    SchedulePage,
    SchedulePreview,
    ScheduleRequest,
    ScheduleUpdate,
)
from .service import RunService

__all__ = ["Cron", "CronJobs", "Firing", "ScheduleService", "concurrency_decision", "describe",
           "misfire_decision", "parse", "preview"]

UTC = dt.timezone.utc
PREVIEW_COUNT = 5


def new_schedule_id() -> str:
    return "s" + secrets.token_hex(6)


def to_schedule(row: ScheduleRow, now: dt.datetime | None = None) -> Schedule:
    cron = parse(row.cron, row.timezone)
    upcoming: list[dt.datetime] = []
    next_fire = row.next_fire
    if next_fire is not None and not row.paused:
        upcoming = [next_fire.astimezone(cron.zone),
                    *cron.next_times(next_fire, PREVIEW_COUNT - 1)]
    return Schedule(
        id=row.id, name=row.name, user=row.user, notebook=row.notebook,
        parameters=row.parameters or {}, target=row.target, runtime=row.runtime,
        output=row.output, timeout=row.timeout,
        resources=Resources.model_validate(row.resources or {}), cron=row.cron,
        timezone=row.timezone, description=describe(cron.expr),
        executor=row.executor,
        misfire_policy=row.misfire_policy,
        concurrency_policy=row.concurrency_policy,
        paused=row.paused, next_fire=next_fire, next_fire_times=upcoming,
        last_fire=row.last_fire, k8s_object=row.k8s_object,
        created=row.created or utcnow(), updated=row.updated or utcnow(),
    )


class ScheduleService:
    def __init__(self, runs: RunService, db: Database, cronjobs: CronJobs | None = None) -> None:
        self.runs = runs
        self.db = db
        self.config = runs.config
        executors: list[ScheduleExecutor] = [LocalExecutor(),
                                             KubernetesExecutor(self.config, cronjobs)]
        self.executors = {e.name: e for e in executors}

    def executor(self, name: str) -> ScheduleExecutor:
        return self.executors[name]

    # -- checks ----------------------------------------------------------------------------
    def cron_of(self, expr: str, timezone: str, executor: str) -> Cron:
        """A valid cron whose due times are at least ``limits.min_schedule_interval`` apart."""
        cron = parse(expr, timezone, allow_seconds=self.executor(executor).allows_seconds)
        least = self.config.limits.min_schedule_interval
        gap = cron.shortest_gap(utcnow())
        if gap is not None and gap < least:
            raise InvalidRequest(
                f"cron: {cron.expr!r} fires every {gap:g} s at times; schedules may fire at "
                f"most every {least:g} s (limits.min_schedule_interval)", reason="limit")
        return cron

    def _check_count(self, user: str) -> None:
        most = self.config.limits.max_schedules_per_user
        with self.db.session() as s:
            have = s.scalar(select(func.count()).select_from(ScheduleRow)
                            .where(ScheduleRow.user == user)) or 0
        if have >= most:
            raise LimitExceeded(f"you have {have} schedules, the most allowed "
                                f"(limits.max_schedules_per_user = {most}); delete one first")

    def _request(self, row: ScheduleRow) -> RunRequest:
        return RunRequest(notebook=row.notebook, parameters=row.parameters or {},
                          target=row.target, runtime=row.runtime, output=row.output,
                          timeout=row.timeout, name=row.name,
                          resources=Resources.model_validate(row.resources or {}))

    # -- API -------------------------------------------------------------------------------
    def preview(self, cron: str, timezone: str = "UTC", count: int = PREVIEW_COUNT,
                now: dt.datetime | None = None) -> SchedulePreview:
        words, times = preview(cron, timezone, count, now)
        return SchedulePreview(cron=" ".join(cron.split()), timezone=timezone,
                               description=words, next_fire_times=times)

    def create(self, req: ScheduleRequest, user: str, now: dt.datetime | None = None
               ) -> Schedule:
        cron = self.cron_of(req.cron, req.timezone, req.executor)
        self.executor(req.executor).check(req.target)
        self._check_count(user)
        spec, _warnings = self.runs.check(RunRequest(
            notebook=req.notebook, parameters=req.parameters, target=req.target,
            runtime=req.runtime, output=req.output, timeout=req.timeout,
            resources=req.resources))
        now = now or utcnow()
        notebook = spec.notebook or req.notebook
        row = ScheduleRow(
            id=new_schedule_id(), name=req.name or PurePosixPath(notebook).stem, user=user,
            notebook=notebook, parameters=req.parameters, target=req.target,
            runtime=spec.runtime or "", output=req.output, timeout=req.timeout,
            resources=req.resources.model_dump(), cron=cron.expr,
            timezone=req.timezone, executor=req.executor, misfire_policy=req.misfire_policy,
            concurrency_policy=req.concurrency_policy, paused=req.paused,
            next_fire=None if req.paused else cron.next_times(now, 1)[0],
            created=now, updated=now,
        )
        row.k8s_object = self.executor(row.executor).apply(row)
        with self.db.session() as s:
            s.add(row)
        return self.get(row.id)

    def row(self, schedule_id: str, user: str | None = None) -> ScheduleRow:
        with self.db.session() as s:
            row = s.get(ScheduleRow, schedule_id)
            if row is None or (user is not None and row.user != user):
                raise NotFound(f"no schedule {schedule_id!r}", reason="unknown schedule")
            return row

    def get(self, schedule_id: str, user: str | None = None) -> Schedule:
        return to_schedule(self.row(schedule_id, user))

    def page(self, *, notebook: str | None = None, user: str | None = None, limit: int = 50,
             offset: int = 0) -> SchedulePage:
        conds = []
        if notebook:
            conds.append(ScheduleRow.notebook == self.runs.normal_notebook(notebook))
        if user:
            conds.append(ScheduleRow.user == user)
        with self.db.session() as s:
            total = s.scalar(select(func.count()).select_from(ScheduleRow).where(*conds)) or 0
            rows = s.scalars(select(ScheduleRow).where(*conds)
                             .order_by(ScheduleRow.created.desc(), ScheduleRow.id.desc())
                             .limit(limit).offset(offset)).all()
        return SchedulePage(schedules=[to_schedule(r) for r in rows], total=total, limit=limit,
                            offset=offset)

    def update(self, schedule_id: str, change: ScheduleUpdate, user: str | None = None,
               now: dt.datetime | None = None) -> Schedule:
        """Edit; a new cron/zone or a resume recomputes the next due time from now.

        Due times that passed while a schedule was paused are not fired on resume.
        """
        row = self.row(schedule_id, user)
        fields = change.model_dump(exclude_unset=True)
        fields = {k: v for k, v in fields.items() if v is not None or k in ("timeout",)}
        merged = {c: getattr(row, c) for c in ("cron", "timezone", "parameters", "target",
                                               "runtime", "timeout", "paused", "notebook",
                                               "output", "resources")}
        merged.update(fields)
        cron = (self.cron_of(merged["cron"], merged["timezone"], row.executor)
                if {"cron", "timezone"} & set(fields)
                else parse(merged["cron"], merged["timezone"],
                           allow_seconds=self.executor(row.executor).allows_seconds))
        self.executor(row.executor).check(merged["target"])
        if {"parameters", "target", "runtime", "timeout", "notebook", "output",
                "resources"} & set(fields):
            spec, _warnings = self.runs.check(RunRequest(
                notebook=merged["notebook"], parameters=merged["parameters"],
                target=merged["target"], runtime=merged["runtime"], output=merged["output"],
                timeout=merged["timeout"],
                resources=Resources.model_validate(merged["resources"] or {})))
            if "notebook" in fields:  # stored as the jobs service names it (root-relative)
                fields["notebook"] = spec.notebook or merged["notebook"]
        now = now or utcnow()
        values: dict[str, Any] = {**fields, "cron": cron.expr, "updated": now}
        recompute = {"cron", "timezone"} & set(fields) or (
            "paused" in fields and row.paused and not merged["paused"])
        if merged["paused"]:
            values["next_fire"] = None
        elif recompute or row.next_fire is None:
            values["next_fire"] = cron.next_times(now, 1)[0]
        with self.db.session() as s:
            current = s.get(ScheduleRow, schedule_id)
            if current is None:
                raise NotFound(f"no schedule {schedule_id!r}", reason="unknown schedule")
            for key, value in values.items():
                setattr(current, key, value)
            applied = self.executor(current.executor).apply(current)
            if applied is not None:
                current.k8s_object = applied
        return self.get(schedule_id)

    def delete(self, schedule_id: str, user: str | None = None, runs: bool = False,
               outputs: bool = False) -> None:
        """Stop future firings (and remove the CronJob). The runs stay in the history, unless
        ``runs``: then they go too (with their jobs' output folders if ``outputs``); a run
        still going refuses the whole delete (409), before anything is removed."""
        row = self.row(schedule_id, user)
        fired = self._runs_of(schedule_id) if runs else []
        going = [r.id for r in fired if not r.state.final]
        if going:
            raise Conflict(f"{len(going)} run(s) of schedule {schedule_id} have not finished "
                           f"({', '.join(going[:5])}); cancel them first, or delete the "
                           "schedule and keep its runs", reason="runs active")
        self.executor(row.executor).remove(row)
        with self.db.session() as s:
            current = s.get(ScheduleRow, schedule_id)
            if current is not None:
                s.delete(current)
        for run in fired:
            self.runs.delete(run.id, outputs=outputs)

    def _runs_of(self, schedule_id: str) -> list[Run]:
        runs: list[Run] = []
        while True:
            page = self.runs.page(schedule_id=schedule_id, limit=500, offset=len(runs))
            runs.extend(page.runs)
            if not page.runs or len(runs) >= page.total:
                return runs

    def import_cronjob_runs(self) -> list[str]:
        """Record the firings that happened outside this server (CronJobs of ``kubernetes``
        schedules) and are not in the history yet.

        They fire without this server; it learns of their Jobs here, on every scheduler tick,
        so firings that happened while it was down appear once it is back.
        """
        # Only this workbench's user: its cluster credentials are that user's, and other
        # users' servers (sharing the database) import their own.
        user = self.config.user
        with self.db.session() as s:
            rows = list(s.scalars(select(ScheduleRow).where(ScheduleRow.user == user)))
        imported: list[str] = []
        for name, executor in self.executors.items():
            imported += executor.import_runs([r for r in rows if r.executor == name])
        return imported

    def request_of(self, row: ScheduleRow) -> RunRequest:
        return self._request(row)
