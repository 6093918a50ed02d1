"""TF Serving on Kubernetes: render a ``Deployment`` + ``Service`` for a model and apply them.

TF Serving polls ``--model_base_path`` and serves its highest numeric version folder, so the
Deployment points it at the model's folder in the store and never names a version: publishing a
new version is picked up without touching Kubernetes. A local store is mounted from the node
(``hostPath``, the embedded one-machine case); an HDFS store is mirrored into a shared
``emptyDir`` by a sidecar that runs :mod:`jupyter_mlplat.models.mirror` in the platform's runtime
image (TF Serving cannot read WebHDFS).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Any

LABEL_MODEL = "mlplat.io/model"
MOUNT = "/models"


@dataclass(frozen=True)
class ServingSpec:
    model: str
    namespace: str
    base_path: str  # the model folder as the platform names it (local path or hdfs:// URL)
    image: str
    replicas: int = 1
    sync_image: str | None = None  # the runtime image running the mirror sidecar (HDFS)
    sync_env: tuple[tuple[str, str], ...] = ()
    cpu: str | None = None
    memory: str | None = None
    gpu: int = 0


def object_name(model: str) -> str:
    """A DNS-1123 name, unique per model name (``alice/resnet`` and ``alice-resnet`` differ)."""
    slug = re.sub(r"[^a-z0-9-]+", "-", model.lower()).strip("-")[:40].strip("-") or "model"
    return f"tfs-{slug}-{hashlib.sha256(model.encode()).hexdigest()[:6]}"


def serving_name(model: str) -> str:
    """The name TF Serving serves it under (``/v1/models/<name>``)."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", model)


def label_value(model: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", model)[:63].strip("_.-") or "model"


def render(spec: ServingSpec) -> tuple[dict[str, Any], dict[str, Any]]:
    name = object_name(spec.model)
    labels = {"app.kubernetes.io/name": "tensorflow-serving", LABEL_MODEL: label_value(spec.model),
              "app.kubernetes.io/instance": name, "app.kubernetes.io/managed-by": "jupyter-mlplat"}
    model_dir = f"{MOUNT}/{serving_name(spec.model)}"
    serving = {
        "name": "tensorflow-serving", "image": spec.image,
        "args": [f"--model_name={serving_name(spec.model)}", f"--model_base_path={model_dir}",
                 "--port=8500", "--rest_api_port=8501",
                 "--file_system_poll_wait_seconds=2"],
        "ports": [{"name": "grpc", "containerPort": 8500},
                  {"name": "http", "containerPort": 8501}],
        "readinessProbe": {"httpGet": {"path": f"/v1/models/{serving_name(spec.model)}",
                                       "port": 8501}, "periodSeconds": 5},
        "volumeMounts": [{"name": "model", "mountPath": model_dir, "readOnly": True}],
    }
    requests = {k: v for k, v in (("cpu", spec.cpu), ("memory", spec.memory)) if v}
    if requests or spec.gpu:
        serving["resources"] = {
            "requests": requests,
            "limits": {"nvidia.com/gpu": str(spec.gpu)} if spec.gpu else {},
        }
    containers = [serving]
    if spec.base_path.startswith("hdfs://"):
        volume: dict[str, Any] = {"name": "model", "emptyDir": {}}
        containers.append({
            "name": "model-sync", "image": spec.sync_image or spec.image,
            "command": ["python", "-m", "jupyter_mlplat.models.mirror", spec.base_path,
                        model_dir],
            "env": [{"name": k, "value": v} for k, v in spec.sync_env],
            "volumeMounts": [{"name": "model", "mountPath": model_dir}],
        })
    else:
        volume = {"name": "model", "hostPath": {"path": spec.base_path, "type": "Directory"}}
    deployment = {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "namespace": spec.namespace, "labels": labels},
        "spec": {
            "replicas": spec.replicas,
            "selector": {"matchLabels": {"app.kubernetes.io/instance": name}},
            "template": {"metadata": {"labels": labels},
                         "spec": {"containers": containers, "volumes": [volume]}},
        },
    }
    service = {
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"name": name, "namespace": spec.namespace, "labels": labels},
        "spec": {"selector": {"app.kubernetes.io/instance": name},
                 "ports": [{"name": "grpc", "port": 8500, "targetPort": 8500},
                           {"name": "http", "port": 8501, "targetPort": 8501}]},
    }
    return deployment, service
