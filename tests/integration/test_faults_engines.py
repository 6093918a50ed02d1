"""Faults of the real engines, survived with nothing lost.

* the registry stops while a job's code layer is being uploaded: the job fails with the
  registry's error, no Kubernetes object and no manifest are left, and a rerun through the
  REST API succeeds once the registry is back;
* kube-apiserver alone stops while jobs are watched and a job finishes around the outage: the
  watcher recovers by itself and the job's timeline ends ``running`` → ``succeeded``; an
  expired resourceVersion (410 Gone) makes the watcher list again instead of dying;
* one HDFS name node of an HA list stops while in use: the next request goes to the other
  address, and with every address down the API answers 503 naming the addresses tried.
"""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import Any

import pytest
import requests
from kubernetes import client, config

from jupyter_mlplat.config import load_config
from jupyter_mlplat.devcluster import kube as devkube
from jupyter_mlplat.devcluster import registry as devregistry
from jupyter_mlplat.devcluster.hdfs import HdfsClusters
from jupyter_mlplat.devcluster.kube import Kubernetes
from jupyter_mlplat.devcluster.registry import Registries
from jupyter_mlplat.images.refs import job_tag, user_repository
from jupyter_mlplat.jobs.k8s import manifests as mf
from jupyter_mlplat.jobs.k8s.watcher import NamespaceWatcher, Stream
from jupyter_mlplat.jobs.schemas import Job, JobSpec, JobState
from jupyter_mlplat.platform import Platform

from ..helpers import server_config, wait_for, write_notebook

pytestmark = [pytest.mark.integration, pytest.mark.kube, pytest.mark.registry]

NS = "ml-alice"
PREFIX = "faults"  # a repository prefix of this module's own: its uploads are the only ones
BIG_FILE_BYTES = 32 * 1024 * 1024
REGISTRY_TIMEOUT = 5  # seconds the registry may stay silent before a request is retried


def _until(check: Callable[[], Any], what: str, timeout: float = 60) -> Any:
    return wait_for(check, timeout=timeout, what=what)


def _states(events: list[dict[str, Any]]) -> list[str]:
    return [e["state"] for e in events if e.get("state")]


def _labelled(api: client.ApiClient, job_id: str) -> list[str]:
    """Every platform-made Job, pod and service of ``job_id`` in the namespace."""
    selector = f"{mf.LABEL_JOB}={job_id}"
    core, batch = client.CoreV1Api(api), client.BatchV1Api(api)
    found = [j.metadata.name for j in batch.list_namespaced_job(NS, label_selector=selector)
             .items]
    found += [p.metadata.name for p in core.list_namespaced_pod(NS, label_selector=selector)
              .items]
    found += [s.metadata.name for s in core.list_namespaced_service(NS, label_selector=selector)
              .items]
    return found


@pytest.fixture(scope="module")
def admin(kube: Kubernetes) -> Iterator[client.ApiClient]:
    api = config.new_client_from_config(config_file=kube.info()["kubeconfigs"]["admin"])
    yield api
    api.close()


def _kube_targets(kube: Kubernetes) -> list[dict[str, Any]]:
    base = {**devkube.platform_config(kube.info())["targets"][0]}
    return [base, {**base, "name": "kube-8s",
                   "pod_annotations": {"mlplat.test/run-duration": "8s"}}]


# -- the REST tests' server ------------------------------------------------------------------
@pytest.fixture
def jp_server_config(request: pytest.FixtureRequest, mlplat_data_dir: Path) -> dict[str, Any]:
    """The server of a REST test here, on the engines that test asks for: the HDFS clusters as
    HA lists, or the Kubernetes cluster and the registry."""
    app: dict[str, Any] = {}
    if "hdfs" in request.fixturenames:
        hdfs: HdfsClusters = request.getfixturevalue("hdfs")
        clusters = hdfs.info()["clusters"]
        b, a = clusters["prod-b"]["webhdfs"][0], clusters["prod-a"]["webhdfs"][0]
        app["storage"] = [
            {"name": "ha", "kind": "webhdfs", "namenodes": [b, a], "user": "hdfs",
             "timeout": 10},
            {"name": "ha-dead", "kind": "webhdfs", "namenodes": [b, hdfs.dead_namenode_url()],
             "user": "hdfs", "timeout": 10},
        ]
    if "kube" in request.fixturenames:
        registry: Registries = request.getfixturevalue("registry")
        app.update(devregistry.platform_config(registry.info()))
        app["registry"] = {**app["registry"], "repository_prefix": PREFIX,
                           "timeout": REGISTRY_TIMEOUT}
        app["targets"] = _kube_targets(request.getfixturevalue("kube"))
    return server_config(mlplat_data_dir, **app)


# -- 1. the registry stops in the middle of a push --------------------------------------------
def _upload_files(registry: Registries, repo: str) -> set[Path]:
    uploads = registry.data_dir() / "docker/registry/v2/repositories" / repo / "_uploads"
    return set(uploads.glob("*/data")) if uploads.exists() else set()


def _manifest_revisions(registry: Registries, repo: str) -> set[str]:
    revisions = (registry.data_dir() / "docker/registry/v2/repositories" / repo
                 / "_manifests/revisions/sha256")
    return {p.name for p in revisions.iterdir()} if revisions.exists() else set()


async def test_registry_stopped_mid_push_fails_the_job_and_a_rerun_succeeds(
        api: Callable[..., Any], jp_root_dir: Path, registry: Registries, kube: Kubernetes,
        admin: client.ApiClient) -> None:
    write_notebook(jp_root_dir / "big" / "train.ipynb", "lr = 0.1", "print('training', lr)")
    # Random bytes: the gzip'd code layer is as big, so its upload takes a moment.
    (jp_root_dir / "big" / "weights.bin").write_bytes(os.urandom(BIG_FILE_BYTES))
    repo = user_repository(PREFIX, "alice")
    address = registry.info()["address"]
    uploads_before = _upload_files(registry, repo)
    manifests_before = _manifest_revisions(registry, repo)
    spec = {"notebook": "big/train.ipynb", "files": ["weights.bin"], "target": "kube"}

    submitted = asyncio.ensure_future(api("jobs", "POST", spec))
    try:
        # The code layer's bytes are arriving in the registry's storage: freeze it there, so
        # the upload is caught half-way whatever the machine's speed, then stop it.
        deadline = time.monotonic() + 120
        while not (upload := next((p for p in _upload_files(registry, repo) - uploads_before
                                   if p.stat().st_size > 0), None)):
            assert time.monotonic() < deadline and not submitted.done(), submitted
            await asyncio.sleep(0.01)
        registry.pause_instance()
        received = upload.stat().st_size
        assert 0 < received < BIG_FILE_BYTES
        status, page = await api("jobs")
        assert page["jobs"] and page["jobs"][0]["state"] == "pushing", page
        job_id = page["jobs"][0]["id"]
        registry.stop_instance()
        status, body = await asyncio.wait_for(submitted, 120)
    finally:
        registry.start_instance()  # idempotent: running again whatever happened above

    # The submit answers 503 with the registry's error; the job is failed with it.
    assert status == 503, body
    message = body["message"]
    assert address in message and "Connection refused" in message, message
    assert "uploading" in message, message
    status, job = await api(f"jobs/{job_id}")
    assert job["state"] == "failed" and job["error"] == message
    assert _states(job["events"])[-2:] == ["pushing", "failed"]
    assert job["k8s_object"] is None
    # Nothing left behind: no Kubernetes object, no manifest, no tag for the job.
    assert _labelled(admin, job_id) == []
    assert _manifest_revisions(registry, repo) == manifests_before
    base = f"http://{address}/v2/{repo}"
    assert requests.get(f"{base}/manifests/{job_tag(job_id)}", timeout=10).status_code == 404
    tags = requests.get(f"{base}/tags/list", timeout=10)
    assert tags.status_code == 404 or job_tag(job_id) not in (tags.json().get("tags") or [])

    # With the registry back, the API's rerun goes through end to end.
    status, rerun = await api(f"jobs/{job_id}/rerun", "POST", {})
    assert status == 201, rerun
    assert rerun["parent_id"] == job_id and rerun["state"] == "submitted"
    assert rerun["image"].startswith(f"{address}/{repo}@sha256:")
    deadline = time.monotonic() + 120
    while rerun["state"] not in ("succeeded", "failed", "cancelled"):
        assert time.monotonic() < deadline, rerun
        await asyncio.sleep(0.5)
        status, rerun = await api(f"jobs/{rerun['id']}")
    assert rerun["state"] == "succeeded", rerun
    states = _states(rerun["events"])
    assert states[-1] == "succeeded" and "running" in states
    manifest = requests.get(f"{base}/manifests/{job_tag(rerun['id'])}", timeout=10, headers={
        "Accept": "application/vnd.docker.distribution.manifest.v2+json"})
    assert manifest.status_code == 200
    assert rerun["image"].endswith(manifest.headers["Docker-Content-Digest"])
    assert max(layer["size"] for layer in manifest.json()["layers"]) > BIG_FILE_BYTES


async def test_registry_that_hangs_mid_push_fails_the_job_in_bounded_time(
        api: Callable[..., Any], jp_root_dir: Path, registry: Registries, kube: Kubernetes,
        admin: client.ApiClient) -> None:
    """A registry that stops answering (but keeps its connections) must not block a build
    for the library's default 300 s per try: the configured timeout bounds every try."""
    write_notebook(jp_root_dir / "hang" / "train.ipynb", "lr = 0.1", "print('training', lr)")
    (jp_root_dir / "hang" / "weights.bin").write_bytes(os.urandom(BIG_FILE_BYTES))
    repo = user_repository(PREFIX, "alice")
    uploads_before = _upload_files(registry, repo)
    manifests_before = _manifest_revisions(registry, repo)
    spec = {"notebook": "hang/train.ipynb", "files": ["weights.bin"], "target": "kube"}

    submitted = asyncio.ensure_future(api("jobs", "POST", spec))
    try:
        deadline = time.monotonic() + 120
        while not any(p.stat().st_size > 0
                      for p in _upload_files(registry, repo) - uploads_before):
            assert time.monotonic() < deadline and not submitted.done(), submitted
            await asyncio.sleep(0.01)
        registry.pause_instance()
        hung = time.monotonic()
        # 4 tries of at most REGISTRY_TIMEOUT each, plus the back-off between them.
        status, body = await asyncio.wait_for(submitted, 4 * REGISTRY_TIMEOUT + 60)
        waited = time.monotonic() - hung
    finally:
        registry.stop_instance()  # a paused instance stops at once; then it serves again
        registry.start_instance()

    assert status == 503, body
    assert "timed out" in body["message"] and "tried 4 times" in body["message"], body
    assert waited < 4 * REGISTRY_TIMEOUT + 30, waited
    status, page = await api("jobs")
    job = next(j for j in page["jobs"] if j["spec"]["notebook"] == "hang/train.ipynb")
    assert job["state"] == "failed" and job["k8s_object"] is None
    assert _labelled(admin, job["id"]) == []
    assert _manifest_revisions(registry, repo) == manifests_before


# -- 2. kube-apiserver restarts while jobs are watched ----------------------------------------
@pytest.fixture
def platform(kube: Kubernetes, registry: Registries, tmp_path: Path) -> Iterator[Platform]:
    root = tmp_path / "root"
    write_notebook(root / "train.ipynb", "lr = 0.1", "print('training', lr)")
    data = {"user": "alice", "targets": _kube_targets(kube), "data_dir": str(tmp_path / "data"),
            **devregistry.platform_config(registry.info())}
    plat = Platform(load_config(data), root)
    yield plat
    plat.close()


def test_apiserver_restart_mid_watch_loses_no_state_change(
        platform: Platform, kube: Kubernetes) -> None:
    """Only the watcher moves the job here: once the API server is back, nothing calls
    reconcile, not even a server loop."""
    store = platform.jobs.store
    job = platform.jobs.submit(JobSpec(notebook="train.ipynb", target="kube-8s"), "alice")
    # A job of a target since removed from the config: the reconcile loop fails it.
    orphan = store.create(spec=JobSpec(notebook="train.ipynb", target="removed"),
                          user="alice", name="orphan", outputs={})
    _until(lambda: store.get(job.id).state is JobState.running, "the job to run")
    backend: Any = platform.jobs.backend("kube-8s")
    watcher: NamespaceWatcher = backend._watchers[NS]
    kube.stop_apiserver()
    try:
        down_at = time.monotonic()
        # The pod's 8 s run ends while the API server is away: KWOK cannot report it yet.
        time.sleep(10)
        assert store.get(job.id).state is JobState.running
        assert watcher.alive, "a watcher thread gave up while the API server was down"
        # What the server's loop does meanwhile: the unreachable cluster is that job's
        # problem; every other active job is still checked.
        platform.jobs.reconcile()
        assert store.get(orphan.id).state is JobState.failed
        assert store.get(job.id).state is JobState.running
    finally:
        kube.start_apiserver()
    # back in its place: the sandbox stops it after its clients and before etcd
    assert [p.name for p in kube.processes][:2] == ["etcd", "kube-apiserver"]
    outage = time.monotonic() - down_at
    done: Job = _until(lambda: (j := store.get(job.id)).state.final and j,
                       "the job to finish after the API server came back", timeout=120)
    assert done.state is JobState.succeeded, done.error
    states = [e.state.value for e in done.events if e.state is not None]
    assert states[:4] == ["queued", "building", "pushing", "submitted"]
    assert states[-2:] == ["running", "succeeded"] and "failed" not in states
    assert states.index("running") < states.index("succeeded")
    times = [e.time for e in done.events]
    assert times == sorted(times)
    # Every stream is back to watching (one may still be waiting out its backoff).
    _until(lambda: all(s.failures == 0 for s in watcher.streams),
           f"every stream to recover: {[(s.name, s.failures) for s in watcher.streams]}",
           timeout=30)
    assert watcher.alive
    print(f"API server outage {outage:.1f}s; streams: "
          f"{[(s.name, s.relists, s.expired) for s in watcher.streams]}")


def test_expired_resource_version_relists_instead_of_dying(kube: Kubernetes) -> None:
    """A watch resumed from a version the API server no longer has (410 Gone) lists again and
    goes on watching from the new list's version."""
    api = config.new_client_from_config(config_file=kube.info()["kubeconfigs"]["alice"])
    core = client.CoreV1Api(api)
    listed: list[list[str]] = []
    seen: list[tuple[str, str]] = []
    stream = Stream("configmaps", partial(core.list_namespaced_config_map, NS),
                    on_object=lambda kind, obj: seen.append((kind, obj["metadata"]["name"])),
                    on_list=lambda items: listed.append([o["metadata"]["name"] for o in items]),
                    resource_version="1")  # long compacted away, and older than any cache
    watcher = NamespaceWatcher(NS, [stream], timeout=20)
    name = f"faults-{uuid.uuid4().hex[:8]}"
    try:
        watcher.ensure()
        _until(lambda: listed, "the relist after 410 Gone", timeout=30)
        assert stream.expired == 1 and stream.relists == 1
        assert "kube-root-ca.crt" in listed[0]
        core.create_namespaced_config_map(NS, {"metadata": {"name": name},
                                               "data": {"k": "v"}})
        _until(lambda: ("ADDED", name) in seen, "the new object through the watch", timeout=30)
        assert watcher.alive and stream.failures == 0
    finally:
        watcher.stop()
        core.delete_namespaced_config_map(name, NS)
        api.close()


# -- 3. one HDFS name node of an HA list stops ------------------------------------------------
async def test_name_node_stopped_mid_use_fails_over_without_a_restart(
        api: Any, hdfs: HdfsClusters) -> None:
    folder = f"/tmp/faults-{uuid.uuid4().hex[:8]}"
    for name in ("prod-a", "prod-b"):  # the same path on both, saying which cluster it is
        hdfs.client(name).write(f"{folder}/which.txt", data=name.encode())
    a, b = (hdfs.info()["clusters"][n]["webhdfs"][0] for n in ("prod-a", "prod-b"))

    async def which(cluster: str = "ha") -> tuple[int, Any]:
        return await api(f"storage/{cluster}/contents{folder}/which.txt",
                         params={"content": "1", "format": "text"})

    status, model = await which()
    assert status == 200 and model["content"] == "prod-b", model
    status, listing = await api(f"storage/ha/contents{folder}")
    assert status == 200 and [i["name"] for i in listing["content"]] == ["which.txt"]

    hdfs.stop_cluster("prod-b")
    try:
        started = time.monotonic()
        status, model = await which()  # the next request: failover to prod-a, same server
        failover = time.monotonic() - started
        assert status == 200 and model["content"] == "prod-a", model
        status, body = await api(f"storage/ha/contents{folder}/new.txt", "PUT",
                                 {"type": "file", "format": "text", "content": "after"})
        assert status in (200, 201), body
        assert hdfs.client("prod-a").status(f"{folder}/new.txt", strict=False) is not None

        status, body = await which("ha-dead")  # every address down
        assert status == 503, body
        assert b in body["message"] and hdfs.dead_namenode_url() in body["message"], body
        assert "no name node answered" in body["message"], body
        print(f"failover to {a} took {failover:.2f}s")
    finally:
        hdfs.start_cluster("prod-b")  # the fixture is session-wide: leave it running
    status, model = await which("ha-dead")  # prod-b is back: the same server uses it again
    assert status == 200 and model["content"] == "prod-b", model
