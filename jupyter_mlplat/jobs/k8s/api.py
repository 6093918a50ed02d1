"""The Kubernetes API as the backend uses it: plain dicts, bounded retries, domain errors.

Every call goes through :meth:`KubeApi.call`: 429 and 5xx answers, and connections that fail,
are retried with exponential backoff up to a bound (honouring ``Retry-After``), then reported as
:class:`~jupyter_mlplat.errors.Unavailable`. A 409 on create is not an error but the sign that
an earlier attempt got through: the existing object is adopted if it belongs to the same job.
403 and 422 become the user's :class:`Forbidden` and :class:`InvalidRequest`, quoting
Kubernetes, because only its message says which namespace or which schema field is at fault.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

import urllib3
from kubernetes import client, config
from kubernetes.client.exceptions import ApiException

from ...config import KubernetesTarget
from ...errors import Forbidden, InvalidRequest, MLPlatError, Unavailable
from .manifests import KINDS, LABEL_JOB

log = logging.getLogger(__name__)

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


def api_client(target: KubernetesTarget) -> client.ApiClient:
    """A client for the target: its kubeconfig (and context), or the pod's service account."""
    try:
        if target.kubeconfig:
            return config.new_client_from_config(config_file=target.kubeconfig,
                                                 context=target.context)
        configuration = client.Configuration()
        config.load_incluster_config(client_configuration=configuration)
        return client.ApiClient(configuration)
    except (config.ConfigException, OSError) as exc:
        raise Unavailable(f"compute target {target.name!r}: cannot load the Kubernetes "
                          f"configuration ({exc}); check `kubeconfig`/`context`",
                          reason="kubernetes config") from exc


def status_message(exc: ApiException) -> str:
    """Kubernetes' own message from an error answer (a ``Status`` object), else the reason."""
    try:
        body = json.loads(exc.body or "{}")
    except (TypeError, ValueError):
        body = {}
    return str(body.get("message") or exc.reason or f"HTTP {exc.status}")


def domain_error(exc: ApiException, doing: str) -> MLPlatError:
    """The user-facing error for a final (not retried) API error."""
    message = status_message(exc)
    if exc.status in (401, 403):
        return Forbidden(f"Kubernetes refused to {doing}: {message}", reason="forbidden")
    if exc.status == 422 or exc.status == 400:
        return InvalidRequest(f"Kubernetes rejected the request to {doing}: {message}",
                              reason="invalid")
    if exc.status == 404:
        return InvalidRequest(f"cannot {doing}: {message}", reason="not found")
    return Unavailable(f"Kubernetes failed to {doing}: {message} (HTTP {exc.status})",
                       reason="kubernetes")


def _decode(response: Any) -> Any:
    return json.loads(response.data or b"null")


class KubeApi:
    """Thin, retried access to the resources of one target, in one namespace per call."""

    def __init__(self, target: KubernetesTarget, *, attempts: int = 5, backoff: float = 0.2,
                 max_backoff: float = 5.0, sleep: Callable[[float], None] = time.sleep) -> None:
        self.target = target
        self.attempts = attempts
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.sleep = sleep
        self.client = api_client(target)
        self.core = client.CoreV1Api(self.client)
        self.batch = client.BatchV1Api(self.client)
        self.apps = client.AppsV1Api(self.client)
        self.custom = client.CustomObjectsApi(self.client)

    def close(self) -> None:
        self.client.close()

    # -- retries -------------------------------------------------------------------------------
    def call(self, doing: str, fn: Callable[..., Any], *args: Any,
             retry_conflict: bool = False, attempts: int | None = None, **kwargs: Any) -> Any:
        """``fn(*args, **kwargs)`` with bounded retries; raise domain errors (or 409/404 raw)."""
        delay = self.backoff
        attempts = attempts or self.attempts
        for attempt in range(1, attempts + 1):
            try:
                return fn(*args, **kwargs)
            except ApiException as exc:
                transient = exc.status in RETRY_STATUSES or (retry_conflict and exc.status == 409)
                if not transient or attempt == attempts:
                    if exc.status in (404, 409):
                        raise  # the caller knows what a missing or existing object means
                    raise domain_error(exc, doing) from exc
                wait = delay
                retry_after = (exc.headers or {}).get("Retry-After")
                if retry_after and str(retry_after).isdigit():
                    wait = max(wait, float(retry_after))
                log.info("kubernetes: %s: HTTP %s, retry %d in %.1fs", doing, exc.status,
                         attempt, wait)
            except (urllib3.exceptions.HTTPError, OSError) as exc:
                if attempt == attempts:
                    raise Unavailable(f"cannot reach Kubernetes to {doing}: {exc}",
                                      reason="kubernetes") from exc
                wait = delay
                log.info("kubernetes: %s: %s, retry %d in %.1fs", doing, exc, attempt, wait)
            self.sleep(min(wait, self.max_backoff))
            delay = min(delay * 2, self.max_backoff)
        raise AssertionError("unreachable")

    # -- objects by kind -----------------------------------------------------------------------
    def _create_fn(self, obj: Mapping[str, Any]) -> tuple[Callable[..., Any], tuple[Any, ...]]:
        kind, ns = obj["kind"], obj["metadata"]["namespace"]
        if kind == "Job":
            return self.batch.create_namespaced_job, (ns,)
        if kind == "Pod":
            return self.core.create_namespaced_pod, (ns,)
        if kind == "Service":
            return self.core.create_namespaced_service, (ns,)
        if kind == "CronJob":
            return self.batch.create_namespaced_cron_job, (ns,)
        if kind == "Deployment":
            return self.apps.create_namespaced_deployment, (ns,)
        info = _crd(kind)
        return self.custom.create_namespaced_custom_object, ("kubeflow.org", "v1", ns,
                                                             info.plural)

    def create(self, obj: Mapping[str, Any], *, dry_run: bool = False) -> dict[str, Any]:
        """Create ``obj``; on 409 adopt the existing object if it carries the same job id."""
        fn, args = self._create_fn(obj)
        name, kind = obj["metadata"]["name"], obj["kind"]
        doing = f"create {kind} {obj['metadata']['namespace']}/{name}"
        extra: dict[str, Any] = {"_preload_content": False}
        if dry_run:
            extra["dry_run"] = "All"
        try:
            return dict(_decode(self.call(doing, fn, *args, body=obj, **extra)))
        except ApiException as exc:
            if exc.status == 409 and not dry_run:
                existing = self.get(kind, obj["metadata"]["namespace"], name)
                want = (obj["metadata"].get("labels") or {}).get(LABEL_JOB)
                have = ((existing or {}).get("metadata", {}).get("labels") or {}).get(LABEL_JOB)
                if existing is not None and want == have:
                    return existing
            raise domain_error(exc, doing) from exc

    def get(self, kind: str, namespace: str, name: str) -> dict[str, Any] | None:
        doing = f"read {kind} {namespace}/{name}"
        try:
            if kind == "Job":
                resp = self.call(doing, self.batch.read_namespaced_job, name, namespace,
                                 _preload_content=False)
            elif kind == "Pod":
                resp = self.call(doing, self.core.read_namespaced_pod, name, namespace,
                                 _preload_content=False)
            elif kind == "CronJob":
                resp = self.call(doing, self.batch.read_namespaced_cron_job, name, namespace,
                                 _preload_content=False)
            elif kind == "Deployment":
                resp = self.call(doing, self.apps.read_namespaced_deployment, name,
                                 namespace, _preload_content=False)
            else:
                resp = self.call(doing, self.custom.get_namespaced_custom_object, "kubeflow.org",
                                 "v1", namespace, _crd(kind).plural, name,
                                 _preload_content=False)
        except ApiException as exc:
            if exc.status == 404:
                return None
            raise domain_error(exc, doing) from exc
        return dict(_decode(resp))

    def delete(self, kind: str, namespace: str, name: str,
               propagation: str = "Foreground") -> bool:
        """Delete (dependents too); False when it was already gone."""
        doing = f"delete {kind} {namespace}/{name}"
        body = client.V1DeleteOptions(propagation_policy=propagation)
        try:
            if kind == "Job":
                self.call(doing, self.batch.delete_namespaced_job, name, namespace, body=body)
            elif kind == "Pod":
                self.call(doing, self.core.delete_namespaced_pod, name, namespace, body=body)
            elif kind == "Service":
                self.call(doing, self.core.delete_namespaced_service, name, namespace,
                          body=body)
            elif kind == "CronJob":
                self.call(doing, self.batch.delete_namespaced_cron_job, name, namespace,
                          body=body)
            elif kind == "Deployment":
                self.call(doing, self.apps.delete_namespaced_deployment, name, namespace,
                          body=body)
            else:
                self.call(doing, self.custom.delete_namespaced_custom_object, "kubeflow.org",
                          "v1", namespace, _crd(kind).plural, name, body=body)
        except ApiException as exc:
            if exc.status == 404:
                return False
            raise domain_error(exc, doing) from exc
        return True

    def apply(self, obj: Mapping[str, Any]) -> bool:
        """Create a Deployment or Service, or replace the one of that name: True if created."""
        kind, ns, name = obj["kind"], obj["metadata"]["namespace"], obj["metadata"]["name"]
        replace: Any = {"Deployment": self.apps.replace_namespaced_deployment,
                        "Service": self.core.patch_namespaced_service}[kind]
        fn, args = self._create_fn(obj)
        try:
            self.call(f"create {kind} {ns}/{name}", fn, *args, body=obj,
                      _preload_content=False)
            return True
        except ApiException as exc:
            if exc.status != 409:
                raise domain_error(exc, f"create {kind} {ns}/{name}") from exc
        try:
            self.call(f"replace {kind} {ns}/{name}", replace, name, ns, obj,
                      retry_conflict=True, _preload_content=False)
        except ApiException as exc:
            raise domain_error(exc, f"replace {kind} {ns}/{name}") from exc
        return False

    def merge_patch(self, obj: Mapping[str, Any], *, dry_run: bool = False) -> dict[str, Any]:
        """JSON merge patch of a CronJob: lists (containers, env) are replaced, not merged, so
        an edit that drops an env var or a field really drops it."""
        kind, ns, name = obj["kind"], obj["metadata"]["namespace"], obj["metadata"]["name"]
        if kind != "CronJob":
            raise ValueError(f"merge_patch supports CronJob, not {kind}")
        doing = f"patch {kind} {ns}/{name}"
        extra: dict[str, Any] = {"_preload_content": False,
                                 "_content_type": "application/merge-patch+json"}
        if dry_run:
            extra["dry_run"] = "All"
        try:
            resp = self.call(doing, self.batch.patch_namespaced_cron_job, name, ns, obj,
                             retry_conflict=True, **extra)
        except ApiException as exc:
            raise domain_error(exc, doing) from exc
        return dict(_decode(resp))

    def jobs(self, namespace: str, selector: str) -> list[dict[str, Any]]:
        """``batch/v1`` Jobs of a namespace matching a label selector."""
        resp = self.call(f"list jobs in {namespace} ({selector})", self.batch.list_namespaced_job,
                         namespace, label_selector=selector, _preload_content=False)
        return list(_decode(resp).get("items") or [])

    def pods(self, namespace: str, job_id: str, selector: str | None = None
             ) -> list[dict[str, Any]]:
        """The pods of a job: by our job label, or by ``selector`` (e.g. the controller uid of
        a Job a CronJob made, whose pods carry the schedule's labels, not a job id)."""
        resp = self.call(f"list pods of job {job_id}", self.core.list_namespaced_pod, namespace,
                         label_selector=selector or f"{LABEL_JOB}={job_id}",
                         _preload_content=False)
        return list(_decode(resp).get("items") or [])

    def served_resources(self, group_version: str) -> set[str] | None:
        """The resource names the API server serves under ``group_version`` (API discovery,
        ``GET /apis/<group>/<version>``); None when it serves no such group version."""
        group, _, version = group_version.partition("/")
        try:
            found = self.call(f"discover {group_version}", self.custom.get_api_resources,
                              group, version)
        except ApiException as exc:
            if exc.status == 404:
                return None
            raise domain_error(exc, f"discover {group_version}") from exc
        return {str(r.name) for r in found.resources or []}

    def pod_log(self, namespace: str, pod: str, container: str) -> bytes:
        """The whole log (the API has no byte offsets); one retry, as followers poll anyway."""
        resp = self.call(f"read the log of pod {namespace}/{pod}",
                         self.core.read_namespaced_pod_log, pod, namespace, container=container,
                         attempts=2, _preload_content=False)
        return bytes(resp.data or b"")


def _crd(kind: str) -> Any:
    for info in KINDS.values():
        if info.kind == kind:
            return info
    raise ValueError(f"unknown kind {kind}")
