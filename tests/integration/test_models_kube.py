"""Deploying a model to TF Serving objects in the real kube-apiserver (RBAC on)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from kubernetes import client

from jupyter_mlplat.devcluster import kube as devkube
from jupyter_mlplat.devcluster.base import Component

pytestmark = [pytest.mark.integration, pytest.mark.kube]


@pytest.fixture
def jp_server_config(kube: Component, mlplat_data_dir: Path) -> dict[str, Any]:
    platform = devkube.platform_config(kube.info())
    return {
        "ServerApp": {"jpserver_extensions": {"jupyter_mlplat": True}},
        "MLPlatApp": {"data_dir": str(mlplat_data_dir), "user": platform["user"],
                      "targets": platform["targets"],
                      "registry": {"push": "127.0.0.1:5000", "insecure": True}},
    }


def labelled(admin: Any, namespace: str) -> list[str]:
    selector = "app.kubernetes.io/managed-by=jupyter-mlplat"
    apps, core = client.AppsV1Api(admin), client.CoreV1Api(admin)
    return ([d.metadata.name for d in apps.list_namespaced_deployment(
        namespace, label_selector=selector).items]
        + [s.metadata.name for s in core.list_namespaced_service(
            namespace, label_selector=selector).items])


async def test_deploy_follows_new_versions_and_refuses_foreign_namespace(
        api: Any, jp_root_dir: Path, admin: Any) -> None:
    model = jp_root_dir / "export"
    model.mkdir()
    (model / "saved_model.pb").write_bytes(b"v1")
    status, v1 = await api("models", "POST", {"path": "export", "name": "iris"})
    assert status == 201, v1

    status, dep = await api("models/iris/versions/1/deploy", "POST", {"target": "kube"})
    assert status == 201, dep
    assert (dep["namespace"], dep["deployed_version"], dep["serving_version"]) == \
        ("ml-alice", 1, 1)
    apps = client.AppsV1Api(admin)
    obj = apps.read_namespaced_deployment(dep["deployment"], "ml-alice")
    args = obj.spec.template.spec.containers[0].args
    assert "--model_name=iris" in args and "--model_base_path=/models/iris" in args
    volume = obj.spec.template.spec.volumes[0]
    assert volume.host_path.path == dep["base_path"]
    svc = client.CoreV1Api(admin).read_namespaced_service(dep["service"], "ml-alice")
    assert {p.port for p in svc.spec.ports} == {8500, 8501}
    generation = obj.metadata.generation

    # A new version: TF Serving's base path gains folder 2; Kubernetes is not touched.
    (model / "saved_model.pb").write_bytes(b"v2")
    status, v2 = await api("models", "POST", {"path": "export", "name": "iris"})
    assert (status, v2["version"]) == (201, 2)
    status, dep = await api("models/iris/deployment")
    assert (dep["serving_version"], dep["deployed_version"]) == (2, 1), dep
    obj = apps.read_namespaced_deployment(dep["deployment"], "ml-alice")
    assert obj.metadata.generation == generation

    # Deploying again (same objects) replaces them rather than failing.
    status, again = await api("models/iris/versions/2/deploy", "POST", {"target": "kube"})
    assert status == 201 and again["deployed_version"] == 2

    # alice has no rights in ml-bob: 403 with Kubernetes' reason, and nothing left there.
    status, err = await api("models/iris/versions/2/deploy", "POST",
                            {"target": "kube", "namespace": "ml-bob"})
    assert status == 403, err
    assert "ml-bob" in err["message"]
    assert labelled(admin, "ml-bob") == []
    status, dep = await api("models/iris/deployment")
    assert dep["namespace"] == "ml-alice"  # the recorded deployment is still the real one

    status, err = await api("models/iris/versions/1/deploy", "POST", {"target": "local"})
    assert status == 400, err
    apps.delete_namespaced_deployment(dep["deployment"], "ml-alice")
    client.CoreV1Api(admin).delete_namespaced_service(dep["service"], "ml-alice")
