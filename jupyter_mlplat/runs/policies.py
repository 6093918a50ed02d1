"""What a schedule does at a due time: pure decisions, kept apart from the database and clock.

*Misfire*: a due time is *on time* while ``now - due <= grace``; otherwise no scheduler ran at
that moment (every server was down, or the schedule's claim failed). Only the most recent due
time can be on time; older missed ones are never fired one by one (no burst of catch-up runs
after a long downtime): ``run_once`` fires one run for them, ``skip`` fires none.

*Concurrency*: when the previous run of the schedule is still active, ``forbid`` skips this
firing, ``allow`` starts it anyway, ``replace`` cancels the active runs and starts it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal

from .cron import Cron

DEFAULT_GRACE = dt.timedelta(seconds=60)


@dataclass(frozen=True)
class Firing:
    """The decision for one claim of a schedule whose ``next_fire`` (``due``) has come."""

    #: the due time to record a run for (None: nothing is due yet)
    due: dt.datetime | None
    #: whether the run starts (False: it is recorded as skipped, with ``note`` as the reason)
    start: bool
    #: the schedule's next due time after this claim
    next_fire: dt.datetime
    note: str = ""


def misfire_decision(cron: Cron, due: dt.datetime, now: dt.datetime, policy: str,
                     grace: dt.timedelta = DEFAULT_GRACE) -> Firing:
    """Which due time to fire for, at ``now``, for a schedule due at ``due``."""
    next_fire = cron.next_times(now, 1)[0]
    if due > now:
        return Firing(None, False, due)
    latest = cron.latest_at_or_before(now) or due
    latest = max(latest, due)
    missed_before = latest > due
    if now - latest <= grace:
        note = (f"due times from {due.isoformat()} were missed while no scheduler ran"
                if missed_before else "")
        return Firing(latest, True, next_fire, note)
    span = (f"{due.isoformat()} to {latest.isoformat()}" if missed_before
            else due.isoformat())
    if policy == "run_once":
        return Firing(latest, True, next_fire,
                      f"fired once after downtime for the missed due time(s) {span} "
                      "(misfire policy run_once)")
    return Firing(latest, False, next_fire,
                  f"missed due time(s) {span} while no scheduler ran (misfire policy skip)")


Action = Literal["start", "skip", "replace"]


def concurrency_decision(policy: str, active_runs: int) -> Action:
    """Whether a firing starts, is skipped, or replaces the schedule's active runs."""
    if active_runs == 0 or policy == "allow":
        return "start"
    return "replace" if policy == "replace" else "skip"
