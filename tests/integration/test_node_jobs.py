"""Jobs that really run: the real node (kubelet + containerd + runc) pulls the job image from the
sandbox registry and papermill executes the notebook inside the container, on the sandbox's
real runtime image (Debian's CPython, papermill, ipykernel).

No log here is written by the test: every line comes from the container, through the kubelet
and the API server's ``pods/log``. KWOK's simulated nodes (test_kube_jobs.py) keep the GPU and
scheduling cases.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client

from jupyter_mlplat.config import load_config
from jupyter_mlplat.devcluster import node as devnode
from jupyter_mlplat.devcluster import registry as devregistry
from jupyter_mlplat.devcluster.base import Component
from jupyter_mlplat.devcluster.base_images import seed_base_image
from jupyter_mlplat.devcluster.runtime_images import PYTHON, seed_runtime
from jupyter_mlplat.images.registry import RegistryAccess
from jupyter_mlplat.jobs.schemas import JobSpec, JobState
from jupyter_mlplat.platform import Platform

from ..helpers import final_job, job_pods, wait_for, write_notebook

pytestmark = [pytest.mark.integration, pytest.mark.kube, pytest.mark.registry,
              pytest.mark.node]

NS = "ml-alice"
TARGET = "kube-node"
#: A pull that cannot succeed is reported within this many seconds (never Pending forever).
PULL_FAILURE_BOUND = 90


@pytest.fixture(scope="module")
def platform_data(node: Component, registry: Component) -> dict[str, Any]:
    info = node.info()
    base = devnode.platform_config(info)["targets"][0]
    return {"user": "alice", "targets": [base],
            **devregistry.platform_config(registry.info())}


def _container_ids(pod: Any) -> list[str]:
    return [str(cs.container_id).split("://", 1)[1]
            for cs in (pod.status.container_statuses or []) if cs.container_id]


def _running_tasks(node: Component) -> set[str]:
    """Container ids containerd runs right now (from its own ``ctr``, not the API server)."""
    out = subprocess.run(["ctr", "--address", node.info()["containerd_socket"], "--namespace",
                          "k8s.io", "tasks", "list"], capture_output=True, text=True,
                         timeout=30, check=True).stdout
    return {line.split()[0] for line in out.splitlines()[1:]
            if line.split() and line.split()[-1] == "RUNNING"}


def test_node_is_ready_and_tainted(node: Component, admin: client.ApiClient) -> None:
    found = client.CoreV1Api(admin).read_node(devnode.REAL_NODE)
    assert any(c.type == "Ready" and c.status == "True" for c in found.status.conditions)
    assert ("InternalIP", "127.0.0.1") in {(a.type, a.address) for a in found.status.addresses}
    assert found.metadata.labels["mlplat.io/node"] == "real"
    assert [(t.key, t.effect) for t in found.spec.taints] == [("mlplat.io/dedicated",
                                                               "NoSchedule")]
    assert found.status.node_info.container_runtime_version.startswith("containerd://")


# -- through the REST API ----------------------------------------------------------------------
@pytest.fixture
def jp_server_config(mlplat_data_dir: Path, platform_data: dict[str, Any]) -> dict[str, Any]:
    return {
        "ServerApp": {"jpserver_extensions": {"jupyter_mlplat": True}},
        "MLPlatApp": {"data_dir": str(mlplat_data_dir), **platform_data},
    }


async def test_rest_notebook_runs_in_its_container_and_logs_grow(
        api: Any, jp_root_dir: Path, admin: client.ApiClient) -> None:
    write_notebook(jp_root_dir / "nb" / "train.ipynb", "lr = 0.1\nsteps = 3",
                   "import sys, time, platform\n"
                   "print('python', platform.python_version(), sys.executable, flush=True)\n"
                   "for step in range(steps):\n"
                   "    print(f'step {step} lr {lr}', flush=True)\n"
                   "    time.sleep(2)\n"
                   "print('trained ✓', flush=True)")
    status, job = await api("jobs", "POST", {"notebook": "nb/train.ipynb", "target": TARGET,
                                             "parameters": {"lr": 0.5, "steps": 6}})
    assert status == 201, job
    job_id = job["id"]
    sizes: list[int] = []
    deadline = time.monotonic() + 240
    while job["state"] not in ("succeeded", "failed", "cancelled"):
        assert time.monotonic() < deadline, job
        await asyncio.sleep(1)
        status, job = await api(f"jobs/{job_id}")
        if job["state"] == "running":
            status, chunk = await api(f"jobs/{job_id}/logs")
            assert status == 200, chunk
            sizes.append(len(chunk["text"]))
    assert job["state"] == "succeeded", job
    # The log grew while the notebook ran (it was read at least twice with different sizes).
    assert len(set(s for s in sizes if s)) >= 2, sizes
    status, chunk = await api(f"jobs/{job_id}/logs")
    text = chunk["text"]
    assert "python 3.11" in text and "/opt/venv/bin/python" in text, text
    assert "step 5 lr 0.5" in text and "trained ✓" in text, text
    assert "[mlplat] notebook finished" in text
    assert chunk["complete"] is True
    pod = job_pods(admin, job_id, NS)[0]
    assert pod.spec.node_name == devnode.REAL_NODE and pod.spec.host_network is True
    term = pod.status.container_statuses[0].state.terminated
    assert term.exit_code == 0 and term.reason == "Completed"


async def test_cluster_log_lines_are_pushed_as_the_container_prints_them(
        api: Any, jp_root_dir: Path, jp_serverapp: Any) -> None:
    """While a client reads a cluster job's log, the server follows the pod's log stream and
    pushes each line through the job feed within about a second of the container printing it;
    one follower however many clients read; REST reads are answered from the stream (no read
    of the whole log from the API server) while it is up; the follower ends with the job."""
    from jupyter_mlplat.jobs.feed import SCHEMA_ID
    from jupyter_mlplat.jobs.k8s.api import KubeApi
    from jupyter_mlplat.jobs.k8s.logs import attached

    write_notebook(jp_root_dir / "nb" / "ticks.ipynb", "ticks = 3",
                   "import time\n"
                   "for i in range(ticks):\n"
                   "    print(f'tick {i} at {time.time():.3f}', flush=True)\n"
                   "    time.sleep(1.5)")
    pushed: list[tuple[float, dict[str, Any]]] = []

    async def on_event(logger: Any, schema_id: str, data: dict[str, Any]) -> None:
        if data.get("kind") == "log":
            pushed.append((time.time(), dict(data)))

    jp_serverapp.event_logger.add_listener(schema_id=SCHEMA_ID, listener=on_event)
    whole_reads: list[str] = []
    pod_log = KubeApi.pod_log

    def counted(self: KubeApi, namespace: str, pod: str, container: str) -> bytes:
        whole_reads.append(pod)
        return pod_log(self, namespace, pod, container)

    store = jp_serverapp.web_app.settings["mlplat"].jobs.store
    followers = attached(store)
    assert followers is not None
    status, job = await api("jobs", "POST", {"notebook": "nb/ticks.ipynb", "target": TARGET,
                                             "parameters": {"ticks": 8}})
    assert status == 201, job
    job_id = job["id"]
    KubeApi.pod_log = counted  # type: ignore[method-assign]
    try:
        deadline = time.monotonic() + 240
        reads_while_streaming = 0
        while job["state"] not in ("succeeded", "failed", "cancelled"):
            assert time.monotonic() < deadline, job
            for _client in range(3):  # three clients listen: one follower
                status, chunk = await api(f"jobs/{job_id}/logs")
                assert status == 200, chunk
            assert followers.following() in ([job_id], []), followers.following()
            if any("tick 0" in d["text"] for _, d in pushed):
                # A read while the stream is up (before and after it) is answered from it. Once
                # the container ends, its stream ends too, and until the watcher reports the
                # job's end (later on a loaded machine) a read asks the API server again.
                up = followers.chunk(job_id, 0, 1) is not None
                before = len(whole_reads)
                status, chunk = await api(f"jobs/{job_id}/logs")
                if up and followers.chunk(job_id, 0, 1) is not None:
                    reads_while_streaming += len(whole_reads) - before
                assert "tick 0" in chunk["text"], chunk
            await asyncio.sleep(1)
            status, job = await api(f"jobs/{job_id}")
    finally:
        KubeApi.pod_log = pod_log  # type: ignore[method-assign]
    assert job["state"] == "succeeded", job
    # each printed line arrived through the feed, in order, within about a second
    text = "".join(d["text"] for _, d in pushed if d["job_id"] == job_id)
    offsets = [(d["offset"], d["next_offset"]) for _, d in pushed if d["job_id"] == job_id]
    assert all(a[1] == b[0] for a, b in itertools.pairwise(offsets)), offsets
    delays = []
    for i in range(8):
        line = f"tick {i} at "
        arrival = next(t for t, d in pushed if line in d["text"])
        printed = float(text.split(line, 1)[1].split()[0])
        delays.append(arrival - printed)
    print(f"pushed log line delays (s): {[round(d, 3) for d in delays]}")
    assert max(delays) < 1.5 and sorted(delays)[len(delays) // 2] < 1.0, delays
    assert reads_while_streaming == 0, whole_reads
    # the whole log through the REST API matches what was pushed
    status, chunk = await api(f"jobs/{job_id}/logs")
    assert chunk["text"].startswith(text[:len(chunk["text"])]) and "tick 7" in chunk["text"]
    wait_for(lambda: followers.following() == [], timeout=30, what="the follower to end")


def test_job_timeline_and_log_offsets(platform: Platform, root: Path) -> None:
    write_notebook(root / "train.ipynb", "lr = 0.1", "print('training', lr)",
                   "print('épochs done ✓')")
    job = platform.jobs.submit(JobSpec(notebook="train.ipynb", target=TARGET,
                                       resources={"cpu": "500m", "memory": "512Mi"}), "alice")
    done = final_job(platform, job.id)
    assert done.state is JobState.succeeded, done.error
    states = [e.state.value for e in done.events if e.state is not None]
    assert states[:4] == ["queued", "building", "pushing", "submitted"]
    assert states[-2:] == ["running", "succeeded"]
    assert done.started and done.finished and done.started < done.finished
    chunk = platform.jobs.logs(job.id)
    assert "training 0.1\n" in chunk.text and "épochs done ✓\n" in chunk.text
    assert chunk.complete and chunk.offset == len(chunk.text.encode())
    again = platform.jobs.logs(job.id, offset=chunk.offset)
    assert again.text == "" and again.offset == chunk.offset


# -- failures ------------------------------------------------------------------------------------
def test_raising_cell_fails_with_the_exception_from_the_container(platform: Platform,
                                                                  root: Path) -> None:
    write_notebook(root / "bad.ipynb", "lr = 0.1",
                   "raise ValueError(f'learning rate {lr} diverged')")
    job = platform.jobs.submit(JobSpec(notebook="bad.ipynb", target=TARGET,
                                       parameters={"lr": 7}), "alice")
    done = final_job(platform, job.id)
    assert done.state is JobState.failed
    assert done.error and "ValueError: learning rate 7 diverged" in done.error, done.error
    assert "exited with code 1" in done.error
    log = platform.jobs.logs(job.id).text
    assert "ValueError" in log and "learning rate 7 diverged" in log


def test_cancel_stops_the_container_and_deletes_the_pod(platform: Platform, root: Path,
                                                        admin: client.ApiClient,
                                                        node: Component) -> None:
    write_notebook(root / "sleepy.ipynb", "seconds = 600",
                   "import time\nprint('sleeping', flush=True)\ntime.sleep(seconds)")
    job = platform.jobs.submit(JobSpec(notebook="sleepy.ipynb", target=TARGET), "alice")
    wait_for(lambda: "sleeping" in platform.jobs.logs(job.id).text, timeout=240, interval=1,
             what="the notebook to start sleeping")
    pod = job_pods(admin, job.id, NS)[0]
    containers = set(_container_ids(pod))
    assert containers and containers <= _running_tasks(node)
    started = time.monotonic()
    assert platform.jobs.cancel(job.id).state is JobState.cancelled
    wait_for(lambda: not job_pods(admin, job.id, NS), timeout=60, interval=0.5,
             what="the pod to be deleted")
    assert not containers & _running_tasks(node)
    # The runner handles SIGTERM: well inside the 30 s grace period.
    assert time.monotonic() - started < 25
    assert platform.jobs.store.get(job.id).state is JobState.cancelled


def test_memory_over_the_limit_is_oomkilled(platform: Platform, root: Path) -> None:
    write_notebook(root / "greedy.ipynb", "mib = 1024",
                   "blocks = []\nfor _ in range(mib // 64):\n"
                   "    blocks.append(b'x' * (64 * 2**20))\nprint('allocated', flush=True)")
    job = platform.jobs.submit(JobSpec(notebook="greedy.ipynb", target=TARGET,
                                       resources={"memory": "300Mi"}), "alice")
    done = final_job(platform, job.id)
    assert done.state is JobState.failed
    assert done.error and "OOMKilled" in done.error, done.error


def test_unpullable_image_fails_within_a_bound(platform_data: dict[str, Any], root: Path,
                                               tmp_path: Path, registry: Component) -> None:
    """The TLS registry without the pull secret: the kubelet's pull is refused (401)."""
    info = registry.info()
    seed_runtime(RegistryAccess(info["auth_address"], False, info["auth_user"],
                                info["auth_password"], info["auth_ca_file"]), PYTHON)
    data = {**platform_data, "data_dir": str(tmp_path / "data"),
            "registry": {"push": info["auth_address"], "insecure": False,
                         "credentials": {"file": info["docker_config"]}}}
    write_notebook(root / "train.ipynb", "lr = 0.1", "print(lr)")
    plat = Platform(load_config(data), root)
    try:
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("REQUESTS_CA_BUNDLE", info["auth_ca_file"])
            job = plat.jobs.submit(JobSpec(notebook="train.ipynb", target=TARGET), "alice")
        started = time.monotonic()
        done = final_job(plat, job.id, timeout=PULL_FAILURE_BOUND + 30)
        assert time.monotonic() - started < PULL_FAILURE_BOUND
        assert done.state is JobState.failed
        # The kubelet's event or the container status, whichever is seen first.
        assert done.error and any(what in done.error for what in (
            "Failed to pull image", "ErrImagePull", "ImagePullBackOff")), done.error
        assert "401" in done.error or "unauthorized" in done.error.lower(), done.error
    finally:
        plat.close()


def test_tls_registry_with_the_pull_secret_runs(platform_data: dict[str, Any], root: Path,
                                                tmp_path: Path, registry: Component,
                                                node: Component) -> None:
    info = registry.info()
    seed_runtime(RegistryAccess(info["auth_address"], False, info["auth_user"],
                                info["auth_password"], info["auth_ca_file"]), PYTHON)
    data = {**platform_data, "data_dir": str(tmp_path / "data"),
            "registry": {"push": info["auth_address"], "insecure": False,
                         "credentials": {"file": info["docker_config"]},
                         "pull_secret": node.info()["pull_secret"]}}
    write_notebook(root / "train.ipynb", "lr = 0.1", "print('private registry', lr)")
    plat = Platform(load_config(data), root)
    try:
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("REQUESTS_CA_BUNDLE", info["auth_ca_file"])
            job = plat.jobs.submit(JobSpec(notebook="train.ipynb", target=TARGET), "alice")
        assert job.image and job.image.startswith(info["auth_address"])
        done = final_job(plat, job.id)
        assert done.state is JobState.succeeded, done.error
        assert "private registry 0.1" in plat.jobs.logs(job.id).text
    finally:
        plat.close()


def test_image_without_the_runtime_labels_fails_before_any_pod(
        platform_data: dict[str, Any], root: Path, tmp_path: Path, registry: Component) -> None:
    info = registry.info()
    seed_base_image(info["address"], "runtimes/bare", "1")
    data = {**platform_data, "data_dir": str(tmp_path / "data"),
            "runtimes": [{"name": "bare", "image": "runtimes/bare:1"}]}
    write_notebook(root / "train.ipynb", "lr = 0.1", "print(lr)")
    plat = Platform(load_config(data), root)
    try:
        with pytest.raises(Exception) as raised:
            plat.jobs.submit(JobSpec(notebook="train.ipynb", target=TARGET), "alice")
        message = str(getattr(raised.value, "message", raised.value))
        assert "runtimes/bare:1 cannot run notebook jobs" in message
        assert "org.mlplat.runtime.papermill" in message and "'python3'" in message
        assert getattr(raised.value, "status", None) == 400
        # Refused like any other 400 of a submit: no job record, nothing pushed or created.
        assert plat.jobs.page().total == 0
    finally:
        plat.close()


# -- a schedule on the cluster -------------------------------------------------------------------
def test_node_stops_without_leftovers(kube: Component, registry: Component,
                                      tmp_path: Path) -> None:
    """A second node in its own folder: after stop, no containerd, shim, mount or bridge."""
    import psutil

    from jupyter_mlplat.devcluster.node import Node, _mounts_under, _shims

    extra = Node(tmp_path)
    extra.use({"kube": kube.info(), "registry": registry.info()})
    # Only containerd (its node name would clash with the session's node): start, pull, stop.
    extra._push_pause()
    extra._start_containerd()
    info = extra.info()
    pulled = subprocess.run(["ctr", "--address", info["containerd_socket"], "-n", "k8s.io",
                             "images", "pull", "--plain-http", info["pause_image"]],
                            capture_output=True, text=True, timeout=120, check=False)
    assert pulled.returncode == 0, pulled.stderr
    pids = [p.pid for p in extra.processes if p.pid]
    extra.stop()
    assert not any(psutil.pid_exists(pid) and psutil.Process(pid).status() != "zombie"
                   for pid in pids)
    assert not _shims(info["containerd_socket"]) and not _mounts_under(info["workdir"])
    links = subprocess.run(["ip", "-j", "link"], capture_output=True, text=True, check=True)
    assert info["bridge"] not in {x["ifname"] for x in json.loads(links.stdout)}
