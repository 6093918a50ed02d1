"""The devcluster's Kubernetes: real API server, RBAC, Job controller, scheduler, KWOK, and the
Kubeflow training operator with its CRDs."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from kubernetes import client, config, watch
from kubernetes.client.exceptions import ApiException

from jupyter_mlplat.devcluster.base import Component
from jupyter_mlplat.devcluster.kube import platform_config

pytestmark = [pytest.mark.integration, pytest.mark.kube]

NS = "ml-alice"


@pytest.fixture(scope="module")
def alice(kube: Component) -> Iterator[client.ApiClient]:
    api = config.new_client_from_config(config_file=kube.info()["kubeconfigs"]["alice"])
    yield api
    api.close()


@pytest.fixture(scope="module")
def kubeflow(alice: client.ApiClient, operator: Component) -> client.ApiClient:
    """Alice's client on the cluster once the training operator (and its CRDs) runs."""
    return alice


def _name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:6]}"


def _job(name: str, annotations: dict[str, str] | None = None,
         resources: dict[str, Any] | None = None) -> dict[str, Any]:
    container: dict[str, Any] = {"name": "main", "image": "busybox:1.36", "command": ["true"]}
    if resources:
        container["resources"] = resources
    return {
        "apiVersion": "batch/v1", "kind": "Job",
        "metadata": {"name": name},
        "spec": {
            "backoffLimit": 0,
            "template": {
                "metadata": {"annotations": annotations or {}},
                "spec": {"restartPolicy": "Never", "containers": [container]},
            },
        },
    }


def _apis(api: client.ApiClient) -> tuple[Any, Any]:
    """Core and batch APIs, typed loosely: the tests read optional fields they know are set."""
    return client.CoreV1Api(api), client.BatchV1Api(api)


def _wait_pod_phase(core: Any, job: str, phase: str) -> Any:
    """Watch the Job's pods (as alice) until one reaches ``phase``; return it."""
    seen = []
    stream = watch.Watch().stream(core.list_namespaced_pod, NS,
                                  label_selector=f"job-name={job}", timeout_seconds=60)
    for event in stream:
        pod = event["object"]
        seen.append(pod.status.phase)
        if pod.status.phase == phase:
            return pod
    raise AssertionError(f"no pod of job {job} reached {phase}; phases seen: {seen}")


def _wait(check: Callable[[], Any], what: str, timeout: float = 60) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}")


def _job_condition(batch: Any, name: str, kind: str) -> bool:
    job = batch.read_namespaced_job(name, NS)
    return any(c.type == kind and c.status == "True" for c in job.status.conditions or [])


def test_job_pod_succeeds_through_kwok_and_job_completes(alice: client.ApiClient) -> None:
    core, batch = _apis(alice)
    name = _name("ok")
    batch.create_namespaced_job(NS, _job(name))

    pod = _wait_pod_phase(core, name, "Succeeded")
    assert pod.spec.node_name in ("kwok-cpu-0", "kwok-gpu-0")
    state = pod.status.container_statuses[0].state.terminated
    assert state.exit_code == 0 and state.reason == "Completed"

    _wait(lambda: _job_condition(batch, name, "Complete"), f"job {name} Complete")
    assert batch.read_namespaced_job(name, NS).status.succeeded == 1


def test_annotated_pod_fails_with_exit_code_1(alice: client.ApiClient) -> None:
    core, batch = _apis(alice)
    name = _name("fail")
    batch.create_namespaced_job(NS, _job(name, annotations={"mlplat.test/fail": "true"}))

    pod = _wait_pod_phase(core, name, "Failed")
    assert pod.status.container_statuses[0].state.terminated.exit_code == 1
    _wait(lambda: _job_condition(batch, name, "Failed"), f"job {name} Failed")


def test_gpu_request_is_scheduled_on_the_gpu_node(alice: client.ApiClient) -> None:
    core, batch = _apis(alice)
    name = _name("gpu")
    gpu = {"limits": {"nvidia.com/gpu": "1", "cpu": "1", "memory": "1Gi"}}
    batch.create_namespaced_job(NS, _job(name, resources=gpu))

    pod = _wait_pod_phase(core, name, "Succeeded")
    assert pod.spec.node_name == "kwok-gpu-0"


def test_alice_is_forbidden_in_bobs_namespace(alice: client.ApiClient) -> None:
    with pytest.raises(ApiException) as listing:
        client.CoreV1Api(alice).list_namespaced_pod("ml-bob")
    assert listing.value.status == 403
    with pytest.raises(ApiException) as creating:
        _apis(alice)[1].create_namespaced_job("ml-bob", _job(_name("intruder")))
    assert creating.value.status == 403
    with pytest.raises(ApiException) as cluster_wide:
        client.CoreV1Api(alice).list_node()
    assert cluster_wide.value.status == 403


def _replica(replicas: Any = 1, with_template: bool = True) -> dict[str, Any]:
    spec: dict[str, Any] = {"replicas": replicas, "restartPolicy": "OnFailure"}
    if with_template:
        spec["template"] = {
            "metadata": {"labels": {"mlplat.io/job": "x"}},
            "spec": {"containers": [{
                "name": "pytorch", "image": "pytorch:2",
                "resources": {"limits": {"nvidia.com/gpu": 1}},
            }]},
        }
    return spec


def _kubeflow(kind: str, name: str, replica_specs: dict[str, Any]) -> dict[str, Any]:
    key = "pytorchReplicaSpecs" if kind == "PyTorchJob" else "tfReplicaSpecs"
    return {"apiVersion": "kubeflow.org/v1", "kind": kind, "metadata": {"name": name},
            "spec": {key: replica_specs, "runPolicy": {"cleanPodPolicy": "None"}}}


def _create(alice: client.ApiClient, plural: str, body: dict[str, Any]) -> Any:
    custom: Any = client.CustomObjectsApi(alice)
    return custom.create_namespaced_custom_object("kubeflow.org", "v1", NS, plural, body)


def test_pytorchjob_is_accepted_with_its_pod_template(kubeflow: client.ApiClient) -> None:
    name = _name("pt")
    _create(kubeflow, "pytorchjobs", _kubeflow(
        "PyTorchJob", name, {"Master": _replica(1), "Worker": _replica(2)}))

    custom: Any = client.CustomObjectsApi(kubeflow)
    stored = custom.get_namespaced_custom_object(
        "kubeflow.org", "v1", NS, "pytorchjobs", name)
    worker = stored["spec"]["pytorchReplicaSpecs"]["Worker"]
    assert worker["replicas"] == 2
    assert worker["template"]["metadata"]["labels"] == {"mlplat.io/job": "x"}
    container = worker["template"]["spec"]["containers"][0]
    assert container["resources"]["limits"]["nvidia.com/gpu"] == 1  # kept inside the template


@pytest.mark.parametrize("replica, message", [
    (_replica("two"), "replicas"),
    ({**_replica(1), "restartPolicy": 3}, "restartPolicy"),
])
def test_malformed_pytorchjob_is_rejected(kubeflow: client.ApiClient, replica: dict[str, Any],
                                          message: str) -> None:
    with pytest.raises(ApiException) as rejected:
        _create(kubeflow, "pytorchjobs",
                _kubeflow("PyTorchJob", _name("bad"), {"Worker": replica}))
    assert rejected.value.status == 422
    assert message in str(rejected.value.body)


def test_the_operator_runs_a_pytorchjob_through_its_pods(kubeflow: client.ApiClient) -> None:
    """The training operator creates the replica's pod (owned by the job) and its headless
    service, with the rendezvous environment; KWOK finishes the pod; the operator marks the
    job Succeeded."""
    core, _ = _apis(kubeflow)
    custom: Any = client.CustomObjectsApi(kubeflow)
    name = _name("pt-pods")
    _create(kubeflow, "pytorchjobs", _kubeflow("PyTorchJob", name, {"Master": _replica()}))
    pod_name = f"{name}-master-0"

    def succeeded() -> Any:
        job = custom.get_namespaced_custom_object("kubeflow.org", "v1", NS, "pytorchjobs", name)
        conditions = (job.get("status") or {}).get("conditions") or []
        return any(c["type"] == "Succeeded" and c["status"] == "True" for c in conditions)

    deadline = time.monotonic() + 90
    while not succeeded():
        assert time.monotonic() < deadline, "the operator did not mark the job Succeeded"
        time.sleep(0.5)
    pod = core.read_namespaced_pod(pod_name, NS)
    assert pod.metadata.owner_references[0].kind == "PyTorchJob"
    assert pod.status.phase == "Succeeded"
    env = {e.name: e.value for e in pod.spec.containers[0].env}
    assert env["MASTER_ADDR"] == pod_name and env["RANK"] == "0" and env["WORLD_SIZE"] == "1"
    service = core.read_namespaced_service(pod_name, NS)
    assert service.spec.cluster_ip == "None"


def test_tfjob_is_accepted(kubeflow: client.ApiClient) -> None:
    name = _name("tf")
    created = _create(kubeflow, "tfjobs", _kubeflow(
        "TFJob", name, {"Chief": _replica(1), "PS": _replica(1), "Worker": _replica(2)}))
    assert created["metadata"]["name"] == name
    assert set(created["spec"]["tfReplicaSpecs"]) == {"Chief", "PS", "Worker"}


def test_platform_config_points_alice_at_her_namespace(kube: Component) -> None:
    info = kube.info()
    fragment = platform_config(info)
    assert fragment["user"] == "alice"
    target = fragment["targets"][0]
    assert target["kind"] == "kubernetes" and target["namespace"] == "ml-{user}"
    assert target["kubeconfig"] == info["kubeconfigs"]["alice"]
    assert info["namespaces"] == ["ml-alice", "ml-bob"]
