"""The ``kubernetes`` executor of schedules: a schedule is a ``batch/v1`` CronJob.

A CronJob keeps firing while the user's Jupyter server is stopped (culled, restarted), which
the in-server scheduler cannot. The CronJob runs the image of the append builder, built once
when the schedule is created or when what goes into the image (notebook, parameters, runtime)
is edited; pausing, resuming or changing the cron reuses the pinned image. Everything about
the cluster goes through the schedule target's :class:`KubernetesBackend` (its client, retries,
error mapping, namespace template and pod template), so a CronJob's pods look exactly like a
submitted job's.

``apply`` dry-runs the CronJob first: a namespace the user may not write answers 403 before
any image is built or pushed, and nothing is left behind. Firings become runs of the history
through :mod:`.cronjob_import`.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import envvars
from ..config import Resources
from ..containment import safe_name
from ..db import utcnow
from ..errors import InvalidRequest
from ..jobs.k8s import manifests as mf
from ..jobs.schemas import Job, JobOutputs, JobSpec, JobState
from ..jobs.service import JOB_LOG
from .cronjob_import import import_runs
from .orm import ScheduleRow
from .service import RunService

if TYPE_CHECKING:  # the Kubernetes client and the image builder load on first use
    from ..jobs.backends.kubernetes import KubernetesBackend

#: ``startingDeadlineSeconds`` by misfire policy. ``skip``: a firing the controller could not
#: start within a minute (controller down, cluster overloaded) is dropped. ``run_once``: the
#: controller starts the latest missed firing if it is at most a day old (it never starts more
#: than one for a run of missed times, which is what run_once means).
STARTING_DEADLINE = {"skip": 60, "run_once": 24 * 3600}
#: A placeholder image for the dry run that checks permissions and the schema before a build.
PLACEHOLDER_DIGEST = "sha256:" + "0" * 64


def image_inputs(row: ScheduleRow, notebook: Path) -> str:
    """What the image depends on: rebuild when (and only when) this changes."""
    data = {"notebook": hashlib.sha256(notebook.read_bytes()).hexdigest(),
            "parameters": row.parameters or {}, "runtime": row.runtime, "target": row.target}
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()


def _cluster(backend: KubernetesBackend) -> tuple[str | None, str | None]:
    """Which cluster (and identity) a target talks to."""
    return backend.target.kubeconfig, backend.target.context


#: What the Job controller labels a Job's pods with: the Job's name.
JOB_NAME_LABEL = "batch.kubernetes.io/job-name"


class KubeCronJobs:
    """Implements :class:`~jupyter_mlplat.runs.executors.CronJobs` for kubernetes targets."""

    def __init__(self, runs: RunService) -> None:
        self.runs = runs
        self.jobs = runs.jobs
        self.ctx = runs.jobs.ctx

    # -- plumbing ----------------------------------------------------------------------------
    def backend(self, target: str) -> KubernetesBackend:
        from ..jobs.backends.kubernetes import KubernetesBackend

        backend = self.jobs.backend(target)
        if not isinstance(backend, KubernetesBackend):
            raise InvalidRequest(f"executor `kubernetes` needs a kubernetes target; {target!r} "
                                 "is not one", reason="invalid executor")
        return backend

    def _job(self, row: ScheduleRow) -> Job:
        """The schedule seen as a job, which is what the backend renders pod templates of."""
        spec = JobSpec(notebook=row.notebook, parameters=row.parameters or {},
                       target=row.target, runtime=row.runtime, timeout=row.timeout,
                       name=row.name, output=row.output,
                       resources=Resources.model_validate(row.resources or {}))
        return Job(id=row.id, name=row.name, user=row.user, state=JobState.queued, spec=spec,
                   created=utcnow())

    def outputs(self, row: ScheduleRow) -> JobOutputs | None:
        """Where each firing keeps its outputs, when the target (or the schedule's hdfs://
        ``output``) puts them on a storage cluster: the job id of the location is the fired
        Kubernetes Job's name, which the pod reads from its own label (``$(MLPLAT_K8S_JOB)``).
        Checked as the user now (cluster down: 503, no write access: 403)."""
        job = self._job(row)
        location = self.backend(row.target).output_location(job.spec, job.name)
        if location is None:
            return None
        return JobOutputs.on_cluster(location.replace("{job_id}", f"$({envvars.K8S_JOB})"),
                                     safe_name(job.name), JOB_LOG)

    def render(self, row: ScheduleRow, image: str,
               outputs: JobOutputs | None = None) -> dict[str, Any]:
        backend = self.backend(row.target)
        job = self._job(row)
        if outputs is not None:
            job = job.model_copy(update={"outputs": outputs})
        workload = backend.workload(job, image)
        workload = dataclasses.replace(
            workload, env={**workload.env, envvars.SCHEDULE_ID: row.id},
            field_env={envvars.K8S_JOB: f"metadata.labels['{JOB_NAME_LABEL}']"}
            if outputs is not None else {})
        cron = mf.CronSpec(
            schedule_id=row.id, cron=row.cron, time_zone=row.timezone,
            concurrency=row.concurrency_policy,
            starting_deadline=STARTING_DEADLINE.get(row.misfire_policy, 60),
            suspend=bool(row.paused))
        return mf.cron_job(workload, cron)

    def _build(self, row: ScheduleRow, notebook: Path) -> str:
        from ..images import CodeSource, build_and_push

        registry = self.ctx.config.registry
        if registry is None:
            raise InvalidRequest("executor `kubernetes` needs `registry` in the platform config",
                                 reason="no registry")
        runtime = self.ctx.config.runtime(row.runtime)
        work = Path(tempfile.mkdtemp(prefix="mlplat-cron-"))
        try:
            built = build_and_push(registry, runtime,
                                   CodeSource(notebook=notebook, parameters=row.parameters or {}),
                                   user=row.user, job_id=row.id, work_dir=work)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        return built.pull_reference

    # -- CronJobs ----------------------------------------------------------------------------
    def apply(self, row: ScheduleRow) -> dict[str, Any]:
        """Create or patch the schedule's CronJob; the reference stored on the schedule."""
        backend = self.backend(row.target)
        api = backend.api
        notebook = self.jobs.resolve_notebook(row.notebook)
        known = dict(row.k8s_object or {})
        inputs = image_inputs(row, notebook)
        namespace, name = backend.namespace(row.user), mf.cron_job_name(row.id)
        outputs = self.outputs(row)
        # A new schedule has no CronJob yet (its id is new); asking first would turn a 403 on
        # ``create`` into a 403 on ``get``, a less telling message.
        existing = api.get("CronJob", namespace, name) if known else None
        image = known.get("image") if known.get("inputs") == inputs else None
        if image is None:
            registry = self.ctx.config.registry
            runtime = self.ctx.config.runtime(row.runtime)
            pull = registry.pull_address if registry else "registry"
            placeholder = f"{pull}/{runtime.image}@{PLACEHOLDER_DIGEST}"
            self._write(api, self.render(row, placeholder, outputs), existing, dry_run=True)
            image = self._build(row, notebook)
        obj = self._write(api, self.render(row, image, outputs), existing)
        old = self.backend(str(known.get("target") or row.target))
        if known.get("namespace") and (known["namespace"], _cluster(old)) != (
                namespace, _cluster(backend)):
            # another namespace or cluster now: the old CronJob must not fire on
            old.api.delete("CronJob", str(known["namespace"]), str(known.get("name") or name),
                           propagation="Background")
        return {"kind": "CronJob", "name": name, "namespace": namespace, "target": row.target,
                "image": image, "inputs": inputs, "uid": obj.get("metadata", {}).get("uid")}

    @staticmethod
    def _write(api: Any, obj: dict[str, Any], existing: dict[str, Any] | None, *,
               dry_run: bool = False) -> dict[str, Any]:
        if existing is None:
            return dict(api.create(obj, dry_run=dry_run))
        return dict(api.merge_patch(obj, dry_run=dry_run))

    def delete(self, row: ScheduleRow) -> None:
        """Import what already fired (the history keeps it), then delete the CronJob and, by
        propagation, its Jobs and their pods."""
        ref = dict(row.k8s_object or {})
        backend = self.backend(row.target)
        namespace = ref.get("namespace") or backend.namespace(row.user)
        self.import_runs([row])
        backend.api.delete("CronJob", namespace, ref.get("name") or mf.cron_job_name(row.id),
                           propagation="Background")

    def import_runs(self, rows: list[ScheduleRow]) -> list[str]:
        """Runs newly recorded for the Jobs the CronJobs of ``rows`` created."""
        return import_runs(self, rows)
