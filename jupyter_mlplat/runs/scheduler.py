"""The in-server scheduler of ``local`` schedules: claim due times with a database row lease.

Exactly once per due time, with any number of servers on one database:

1. a tick reads the schedules whose ``next_fire`` has come and whose lease is free;
2. it claims one with a *conditional* UPDATE — ``SET next_fire=<next>, lease_owner=<me>,
   lease_until=<now+lease> WHERE id=? AND next_fire=<due> AND (lease_until IS NULL OR
   lease_until < now)`` — and, in the same transaction, inserts the run of that due time. Only
   one UPDATE can match a given ``next_fire`` (PostgreSQL re-checks the WHERE of a waiting
   UPDATE against the committed row; SQLite serializes writers), and ``UNIQUE(schedule_id,
   due_time)`` on runs is the backstop;
3. after the commit it applies the concurrency policy, submits the job (keyed by the run id, so
   a repeat returns the same job) and releases the schedule's lease. While the lease is held no
   other server claims that schedule, which makes the concurrency check race-free.

A server that dies after step 2 leaves a ``claimed`` run whose lease expires; any server's next
tick takes the lease of that run and submits it (step 3): the firing is late, never lost, never
doubled. A due time that passed while no server ran is handled by the misfire policy.

A server fires only its own user's schedules: servers of several users may share one database,
and a firing runs with the server's files and credentials, which are its user's alone.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import secrets
import socket

from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError

from ..db import utcnow
from ..errors import NotFound
from .orm import RunRow, ScheduleRow
from .policies import concurrency_decision, misfire_decision
from .schedules import ScheduleService
from .schemas import RunState, RunStatus

log = logging.getLogger(__name__)
#: Bound on the due times of one schedule handled in one tick (a seconds cron, a long grace).
MAX_FIRINGS_PER_TICK = 1000


def owner_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


class Scheduler:
    """One tick fires what is due; the server extension calls :meth:`tick` periodically."""

    def __init__(self, schedules: ScheduleService, *, owner: str | None = None,
                 lease: float = 60.0, grace: float = 60.0) -> None:
        self.schedules = schedules
        self.runs = schedules.runs
        self.db = schedules.db
        self.user = schedules.config.user
        self.owner = owner or owner_id()
        self.lease = dt.timedelta(seconds=lease)
        self.grace = dt.timedelta(seconds=grace)

    def tick(self, now: dt.datetime | None = None) -> list[str]:
        """Claim and start every due firing and every abandoned claim; the runs touched.

        Whether a due time is late is judged against the tick's start (``now``), and a
        schedule's due times up to it are all handled in this tick: a tick slowed down by the
        jobs it starts (a server just restarted, a loaded machine) does not turn the due times
        that are on time into misfires of the next tick.
        """
        now = now or utcnow()
        touched: list[str] = []
        for row in self._due(now):
            try:
                touched.extend(self._fire(row, now))
            except Exception:
                log.exception("scheduler: firing schedule %s failed", row.id)
        for run_id, schedule_id in self._abandoned(now):
            try:
                if self._take_over(run_id, now):
                    touched.append(run_id)
                    try:
                        row = self.schedules.row(schedule_id)
                    except NotFound:  # deleted after it fired: the firing still happens
                        self.runs.start(run_id)
                        continue
                    self._start(run_id, row)
            except Exception:
                log.exception("scheduler: recovering run %s failed", run_id)
        try:
            touched.extend(self.schedules.import_cronjob_runs())
        except Exception:
            log.exception("scheduler: importing the runs of CronJobs failed")
        return touched

    # -- steps -----------------------------------------------------------------------------
    def _fire(self, row: ScheduleRow, now: dt.datetime) -> list[str]:
        """Claim and start the schedule's due times up to ``now``, one after the other."""
        touched: list[str] = []
        for _ in range(MAX_FIRINGS_PER_TICK):
            run_id = self._claim(row, now)
            if run_id is None:
                break
            touched.append(run_id)
            self._start(run_id, row)
            with self.db.session() as s:
                fresh = s.get(ScheduleRow, row.id)
            next_fire = fresh.next_fire if fresh is not None else None
            if fresh is None or fresh.paused or next_fire is None or next_fire > now:
                break
            row = fresh
        return touched

    def _free(self, now: dt.datetime) -> object:
        return or_(ScheduleRow.lease_until.is_(None), ScheduleRow.lease_until < now)

    def _due(self, now: dt.datetime) -> list[ScheduleRow]:
        with self.db.session() as s:
            return list(s.scalars(select(ScheduleRow).where(
                ScheduleRow.executor == "local", ScheduleRow.user == self.user,
                ScheduleRow.paused.is_(False),
                ScheduleRow.next_fire.is_not(None), ScheduleRow.next_fire <= now,
                self._free(now))))  # type: ignore[arg-type]

    def _claim(self, row: ScheduleRow, now: dt.datetime) -> str | None:
        due = row.next_fire
        assert due is not None
        cron = self.schedules.cron_of(row.cron, row.timezone, row.executor)
        firing = misfire_decision(cron, due, now, row.misfire_policy, self.grace)
        if firing.due is None:
            return None
        # the lease runs from the wall clock: a tick that has been at work a while still
        # holds it for the whole lease while it starts the run
        lease_until = max(now, utcnow()) + self.lease
        claim = (update(ScheduleRow)
                 .where(ScheduleRow.id == row.id, ScheduleRow.next_fire == due,
                        ScheduleRow.paused.is_(False), self._free(now))  # type: ignore[arg-type]
                 .values(next_fire=firing.next_fire, last_fire=firing.due,
                         lease_owner=self.owner, lease_until=lease_until))
        try:
            with self.db.session() as s:
                if s.execute(claim).rowcount != 1:  # type: ignore[attr-defined]
                    return None  # another server claimed this due time, or it was edited
                return self.runs.insert_claimed(
                    s, schedule_id=row.id, due=firing.due, user=row.user,
                    request=self.schedules.request_of(row),
                    status=RunStatus.claimed if firing.start else RunStatus.skipped,
                    error=None if firing.start else firing.note,
                    warnings=[firing.note] if firing.start and firing.note else [],
                    lease_owner=self.owner, lease_until=lease_until)
        except IntegrityError:  # a run of this due time exists: never fire it twice
            log.warning("scheduler: schedule %s already has a run due %s", row.id, firing.due)
            with self.db.session() as s:
                s.execute(update(ScheduleRow).where(ScheduleRow.id == row.id,
                                                    ScheduleRow.next_fire == due)
                          .values(next_fire=firing.next_fire))
            return None

    def _start(self, run_id: str, schedule: ScheduleRow) -> None:
        try:
            run = self.runs.get(run_id)
            if run.state is not RunState.claimed:
                return  # skipped by the misfire policy
            if self.runs.jobs.store.find_by_request(run.user, f"run-{run_id}") is not None:
                # a server died after submitting this run's job: the policy was applied then,
                # so record that job instead of judging the firing again
                self.runs.start(run_id)
                return
            active = self.runs.active_runs(schedule.id, exclude=run_id)
            action = concurrency_decision(schedule.concurrency_policy, len(active))
            if action == "skip":
                ids = ", ".join(r.id for r in active)
                self.runs.settle(run_id, status=RunStatus.skipped,
                                  error=f"run {ids} of this schedule is still active "
                                        "(concurrency policy forbid)")
                return
            if action == "replace":
                for other in active:
                    self.runs.cancel(other)
            self.runs.start(run_id)
        finally:
            with self.db.session() as s:
                s.execute(update(ScheduleRow).where(ScheduleRow.id == schedule.id,
                                                    ScheduleRow.lease_owner == self.owner)
                          .values(lease_owner=None, lease_until=None))

    def _abandoned(self, now: dt.datetime) -> list[tuple[str, str]]:
        with self.db.session() as s:
            rows = s.execute(select(RunRow.id, RunRow.schedule_id).where(
                RunRow.status == RunStatus.claimed, RunRow.job_id.is_(None),
                RunRow.user == self.user,
                RunRow.schedule_id.is_not(None), RunRow.lease_until.is_not(None),
                RunRow.lease_until < now)).all()
        return [(r, sid) for r, sid in rows if sid is not None]

    def _take_over(self, run_id: str, now: dt.datetime) -> bool:
        with self.db.session() as s:
            result = s.execute(update(RunRow).where(
                RunRow.id == run_id, RunRow.status == RunStatus.claimed, RunRow.job_id.is_(None),
                RunRow.lease_until < now)
                .values(lease_owner=self.owner, lease_until=now + self.lease))
            return bool(result.rowcount == 1)  # type: ignore[attr-defined]
