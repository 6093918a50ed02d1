"""Jobs in the database: create, read, page, and state transitions that cannot race.

A transition is one conditional UPDATE (``WHERE state IN (...)``), so a runner finishing and a
user cancelling at the same moment cannot both win, whichever process they run in.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Iterable
from typing import Any

from sqlalchemy import ColumnElement, func, select, update
from sqlalchemy.exc import IntegrityError

from ..db import Database, JobEventRow, JobRow, utcnow
from ..errors import NotFound
from .models import ACTIVE_STATES, Job, JobEvent, JobPage, JobSpec, JobState


def new_job_id() -> str:
    return "j" + secrets.token_hex(6)


def _aware(value: dt.datetime | None) -> dt.datetime | None:
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=dt.timezone.utc)
    return value


def to_model(row: JobRow | Any, events: Iterable[JobEventRow | Any] = ()) -> Job:
    """A job from an ORM row or a plain result row (same column names)."""
    return Job(
        id=row.id, name=row.name, user=row.user, state=JobState(row.state),
        spec=JobSpec.model_validate(row.spec), created=_aware(row.created),
        started=_aware(row.started), finished=_aware(row.finished), error=row.error,
        image=row.image, k8s_object=row.k8s_object, outputs=row.outputs or {},
        parent_id=row.parent_id, replicas=list((row.backend_ref or {}).get("replicas", [])),
        events=[JobEvent(time=_aware(e.time), state=e.state, message=e.message)
                for e in events],
    )


class JobStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    def create(self, *, spec: JobSpec, user: str, name: str, outputs: dict[str, Any],
               parent_id: str | None = None, message: str = "submitted") -> Job:
        """Insert a queued job; a repeated ``client_request_id`` returns the first job instead."""
        if spec.client_request_id:
            existing = self.find_by_request(user, spec.client_request_id)
            if existing is not None:
                return existing
        now = utcnow()
        row = JobRow(
            id=new_job_id(), name=name, user=user, state=JobState.queued.value,
            target=spec.target, notebook=spec.notebook, spec=spec.model_dump(mode="json"),
            created=now, outputs=outputs, backend_ref={}, parent_id=parent_id,
            client_request_id=spec.client_request_id,
        )
        try:
            with self.db.session() as s:
                s.add(row)
                s.flush()
                s.add(JobEventRow(job_id=row.id, time=now, state=JobState.queued.value,
                                  message=message))
        except IntegrityError:
            existing = self.find_by_request(user, spec.client_request_id or "")
            if existing is None:
                raise
            return existing
        return self.get(row.id)

    def find_by_request(self, user: str, request_id: str) -> Job | None:
        with self.db.session() as s:
            row = s.scalar(select(JobRow).where(JobRow.user == user,
                                                JobRow.client_request_id == request_id))
            return None if row is None else self._load(s, row)

    def _load(self, s: Any, row: JobRow) -> Job:
        events = s.scalars(
            select(JobEventRow).where(JobEventRow.job_id == row.id).order_by(JobEventRow.id)
        ).all()
        return to_model(row, events)

    def get(self, job_id: str) -> Job:
        with self.db.session() as s:
            row = s.get(JobRow, job_id)
            if row is None:
                raise NotFound(f"no job {job_id!r}", reason="unknown job")
            return self._load(s, row)

    def backend_ref(self, job_id: str) -> dict[str, Any]:
        with self.db.session() as s:
            row = s.get(JobRow, job_id)
            if row is None:
                raise NotFound(f"no job {job_id!r}", reason="unknown job")
            return dict(row.backend_ref or {})

    def page(self, *, state: list[str] | None = None, user: str | None = None,
             notebook: str | None = None, target: str | None = None, limit: int = 50,
             offset: int = 0) -> JobPage:
        conds: list[ColumnElement[bool]] = []
        if state:
            conds.append(JobRow.state.in_(state))
        if user:
            conds.append(JobRow.user == user)
        if notebook:
            conds.append(JobRow.notebook == notebook)
        if target:
            conds.append(JobRow.target == target)
        order = (JobRow.created.desc(), JobRow.id.desc())
        with self.db.session() as s:
            total = s.scalar(select(func.count()).select_from(JobRow).where(*conds)) or 0
            # Page the ids on an index alone (a deep offset skips index entries, not rows), then
            # load only the page's rows and their events, one query each.
            ids = list(s.scalars(select(JobRow.id).where(*conds).order_by(*order)
                                 .limit(limit).offset(offset)))
            # Plain rows, not ORM objects: a read-only page needs no identity map or tracking.
            rows: list[Any] = []
            events: dict[str, list[Any]] = {i: [] for i in ids}
            if ids:
                jobs_t, events_t = JobRow.__table__, JobEventRow.__table__
                rows = list(s.execute(select(jobs_t).where(jobs_t.c.id.in_(ids))
                                      .order_by(jobs_t.c.created.desc(), jobs_t.c.id.desc())))
                for ev in s.execute(select(events_t).where(events_t.c.job_id.in_(ids))
                                    .order_by(events_t.c.id)):
                    events[ev.job_id].append(ev)
            jobs = [to_model(r, events[r.id]) for r in rows]
        return JobPage(jobs=jobs, total=total, limit=limit, offset=offset)

    def active(self, target_kinds: Iterable[str] | None = None) -> list[Job]:
        with self.db.session() as s:
            rows = s.scalars(select(JobRow).where(
                JobRow.state.in_([st.value for st in ACTIVE_STATES]))).all()
            return [to_model(r) for r in rows]

    def transition(self, job_id: str, to: JobState, *, message: str = "",
                   only_from: Iterable[JobState] = ACTIVE_STATES, **fields: Any) -> bool:
        """Move to ``to`` if the job is in ``only_from``; record the event. False if it was not."""
        now = utcnow()
        values: dict[str, Any] = {"state": to.value, **fields}
        if to is JobState.running:
            values.setdefault("started", now)
        if to.final:
            values.setdefault("finished", now)
        with self.db.session() as s:
            result = s.execute(
                update(JobRow).where(JobRow.id == job_id,
                                     JobRow.state.in_([st.value for st in only_from]))
                .values(**values)
            )
            if result.rowcount == 0:  # type: ignore[attr-defined]
                return False
            s.add(JobEventRow(job_id=job_id, time=now, state=to.value,
                              message=message or to.value))
        return True

    def update(self, job_id: str, **fields: Any) -> None:
        with self.db.session() as s:
            s.execute(update(JobRow).where(JobRow.id == job_id).values(**fields))

    def merge_backend_ref(self, job_id: str, **ref: Any) -> None:
        with self.db.session() as s:
            row = s.get(JobRow, job_id)
            if row is None:
                raise NotFound(f"no job {job_id!r}")
            row.backend_ref = {**(row.backend_ref or {}), **ref}

    def add_event(self, job_id: str, message: str, state: JobState | None = None) -> None:
        with self.db.session() as s:
            s.add(JobEventRow(job_id=job_id, time=utcnow(),
                              state=None if state is None else state.value, message=message))

    def delete(self, job_id: str) -> None:
        with self.db.session() as s:
            row = s.get(JobRow, job_id)
            if row is not None:
                s.delete(row)
