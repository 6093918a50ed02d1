"""Runs: a notebook executed by papermill with parameters, as a job of the jobs service.

The jobs service executes (local runner, Kubernetes) and records state; this service adds what a
run history needs: the run row (trigger, schedule, due time, parameter warnings), pages by
notebook or schedule, a parameter diff between two runs, and reruns. The job is submitted with
``client_request_id = run id``, so starting a run twice (a scheduler that died after submitting,
another one recovering the run) returns the same job instead of a second one.
"""

from __future__ import annotations

import ast
import contextlib
import datetime as dt
import json
import secrets
import time
from pathlib import PurePosixPath
from typing import Any

from pydantic import ValidationError
from sqlalchemy import ColumnElement, func, select, update
from sqlalchemy.orm import Session

from .. import parameters as params
from ..changes import RUN_SCHEMA_ID, Changes
from ..containment import contain
from ..db import Database, JobRow, utcnow
from ..errors import Conflict, InvalidRequest, MLPlatError, NotFound
from ..jobs.schemas import ACTIVE_STATES, JobSpec, JobState
from ..jobs.service import OUTPUT_DIR, JobService
from .orm import RunRow
from .schemas import Run, RunDiff, RunPage, RunRequest, RunState, RunStatus

RUNS_DIR = "runs"
UTC = dt.timezone.utc


def validation_text(exc: ValidationError) -> str:
    return "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'body'}: {e['msg']}"
                     for e in exc.errors())


def new_run_id() -> str:
    return "r" + secrets.token_hex(6)


def diff_parameters(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    """Parameters of ``b`` against ``a``: added, removed, changed (``{a, b}``), unchanged."""
    return {
        "added": {k: b[k] for k in sorted(set(b) - set(a))},
        "removed": {k: a[k] for k in sorted(set(a) - set(b))},
        "changed": {k: {"a": a[k], "b": b[k]} for k in sorted(set(a) & set(b))
                    if a[k] != b[k] or type(a[k]) is not type(b[k])},
        "unchanged": {k: a[k] for k in sorted(set(a) & set(b))
                      if a[k] == b[k] and type(a[k]) is type(b[k])},
    }


def to_run(row: RunRow, job: JobRow | None, now: dt.datetime | None = None) -> Run:
    status = RunStatus(row.status)
    state = RunState(job.state) if job is not None else RunState(
        status.value if status is not RunStatus.submitted else "queued")
    started = job.started if job else None
    finished = job.finished if job else None
    duration = None
    if started is not None:
        duration = max(0.0, ((finished or now or dt.datetime.now(UTC)) - started).total_seconds())
    return Run(
        id=row.id, job_id=row.job_id, notebook=row.notebook, parameters=row.parameters or {},
        state=state, user=row.user, trigger=row.trigger,
        target=str(row.spec.get("target", "local")), created=row.created or utcnow(),
        started=started, finished=finished, duration=duration,
        output=(job.outputs or {}).get("notebook") if job else None,
        error=(job.error if job else None) or row.error, warnings=list(row.warnings or []),
        schedule_id=row.schedule_id, due_time=row.due_time, parent_id=row.parent_id,
    )


class RunService:
    def __init__(self, jobs: JobService, db: Database, changes: Changes | None = None) -> None:
        self.jobs = jobs
        self.db = db
        self.config = jobs.config
        self.changes = changes or Changes()
        jobs.on_delete.append(self._job_deleted)

    def _job_deleted(self, job: Any) -> None:
        """A deleted job takes its run with it (a run is the history's view of its job)."""
        gone = []
        with self.db.session() as s:
            for row in s.scalars(select(RunRow).where(RunRow.job_id == job.id)):
                gone.append((row.id, row.schedule_id))
                s.delete(row)
        for run_id, schedule_id in gone:
            self.changes.emit(RUN_SCHEMA_ID, kind="deleted", run_id=run_id, job_id=job.id,
                              schedule_id=schedule_id)

    def _changed(self, run_id: str, kind: str = "state") -> None:
        """Say that a run was created or changed state (its state read now)."""
        try:
            run = self.get(run_id)
        except NotFound:
            return
        self.changes.emit(RUN_SCHEMA_ID, kind=kind, run_id=run.id, state=run.state.value,
                          job_id=run.job_id, schedule_id=run.schedule_id)

    def runs_of_jobs(self, job_ids: list[str]) -> list[Run]:
        """The runs whose jobs are among ``job_ids`` (to say that their state changed)."""
        if not job_ids:
            return []
        with self.db.session() as s:
            rows = s.execute(select(RunRow, JobRow).join(JobRow, JobRow.id == RunRow.job_id)
                             .where(RunRow.job_id.in_(job_ids))).all()
            return [to_run(r, j) for r, j in rows]

    # -- checks ----------------------------------------------------------------------------
    def check(self, request: RunRequest) -> tuple[JobSpec, list[str]]:
        """The job spec of a run request, or a 400/404 before anything is stored.

        Unknown parameters and values of the wrong type are refused (the one check every entry
        point shares); a notebook without a ``parameters`` cell is not an error: papermill
        injects the values at the top, and the returned warning says so.
        """
        nb_path = self.jobs.resolve_notebook(request.notebook)
        notebook = self.jobs.relative(nb_path)
        warnings = params.validate(request.parameters, params.inspect(nb_path, notebook),
                                   self.config.limits.max_parameters_bytes)
        output: str | None
        if request.output and "://" in request.output:
            output = request.output  # a storage cluster: its target checks it at submit
        elif request.output is None and getattr(self.jobs.backend(request.target).target,
                                                "outputs", None):
            output = None  # the target keeps each job's outputs in its own hdfs:// location
        else:
            output = self.jobs.relative(contain(
                self.jobs.ctx.root_dir, request.output or (PurePosixPath(notebook).parent
                                                           / OUTPUT_DIR / RUNS_DIR).as_posix(),
                "output"))
        try:
            runtime = self.config.runtime_for(request.runtime).name
        except LookupError as exc:
            raise InvalidRequest(str(exc), reason="unknown runtime") from exc
        spec = JobSpec(notebook=notebook, parameters=request.parameters, target=request.target,
                       runtime=runtime, name=request.name, output=output,
                       timeout=request.timeout, resources=request.resources)
        self.jobs.backend(spec.target).validate(spec)
        return spec, warnings

    # -- create / start --------------------------------------------------------------------
    def create(self, request: RunRequest, user: str, *, trigger: str = "manual",
               parent_id: str | None = None) -> Run:
        """Check, record and start a run; a refused request leaves nothing behind."""
        spec, warnings = self.check(request)
        row = RunRow(id=new_run_id(), user=user, notebook=spec.notebook or "",
                     parameters=spec.parameters, trigger=trigger, parent_id=parent_id,
                     status=RunStatus.claimed, warnings=warnings,
                     spec=spec.model_dump(mode="json"),
                     created=utcnow())
        with self.db.session() as s:
            s.add(row)
        self._changed(row.id, "created")
        try:
            self.start(row.id)
        except MLPlatError as exc:
            if exc.status < 500:  # refused (a bad request, a limit): nothing stays
                self._delete_unstarted(row.id)
            raise
        return self.get(row.id)

    def insert_claimed(self, s: Session, *, schedule_id: str, due: dt.datetime, user: str,
                       request: RunRequest, status: RunStatus, error: str | None,
                       warnings: list[str], lease_owner: str, lease_until: dt.datetime) -> str:
        """The run of a schedule's due time, inside the transaction that claimed it."""
        run_id = new_run_id()
        s.add(RunRow(id=run_id, user=user, notebook=request.notebook,
                     parameters=request.parameters, trigger="schedule", schedule_id=schedule_id,
                     due_time=due, status=status, error=error, warnings=warnings,
                     spec=request.model_dump(mode="json"), lease_owner=lease_owner,
                     lease_until=lease_until, created=utcnow()))
        # heard once the claim is committed (listeners forward it on the server's loop)
        self.changes.emit(RUN_SCHEMA_ID, kind="created", run_id=run_id, state=status.value,
                          job_id=None, schedule_id=schedule_id)
        return run_id

    def start(self, run_id: str) -> Run:
        """Submit the run's job (idempotent: the job is keyed by the run id)."""
        row = self._row(run_id)
        if row.job_id is not None or row.status is not RunStatus.claimed:
            return self.get(run_id)
        if row.trigger == "schedule":
            try:
                spec, checked = self.check(RunRequest.model_validate(row.spec))
                warnings = [*(row.warnings or []), *checked]
            except MLPlatError as exc:
                self.settle(run_id, status=RunStatus.failed, error=exc.message)
                return self.get(run_id)
            except ValidationError as exc:  # stored before the checks of today
                self.settle(run_id, status=RunStatus.failed, error=validation_text(exc))
                return self.get(run_id)
        else:
            spec = JobSpec.model_validate(row.spec, context={params.STORED: True})
            warnings = list(row.warnings or [])
        spec = spec.model_copy(update={"client_request_id": f"run-{run_id}",
                                       "name": spec.name or PurePosixPath(row.notebook).stem})
        try:
            job = self.jobs.submit(spec, row.user)
        except MLPlatError as exc:
            existing = self.jobs.store.find_by_request(row.user, f"run-{run_id}")
            if existing is None:
                if row.trigger != "schedule":
                    raise
                self.settle(run_id, status=RunStatus.failed, error=exc.message)
                return self.get(run_id)
            job = existing
        self.settle(run_id, status=RunStatus.submitted, job_id=job.id, warnings=warnings)
        return self.get(run_id)

    def settle(self, run_id: str, **values: Any) -> None:
        with self.db.session() as s:
            s.execute(update(RunRow).where(RunRow.id == run_id)
                      .values(lease_owner=None, lease_until=None, **values))
        self._changed(run_id)

    def _delete_unstarted(self, run_id: str) -> None:
        with self.db.session() as s:
            row = s.get(RunRow, run_id)
            if row is not None and row.job_id is None:
                s.delete(row)
        self.changes.emit(RUN_SCHEMA_ID, kind="deleted", run_id=run_id, job_id=None,
                          schedule_id=None)

    # -- read ------------------------------------------------------------------------------
    def _row(self, run_id: str) -> RunRow:
        with self.db.session() as s:
            row = s.get(RunRow, run_id)
            if row is None:
                raise NotFound(f"no run {run_id!r}", reason="unknown run")
            return row

    def get(self, run_id: str, user: str | None = None) -> Run:
        with self.db.session() as s:
            row = s.get(RunRow, run_id)
            if row is None or (user is not None and row.user != user):
                raise NotFound(f"no run {run_id!r}", reason="unknown run")
            job = s.get(JobRow, row.job_id) if row.job_id else None
            return to_run(row, job)

    def page(self, *, notebook: str | None = None, schedule_id: str | None = None,
             user: str | None = None, limit: int = 50, offset: int = 0) -> RunPage:
        conds: list[ColumnElement[bool]] = []
        if notebook:
            conds.append(RunRow.notebook == self.normal_notebook(notebook))
        if schedule_id:
            conds.append(RunRow.schedule_id == schedule_id)
        if user:
            conds.append(RunRow.user == user)
        with self.db.session() as s:
            total = s.scalar(select(func.count()).select_from(RunRow).where(*conds)) or 0
            rows = s.execute(
                select(RunRow, JobRow).outerjoin(JobRow, JobRow.id == RunRow.job_id)
                .where(*conds).order_by(RunRow.created.desc(), RunRow.id.desc())
                .limit(limit).offset(offset)).all()
            now = utcnow()
            runs = [to_run(r, j, now) for r, j in rows]
        return RunPage(runs=runs, total=total, limit=limit, offset=offset)

    def normal_notebook(self, notebook: str) -> str:
        pure = PurePosixPath(notebook)
        if pure.is_absolute():
            try:
                return self.jobs.relative(self.jobs.ctx.root_dir / notebook)
            except ValueError:
                return notebook
        return pure.as_posix()

    def diff(self, a: str, b: str, user: str | None = None) -> RunDiff:
        """Parameters of b against a, the values each ran with (defaults filled in) and the
        metrics each one's job wrote."""
        ra, rb = self.get(a, user), self.get(b, user)
        used_a, defaulted_a = self._values_used(ra)
        used_b, defaulted_b = self._values_used(rb)
        return RunDiff.model_validate({
            "a": ra.id, "b": rb.id, **diff_parameters(ra.parameters, rb.parameters),
            "used_a": used_a, "used_b": used_b,
            "defaulted_a": defaulted_a, "defaulted_b": defaulted_b,
            "metrics_a": self._metrics(ra), "metrics_b": self._metrics(rb)})

    def _values_used(self, run: Run) -> tuple[dict[str, Any], list[str]]:
        """The run's parameters over its notebook's defaults (as literals), and which names
        took a default."""
        try:
            declared = self.jobs.inspect(run.notebook).parameters
        except MLPlatError:  # moved or deleted since: only what was given is known
            declared = []
        used: dict[str, Any] = {}
        defaulted: list[str] = []
        for param in declared:
            if param.name in run.parameters or param.default is None:
                continue
            try:
                value = ast.literal_eval(param.default)
                json.dumps(value)
            except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
                value = param.default  # an expression (or no JSON value): shown as written
            used[param.name] = value
            defaulted.append(param.name)
        used.update(run.parameters)
        return dict(sorted(used.items())), sorted(defaulted)

    def _metrics(self, run: Run) -> dict[str, float]:
        if run.job_id is None:
            return {}
        try:
            return self.jobs.metrics(run.job_id)
        except NotFound:
            return {}

    def rerun(self, run_id: str, parameters: dict[str, Any] | None = None,
              user: str | None = None) -> Run:
        """The run's notebook again, with its parameters except those given."""
        run = self.get(run_id, user)
        row = self._row(run_id)
        spec = dict(row.spec)
        request = RunRequest.model_validate({
            **{k: spec[k] for k in ("notebook", "target", "runtime", "name", "output",
                                    "timeout", "resources") if spec.get(k) is not None},
            "notebook": run.notebook,
            "parameters": {**run.parameters, **(parameters or {})},
        })
        return self.create(request, user or run.user, trigger="rerun", parent_id=run.id)

    def delete(self, run_id: str, outputs: bool = False, user: str | None = None) -> None:
        """Delete a finished run: its job (and, with ``outputs``, the job's output folder)
        with it. A run still going is refused (409): cancel it first."""
        run = self.get(run_id, user)
        if run.job_id is not None:
            if not run.state.final:
                raise Conflict(f"run {run_id} is {run.state.value}; cancel it first (POST "
                               f"jobs/{run.job_id}/cancel), then delete it",
                               reason="run active")
            with contextlib.suppress(NotFound):  # its job went first
                self.jobs.delete(run.job_id, outputs=outputs)
        elif run.state is RunState.claimed:
            raise Conflict(f"run {run_id} is being started; delete it once it has a state",
                           reason="run active")
        with self.db.session() as s:
            row = s.get(RunRow, run_id)
            if row is not None:
                s.delete(row)
        self.changes.emit(RUN_SCHEMA_ID, kind="deleted", run_id=run_id, job_id=run.job_id,
                          schedule_id=run.schedule_id)

    def active_runs(self, schedule_id: str, exclude: str | None = None) -> list[Run]:
        """Runs of a schedule that have not finished (claimed, or with an active job)."""
        with self.db.session() as s:
            rows = s.execute(
                select(RunRow, JobRow).outerjoin(JobRow, JobRow.id == RunRow.job_id)
                .where(RunRow.schedule_id == schedule_id, RunRow.id != (exclude or ""),
                       RunRow.status.in_([RunStatus.claimed, RunStatus.submitted]))).all()
            return [to_run(r, j) for r, j in rows
                    if (j is None and r.status is RunStatus.claimed)
                    or (j is not None and JobState(j.state) in ACTIVE_STATES)]

    def cancel(self, run: Run) -> None:
        if run.job_id is None:
            self.settle(run.id, status=RunStatus.skipped, error="replaced by a newer run")
            return
        with contextlib.suppress(Conflict):  # it finished meanwhile
            self.jobs.cancel(run.job_id)

    def wait(self, run_id: str, timeout: float | None = None, poll: float = 0.3) -> Run:
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            run = self.get(run_id)
            if run.job_id is not None:
                self.jobs.reconcile(run.job_id)
                run = self.get(run_id)
            if run.state.final or (deadline is not None and time.monotonic() > deadline):
                return run
            time.sleep(poll)
