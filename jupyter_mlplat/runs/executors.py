"""Who fires a schedule, as types: this server's scheduler (``local``) or the cluster's CronJob
(``kubernetes``). A schedule names its executor; the schedules service asks that executor to
check, keep in sync and remove what fires it, and never tests the executor's name itself."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

from ..config import KubernetesTarget, PlatformConfig
from ..errors import InvalidRequest

if TYPE_CHECKING:
    from .orm import ScheduleRow


class CronJobs(Protocol):
    """What the ``kubernetes`` executor needs from a cluster (see :mod:`.cronjobs`)."""

    def apply(self, schedule: ScheduleRow) -> dict[str, Any]: ...

    def delete(self, schedule: ScheduleRow) -> None: ...

    def import_runs(self, schedules: list[ScheduleRow]) -> list[str]: ...


class ScheduleExecutor(Protocol):
    name: str
    #: whether a cron may name seconds (a CronJob's cannot)
    allows_seconds: bool

    def check(self, target: str) -> None:
        """Refuse a target this executor cannot fire on (400)."""

    def apply(self, row: ScheduleRow) -> dict[str, Any] | None:
        """Bring what fires the schedule in line with ``row``; the object it keeps, if any."""

    def remove(self, row: ScheduleRow) -> None:
        """Stop what fires the schedule."""

    def import_runs(self, rows: list[ScheduleRow]) -> list[str]:
        """Record firings that happened outside this server; the runs recorded."""


class LocalExecutor:
    """This server's scheduler fires the schedule (exactly once per due time, with a lease)."""

    name = "local"
    allows_seconds = True

    def check(self, target: str) -> None:
        return None

    def apply(self, row: ScheduleRow) -> dict[str, Any] | None:
        return None

    def remove(self, row: ScheduleRow) -> None:
        return None

    def import_runs(self, rows: list[ScheduleRow]) -> list[str]:
        return []


class KubernetesExecutor:
    """A CronJob of the target's cluster fires the schedule, also while JupyterLab is gone."""

    name = "kubernetes"
    allows_seconds = False

    def __init__(self, config: PlatformConfig, cronjobs: CronJobs | None) -> None:
        self.config = config
        self.cronjobs = cronjobs

    def check(self, target: str) -> None:
        kind = self.config.target(target).kind
        if not isinstance(self.config.target(target), KubernetesTarget):
            raise InvalidRequest(f"executor: `kubernetes` needs a kubernetes compute target; "
                                 f"{target!r} is {kind}", reason="invalid executor")
        if self.cronjobs is None:
            raise InvalidRequest("executor: this server has no Kubernetes CronJob support "
                                 "configured; use executor `local`", reason="invalid executor")

    def apply(self, row: ScheduleRow) -> dict[str, Any] | None:
        return None if self.cronjobs is None else self.cronjobs.apply(row)

    def remove(self, row: ScheduleRow) -> None:
        if self.cronjobs is not None:
            self.cronjobs.delete(row)

    def import_runs(self, rows: list[ScheduleRow]) -> list[str]:
        return [] if self.cronjobs is None or not rows else self.cronjobs.import_runs(rows)
