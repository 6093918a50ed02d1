"""CronJob firings into the run history: each Job a CronJob created becomes one run.

The CronJob controller fires without us, so the history learns of a firing afterwards: the
scheduler tick (and the deletion of a schedule) lists the Jobs labelled with the schedule id and
records the ones it has not seen. The run id is derived from the Kubernetes Job's uid and the
run's job is keyed by it (``client_request_id``), so importing the same Job again, or from two
servers at once, records it once. The imported job then follows the Kubernetes Job like any
other cluster job (the backend's sync reads its ``Complete``/``Failed`` conditions); its times
are the cluster's, so firings that happened while no server ran show when they really ran.
"""

from __future__ import annotations

import hashlib
import logging
from collections import defaultdict
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from ..db import utcnow
from ..errors import MLPlatError
from ..jobs.k8s import manifests as mf
from ..jobs.k8s.states import k8s_time
from ..jobs.schemas import JobSpec
from .orm import RunRow, ScheduleRow
from .schemas import RunRequest, RunStatus
from .service import RunService

if TYPE_CHECKING:
    from ..jobs.backends.kubernetes import KubernetesBackend
    from .cronjobs import KubeCronJobs

log = logging.getLogger(__name__)

SCHEDULED_AT = "batch.kubernetes.io/cronjob-scheduled-timestamp"
TRIGGER = "cronjob"


def run_id_of(uid: str) -> str:
    """The run of a Kubernetes Job: the same uid always names the same run."""
    return "r" + hashlib.sha256(uid.encode()).hexdigest()[:12]


def import_runs(cronjobs: KubeCronJobs, rows: list[ScheduleRow]) -> list[str]:
    """Record a run for each not yet imported Job of these schedules' CronJobs."""
    groups: dict[tuple[str, str], dict[str, ScheduleRow]] = defaultdict(dict)
    for row in rows:
        backend = cronjobs.backend(row.target)
        groups[(row.target, backend.namespace(row.user))][row.id] = row
    runs = cronjobs.runs
    touched: list[str] = []
    for (target, namespace), schedules in groups.items():
        backend = cronjobs.backend(target)
        try:
            items = backend.api.jobs(namespace, mf.LABEL_SCHEDULE)
        except MLPlatError as exc:  # one unreachable cluster must not hold up the others
            log.warning("mlplat: listing the CronJob runs in %s on %s: %s", namespace, target,
                        exc.message)
            continue
        fresh = _not_imported(runs, items)
        for item in fresh:
            labels = item["metadata"].get("labels") or {}
            schedule = schedules.get(str(labels.get(mf.LABEL_SCHEDULE)))
            if schedule is None:
                continue
            run_id = import_job(runs, backend, schedule, item)
            if run_id is not None:
                touched.append(run_id)
    return touched


def _not_imported(runs: RunService, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    ids = {run_id_of(str(i["metadata"]["uid"])): i for i in items if i["metadata"].get("uid")}
    if not ids:
        return []
    with runs.db.session() as s:
        known = set(s.scalars(select(RunRow.id).where(RunRow.id.in_(list(ids)))))
    return sorted((i for r, i in ids.items() if r not in known),
                  key=lambda i: str(i["metadata"].get("creationTimestamp", "")))


def import_job(runs: RunService, backend: KubernetesBackend, row: ScheduleRow,
               item: Mapping[str, Any]) -> str | None:
    """Record one CronJob-created Job as a run (and its job); None if another server did."""
    meta = item["metadata"]
    uid, namespace = str(meta["uid"]), str(meta["namespace"])
    created = k8s_time(meta.get("creationTimestamp"))
    due = k8s_time((meta.get("annotations") or {}).get(SCHEDULED_AT))
    request = RunRequest(notebook=row.notebook, parameters=row.parameters or {},
                         target=row.target, runtime=row.runtime, output=row.output,
                         timeout=row.timeout, name=row.name)
    job_spec = JobSpec(notebook=row.notebook, parameters=row.parameters or {},
                       target=row.target, runtime=row.runtime, output=row.output,
                       timeout=row.timeout, name=row.name, client_request_id=f"cronjob-{uid}")
    job = backend.adopt(job_spec, row.user, row.name, item,
                        f"fired by CronJob {namespace}/{mf.cron_job_name(row.id)}")
    run_id = run_id_of(uid)
    try:
        with runs.db.session() as s:
            s.add(RunRow(id=run_id, job_id=job.id, user=row.user, notebook=row.notebook,
                         parameters=row.parameters or {}, trigger=TRIGGER, schedule_id=row.id,
                         due_time=due, status=RunStatus.submitted,
                         warnings=[], spec=request.model_dump(mode="json"),
                         created=created or utcnow()))
    except IntegrityError:
        return None  # imported meanwhile (another server, or a repeated tick)
    if due is not None:
        with runs.db.session() as s:
            s.execute(update(ScheduleRow).where(
                ScheduleRow.id == row.id,
                (ScheduleRow.last_fire.is_(None)) | (ScheduleRow.last_fire < due))
                .values(last_fire=due))
    return run_id
