"""Kubernetes objects of a job, rendered as plain dicts (no API calls, no client models).

Keeping this pure lets unit tests pin the exact manifests, and lets the backend dry-run the
very object it will create. Everything carries the job id as a label so that the watcher, the
reconciler and ``cancel`` find a job's objects by selector rather than by remembered names.

A PyTorchJob or TFJob is only the custom resource: its replica pods, their services and the
rendezvous environment (``MASTER_ADDR``/``WORLD_SIZE``/``RANK``, ``TF_CONFIG``) come from the
Kubeflow training operator running in the cluster.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from ...config import Resources

LABEL_JOB = "mlplat.io/job-id"
LABEL_USER = "mlplat.io/user"
LABEL_REPLICA = "mlplat.io/replica"
LABEL_MANAGED = "app.kubernetes.io/managed-by"
MANAGER = "jupyter-mlplat"
ANNOTATION_USER = "mlplat.io/user"
ANNOTATION_REQUEST = "mlplat.io/client-request-id"
GPU = "nvidia.com/gpu"
NAME_PREFIX = "mlplat-"

Kind = Literal["job", "pytorch", "tf"]


@dataclass(frozen=True)
class KindInfo:
    """How one of our job kinds maps onto a Kubernetes resource."""

    kind: str
    api_version: str
    plural: str
    container: str  # the container name the Kubeflow operator expects
    replica_key: str  # spec field holding the replica specs (CRD kinds)


KINDS: dict[str, KindInfo] = {
    "job": KindInfo("Job", "batch/v1", "jobs", "main", ""),
    "pytorch": KindInfo("PyTorchJob", "kubeflow.org/v1", "pytorchjobs", "pytorch",
                        "pytorchReplicaSpecs"),
    "tf": KindInfo("TFJob", "kubeflow.org/v1", "tfjobs", "tensorflow", "tfReplicaSpecs"),
}


@dataclass(frozen=True)
class Workload:
    """Everything the manifests depend on, resolved by the backend from job, target, runtime."""

    job_id: str
    user: str
    namespace: str
    image: str
    kind: Kind = "job"
    workers: int = 0
    ps: int = 0
    resources: Resources = field(default_factory=Resources)
    env: Mapping[str, str] = field(default_factory=dict)
    timeout: int | None = None
    backoff_limit: int = 0
    ttl_seconds_after_finished: int | None = None
    node_selector: Mapping[str, str] = field(default_factory=dict)
    tolerations: tuple[Mapping[str, Any], ...] = ()
    priority_class: str | None = None
    pod_annotations: Mapping[str, str] = field(default_factory=dict)
    pull_secret: str | None = None
    kubeflow_spec: Mapping[str, Any] = field(default_factory=dict)
    client_request_id: str | None = None
    pod_template: Mapping[str, Any] = field(default_factory=dict)
    #: env var -> (Secret name, key): values the kubelet reads from a Secret, never rendered
    secret_env: Mapping[str, tuple[str, str]] = field(default_factory=dict)
    #: env var -> a field of the pod (downward API, e.g. ``metadata.labels['…']``); listed
    #: before the others, so their values may name it as ``$(VAR)``
    field_env: Mapping[str, str] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return object_name(self.job_id)

    @property
    def info(self) -> KindInfo:
        return KINDS[self.kind]


def object_name(job_id: str) -> str:
    """The object's name derives from the job id alone: a retried create hits 409, not a twin.

    The store hands the same job (same id) back for a repeated client request id, so a retried
    submit names the same object as the first one.
    """
    name = NAME_PREFIX + re.sub(r"[^a-z0-9-]+", "-", job_id.lower()).strip("-")
    return name[:52]  # room for "-worker-NNN" on replica pods within 63 characters


def label_value(text: str) -> str:
    """A label value (63 chars of ``[A-Za-z0-9._-]``, alphanumeric at both ends)."""
    value = re.sub(r"[^A-Za-z0-9._-]+", "-", text)[:63].strip("-._")
    return value or "unknown"


def labels_of(w: Workload) -> dict[str, str]:
    return {LABEL_JOB: w.job_id, LABEL_USER: label_value(w.user), LABEL_MANAGED: MANAGER}


def annotations_of(w: Workload) -> dict[str, str]:
    out = {LABEL_JOB: w.job_id, ANNOTATION_USER: w.user}
    if w.client_request_id:
        out[ANNOTATION_REQUEST] = w.client_request_id
    return out


def replica_names(kind: Kind, workers: int, ps: int = 0) -> list[str]:
    """Logical replica names, first the one whose log is shown by default."""
    if kind == "job":
        return ["main"]
    head = "master" if kind == "pytorch" else "chief"
    return [f"{head}-0", *(f"worker-{i}" for i in range(workers)),
            *(f"ps-{i}" for i in range(ps if kind == "tf" else 0))]


def replica_types(w: Workload) -> list[tuple[str, int]]:
    """(Kubeflow replica type, count) in the operator's order."""
    if w.kind == "pytorch":
        types = [("Master", 1), ("Worker", w.workers)]
    else:
        types = [("Chief", 1), ("Worker", w.workers), ("PS", w.ps)]
    return [(t, n) for t, n in types if n > 0]


def resources(res: Resources) -> dict[str, dict[str, str]]:
    """Requests equal to limits: the job gets what it asked for and no more (GPUs require it)."""
    amounts: dict[str, str] = {}
    if res.cpu:
        amounts["cpu"] = res.cpu
    if res.memory:
        amounts["memory"] = res.memory
    if res.gpu:
        amounts[GPU] = str(res.gpu)
    return {"requests": dict(amounts), "limits": dict(amounts)} if amounts else {}


def _env_list(env: Mapping[str, str],
              secrets: Mapping[str, tuple[str, str]] | None = None,
              fields: Mapping[str, str] | None = None) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = [{"name": k, "value": v} for k, v in env.items()
                                   if k not in (secrets or {}) and k not in (fields or {})]
    items += [{"name": k, "valueFrom": {"secretKeyRef": {"name": name, "key": key}}}
              for k, (name, key) in (secrets or {}).items()]
    first = [{"name": k, "valueFrom": {"fieldRef": {"fieldPath": path}}}
             for k, path in sorted((fields or {}).items())]
    return first + sorted(items, key=lambda item: str(item["name"]))


def container(w: Workload, extra_env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The one container; the image's own command runs the job (set by the append builder)."""
    body: dict[str, Any] = {"name": w.info.container, "image": w.image,
                            "env": _env_list({**w.env, **(extra_env or {})}, w.secret_env,
                                             w.field_env),
                            # The runner writes why the notebook failed to the termination
                            # log; a container killed before it could (OOM) leaves its log tail.
                            "terminationMessagePolicy": "FallbackToLogsOnError"}
    res = resources(w.resources)
    if res:
        body["resources"] = res
    return body


def pod_spec(w: Workload, extra_env: Mapping[str, str] | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {"restartPolicy": "Never",
                            "containers": [container(w, extra_env)]}
    if w.pull_secret:
        spec["imagePullSecrets"] = [{"name": w.pull_secret}]
    if w.node_selector:
        spec["nodeSelector"] = dict(w.node_selector)
    if w.tolerations:
        spec["tolerations"] = [dict(t) for t in w.tolerations]
    if w.priority_class:
        spec["priorityClassName"] = w.priority_class
    return spec


def pod_template(w: Workload, replica: str) -> dict[str, Any]:
    meta: dict[str, Any] = {"labels": {**labels_of(w), LABEL_REPLICA: replica},
                            "annotations": {**annotations_of(w), **w.pod_annotations}}
    return overlay_pod({"metadata": meta, "spec": pod_spec(w)}, w.pod_template,
                       w.info.container)


def _named(items: list[Any]) -> bool:
    return bool(items) and all(isinstance(i, Mapping) and "name" in i for i in items)


def merge_named(base: Any, extra: Any) -> Any:
    """``extra`` over ``base``: mappings key by key, lists of named items by ``name`` (as a
    strategic merge patch does for containers, volumes and env), anything else replaced."""
    if isinstance(base, Mapping) and isinstance(extra, Mapping):
        out = {k: copy.deepcopy(v) for k, v in base.items()}
        for key, value in extra.items():
            out[key] = merge_named(out[key], value) if key in out else copy.deepcopy(value)
        return out
    if isinstance(base, list) and isinstance(extra, list) and _named(base) and _named(extra):
        merged = [copy.deepcopy(i) for i in base]
        index = {item["name"]: n for n, item in enumerate(merged)}
        for item in extra:
            if item["name"] in index:
                merged[index[item["name"]]] = merge_named(merged[index[item["name"]]], item)
            else:
                merged.append(copy.deepcopy(item))
        return merged
    return copy.deepcopy(extra)


def overlay_pod(template: dict[str, Any], overlay: Mapping[str, Any],
                container_name: str = "main") -> dict[str, Any]:
    """The target's ``pod_template`` over a rendered pod template (or pod).

    In the overlay the job's own container is called ``main`` whatever the kind names it
    (``pytorch``, ``tensorflow``), so one target config fits every kind.
    """
    if not overlay:
        return template
    spec = overlay.get("spec") or {}
    containers = spec.get("containers")
    if container_name != "main" and isinstance(containers, list):
        renamed = [{**c, "name": container_name} if isinstance(c, Mapping)
                   and c.get("name") == "main" else c for c in containers]
        overlay = {**overlay, "spec": {**spec, "containers": renamed}}
    return merge_named(template, overlay)


def _metadata(w: Workload) -> dict[str, Any]:
    return {"name": w.name, "namespace": w.namespace, "labels": labels_of(w),
            "annotations": annotations_of(w)}


def batch_job(w: Workload) -> dict[str, Any]:
    spec: dict[str, Any] = {"backoffLimit": w.backoff_limit, "completions": 1, "parallelism": 1,
                            "template": pod_template(w, "main")}
    if w.timeout:
        spec["activeDeadlineSeconds"] = w.timeout
    if w.ttl_seconds_after_finished is not None:
        spec["ttlSecondsAfterFinished"] = w.ttl_seconds_after_finished
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": _metadata(w), "spec": spec}


def deep_merge(base: dict[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    """``extra`` over ``base``, recursing into mappings (lists are replaced)."""
    out = copy.deepcopy(base)
    for key, value in extra.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def training_job(w: Workload) -> dict[str, Any]:
    """A PyTorchJob (Master + Worker) or TFJob (Chief + Worker + PS) of ``kubeflow.org/v1``."""
    run_policy: dict[str, Any] = {"cleanPodPolicy": "None", "backoffLimit": w.backoff_limit}
    if w.timeout:
        run_policy["activeDeadlineSeconds"] = w.timeout
    if w.ttl_seconds_after_finished is not None:
        run_policy["ttlSecondsAfterFinished"] = w.ttl_seconds_after_finished
    replicas = {rtype: {"replicas": count, "restartPolicy": "Never",
                        "template": pod_template(w, rtype.lower())}
                for rtype, count in replica_types(w)}
    spec = deep_merge({"runPolicy": run_policy, w.info.replica_key: replicas}, w.kubeflow_spec)
    return {"apiVersion": w.info.api_version, "kind": w.info.kind, "metadata": _metadata(w),
            "spec": spec}


def primary(w: Workload) -> dict[str, Any]:
    """The object that stands for the job (and owns everything else)."""
    return batch_job(w) if w.kind == "job" else training_job(w)


# -- schedules on the cluster (executor: kubernetes) ------------------------------------------
LABEL_SCHEDULE = "mlplat.io/schedule-id"
CONCURRENCY = {"forbid": "Forbid", "allow": "Allow", "replace": "Replace"}


@dataclass(frozen=True)
class CronSpec:
    """What a CronJob adds to the Job template: when, in which zone, and what on overlap."""

    schedule_id: str
    cron: str
    time_zone: str
    concurrency: str  # forbid | allow | replace
    starting_deadline: int
    suspend: bool = False
    history: int = 20


def cron_job_name(schedule_id: str) -> str:
    """Like :func:`object_name`; the CronJob controller appends ``-<minutes>`` to its Jobs."""
    return object_name(schedule_id)


def cron_job(w: Workload, c: CronSpec) -> dict[str, Any]:
    """A ``batch/v1`` CronJob whose Jobs are :func:`batch_job` of ``w`` (same pod template).

    Its Jobs stand for no single job of ours, so they carry the schedule id instead of a job id
    (the jobs watcher ignores them); they become runs when imported. No TTL on them: the
    history limits keep the last Jobs long enough for a server that was down to import them.
    """
    job = batch_job(w)
    job["spec"].pop("ttlSecondsAfterFinished", None)
    labels = {LABEL_SCHEDULE: c.schedule_id, LABEL_USER: label_value(w.user),
              LABEL_MANAGED: MANAGER}
    annotations = {LABEL_SCHEDULE: c.schedule_id, ANNOTATION_USER: w.user}
    template = job["spec"]["template"]["metadata"]
    template["labels"] = {**labels, LABEL_REPLICA: "main"}
    template["annotations"] = {**annotations, **w.pod_annotations}
    spec: dict[str, Any] = {
        "schedule": c.cron, "timeZone": c.time_zone,
        "concurrencyPolicy": CONCURRENCY[c.concurrency],
        "startingDeadlineSeconds": c.starting_deadline, "suspend": c.suspend,
        "successfulJobsHistoryLimit": c.history, "failedJobsHistoryLimit": c.history,
        "jobTemplate": {"metadata": {"labels": labels, "annotations": annotations},
                        "spec": job["spec"]},
    }
    return {"apiVersion": "batch/v1", "kind": "CronJob",
            "metadata": {"name": cron_job_name(c.schedule_id), "namespace": w.namespace,
                         "labels": labels, "annotations": annotations},
            "spec": spec}
