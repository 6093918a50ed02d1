"""Applying the TF Serving objects to a Kubernetes target, all or nothing.

The client is the jobs backend's (same kubeconfig/context handling, same error mapping: 403 from
Kubernetes is the user's 403). Objects are created, or replaced when they exist (a redeploy);
if any step fails, the objects this call created are deleted again, so a refused deploy leaves
nothing behind.
"""

from __future__ import annotations

import contextlib
from typing import Any

from kubernetes import client
from kubernetes.client.exceptions import ApiException

from ..config import ComputeTarget, PlatformConfig, UnknownName
from ..jobs.k8s.api import api_client, domain_error
from ..storage.env import cluster_env
from .schemas import DeployRequest
from .serving import ServingSpec, object_name, render


def _sync_image(config: PlatformConfig) -> str | None:
    runtime = config.runtimes[0] if config.runtimes else None
    if runtime is None or runtime.image is None:
        return None
    if config.registry is None:
        return runtime.image
    return f"{config.registry.pull_address}/{runtime.image}"


def apply_serving(config: PlatformConfig, target: ComputeTarget, model: str, namespace: str,
                  base_path: str, req: DeployRequest) -> str:
    """Create or replace the Deployment and Service; returns their (shared) name."""
    spec = ServingSpec(model=model, namespace=namespace, base_path=base_path, image=req.image,
                       replicas=req.replicas, sync_image=_sync_image(config),
                       sync_env=tuple(sorted(cluster_env(config).items())))
    deployment, service = render(spec)
    name = object_name(model)
    api = api_client(target)
    # Plain dict bodies, as the jobs backend uses them (the client serializes them as they are).
    apps: Any = client.AppsV1Api(api)
    core: Any = client.CoreV1Api(api)
    created: list[Any] = []
    try:
        for create, replace, delete, body in (
            (apps.create_namespaced_deployment, apps.replace_namespaced_deployment,
             apps.delete_namespaced_deployment, deployment),
            (core.create_namespaced_service, core.patch_namespaced_service,
             core.delete_namespaced_service, service),
        ):
            try:
                create(namespace, body)
                created.append(delete)
            except ApiException as exc:
                if exc.status != 409:
                    raise
                replace(name, namespace, body)
    except ApiException as exc:
        for delete in reversed(created):
            with contextlib.suppress(ApiException):
                delete(name, namespace)
        raise domain_error(exc, f"deploy {model} to namespace {namespace}") from exc
    finally:
        api.close()
    return name


def ready_replicas(config: PlatformConfig, target_name: str, namespace: str,
                   name: str) -> int | None:
    """Best effort: the Deployment's ready replicas, None when it cannot be read."""
    try:
        target = config.target(target_name)
        api = api_client(target)
    except (UnknownName, Exception):
        return None
    try:
        apps: Any = client.AppsV1Api(api)
        status = apps.read_namespaced_deployment_status(name, namespace).status
        return int(getattr(status, "ready_replicas", None) or 0)
    except ApiException:
        return None
    finally:
        api.close()
