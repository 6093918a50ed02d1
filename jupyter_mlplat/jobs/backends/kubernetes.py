"""Cluster jobs: the notebook appended onto a runtime image, run as a Job, PyTorchJob or TFJob.

``submit`` (synchronous, so the caller gets 400/403 answers directly):

1. dry-run create of the rendered object: a namespace the user may not write (403) or a spec
   the CRD's schema rejects (422) is refused before any image is built or anything created;
2. ``building`` → ``pushing``: the append builder's progress becomes timeline events;
3. create the object (named after the job id, so a retried create adopts instead of doubling);
   a PyTorchJob/TFJob's pods, services and rendezvous environment then come from the Kubeflow
   training operator, which the cluster must run (a cluster that does not serve the kind is
   refused with 400 before anything is built);
4. ``submitted``. From here the namespace watcher and the reconcile loop both call
   :meth:`KubernetesBackend.sync`, which reads the job's objects and moves the state forward
   (``pending`` → ``running`` → ``succeeded``/``failed``) with conditional transitions.

Nothing but the database remembers a job between server runs: a new backend lists what the
cluster holds and catches up.
"""

from __future__ import annotations

import logging
import posixpath
import re
import threading
import time
import uuid
from collections.abc import Mapping
from functools import partial
from typing import Any

from kubernetes.client.exceptions import ApiException
from kubernetes.utils import parse_quantity

from ... import envvars
from ...config import KubernetesTarget, Resources, Runtime, UnknownName
from ...containment import safe_name
from ...errors import Forbidden, InvalidRequest, MLPlatError, NotFound, Unavailable
from ...images import BuiltImage, Progress
from ...images.refs import runtime_image_address
from ...storage.env import pod_cluster_env
from ...storage.errors import NameNodesUnavailable
from ...storage.filesystem import ClusterFileSystem
from ...storage.paths import PathOutsideRoot
from ..context import JobContext
from ..k8s import manifests as mf
from ..k8s.api import KubeApi
from ..k8s.builder import ImageBuilder, default_builder
from ..k8s.states import (
    before,
    event_failure,
    event_line,
    k8s_time,
    observe,
    plan,
    pod_replica,
)
from ..k8s.watcher import NamespaceWatcher, Stream
from ..logfile import MAX_CHUNK
from ..schemas import Job, JobSpec, JobState, LogChunk
from .base import ComputeBackend

log = logging.getLogger(__name__)


def fired_outputs(pod: Mapping[str, Any], job_name: str) -> dict[str, str]:
    """The hdfs:// outputs a CronJob's pod template names, for the Job ``job_name`` it fired."""
    env = {str(e.get("name")): str(e.get("value")) for e in
           ((pod.get("containers") or [{}])[0].get("env") or []) if "value" in e}
    here = f"$({envvars.K8S_JOB})"
    fields = {"folder": envvars.OUTPUT_DIR, "notebook": envvars.OUTPUT_NOTEBOOK,
              "log": envvars.OUTPUT_LOG, "tensorboard": envvars.TENSORBOARD_DIR}
    found = {key: env[var].replace(here, job_name) for key, var in fields.items()
             if is_url(env.get(var, ""))}
    return found if "folder" in found else {}


def is_url(path: str) -> bool:
    return "://" in path

#: A job still building/pushing with no one building it (the server stopped) fails after this.
STALE_BUILD_SECONDS = 600.0
EVENTS_KEPT = 200
#: The label the Job controller puts on the pods of a Job (its uid).
CONTROLLER_UID = "batch.kubernetes.io/controller-uid"
JOB_ID_IN_NAME = re.compile(r"\A" + re.escape(mf.NAME_PREFIX) + r"(j[0-9a-f]{12})(?:-|\Z)")


class KubernetesBackend(ComputeBackend[KubernetesTarget]):
    target_type = KubernetesTarget

    def __init__(self, target: KubernetesTarget, ctx: JobContext,
                 builder: ImageBuilder | None = None, *, watch: bool = True) -> None:
        super().__init__(target, ctx)
        self.builder = builder or default_builder(ctx)
        self.watch = watch
        self._api: KubeApi | None = None
        self._watch_api: KubeApi | None = None
        self._watchers: dict[str, NamespaceWatcher] = {}
        self._inflight: set[str] = set()
        self._seen_events: set[str] = set()
        self._lock = threading.Lock()

    # -- plumbing ----------------------------------------------------------------------------
    @property
    def api(self) -> KubeApi:
        """Created on first use, so a server starts even while the cluster is unreachable."""
        if self._api is None:
            self._api = KubeApi(self.target)
        return self._api

    def namespace(self, user: str) -> str:
        return self.target.namespace_for(user)

    def _runtime(self, name: str | None) -> Runtime:
        try:
            return self.ctx.config.runtime_for(name)
        except UnknownName as exc:
            raise InvalidRequest(str(exc), reason="unknown runtime") from exc

    @staticmethod
    def resources(spec: JobSpec, runtime: Runtime) -> Resources:
        """The job's resources over the runtime's defaults, field by field."""
        base = runtime.resources
        return Resources(cpu=spec.resources.cpu or base.cpu,
                         memory=spec.resources.memory or base.memory,
                         gpu=spec.resources.gpu or base.gpu)

    # -- validate ----------------------------------------------------------------------------
    def validate(self, spec: JobSpec) -> None:
        problems: list[str] = []
        if spec.kind == "job" and spec.workers:
            problems.append("`workers` needs kind `pytorch` or `tf` (kind `job` runs one pod); "
                            "valid kinds: job, pytorch, tf")
        runtime = self._runtime(spec.runtime)
        if not runtime.image:
            with_image = [r.name for r in self.ctx.config.runtimes if r.image]
            problems.append(f"runtime {runtime.name!r} has no image, so it cannot run on "
                            f"{self.target.name!r}; runtimes with an image: "
                            f"{', '.join(with_image) or '(none)'}")
        if self.ctx.config.registry is None:
            problems.append("the platform config has no `registry` (push/pull addresses)")
        merged = self.resources(spec, runtime)
        for field, value in (("cpu", merged.cpu), ("memory", merged.memory)):
            if value is None:
                continue
            try:
                if parse_quantity(value) <= 0:
                    raise ValueError
            except (ValueError, TypeError):
                problems.append(f"resources.{field} {value!r} is not a positive Kubernetes "
                                "quantity (e.g. cpu 2 or 500m, memory 4Gi)")
        if problems:
            raise InvalidRequest("; ".join(problems), reason="invalid")

    # -- rendering ---------------------------------------------------------------------------
    def tensorboard_dir(self, job: Job, runtime: Runtime) -> str:
        return (self.target.tensorboard_dir.replace("{workdir}", runtime.workdir.rstrip("/"))
                .replace("{user}", job.user).replace("{job_id}", job.id))

    def tensorboard_of(self, job: Job, runtime: Runtime) -> str:
        """The job's TensorBoard dir: under its output location on a cluster, if it has one."""
        if job.outputs.tensorboard and is_url(job.outputs.tensorboard):
            return job.outputs.tensorboard
        return self.tensorboard_dir(job, runtime)

    def output_env(self, job: Job) -> dict[str, str]:
        """Where the pod writes the job's outputs, when they live on a storage cluster."""
        out = job.outputs
        if not (out.folder and is_url(out.folder)):
            return {}
        env = {envvars.OUTPUT_DIR: out.folder}
        if out.notebook:
            env[envvars.OUTPUT_NOTEBOOK] = out.notebook
        if out.log and is_url(out.log):
            env[envvars.OUTPUT_LOG] = out.log
        return env

    def workload(self, job: Job, image: str) -> mf.Workload:
        runtime = self._runtime(job.spec.runtime)
        registry = self.ctx.config.registry
        storage_env, secret_env = pod_cluster_env(self.ctx.config)
        env = {**storage_env, envvars.JOB_ID: job.id, envvars.USER: job.user,
               envvars.TARGET: self.target.name,
               envvars.TENSORBOARD_DIR: self.tensorboard_of(job, runtime),
               **self.output_env(job)}
        return mf.Workload(
            job_id=job.id, user=job.user, namespace=self.namespace(job.user), image=image,
            kind=job.spec.kind, workers=job.spec.workers,
            resources=self.resources(job.spec, runtime), env=env, timeout=job.spec.timeout,
            backoff_limit=self.target.backoff_limit,
            ttl_seconds_after_finished=self.target.ttl_seconds_after_finished,
            node_selector=self.target.node_selector, tolerations=tuple(self.target.tolerations),
            priority_class=self.target.priority_class,
            pod_annotations=self.target.pod_annotations,
            pull_secret=None if registry is None else registry.pull_secret,
            kubeflow_spec=self.target.kubeflow_spec,
            client_request_id=job.spec.client_request_id,
            pod_template=self.target.pod_template,
            secret_env=secret_env,
        )

    # -- outputs on a storage cluster --------------------------------------------------------
    def output_location(self, spec: JobSpec, name: str) -> str | None:
        """``spec.output`` when it is an hdfs:// folder (the job's folder is
        ``<output>/<name>-<job id>``), else the target's ``outputs``; checked now: a cluster
        that is down answers 503 and a folder the user may not write 403, before anything is
        recorded or built."""
        user = self.ctx.config.user
        if spec.output and is_url(spec.output):
            base = spec.output.rstrip("/")
            location = f"{base}/{safe_name(name)}-{{job_id}}"
        elif self.target.outputs and not spec.output:
            location = self.target.outputs.replace("{user}", user)
        else:
            return None
        self.check_writable(location)
        return location

    def check_writable(self, location: str) -> None:
        """MKDIRS of the location's fixed part and a probe write there, as the user."""
        scheme, _, rest = location.partition("://")
        cluster, _, path = rest.partition("/")
        if scheme != "hdfs":
            raise InvalidRequest(f"output {location!r}: cluster outputs are "
                                 "hdfs://<cluster>/<path>", reason="output")
        try:
            spec = self.ctx.config.cluster(cluster)
        except UnknownName as exc:
            raise InvalidRequest(f"output: {exc}", reason="unknown cluster") from exc
        fixed = "/" + path.split("{job_id}", 1)[0]
        folder = fixed if fixed.endswith("/") else posixpath.dirname(fixed)
        fs = ClusterFileSystem(cluster, spec=spec, user=self.ctx.config.user,
                               skip_instance_cache=True)
        probe = posixpath.join(folder, f".mlplat-probe-{uuid.uuid4().hex[:12]}")
        try:
            fs.makedirs(folder, exist_ok=True)
            fs.pipe_file(probe, b"")
            fs.rm_file(probe)
        except NameNodesUnavailable as exc:
            raise Unavailable(f"the output cluster {cluster!r} is unavailable, so the job "
                              f"cannot keep its outputs there: {exc}",
                              reason="output cluster down") from None
        except PermissionError as exc:
            raise Forbidden(f"you may not write the output folder hdfs://{cluster}{folder}: "
                            f"{exc}", reason="output permission denied") from None
        except PathOutsideRoot as exc:
            raise InvalidRequest(f"output: {exc}", reason="output") from None
        except OSError as exc:
            raise Unavailable(f"the output folder hdfs://{cluster}{folder} cannot be "
                              f"written: {exc}", reason="output unavailable") from None

    # -- submit ------------------------------------------------------------------------------
    def submit(self, job: Job) -> None:
        with self._lock:
            self._inflight.add(job.id)
        try:
            self._submit(job)
        finally:
            with self._lock:
                self._inflight.discard(job.id)

    def _submit(self, job: Job) -> None:
        store = self.ctx.store
        runtime = self._runtime(job.spec.runtime)
        registry = self.ctx.config.registry
        placeholder = runtime_image_address(runtime, registry) or "registry/none"
        # Refused here means nothing was built, pushed or created.
        self._require_kind(job.spec.kind)
        self.api.create(mf.primary(self.workload(job, placeholder)), dry_run=True)
        if not store.transition(job.id, JobState.building, message="building the code layer",
                                only_from={JobState.queued}):
            return  # cancelled meanwhile
        recorder = ProgressRecorder(self.ctx, job.id)
        built = self.builder(job, recorder)
        recorder.finished(built)
        store.update(job.id, image=built.pull_reference)
        w = self.workload(job, built.pull_reference)
        self.api.create(mf.primary(w))
        try:
            store.merge_backend_ref(job.id, namespace=w.namespace, kind=w.info.kind,
                                    name=w.name, api_version=w.info.api_version,
                                    backoff_limit=w.backoff_limit,
                                    replicas=mf.replica_names(w.kind, w.workers, w.ps))
            outputs = {**job.outputs.model_dump(exclude_none=True),
                       "tensorboard": self.tensorboard_of(job, runtime)}
            store.update(job.id, outputs=outputs, k8s_object={
                "kind": w.info.kind, "name": w.name, "namespace": w.namespace})
            created = store.transition(
                job.id, JobState.submitted, message=f"created {w.info.kind} {w.namespace}/"
                f"{w.name}", only_from={JobState.building, JobState.pushing})
        except BaseException:
            self.api.delete(w.info.kind, w.namespace, w.name, propagation="Background")
            raise
        if not created and store.get(job.id).state is JobState.cancelled:
            # cancelled while we were creating: leave nothing behind. (Not recording
            # `submitted` can also mean that a watcher already saw the pods run: then the
            # object is the job's and stays.)
            self.api.delete(w.info.kind, w.namespace, w.name)
            return
        self._ensure_watch(w.namespace)

    # -- state -------------------------------------------------------------------------------
    def adopt(self, spec: JobSpec, user: str, name: str, obj: Mapping[str, Any],
              message: str) -> Job:
        """Record a ``batch/v1`` Job the cluster created itself (a CronJob firing) as a job of
        ``user``, referencing that Job, and bring it to the Job's state with the cluster's
        start and finish times. Its outputs are where its pod was told to write them (the
        output locations in its pod template, ``$(MLPLAT_K8S_JOB)`` being the Job's name)."""
        meta, body = obj["metadata"], obj.get("spec") or {}
        namespace, object_name = str(meta["namespace"]), str(meta["name"])
        store = self.ctx.store
        pod = ((body.get("template") or {}).get("spec") or {})
        created = k8s_time(meta.get("creationTimestamp"))
        job = store.create(spec=spec, user=user, name=name,
                           outputs=fired_outputs(pod, object_name), message=message)
        store.update(job.id, image=(pod.get("containers") or [{}])[0].get("image"),
                     k8s_object={"kind": "Job", "name": object_name, "namespace": namespace},
                     **({"created": created} if created else {}))
        store.merge_backend_ref(job.id, namespace=namespace, kind="Job", name=object_name,
                                api_version="batch/v1",
                                backoff_limit=int(body.get("backoffLimit") or 0),
                                replicas=["main"], uid=str(meta["uid"]))
        store.transition(job.id, JobState.submitted, only_from={JobState.queued},
                         message=f"Job {namespace}/{object_name} created by the CronJob")
        try:
            self.sync(job.id)
        except Exception as exc:  # the reconcile loop retries; the job is recorded already
            log.info("mlplat: syncing adopted job %s: %s", job.id, exc)
            return store.get(job.id)
        status = obj.get("status") or {}
        synced = store.get(job.id)
        times = {}
        started, finished = k8s_time(status.get("startTime")), k8s_time(
            status.get("completionTime"))
        if started is not None and synced.started is not None:
            times["started"] = started
        if finished is not None and synced.finished is not None:
            times["finished"] = finished
        if times:
            store.update(job.id, **times)
        return store.get(job.id)

    def sync(self, job_id: str) -> None:
        """Read the job's object and pods and move its state forward to what they show."""
        store = self.ctx.store
        try:
            job = store.get(job_id)
        except NotFound:
            return
        with self._lock:
            if job.state.final or job.id in self._inflight:
                return
        if job.spec.target != self.target.name:
            return  # another target's job in a namespace both watch: its backend follows it
        ref = store.backend_ref(job_id)
        if "name" not in ref:
            self._fail_stale_build(job)
            return
        ns, kind, name = ref["namespace"], ref["kind"], ref["name"]
        owner = self.api.get(kind, ns, name)
        pods = self.pods(ref, job_id)
        observed = observe(job.spec.kind, owner, pods,
                           backoff_limit=int(ref.get("backoff_limit", 0)))
        if observed is None:
            store.transition(job_id, JobState.failed, error="Kubernetes object deleted",
                             message=f"the {kind} {ns}/{name} was deleted outside the platform")
            return
        for state, message in plan(job.state, observed):
            extra = {"error": message} if state is JobState.failed else {}
            store.transition(job_id, state, message=message, only_from=before(state), **extra)
        if observed.state is JobState.failed and owner is not None:
            self._clean_up_failed(kind, ns, name, pods, observed.cleanup)

    def pods(self, ref: Mapping[str, Any], job_id: str) -> list[dict[str, Any]]:
        """The job's pods; those of a Job adopted from a CronJob by its controller uid."""
        selector = (f"{CONTROLLER_UID}={ref['uid']}" if ref.get("kind") == "Job"
                    and ref.get("uid") else None)
        return self.api.pods(ref["namespace"], job_id, selector)

    def _clean_up_failed(self, kind: str, ns: str, name: str, pods: list[dict[str, Any]],
                         everything: bool) -> None:
        """A pod that cannot start would wait forever; replicas of a failed job stop (as the
        operator's ``cleanPodPolicy: Running`` does). Finished pods keep their logs."""
        if everything:
            self.api.delete(kind, ns, name, propagation="Background")
            return
        for pod in pods:
            if (pod.get("status") or {}).get("phase") in ("Pending", "Running"):
                self.api.delete("Pod", ns, pod["metadata"]["name"], propagation="Background")

    def _fail_stale_build(self, job: Job) -> None:
        if job.state not in (JobState.building, JobState.pushing) or not job.events:
            return
        if time.time() - job.events[-1].time.timestamp() > STALE_BUILD_SECONDS:
            self.ctx.store.transition(
                job.id, JobState.failed, only_from={JobState.building, JobState.pushing},
                message="the image build stopped (the server was restarted); submit again",
                error="image build interrupted")

    def reconcile(self, job: Job) -> None:
        ref = self.ctx.store.backend_ref(job.id)
        if "namespace" in ref:
            self._ensure_watch(ref["namespace"])
        self.sync(job.id)

    # -- watching ----------------------------------------------------------------------------
    def _ensure_watch(self, namespace: str) -> None:
        if not self.watch:
            return
        with self._lock:
            watcher = self._watchers.get(namespace)
            if watcher is None:
                if self._watch_api is None:
                    self._watch_api = KubeApi(self.target)
                watcher = self._watchers[namespace] = NamespaceWatcher(
                    namespace, self._streams(namespace, self._watch_api))
        watcher.ensure()

    def _streams(self, ns: str, api: KubeApi) -> list[Stream]:
        selector = mf.LABEL_JOB
        streams = [
            Stream("pods", partial(api.core.list_namespaced_pod, ns), self._on_object,
                   self._on_list, selector),
            Stream("jobs", partial(api.batch.list_namespaced_job, ns), self._on_object,
                   self._on_list, selector),
            Stream("events", partial(api.core.list_namespaced_event, ns), self._on_event,
                   self._on_events),
        ]
        served = self._kubeflow_served(api)
        for kind in ("pytorch", "tf"):
            plural = mf.KINDS[kind].plural
            if plural in served:
                streams.append(Stream(
                    plural, partial(api.custom.list_namespaced_custom_object, "kubeflow.org",
                                    "v1", ns, plural),
                    self._on_object, self._on_list, selector))
        return streams

    @staticmethod
    def _kubeflow_served(api: KubeApi) -> set[str]:
        """The Kubeflow kinds the cluster serves (none: no operator, so nothing to watch)."""
        try:
            return api.served_resources("kubeflow.org/v1") or set()
        except MLPlatError as exc:
            log.info("mlplat: discovering kubeflow.org/v1: %s", exc.message)
            return {mf.KINDS[kind].plural for kind in ("pytorch", "tf")}

    def _require_kind(self, kind: str) -> None:
        """A PyTorchJob/TFJob needs the Kubeflow training operator: refuse (400) on a cluster
        whose API server does not serve the kind (its CRD, which the operator installs, is
        missing), before anything is built or created."""
        if kind == "job":
            return
        info = mf.KINDS[kind]
        served = self.api.served_resources("kubeflow.org/v1")
        if served is None or info.plural not in served:
            raise InvalidRequest(
                f"target {self.target.name!r} cannot run kind {kind!r}: its cluster does not "
                f"serve {info.kind} ({info.api_version} {info.plural}), so the Kubeflow "
                "training operator is not installed there (its CRDs are missing); install it "
                "(v1.8 or later) or submit the notebook as kind 'job'",
                reason="training operator missing")

    def _sync_quietly(self, job_id: str) -> None:
        try:
            self.sync(job_id)
        except MLPlatError as exc:
            log.info("mlplat: syncing job %s: %s", job_id, exc.message)

    def _on_object(self, _type: str, obj: Mapping[str, Any]) -> None:
        job_id = ((obj.get("metadata") or {}).get("labels") or {}).get(mf.LABEL_JOB)
        if job_id:
            self._sync_quietly(str(job_id))

    def _on_list(self, items: list[Mapping[str, Any]]) -> None:
        ids = {((o.get("metadata") or {}).get("labels") or {}).get(mf.LABEL_JOB) for o in items}
        for job_id in sorted(i for i in ids if i):
            self._sync_quietly(str(job_id))

    def _on_events(self, items: list[Mapping[str, Any]]) -> None:
        for event in items:
            self._on_event("ADDED", event)

    def _on_event(self, _type: str, event: Mapping[str, Any]) -> None:
        involved = event.get("involvedObject") or {}
        match = JOB_ID_IN_NAME.match(str(involved.get("name", "")))
        line = event_line(event)
        if match is None or line is None:
            return
        job_id = match.group(1)
        meta = event.get("metadata") or {}
        key = f"{meta.get('uid')}:{event.get('count') or 1}"
        if key in self._seen_events:
            return
        store = self.ctx.store
        try:
            job = store.get(job_id)
        except NotFound:
            return
        if job.state.final or job.spec.target != self.target.name:
            return
        seen = list(store.backend_ref(job_id).get("events_seen", []))
        self._seen_events.add(key)
        if key in seen:
            return
        store.merge_backend_ref(job_id, events_seen=[*seen, key][-EVENTS_KEPT:])
        store.add_event(job_id, f"kubernetes: {line}")
        failure = event_failure(event)
        if failure and store.transition(job_id, JobState.failed, message=failure,
                                        error=failure):
            ref = store.backend_ref(job_id)
            if "name" in ref:
                self.api.delete(ref["kind"], ref["namespace"], ref["name"],
                                propagation="Background")

    # -- logs and cancel ---------------------------------------------------------------------
    def logs(self, job: Job, offset: int = 0, replica: str | None = None) -> LogChunk:
        ref = self.ctx.store.backend_ref(job.id)
        replicas = list(ref.get("replicas") or [])
        if replica is not None and replica not in replicas:
            raise InvalidRequest(f"job {job.id} has no replica {replica!r}; valid: "
                                 f"{', '.join(replicas) or '(none yet)'}", reason="replica")
        if "name" not in ref:
            return LogChunk(text="", offset=offset, complete=job.state.final)
        replica = replica or replicas[0]
        pods = sorted((p for p in self.pods(ref, job.id)
                       if pod_replica(p) == replica),
                      key=lambda p: str(p["metadata"].get("creationTimestamp", "")))
        if not pods:  # gone (TTL, deleted): the copy the runner left on the output cluster
            stored = self._stored_log(job, offset) if replica == replicas[0] else None
            return stored or LogChunk(text="", offset=offset, complete=job.state.final)
        pod = pods[-1]
        container = next((mf.KINDS[k].container for k in mf.KINDS
                          if mf.KINDS[k].kind == ref["kind"]), "main")
        try:
            data = self.api.pod_log(ref["namespace"], pod["metadata"]["name"], container)
        except ApiException as exc:
            if exc.status != 404:
                raise
            data = b""  # the pod went away between listing and reading
        except InvalidRequest:
            data = b""  # 400: the container has not started yet; state and events say why
        except MLPlatError as exc:
            raise Unavailable(f"the log of {replica} (pod {pod['metadata']['name']}) is not "
                              f"available: {exc.message}", reason="logs unavailable") from exc
        text, new_offset = decode_from(data, offset)
        finished = (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed")
        return LogChunk(text=text, offset=new_offset,
                        complete=job.state.final and finished and new_offset >= len(data))

    def _stored_log(self, job: Job, offset: int) -> LogChunk | None:
        """A final job's ``job.log`` on its output cluster (what the runner copied there when
        it ended), read as the user; None when it has none or it cannot be read."""
        url = job.outputs.log or ""
        if not job.state.final or not is_url(url):
            return None
        cluster, _, path = url.split("://", 1)[1].partition("/")
        try:
            fs = ClusterFileSystem(cluster, spec=self.ctx.config.cluster(cluster),
                                   user=self.ctx.config.user, skip_instance_cache=True)
            data = bytes(fs.cat_file("/" + path))
        except (OSError, UnknownName, PathOutsideRoot) as exc:
            log.info("mlplat: the stored log of job %s (%s): %s", job.id, url, exc)
            return None
        text, new_offset = decode_from(data, offset)
        return LogChunk(text=text, offset=new_offset, complete=new_offset >= len(data))

    def cancel(self, job: Job) -> None:
        ref = self.ctx.store.backend_ref(job.id)
        if "name" in ref:
            self.api.delete(ref["kind"], ref["namespace"], ref["name"], propagation="Foreground")

    def close(self) -> None:
        for watcher in list(self._watchers.values()):
            watcher.stop()
        self._watchers.clear()
        for api in (self._api, self._watch_api):
            if api is not None:
                api.close()
        self._api = self._watch_api = None


class ProgressRecorder:
    """Turns the builder's progress into ``pushing`` and timeline events, without flooding.

    A byte callback fires per chunk; an event is written when the step changes, or at most
    once a second within a step.
    """

    def __init__(self, ctx: JobContext, job_id: str, interval: float = 1.0) -> None:
        self.ctx = ctx
        self.job_id = job_id
        self.interval = interval
        self.pushing = False
        self.last = ""
        self.at = 0.0

    def __call__(self, progress: Progress) -> None:
        store = self.ctx.store
        if progress.phase == "pushing" and not self.pushing:
            self.pushing = True
            store.transition(self.job_id, JobState.pushing, message=progress.message,
                             only_from={JobState.building})
            self.last, self.at = progress.message, time.monotonic()
            return
        now = time.monotonic()
        if progress.message == self.last and now - self.at < self.interval:
            return
        self.last, self.at = progress.message, now
        text = progress.message
        if progress.bytes_total:
            text += f" ({progress.bytes_done}/{progress.bytes_total} bytes)"
        store.add_event(self.job_id, text)

    def finished(self, built: BuiltImage) -> None:
        self.ctx.store.add_event(
            self.job_id, f"pushed {built.pull_reference}: {built.bytes_uploaded} bytes uploaded, "
            f"{built.layers_mounted} base layers mounted, {built.layers_copied} copied")


def decode_from(data: bytes, offset: int, limit: int = MAX_CHUNK) -> tuple[str, int]:
    """Text after byte ``offset`` (at most ``limit`` bytes), not splitting a UTF-8 character."""
    chunk = data[max(offset, 0): max(offset, 0) + limit]
    for cut in range(0, 4):
        try:
            return chunk[: len(chunk) - cut].decode("utf-8"), offset + len(chunk) - cut
        except UnicodeDecodeError:
            continue
    return chunk.decode("utf-8", errors="replace"), offset + len(chunk)
