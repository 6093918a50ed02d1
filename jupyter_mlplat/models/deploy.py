"""Applying the serving objects to a Kubernetes target, all or nothing.

Through the one Kubernetes access layer of the platform (:class:`~..jobs.k8s.api.KubeApi`: the
target's kubeconfig and context, bounded retries, the same error mapping: 403 from Kubernetes
is the user's 403). Objects are created, or replaced when they exist (a redeploy); if any step
fails, the objects this call created are deleted again, so a refused deploy leaves nothing
behind. The serving pods are placed like the target's job pods (:func:`placed`).
"""

from __future__ import annotations

import contextlib
from typing import Any

from ..config import KubernetesTarget, PlatformConfig, UnknownName
from ..errors import MLPlatError
from ..images.refs import runtime_image_address
from ..jobs.k8s.api import KubeApi
from ..jobs.k8s.manifests import overlay_pod
from ..storage.env import cluster_env
from .schemas import DeployRequest
from .serving import ServingSpec, object_name, render


def apply_serving(config: PlatformConfig, target: KubernetesTarget, model: str, namespace: str,
                  base_path: str, req: DeployRequest) -> str:
    """Create or replace the Deployment and Service; returns their (shared) name."""
    spec = ServingSpec(model=model, namespace=namespace, base_path=base_path, image=req.image,
                       replicas=req.replicas, cpu=req.resources.cpu,
                       memory=req.resources.memory, gpu=req.resources.gpu,
                       sync_image=runtime_image_address(config.runtime_for(None), config.registry),
                       sync_env=tuple(sorted(cluster_env(config).items())))
    name = object_name(model)
    api = KubeApi(target)
    created: list[str] = []
    try:
        for obj in placed(render(spec), target):
            if api.apply(obj):
                created.append(obj["kind"])
    except MLPlatError:
        for kind in reversed(created):
            with contextlib.suppress(MLPlatError):
                api.delete(kind, namespace, name, propagation="Background")
        raise
    finally:
        api.close()
    return name


def placed(objects: tuple[dict[str, Any], ...], target: KubernetesTarget
           ) -> list[dict[str, Any]]:
    """The serving pods land where the target's job pods land: its ``node_selector``,
    ``tolerations`` and ``pod_template`` (whose ``main`` container is the serving one)."""
    out = []
    for obj in objects:
        if obj["kind"] == "Deployment":
            template = obj["spec"]["template"]
            spec = template["spec"]
            if target.node_selector:
                spec["nodeSelector"] = dict(target.node_selector)
            if target.tolerations:
                spec["tolerations"] = [dict(t) for t in target.tolerations]
            serving = spec["containers"][0]["name"]
            obj = {**obj, "spec": {**obj["spec"], "template": overlay_pod(
                template, target.pod_template, serving)}}
        out.append(obj)
    return out


def ready_replicas(config: PlatformConfig, target_name: str, namespace: str,
                   name: str) -> int | None:
    """Best effort: the Deployment's ready replicas, None when it cannot be read."""
    try:
        api = KubeApi(config.kubernetes_target(target_name), attempts=1)
    except (UnknownName, MLPlatError, Exception):
        return None
    try:
        deployment = api.get("Deployment", namespace, name)
    except MLPlatError:
        return None
    finally:
        api.close()
    if deployment is None:
        return None
    return int((deployment.get("status") or {}).get("readyReplicas") or 0)
