"""What a schedule does at a due time: pure decisions, kept apart from the database and clock.

*Misfire*: a due time is *on time* while ``now - due <= grace``; otherwise no scheduler ran at
that moment (every server was down). Missed due times are never fired one by one (no burst of
catch-up runs after a long downtime): ``run_once`` fires one run for them, ``skip`` none.

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
    """Which due time to record a run for, at ``now``, for a schedule due at ``due``.

    Due times within ``grace`` are fired one by one (a slow tick loses none); those older than
    that were missed while no scheduler ran and are folded into one decision for the latest of
    them: one run (``run_once``) or one skipped record (``skip``). The next due time is then the
    first after the folded ones, which may already be due and on time.
    """
    if due > now:
        return Firing(None, False, due)
    if now - due <= grace:
        return Firing(due, True, cron.next_times(due, 1)[0])
    missed = max(cron.latest_at_or_before(now - grace) or due, due)
    span = f"{due.isoformat()} to {missed.isoformat()}" if missed > due else due.isoformat()
    next_fire = cron.next_times(missed, 1)[0]
    if policy == "run_once":
        return Firing(missed, True, next_fire,
                      f"fired once after downtime for the missed due time(s) {span} "
                      "(misfire policy run_once)")
    return Firing(missed, False, next_fire,
                  f"missed due time(s) {span} while no scheduler ran (misfire policy skip)")


Action = Literal["start", "skip", "replace"]


def concurrency_decision(policy: str, active_runs: int) -> Action:
    """Whether a firing starts, is skipped, or replaces the schedule's active runs."""
    if active_runs == 0 or policy == "allow":
        return "start"
    return "replace" if policy == "replace" else "skip"
