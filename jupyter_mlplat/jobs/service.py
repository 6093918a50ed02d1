"""The jobs service: validate a spec, record the job, hand it to its target's backend.

Handlers, magics, the CLI and the scheduler all call this class; none of them talks to a
backend directly.
"""

from __future__ import annotations

import json
import logging
import shutil
import threading
import time
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from typing import Any

from .. import parameters as params
from ..config import UnknownName
from ..containment import PathOutside, check_text, contain, relative, safe_name, shown
from ..errors import (
    Conflict,
    Forbidden,
    InvalidRequest,
    LimitExceeded,
    MLPlatError,
    NotFound,
    Unavailable,
)
from ..images.layer import BadInclude, collect_includes
from ..storage.errors import NameNodesUnavailable
from ..storage.filesystem import ClusterFileSystem
from ..storage.paths import PathOutsideRoot
from .backends import backend_for
from .backends.base import ComputeBackend
from .context import JobContext
from .schemas import ACTIVE_STATES, Job, JobOutputs, JobPage, JobSpec, JobState, LogChunk
from .store import JobStore

log = logging.getLogger(__name__)

OUTPUT_DIR = "mlplat-outputs"
#: What a job writes to its own folder for the runs' Compare: ``{"name": number}``.
METRICS_FILE = "metrics.json"
METRICS_MAX_BYTES = 256 * 1024
#: A job's log file, in its data folder (local jobs) or its output location (cluster jobs).
JOB_LOG = "job.log"


class JobService:
    def __init__(self, ctx: JobContext) -> None:
        self.ctx = ctx
        self.store: JobStore = ctx.store
        #: the platform config, for the services built on this one
        self.config = ctx.config
        self._backends: dict[str, ComputeBackend] = {}
        self._backends_lock = threading.Lock()
        self._submit_lock = threading.Lock()
        #: Called with a job about to be deleted (other services drop what refers to it).
        self.on_delete: list[Callable[[Job], None]] = []

    # -- helpers ---------------------------------------------------------------------------
    def backend(self, target_name: str) -> ComputeBackend:
        """The one backend of a target (requests arrive on several threads at once: two
        instances would each watch the cluster and keep their own in-flight submits)."""
        with self._backends_lock:
            if target_name not in self._backends:
                try:
                    target = self.ctx.config.target(target_name)
                except UnknownName as exc:
                    raise InvalidRequest(str(exc), reason="unknown target") from exc
                self._backends[target_name] = backend_for(target, self.ctx)
            return self._backends[target_name]

    def resolve_notebook(self, path: str) -> Path:
        """A notebook under the Jupyter root, resolved (symlinks followed): 400 if it leads
        outside or is no notebook, 404 if it is missing."""
        absolute = contain(self.ctx.root_dir, path, "notebook")
        if absolute.suffix != ".ipynb":
            raise InvalidRequest(f"notebook: {shown(path)} is not a notebook (.ipynb)",
                                 reason="path")
        if not absolute.is_file():
            raise NotFound(f"notebook {shown(path)} not found", reason="unknown notebook")
        return absolute

    def relative(self, path: Path) -> str:
        return relative(self.ctx.root_dir, path.resolve())

    def _check_names(self, spec: JobSpec) -> JobSpec:
        """The spec with its runtime resolved (the first configured one by default)."""
        try:
            runtime = self.ctx.config.runtime_for(spec.runtime).name
        except UnknownName as exc:
            raise InvalidRequest(str(exc), reason="unknown runtime") from exc
        self.backend(spec.target)
        return spec.model_copy(update={"runtime": runtime})

    def _output_folder(self, spec: JobSpec) -> str:
        """The output folder, root-relative and contained (checked before anything is stored)."""
        folder = spec.output or (
            str(PurePosixPath(spec.notebook).parent / OUTPUT_DIR) if spec.notebook else OUTPUT_DIR
        )
        return relative(self.ctx.root_dir, contain(self.ctx.root_dir, folder, "output"))

    @staticmethod
    def _output_path(folder: str, job_name: str, job_id: str) -> str:
        """``<folder>/<name>-<id>/<name>.ipynb``: each job has a folder of its own (its
        ``MLPLAT_OUTPUT_DIR``), named with the name reduced to a safe file name."""
        name = safe_name(job_name)
        own = f"{name}-{job_id}" if folder in ("", ".") else f"{folder}/{name}-{job_id}"
        return f"{own}/{name}.ipynb"

    def _check_limits(self, spec: JobSpec, user: str) -> None:
        limits = self.ctx.config.limits
        params.check_names_and_size(spec.parameters, limits.max_parameters_bytes)
        queued = self.store.count(user=user, state=JobState.queued)
        if queued >= limits.max_queued_jobs_per_user:
            raise LimitExceeded(
                f"{queued} of your jobs are queued, the most allowed "
                f"(limits.max_queued_jobs_per_user = {limits.max_queued_jobs_per_user}); "
                "submit again once some have started, or cancel some")

    def _check_files(self, spec: JobSpec) -> None:
        """Included files: globs relative to the notebook's folder that stay inside it."""
        if not spec.files:
            return
        base = self.ctx.root_dir / (PurePosixPath(spec.notebook).parent if spec.notebook
                                    else PurePosixPath("."))
        for pattern in spec.files:
            check_text(pattern, "files")
            if PurePosixPath(pattern).is_absolute():
                raise PathOutside(f"files: {shown(pattern)} must be a glob relative to the "
                                  "notebook's folder")
        try:
            collect_includes(base, spec.files)
        except BadInclude as exc:
            raise PathOutside(f"files: {exc}") from None

    # -- API -------------------------------------------------------------------------------
    def inspect(self, path: str) -> params.NotebookParameters:
        return params.inspect(self.resolve_notebook(path), path)

    def submit(self, spec: JobSpec, user: str, parent_id: str | None = None) -> Job:
        """Check everything, then record and start the job; a refused submit leaves nothing
        behind (no job record, no files)."""
        spec = self._check_names(spec)
        warnings: list[str] = []
        if spec.notebook is not None:
            nb_path = self.resolve_notebook(spec.notebook)
            spec = spec.model_copy(update={"notebook": self.relative(nb_path)})
            warnings = params.validate(spec.parameters, params.inspect(nb_path, spec.notebook),
                                       self.ctx.config.limits.max_parameters_bytes)
        self._check_files(spec)
        backend = self.backend(spec.target)
        backend.validate(spec)
        name = spec.name or (PurePosixPath(spec.notebook).stem if spec.notebook else "cell")
        # On a storage cluster (checked reachable and writable now), or under the root.
        location = backend.output_location(spec, name)
        if location is None and spec.output and "://" in spec.output:
            raise InvalidRequest(f"output: target {spec.target!r} keeps a job's outputs in a "
                                 "folder under the Jupyter root; an hdfs:// output needs a "
                                 "kubernetes target", reason="output")
        folder = self._output_folder(spec) if location is None else ""
        with self._submit_lock:  # the queued count and the new row, one at a time
            if not (spec.client_request_id and
                    self.store.find_by_request(user, spec.client_request_id)):
                self._check_limits(spec, user)
            job = self.store.create(spec=spec, user=user, name=name, outputs={},
                                    parent_id=parent_id,
                                    message="submitted" if parent_id is None
                                    else f"rerun of {parent_id}")
        if job.events and len(job.events) > 1:
            return job  # an idempotent retry of a submit that already happened
        try:
            if location is not None:
                own = location.replace("{job_id}", job.id)
                self.store.update(job.id, outputs=JobOutputs.on_cluster(
                    own, safe_name(name), JOB_LOG).model_dump(exclude_none=True))
            else:
                notebook = self._output_path(folder, name, job.id)
                self.store.update(job.id, outputs={
                    "notebook": notebook,
                    "folder": str(PurePosixPath(notebook).parent),
                    "log": f"jobs/{job.id}/{JOB_LOG}",
                })
            for warning in warnings:
                self.store.add_event(job.id, warning)
            backend.submit(self.store.get(job.id))
        except MLPlatError as exc:
            if exc.status < 500:
                # Refused as asked (e.g. a namespace the user may not write): nothing ran, so
                # nothing stays; the answer carries the reason.
                self._forget(job.id)
            else:
                self.store.transition(job.id, JobState.failed, message="submit failed",
                                      error=exc.message)
            raise
        except Exception as exc:
            self.store.transition(job.id, JobState.failed, message="submit failed",
                                  error=str(exc))
            raise
        return self.store.get(job.id)

    def _forget(self, job_id: str) -> None:
        self.store.delete(job_id)
        shutil.rmtree(self.ctx.config.resolved_data_dir() / "jobs" / job_id, ignore_errors=True)

    def get(self, job_id: str, user: str | None = None) -> Job:
        job = self.store.get(job_id)
        if user is not None and job.user != user:
            raise NotFound(f"no job {job_id!r}", reason="unknown job")
        return job

    def page(self, **filters: Any) -> JobPage:
        return self.store.page(**filters)

    def logs(self, job_id: str, offset: int = 0, replica: str | None = None,
             user: str | None = None) -> LogChunk:
        job = self.get(job_id, user)
        return self.backend(job.spec.target).logs(job, offset, replica)

    def cancel(self, job_id: str, user: str | None = None) -> Job:
        job = self.get(job_id, user)
        if job.state.final:
            raise Conflict(f"job {job_id} is already {job.state.value}; nothing to cancel",
                           reason="job finished")
        # Record first: the runner's own final transition then loses the race, as it should.
        if not self.store.transition(job_id, JobState.cancelled, message="cancelled by user"):
            raise Conflict(f"job {job_id} finished meanwhile", reason="job finished")
        self.backend(job.spec.target).cancel(job)
        return self.store.get(job_id)

    def delete(self, job_id: str, outputs: bool = False, user: str | None = None) -> None:
        """Delete a final job: its record and events, its log, what it left on its target, the
        records of other services that refer to it and, with ``outputs``, its output folder.

        An active job is refused (409): cancel it first.
        """
        job = self.get(job_id, user)
        if not job.state.final:
            raise Conflict(f"job {job_id} is {job.state.value}; cancel it first (POST "
                           f"jobs/{job_id}/cancel), then delete it", reason="job active")
        folder = self._own_folder(job) if outputs else None
        if outputs:  # on a cluster: gone first, so a refusal (503, 403) leaves the job as is
            self._delete_cluster_folder(job)
        try:
            backend: ComputeBackend | None = self.backend(job.spec.target)
        except InvalidRequest:  # its target is no longer configured: nothing to reach there
            backend = None
        if backend is not None:
            backend.forget(job)
        for hook in self.on_delete:
            hook(job)
        self._forget(job_id)
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)

    def _own_folder(self, job: Job) -> Path | None:
        """The job's own output folder on this machine (contained), or None if it has none
        here (a job recorded before jobs had one, or one whose outputs live on a cluster)."""
        folder = job.outputs.folder
        if not folder or "://" in folder or folder in ("", "."):
            return None
        path = contain(self.ctx.root_dir, folder, "output")
        if path == self.ctx.root_dir.resolve():
            return None
        return path

    def _cluster_folder(self, job: Job) -> tuple[ClusterFileSystem, str] | None:
        """The job's own output folder on a storage cluster, as ``(filesystem as the user,
        path)``; None when its outputs are not on a cluster.

        Only the folder recorded for this job, and only if it is the job's own: its last
        segment names the job (``…/<job id>``, ``…/<name>-<job id>``, or the Kubernetes Job a
        CronJob fired), it has no ``..`` segment and it is not a cluster's top folder; the
        filesystem keeps it inside the cluster's ``base_path``. Anything else is refused
        (400), never deleted or read.
        """
        folder = job.outputs.folder or ""
        scheme, sep, rest = folder.partition("://")
        if not sep:
            return None
        check_text(folder, "output")
        cluster, _, path = rest.partition("/")
        path = "/" + path.strip("/")
        last = PurePosixPath(path).name
        ref = self.store.backend_ref(job.id) or {}
        own_names = {job.id, str(ref.get("name") or "")} - {""}
        if scheme != "hdfs" or path.count("/") < 2 or not any(
                last == own or last.endswith(f"-{own}") for own in own_names):
            raise InvalidRequest(f"job {job.id}'s output folder {folder!r} is not a folder of "
                                 "its own; its outputs are left as they are", reason="output")
        try:
            spec = self.ctx.config.cluster(cluster)
        except UnknownName as exc:
            raise InvalidRequest(f"output: {exc}", reason="unknown cluster") from exc
        fs = ClusterFileSystem(cluster, spec=spec, user=self.ctx.config.user,
                               skip_instance_cache=True)
        return fs, path

    def _delete_cluster_folder(self, job: Job) -> None:
        """Remove the job's own hdfs:// output folder, as the user (missing: nothing to do)."""
        found = self._cluster_folder(job)
        if found is None:
            return
        fs, path = found
        where = job.outputs.folder
        try:
            fs.rm(path, recursive=True)
        except FileNotFoundError:
            return
        except NameNodesUnavailable as exc:
            raise Unavailable(f"the output cluster of job {job.id} is unavailable, so its "
                              f"outputs {where} cannot be deleted now: {exc}",
                              reason="output cluster down") from None
        except PermissionError as exc:
            raise Forbidden(f"you may not delete job {job.id}'s outputs {where}: {exc}",
                            reason="output permission denied") from None
        except PathOutsideRoot as exc:
            raise InvalidRequest(f"output: {exc}", reason="output") from None

    def _read_metrics(self, job: Job) -> bytes | None:
        """``metrics.json`` of the job's own folder, here or on its cluster (None: none, too
        big or unreadable)."""
        try:
            found = self._cluster_folder(job)
        except InvalidRequest:
            return None
        if found is not None:
            fs, path = found
            try:
                info = fs.info(f"{path}/{METRICS_FILE}")
                if info.get("type") != "file" or int(info["size"]) > METRICS_MAX_BYTES:
                    return None
                return bytes(fs.cat_file(f"{path}/{METRICS_FILE}"))
            except (OSError, PathOutsideRoot):
                return None
        folder = self._own_folder(job)
        local = folder / METRICS_FILE if folder is not None else None
        if local is None or not local.is_file() or local.stat().st_size > METRICS_MAX_BYTES:
            return None
        try:
            return local.read_bytes()
        except OSError:
            return None

    def metrics(self, job_id: str, user: str | None = None) -> dict[str, float]:
        """The numbers a job wrote to ``metrics.json`` in its own folder (``MLPLAT_OUTPUT_DIR``,
        under the root or on a storage cluster): ``{"auc": 0.91, "loss": 0.2}``; empty when it
        wrote none (or none readable)."""
        raw = self._read_metrics(self.get(job_id, user))
        if raw is None:
            return {}
        try:
            data = json.loads(raw.decode("utf-8"))
        except ValueError:
            return {}
        if not isinstance(data, dict):
            return {}
        return {str(k): float(v) for k, v in data.items()
                if isinstance(v, (int, float)) and not isinstance(v, bool)}

    def rerun(self, job_id: str, parameters: dict[str, Any] | None = None,
              user: str | None = None) -> Job:
        job = self.get(job_id, user)
        merged = {**job.spec.parameters, **(parameters or {})}
        spec = job.spec.model_copy(update={"parameters": merged, "client_request_id": None})
        return self.submit(spec, user or job.user, parent_id=job.id)

    def wait(self, job_id: str, timeout: float | None = None, poll: float = 0.5) -> Job:
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            self.reconcile(job_id)
            job = self.store.get(job_id)
            if job.state.final or (deadline is not None and time.monotonic() > deadline):
                return job
            time.sleep(poll)

    def reconcile(self, job_id: str | None = None) -> None:
        """Check this user's active jobs against their backends (lost runners, timeouts).

        Another user's jobs (servers may share one database) are that user's server's to
        reconcile: this one has neither their runners nor their cluster credentials. A backend
        that cannot be reached (a cluster's API server down) delays its own jobs only: the
        others are still checked, and the next pass tries again.
        """
        jobs = [self.store.get(job_id)] if job_id else self.store.active()
        for job in jobs:
            if job.state not in ACTIVE_STATES or job.user != self.ctx.config.user:
                continue
            try:
                self._reconcile_one(job)
            except MLPlatError as exc:
                if job_id:
                    raise
                log.info("mlplat: reconciling job %s on %r: %s", job.id, job.spec.target,
                         exc.message)

    def _reconcile_one(self, job: Job) -> None:
        try:
            backend = self.backend(job.spec.target)
        except InvalidRequest:
            self.store.transition(job.id, JobState.failed,
                                  message=f"target {job.spec.target!r} is no longer "
                                          "configured", error="target removed")
            return
        if job.spec.timeout and job.started:
            age = time.time() - job.started.timestamp()
            if age > job.spec.timeout and self.store.transition(
                    job.id, JobState.failed, message=f"timed out after {job.spec.timeout}s",
                    error=f"timed out after {job.spec.timeout}s"):
                backend.cancel(job)
                return
        backend.reconcile(job)

    def close(self) -> None:
        for backend in self._backends.values():
            backend.close()
