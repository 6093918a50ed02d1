"""Jobs in the database: create, read, page, and state transitions that cannot race.

A transition is one conditional UPDATE (``WHERE state IN (...)``), so a runner finishing and a
user cancelling at the same moment cannot both win, whichever process they run in.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Iterable
from typing import Any

from sqlalchemy import ColumnElement, Select, func, literal, or_, select, union_all, update
from sqlalchemy.exc import IntegrityError

from ..db import JOB_EVENTS_CHANNEL, Database, JobEventRow, JobRow, notify, utcnow
from ..errors import InvalidRequest, NotFound
from ..parameters import STORED
from .cursor import decode as decode_cursor
from .cursor import encode as encode_cursor
from .schemas import ACTIVE_STATES, Job, JobEvent, JobPage, JobSpec, JobState

#: Matches counted at most per page; above it ``total`` is a lower bound (like a search engine's
#: "10,000+ results"): an exact count of 100,000 jobs costs more than the page itself.
TOTAL_CAP = 10_000


#: Characters kept of an error or event message (listings carry no unbounded field).
MESSAGE_MAX = 4000
#: Notes (events without a state: Kubernetes events, build progress) kept per job; a pod that
#: crash-loops for days would otherwise grow its job's timeline without end. State changes are
#: always recorded.
NOTES_MAX = 500


def clip(text: str, limit: int = MESSAGE_MAX) -> str:
    """``text``, or its start and end around a marker when it is longer than ``limit``."""
    if len(text) <= limit:
        return text
    half = (limit - 20) // 2
    return f"{text[:half]}\n[… {len(text) - 2 * half} characters …]\n{text[-half:]}"


def new_job_id() -> str:
    return "j" + secrets.token_hex(6)


def to_model(row: JobRow | Any, events: Iterable[JobEventRow | Any] = ()) -> Job:
    """A job from an ORM row or a plain result row (same column names)."""
    return Job(
        id=row.id, name=row.name, user=row.user, state=JobState(row.state),
        spec=JobSpec.model_validate(row.spec, context={STORED: True}), created=row.created,
        started=row.started, finished=row.finished, error=row.error,
        image=row.image, k8s_object=row.k8s_object, outputs=row.outputs or {},
        parent_id=row.parent_id, replicas=list((row.backend_ref or {}).get("replicas", [])),
        events=[JobEvent(time=e.time, state=e.state, message=e.message)
                for e in events],
    )


def _page_keys(conds: list[ColumnElement[bool]], after: list[ColumnElement[bool]],
               states: list[str] | None, notebook: str | None, limit: int,
               offset: int) -> Select[str, dt.datetime]:
    """``(id, created)`` of a page, newest first, each filter read as one index range.

    ``conds`` filter all but the state, ``after`` is the cursor's position.

    Several states (or a notebook, whose index has the state before the sort key) give several
    ranges of ``(user, [notebook,] state, created, id)``: one newest-first arm per state,
    merged. A single ``state IN (...)`` would make the planner either sort every match or walk
    all of the user's jobs to find the few active ones.
    """
    order = (JobRow.created.desc(), JobRow.id.desc())
    arms = states if states and len(states) > 1 else ([s.value for s in JobState]
                                                      if notebook and not states else None)
    if arms is None:
        where = [*conds, JobRow.state.in_(states)] if states else conds
        return (select(JobRow.id, JobRow.created).where(*where, *after).order_by(*order)
                .limit(limit).offset(offset))
    parts = [select(JobRow.id, JobRow.created).where(*conds, JobRow.state == st, *after)
             .order_by(*order).limit(limit + offset).subquery() for st in arms]
    merged = union_all(*(select(p.c.id, p.c.created) for p in parts)).subquery()
    return (select(merged.c.id, merged.c.created)
            .order_by(merged.c.created.desc(), merged.c.id.desc()).limit(limit).offset(offset))


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
                notify(s, JOB_EVENTS_CHANNEL)
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
             offset: int = 0, cursor: str | None = None) -> JobPage:
        """A page of jobs, newest first: after ``cursor`` (keyset) or after ``offset`` jobs.

        ``next`` is the cursor of the following page (None on the last one). ``total`` counts
        the matches up to ``TOTAL_CAP``: exact below it, a lower bound (``total_exact`` false)
        above it, so the count costs at most that many index entries however many jobs exist.
        """
        if cursor is not None and offset:
            raise InvalidRequest("give either `cursor` (the `next` of a previous page) or "
                                 "`offset`, not both", reason="invalid")
        conds: list[ColumnElement[bool]] = []
        if user:
            conds.append(JobRow.user == user)
        if notebook:
            conds.append(JobRow.notebook == notebook)
        if target:
            conds.append(JobRow.target == target)
        after: list[ColumnElement[bool]] = []
        if cursor is not None:
            at = decode_cursor(cursor)
            # ``created <= c`` is a range on the sort key's index; the OR only drops the ties.
            after = [JobRow.created <= at.created,
                     or_(JobRow.created < at.created, JobRow.id < at.id)]
        with self.db.session() as s:
            # Page the keys on an index alone, one more than asked to learn whether a next page
            # exists; then load only the page's rows and their events, one query each.
            keys = list(s.execute(_page_keys(conds, after, state, notebook, limit + 1, offset)))
            more = len(keys) > limit
            keys = keys[:limit]
            ids = [k.id for k in keys]
            if cursor is None and offset == 0 and not more:
                total, exact = len(ids), True  # the first page holds every match
            else:
                where = [*conds, JobRow.state.in_(state)] if state else conds
                matches = select(literal(1)).select_from(JobRow).where(*where)
                counted = s.scalar(select(func.count()).select_from(
                    matches.limit(TOTAL_CAP + 1).subquery())) or 0
                total, exact = min(counted, TOTAL_CAP), counted <= TOTAL_CAP
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
        following = encode_cursor(keys[-1].created, keys[-1].id) if more else None
        return JobPage(jobs=jobs, total=total, total_exact=exact, limit=limit, offset=offset,
                       next=following)

    def active(self, target_kinds: Iterable[str] | None = None) -> list[Job]:
        with self.db.session() as s:
            rows = s.scalars(select(JobRow).where(
                JobRow.state.in_([st.value for st in ACTIVE_STATES]))).all()
            return [to_model(r) for r in rows]

    def transition(self, job_id: str, to: JobState, *, message: str = "",
                   only_from: Iterable[JobState] = ACTIVE_STATES, **fields: Any) -> bool:
        """Move to ``to`` if the job is in ``only_from``; record the event. False if it was not.

        The time is read once the conditional UPDATE holds the row's lock, so the events of a
        job (written from several threads and processes) are in time order as stored.
        """
        with self.db.session() as s:
            result = s.execute(
                update(JobRow).where(JobRow.id == job_id,
                                     JobRow.state.in_([st.value for st in only_from]))
                .values(state=to.value)
            )
            if result.rowcount == 0:  # type: ignore[attr-defined]
                return False
            now = utcnow()
            values: dict[str, Any] = dict(fields)
            if isinstance(values.get("error"), str):
                values["error"] = clip(values["error"])
            if to is JobState.running:
                values.setdefault("started", now)
            if to.final:
                values.setdefault("finished", now)
            if values:
                s.execute(update(JobRow).where(JobRow.id == job_id).values(**values))
            s.add(JobEventRow(job_id=job_id, time=now, state=to.value,
                              message=clip(message or to.value)))
            notify(s, JOB_EVENTS_CHANNEL)
        return True

    def last_event_id(self) -> int:
        """The id of the newest event of any job (0 if none): where a feed starts."""
        with self.db.session() as s:
            return int(s.scalar(select(func.max(JobEventRow.id))) or 0)

    def events_after(self, event_id: int,
                     limit: int = 500) -> list[tuple[int, str, str, str, JobEvent]]:
        """Events newer than ``event_id``, oldest first, as ``(event id, job id, the job's
        user, the job's state now, event)``: one range of the primary key."""
        with self.db.session() as s:
            rows = s.execute(
                select(JobEventRow.id, JobEventRow.job_id, JobEventRow.time, JobEventRow.state,
                       JobEventRow.message, JobRow.user, JobRow.state.label("job_state"))
                .join(JobRow, JobRow.id == JobEventRow.job_id)
                .where(JobEventRow.id > event_id).order_by(JobEventRow.id).limit(limit)).all()
        return [(r.id, r.job_id, r.user, r.job_state,
                 JobEvent(time=r.time, state=r.state, message=r.message)) for r in rows]

    def count(self, *, user: str, state: JobState) -> int:
        """Jobs of ``user`` in ``state`` (an index range: user, state)."""
        with self.db.session() as s:
            return s.scalar(select(func.count()).select_from(JobRow).where(
                JobRow.user == user, JobRow.state == state.value)) or 0

    def update(self, job_id: str, **fields: Any) -> None:
        with self.db.session() as s:
            s.execute(update(JobRow).where(JobRow.id == job_id).values(**fields))

    def merge_backend_ref(self, job_id: str, **ref: Any) -> None:
        """Add ``ref``'s keys to the job's backend reference, atomically.

        Writers race here (a submit recording where its object is, a watcher recording the
        events it has seen): the no-op UPDATE takes the row's write lock before the read, so
        neither can write back a value read before the other's commit (on SQLite the read
        would otherwise run outside any transaction; on PostgreSQL it holds the row lock).
        """
        with self.db.session() as s:
            locked = s.execute(update(JobRow).where(JobRow.id == job_id)
                               .values(backend_ref=JobRow.backend_ref)
                               .execution_options(synchronize_session=False))
            if locked.rowcount == 0:  # type: ignore[attr-defined]
                raise NotFound(f"no job {job_id!r}")
            row = s.get(JobRow, job_id, populate_existing=True)
            assert row is not None
            row.backend_ref = {**(row.backend_ref or {}), **ref}

    def add_event(self, job_id: str, message: str, state: JobState | None = None) -> None:
        with self.db.session() as s:
            # the row's lock first, then the time: events stay in time order (see transition)
            s.execute(update(JobRow).where(JobRow.id == job_id).values(state=JobRow.state)
                      .execution_options(synchronize_session=False))
            if state is None:
                notes = s.scalar(select(func.count()).select_from(JobEventRow).where(
                    JobEventRow.job_id == job_id, JobEventRow.state.is_(None))) or 0
                if notes > NOTES_MAX:
                    return
                if notes == NOTES_MAX:
                    message = (f"(further notes of this job are not recorded: {NOTES_MAX} "
                               "kept; its log has everything)")
            s.add(JobEventRow(job_id=job_id, time=utcnow(),
                              state=None if state is None else state.value,
                              message=clip(message)))
            notify(s, JOB_EVENTS_CHANNEL)

    def delete(self, job_id: str) -> None:
        with self.db.session() as s:
            row = s.get(JobRow, job_id)
            if row is not None:
                s.delete(row)
