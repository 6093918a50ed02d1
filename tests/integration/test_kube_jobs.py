"""Cluster jobs end to end: append-built image in the sandbox registry, objects in the real
kube-apiserver, pods driven by KWOK, states read back by our watcher and reconciler.

KWOK's pods only pretend to run: what a container really does (papermill's output, exceptions,
OOM kills, pull errors) is tested on the real node in test_node_jobs.py.

PyTorchJob/TFJob get their replica pods and rendezvous environment from the real Kubeflow
training operator (the ``operator`` fixture), whose pods KWOK then plays; a cluster without the
operator is refused at submit (test_devcluster_kube.py has no operator). The rendezvous itself
is tested on the real node (test_node_distributed.py).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client, config

from jupyter_mlplat.config import load_config
from jupyter_mlplat.devcluster import kube as devkube
from jupyter_mlplat.devcluster import registry as devregistry
from jupyter_mlplat.devcluster.base import Component, free_port
from jupyter_mlplat.errors import Forbidden, InvalidRequest, MLPlatError
from jupyter_mlplat.jobs.k8s import manifests as mf
from jupyter_mlplat.jobs.k8s.states import KF_REPLICA_INDEX, KF_REPLICA_TYPE
from jupyter_mlplat.jobs.schemas import Job, JobSpec, JobState
from jupyter_mlplat.platform import Platform

from ..helpers import write_notebook

pytestmark = [pytest.mark.integration, pytest.mark.kube, pytest.mark.registry]

NS = "ml-alice"
FAIL = {"mlplat.test/fail": "true"}
SLOW = {"mlplat.test/run-duration": "60s"}


def _targets(kube_info: dict[str, Any]) -> list[dict[str, Any]]:
    base = devkube.platform_config(kube_info)["targets"][0]
    return [
        base,
        {**base, "name": "kube-fail", "pod_annotations": FAIL},
        {**base, "name": "kube-slow", "pod_annotations": SLOW},
        {**base, "name": "kube-5s", "pod_annotations": {"mlplat.test/run-duration": "5s"}},
        {**base, "name": "kube-bob", "namespace": "ml-bob"},
        {**base, "name": "kube-bad", "kubeflow_spec": {"runPolicy": {"backoffLimit":
                                                                      "Sometimes"}}},
    ]


@pytest.fixture(scope="module")
def platform_data(kube: Component, registry: Component, operator: Component) -> dict[str, Any]:
    info = kube.info()
    return {"user": info["user"], "targets": _targets(info),
            **devregistry.platform_config(registry.info())}


@pytest.fixture
def root(tmp_path: Path) -> Path:
    folder = tmp_path / "root"
    write_notebook(folder / "train.ipynb", "lr = 0.1", "print('training', lr)")
    return folder


def _spec(**kw: Any) -> JobSpec:
    return JobSpec(**{"notebook": "train.ipynb", "target": "kube", **kw})


def _until(check: Callable[[], Any], what: str, timeout: float = 60) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def _final(plat: Platform, job_id: str, timeout: float = 60) -> Job:
    """Wait on the store alone: only the watcher moves the job (no reconcile call here)."""
    return _until(lambda: (j := plat.jobs.store.get(job_id)).state.final and j,
                  f"job {job_id} to finish", timeout)


def _states(job: Job) -> list[str]:
    return [e.state.value for e in job.events if e.state is not None]


def _core(api: client.ApiClient) -> Any:
    """The APIs typed loosely: the tests read optional fields they know are set."""
    return client.CoreV1Api(api)


def _batch(api: client.ApiClient) -> Any:
    return client.BatchV1Api(api)


def _custom(api: client.ApiClient) -> Any:
    return client.CustomObjectsApi(api)


def _pods(api: client.ApiClient, job_id: str, ns: str = NS) -> list[Any]:
    return list(_core(api).list_namespaced_pod(
        ns, label_selector=f"{mf.LABEL_JOB}={job_id}").items)


def _replica(pod: Any) -> str:
    """``master-0``, ``worker-1``: the training operator's replica type and index labels."""
    labels = pod.metadata.labels
    return f"{labels[KF_REPLICA_TYPE]}-{labels[KF_REPLICA_INDEX]}"


def _labelled(api: client.ApiClient, ns: str, job_id: str | None = None) -> list[str]:
    """Names of every platform-made Job, PyTorchJob, TFJob, pod and service in ``ns``."""
    selector = f"{mf.LABEL_JOB}={job_id}" if job_id else mf.LABEL_JOB
    names = [j.metadata.name for j in _batch(api).list_namespaced_job(
        ns, label_selector=selector).items]
    names += [p.metadata.name for p in _core(api).list_namespaced_pod(
        ns, label_selector=selector).items]
    names += [s.metadata.name for s in _core(api).list_namespaced_service(
        ns, label_selector=selector).items]
    custom = _custom(api)
    for plural in ("pytorchjobs", "tfjobs"):
        names += [o["metadata"]["name"] for o in custom.list_namespaced_custom_object(
            "kubeflow.org", "v1", ns, plural, label_selector=selector)["items"]]
    return names


# -- the happy paths --------------------------------------------------------------------------
def test_notebook_job_succeeds_with_full_timeline(platform: Platform, admin: client.ApiClient,
                                                  kube: Component) -> None:
    job = platform.jobs.submit(_spec(resources={"cpu": "500m", "memory": "1Gi"},
                                     timeout=600), "alice")
    assert job.state is JobState.submitted
    assert job.image and "@sha256:" in job.image
    assert job.k8s_object is not None and job.k8s_object.kind == "Job"
    assert job.replicas == ["main"]
    obj = _batch(admin).read_namespaced_job(job.k8s_object.name, NS)
    assert obj.metadata.labels[mf.LABEL_JOB] == job.id
    assert obj.spec.backoff_limit == 0 and obj.spec.active_deadline_seconds == 600
    pod_spec = obj.spec.template.spec
    container = pod_spec.containers[0]
    assert container.image == job.image
    env = {e.name: e.value for e in container.env}
    assert env["MLPLAT_JOB_ID"] == job.id
    assert env["MLPLAT_TENSORBOARD_DIR"].endswith(f"/tensorboard/{job.id}")
    assert "MLPLAT_STORAGE" in env
    assert container.resources.limits == {"cpu": "500m", "memory": "1Gi"}

    done = _final(platform, job.id)
    assert done.state is JobState.succeeded, done.error
    states = _states(done)
    assert states[:4] == ["queued", "building", "pushing", "submitted"]
    assert "running" in states and states[-1] == "succeeded"
    assert done.started is not None and done.finished is not None
    assert any("bytes uploaded" in e.message for e in done.events)
    assert done.outputs.tensorboard and done.outputs.tensorboard.endswith(job.id)
    # What the container printed is tested on the real node (test_node_jobs.py); KWOK's pods
    # print nothing.
    with pytest.raises(InvalidRequest, match="valid: main"):
        platform.jobs.logs(job.id, replica="worker-9")


def test_pytorch_job_with_two_workers_runs_three_pods(platform: Platform,
                                                      admin: client.ApiClient,
                                                      kube: Component) -> None:
    job = platform.jobs.submit(_spec(kind="pytorch", workers=2, resources={"gpu": 1}),
                               "alice")
    assert job.replicas == ["master-0", "worker-0", "worker-1"]
    assert job.k8s_object is not None and job.k8s_object.kind == "PyTorchJob"
    crd = _custom(admin).get_namespaced_custom_object(
        "kubeflow.org", "v1", NS, "pytorchjobs", job.k8s_object.name)
    assert crd["spec"]["pytorchReplicaSpecs"]["Worker"]["replicas"] == 2
    pods = _until(lambda: len(p := _pods(admin, job.id)) == 3 and p, "three pods")
    ranks = {}
    for pod in pods:
        assert pod.metadata.owner_references[0].kind == "PyTorchJob"
        env = {e.name: e.value for e in pod.spec.containers[0].env}
        assert env["WORLD_SIZE"] == "3"
        # The operator's own naming: one headless service per replica.
        assert env["MASTER_ADDR"] == f"{job.k8s_object.name}-master-0"
        assert pod.spec.containers[0].resources.limits["nvidia.com/gpu"] == "1"
        ranks[_replica(pod)] = env["RANK"]
    assert ranks == {"master-0": "0", "worker-0": "1", "worker-1": "2"}
    done = _final(platform, job.id)
    assert done.state is JobState.succeeded, done.error
    assert "running" in _states(done)
    # Logs per replica: each pod's own lines, through the API server and KWOK.
    for pod in pods:
        replica = _replica(pod)
        devkube.write_pod_log(kube.info(), NS, pod.metadata.name, [f"{replica} rank "
                                                                   f"{ranks[replica]}"],
                              container="pytorch")
    for replica, rank in ranks.items():
        assert platform.jobs.logs(job.id, replica=replica).text == f"{replica} rank {rank}\n"


def test_tf_job_is_accepted_and_runs(platform: Platform, admin: client.ApiClient) -> None:
    job = platform.jobs.submit(_spec(kind="tf", workers=1), "alice")
    assert job.k8s_object is not None and job.k8s_object.kind == "TFJob"
    pods = _until(lambda: len(p := _pods(admin, job.id)) == 2 and p, "two pods")
    env = {e.name: e.value for e in pods[0].spec.containers[0].env}
    assert '"chief"' in env["TF_CONFIG"] and '"worker"' in env["TF_CONFIG"]
    done = _final(platform, job.id)
    assert done.state is JobState.succeeded, done.error


# -- failures and cancel ----------------------------------------------------------------------
def test_failing_pod_fails_the_job_with_its_message(platform: Platform) -> None:
    job = platform.jobs.submit(_spec(target="kube-fail"), "alice")
    done = _final(platform, job.id)
    assert done.state is JobState.failed
    assert done.error and "failed on request (mlplat.test/fail)" in done.error
    assert "exited with code 1" in done.error
    # A pod that never got a log file (KWOK answers 400, as a kubelet does for a container
    # that never started): an empty log, not an error.
    chunk = platform.jobs.logs(job.id)
    assert chunk.text == "" and chunk.complete


def test_cancel_a_running_job_leaves_nothing(platform: Platform,
                                             admin: client.ApiClient) -> None:
    job = platform.jobs.submit(_spec(target="kube-slow", kind="pytorch", workers=1), "alice")
    _until(lambda: platform.jobs.store.get(job.id).state is JobState.running, "running")
    cancelled = platform.jobs.cancel(job.id)
    assert cancelled.state is JobState.cancelled
    _until(lambda: not _labelled(admin, NS, job.id), "the job's objects to be deleted")
    time.sleep(1)
    assert platform.jobs.store.get(job.id).state is JobState.cancelled


def test_delete_a_finished_job_removes_its_objects(platform: Platform,
                                                   admin: client.ApiClient) -> None:
    job = platform.jobs.submit(_spec(kind="pytorch", workers=1), "alice")
    done = _final(platform, job.id)
    assert done.state is JobState.succeeded, done.error
    assert _labelled(admin, NS, job.id)  # a finished Kubernetes job keeps its objects
    platform.jobs.delete(job.id)
    _until(lambda: not _labelled(admin, NS, job.id), "the deleted job's objects to go")
    with pytest.raises(MLPlatError, match="no job"):
        platform.jobs.get(job.id)


def test_namespace_not_writable_is_forbidden_and_leaves_nothing(
        platform: Platform, admin: client.ApiClient) -> None:
    with pytest.raises(Forbidden) as info:
        platform.jobs.submit(_spec(target="kube-bob"), "alice")
    assert 'User "alice" cannot create resource "jobs"' in info.value.message
    assert 'namespace "ml-bob"' in info.value.message
    # Refused before building: no job record, no object (the answer carries the reason).
    assert not [j for j in platform.jobs.page().jobs if j.spec.target == "kube-bob"]
    assert not _labelled(admin, "ml-bob")


def test_malformed_pytorchjob_is_rejected_with_the_schema_error(
        platform: Platform, admin: client.ApiClient) -> None:
    before = _labelled(admin, NS)
    with pytest.raises(InvalidRequest) as info:
        platform.jobs.submit(_spec(target="kube-bad", kind="pytorch", workers=1), "alice")
    assert "backoffLimit" in info.value.message and "integer" in info.value.message
    assert not [j for j in platform.jobs.page().jobs if j.spec.target == "kube-bad"]
    assert _labelled(admin, NS) == before


def test_distributed_kinds_need_the_training_operator(registry: Component, root: Path,
                                                      tmp_path: Path) -> None:
    """A cluster of its own, where nobody installed the training operator (so it serves no
    kubeflow.org kinds): PyTorchJob and TFJob are refused with 400 naming the operator, found
    by API discovery, before anything is recorded, built or created."""
    cluster = devkube.Kubernetes(tmp_path / "bare")
    cluster.build()
    cluster.start()
    try:
        info = cluster.info()
        data = {"user": info["user"], "targets": [devkube.platform_config(info)["targets"][0]],
                "data_dir": str(tmp_path / "data"),
                **devregistry.platform_config(registry.info())}
        plat = Platform(load_config(data), root)
        try:
            for kind, name in (("pytorch", "PyTorchJob"), ("tf", "TFJob")):
                with pytest.raises(InvalidRequest) as refused:
                    plat.jobs.submit(_spec(kind=kind, workers=1), "alice")
                assert refused.value.reason == "training operator missing"
                assert f"does not serve {name} (kubeflow.org/v1" in refused.value.message
                assert "Kubeflow training operator" in refused.value.message
            assert plat.jobs.page().total == 0
            api = config.new_client_from_config(config_file=info["kubeconfigs"]["admin"])
            try:
                assert not _core(api).list_namespaced_pod(NS).items
            finally:
                api.close()
            # A plain notebook job needs no operator.
            job = plat.jobs.submit(_spec(), "alice")
            assert job.k8s_object is not None and job.k8s_object.kind == "Job"
        finally:
            plat.close()
    finally:
        cluster.stop()


def test_bad_input_is_refused_before_anything_is_created(platform: Platform) -> None:
    with pytest.raises(InvalidRequest, match="valid: kube, kube-fail"):
        platform.jobs.submit(_spec(target="nope"), "alice")
    with pytest.raises(InvalidRequest, match="valid: python"):
        platform.jobs.submit(_spec(runtime="nope"), "alice")
    with pytest.raises(InvalidRequest, match="workers"):
        platform.jobs.submit(_spec(workers=2), "alice")
    assert platform.jobs.page().total == 0


def test_registry_down_fails_the_job_at_pushing(platform_data: dict[str, Any], root: Path,
                                                tmp_path: Path, admin: client.ApiClient) -> None:
    down = {**platform_data, "data_dir": str(tmp_path / "data"),
            "registry": {**platform_data["registry"], "push": f"127.0.0.1:{free_port()}",
                         "pull": None}}
    plat = Platform(load_config(down), root)
    try:
        with pytest.raises(MLPlatError) as info:
            plat.jobs.submit(_spec(), "alice")
        job = plat.jobs.page().jobs[0]
        assert job.state is JobState.failed and job.error == info.value.message
        assert _states(job)[-2:] == ["pushing", "failed"]
        assert not _labelled(admin, NS, job.id)
    finally:
        plat.close()


# -- idempotency and restarts -----------------------------------------------------------------
def test_submit_with_the_same_request_id_makes_one_object(platform: Platform,
                                                          admin: client.ApiClient) -> None:
    first = platform.jobs.submit(_spec(client_request_id="req-1"), "alice")
    again = platform.jobs.submit(_spec(client_request_id="req-1"), "alice")
    assert again.id == first.id
    assert len(_batch(admin).list_namespaced_job(
        NS, label_selector=f"{mf.LABEL_JOB}={first.id}").items) == 1
    # A create repeated after a lost answer (5xx, timeout) adopts what the first one made.
    backend: Any = platform.jobs.backend("kube")
    obj = _batch(admin).read_namespaced_job(f"mlplat-{first.id}", NS)
    stored = platform.jobs.store.get(first.id)
    adopted = backend.api.create(mf.primary(backend.workload(stored, stored.image)))
    assert adopted["metadata"]["uid"] == obj.metadata.uid
    assert _final(platform, first.id).state is JobState.succeeded


def test_a_job_seen_running_before_its_submit_is_recorded_keeps_its_object(
        platform: Platform, admin: client.ApiClient, monkeypatch: pytest.MonkeyPatch) -> None:
    """Between creating the object and recording `submitted`, a watcher of another target on
    the same namespace could see the pods run and move the job on; the submit then found it
    no longer `building` and took that for a cancel, deleting the object under a running job
    (which then failed as "deleted outside the platform")."""
    store = platform.jobs.store
    merge = store.merge_backend_ref

    def seen_running_meanwhile(job_id: str, **values: Any) -> None:
        merge(job_id, **values)
        if "name" in values:
            store.transition(job_id, JobState.running, message="running: seen by a watcher")

    monkeypatch.setattr(store, "merge_backend_ref", seen_running_meanwhile)
    job = platform.jobs.submit(_spec(target="kube-5s"), "alice")
    monkeypatch.setattr(store, "merge_backend_ref", merge)
    assert len(_batch(admin).list_namespaced_job(
        NS, label_selector=f"{mf.LABEL_JOB}={job.id}").items) == 1
    done = _final(platform, job.id)
    assert done.state is JobState.succeeded, done.error


def test_a_backend_leaves_other_targets_jobs_to_their_own(platform: Platform) -> None:
    """Two targets on one namespace both watch it; each follows only its own jobs."""
    job = platform.jobs.submit(_spec(target="kube-slow"), "alice")
    _until(lambda: platform.jobs.store.get(job.id).state is JobState.running, "running")
    before = platform.jobs.store.get(job.id)
    other: Any = platform.jobs.backend("kube-fail")
    other.sync(job.id)
    assert platform.jobs.store.get(job.id).events == before.events
    platform.jobs.cancel(job.id)


def test_a_new_server_catches_up_with_jobs_that_moved_meanwhile(
        platform: Platform, platform_data: dict[str, Any], root: Path, tmp_path: Path) -> None:
    job = platform.jobs.submit(_spec(target="kube-5s"), "alice")
    platform.close()  # the watcher stops with the "server"
    time.sleep(8)
    assert platform.jobs.store.get(job.id).state in (JobState.submitted, JobState.pending,
                                                      JobState.running)
    later = Platform(load_config({**platform_data, "data_dir": str(tmp_path / "data")}), root)
    try:
        deadline = time.monotonic() + 60  # KWOK ends the pod ~5 s after it runs; allow for load
        while True:
            later.jobs.reconcile()
            done = later.jobs.store.get(job.id)
            if done.state.final or time.monotonic() > deadline:
                break
            time.sleep(1)
        assert done.state is JobState.succeeded, done.error
        assert _states(done)[-2:] == ["running", "succeeded"]
    finally:
        later.close()


# -- through the REST API ---------------------------------------------------------------------
@pytest.fixture
def jp_server_config(mlplat_data_dir: Path, platform_data: dict[str, Any]) -> dict[str, Any]:
    return {
        "ServerApp": {"jpserver_extensions": {"jupyter_mlplat": True}},
        "MLPlatApp": {"data_dir": str(mlplat_data_dir), **platform_data},
    }


async def test_rest_submit_follow_and_bad_input(api: Any, jp_root_dir: Path,
                                                admin: client.ApiClient,
                                                kube: Component) -> None:
    write_notebook(jp_root_dir / "nb" / "train.ipynb", "lr = 0.1", "print(lr)")
    status, job = await api("jobs", "POST", {"notebook": "nb/train.ipynb", "target": "kube",
                                             "parameters": {"lr": 0.5}})
    assert status == 201, job
    assert job["state"] == "submitted" and "@sha256:" in job["image"]
    deadline = time.monotonic() + 60
    while job["state"] not in ("succeeded", "failed", "cancelled"):
        assert time.monotonic() < deadline, job
        await asyncio.sleep(0.3)
        status, job = await api(f"jobs/{job['id']}")
    assert job["state"] == "succeeded", job
    assert job["replicas"] == ["main"] and job["k8s_object"]["kind"] == "Job"
    status, chunk = await api(f"jobs/{job['id']}/logs", params={"replica": "main"})
    assert status == 200 and chunk["complete"], chunk  # the real node's test reads real lines

    status, body = await api("jobs", "POST", {"notebook": "nb/train.ipynb", "target": "x"})
    assert status == 400 and "valid: kube" in body["message"]
    status, body = await api("jobs", "POST", {"notebook": "nb/train.ipynb", "target": "kube",
                                              "resources": {"cpu": "lots"}})
    assert status == 400 and "lots" in body["message"]
    status, body = await api("jobs", "POST", {"notebook": "nb/train.ipynb",
                                              "target": "kube-bob"})
    assert status == 403 and "ml-bob" in body["message"], body
    status, body = await api("jobs", "POST", {"notebook": "nb/train.ipynb", "kind": "pytorch",
                                              "target": "kube-bad"})
    assert status == 400 and "backoffLimit" in body["message"], body
    assert not _labelled(admin, "ml-bob")
