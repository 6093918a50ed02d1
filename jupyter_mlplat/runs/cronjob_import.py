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

import datetime as dt
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
from ..jobs.models import JobSpec, JobState
from .models import RunRequest
from .orm import RunRow, ScheduleRow
from .service import RunService, db_time

if TYPE_CHECKING:
    from ..jobs.backends.kubernetes import KubernetesBackend
    from .cronjobs import KubeCronJobs

log = logging.getLogger(__name__)

SCHEDULED_AT = "batch.kubernetes.io/cronjob-scheduled-timestamp"
TRIGGER = "cronjob"


def run_id_of(uid: str) -> str:
    """The run of a Kubernetes Job: the same uid always names the same run."""
    return "r" + hashlib.sha256(uid.encode()).hexdigest()[:12]


def k8s_time(value: Any) -> dt.datetime | None:
    if not value:
        return None
    try:
        parsed = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.timezone.utc)


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
    meta, spec = item["metadata"], item.get("spec") or {}
    uid, name, namespace = str(meta["uid"]), str(meta["name"]), str(meta["namespace"])
    created = k8s_time(meta.get("creationTimestamp"))
    due = k8s_time((meta.get("annotations") or {}).get(SCHEDULED_AT))
    request = RunRequest(notebook=row.notebook, parameters=row.parameters or {},
                         target=row.target, runtime=row.runtime, output=row.output,
                         timeout=row.timeout, name=row.name)
    job_spec = JobSpec(notebook=row.notebook, parameters=row.parameters or {},
                       target=row.target, runtime=row.runtime, output=row.output,
                       timeout=row.timeout, name=row.name, client_request_id=f"cronjob-{uid}")
    store = runs.jobs.store
    containers = (((spec.get("template") or {}).get("spec") or {}).get("containers") or [{}])
    job = store.create(spec=job_spec, user=row.user, name=row.name, outputs={},
                       message=f"fired by CronJob {namespace}/{mf.cron_job_name(row.id)}")
    store.update(job.id, image=containers[0].get("image"),
                 k8s_object={"kind": "Job", "name": name, "namespace": namespace},
                 **({"created": db_time(created)} if created else {}))
    store.merge_backend_ref(job.id, namespace=namespace, kind="Job", name=name,
                            api_version="batch/v1", operator=backend.target.operator,
                            backoff_limit=int(spec.get("backoffLimit") or 0),
                            replicas=["main"], uid=uid)
    store.transition(job.id, JobState.submitted, only_from={JobState.queued},
                     message=f"Job {namespace}/{name} created by the CronJob")
    run_id = run_id_of(uid)
    try:
        with runs.db.session() as s:
            s.add(RunRow(id=run_id, job_id=job.id, user=row.user, notebook=row.notebook,
                         parameters=row.parameters or {}, trigger=TRIGGER, schedule_id=row.id,
                         due_time=db_time(due) if due else None, status="submitted",
                         warnings=[], spec=request.model_dump(mode="json"),
                         created=db_time(created) if created else utcnow()))
    except IntegrityError:
        return None  # imported meanwhile (another server, or a repeated tick)
    if due is not None:
        with runs.db.session() as s:
            s.execute(update(ScheduleRow).where(
                ScheduleRow.id == row.id,
                (ScheduleRow.last_fire.is_(None)) | (ScheduleRow.last_fire < db_time(due)))
                .values(last_fire=db_time(due)))
    _catch_up(runs, backend, job.id, item)
    return run_id


def _catch_up(runs: RunService, backend: KubernetesBackend, job_id: str,
              item: Mapping[str, Any]) -> None:
    """Bring the job to the Job's state now, with the cluster's start and finish times."""
    try:
        backend.sync(job_id)
    except Exception as exc:  # the reconcile loop retries; the run is recorded already
        log.info("mlplat: syncing imported job %s: %s", job_id, exc)
        return
    status = item.get("status") or {}
    job = runs.jobs.store.get(job_id)
    times: dict[str, dt.datetime] = {}
    started, finished = k8s_time(status.get("startTime")), k8s_time(status.get("completionTime"))
    if started is not None and job.started is not None:
        times["started"] = db_time(started)
    if finished is not None and job.finished is not None:
        times["finished"] = db_time(finished)
    if times:
        runs.jobs.store.update(job_id, **times)
