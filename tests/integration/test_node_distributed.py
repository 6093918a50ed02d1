"""Distributed jobs on the real node: the Kubeflow training operator makes the replicas.

A PyTorchJob/TFJob submitted through the REST API is only the custom resource; the training
operator (v1.8.1, built from source) creates each replica's pod and headless service and puts
the rendezvous environment in it (``MASTER_ADDR``/``RANK``/``WORLD_SIZE``, ``TF_CONFIG``);
CoreDNS answers the service names with the pods' addresses; the replicas find each other over
TCP on the node's bridge network (target ``kube-node-pods``: every replica holds the same port,
which host-network pods could not share). Every log line checked here was printed by a replica,
read through the platform's ``/logs``.

One rendezvous is written with the standard library on the plain Python runtime (an
all-reduce of ``rank + 1`` through the master); the same with ``torch.distributed`` over gloo
runs on the CPU PyTorch runtime (``scripts/setup --test`` builds it once, about ten minutes cold,
then it is in the cache: ``python -m jupyter_mlplat.devcluster.runtime_images torch``).
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client

from jupyter_mlplat.devcluster import node as devnode
from jupyter_mlplat.devcluster import registry as devregistry
from jupyter_mlplat.devcluster.base import Component
from jupyter_mlplat.devcluster.runtime_images import TORCH, seed_runtime
from jupyter_mlplat.images.registry import RegistryAccess
from jupyter_mlplat.jobs.k8s import manifests as mf

from ..helpers import write_notebook

pytestmark = [pytest.mark.integration, pytest.mark.kube, pytest.mark.registry,
              pytest.mark.node]

NS = "ml-alice"
TARGET = "kube-node-pods"
FINAL = ("succeeded", "failed", "cancelled")

#: Retry a name until cluster DNS answers it (a replica's service and pod appear in either order).
RESOLVE = """
def resolve(name, timeout=120):
    deadline = time.monotonic() + timeout
    while True:
        try:
            return socket.gethostbyname(name)
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)
"""

#: Each replica adds ``rank + 1`` through the master (rank 0): an all-reduce over TCP, with the
#: addresses and ranks the operator gave.
ALL_REDUCE = """\
import os, socket, time
rank, world = int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"])
master, port = os.environ["MASTER_ADDR"], int(os.environ["MASTER_PORT"])
print(f"rank {rank} of {world}, master {master}:{port}", flush=True)
""" + RESOLVE + """
value = rank + 1
if rank == 0:
    server = socket.create_server(("", port))
    total, peers = value, []
    for _ in range(world - 1):
        peer, _ = server.accept()
        total += int(peer.makefile().readline())
        peers.append(peer)
    for peer in peers:
        peer.sendall(f"{total}\\n".encode())
        peer.close()
else:
    address = resolve(master)
    print(f"MASTER_ADDR {master} resolves to {address}", flush=True)
    deadline = time.monotonic() + 120
    while True:
        try:
            peer = socket.create_connection((address, port), timeout=5)
            break
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)
    peer.sendall(f"{value}\\n".encode())
    total = int(peer.makefile().readline())
print(f"all-reduce sum {total} on rank {rank} of {world}", flush=True)
assert total == world * (world + 1) // 2
"""

#: Each replica prints its TF_CONFIG and resolves every address in it; the chief waits for
#: every worker to connect (so no replica ends before all resolved each other).
TF_CONFIG_CHECK = """\
import json, os, socket, time
conf = json.loads(os.environ["TF_CONFIG"])
print("TF_CONFIG " + json.dumps(conf, sort_keys=True), flush=True)
""" + RESOLVE + """
for kind, addresses in sorted(conf["cluster"].items()):
    for address in addresses:
        host, port = address.rsplit(":", 1)
        print(f"resolved {kind} {host} -> {resolve(host)}", flush=True)
task = conf["task"]
chief_host, chief_port = conf["cluster"]["chief"][0].rsplit(":", 1)
if task["type"] == "chief":
    server = socket.create_server(("", int(chief_port)))
    peers = [server.accept()[0] for _ in conf["cluster"].get("worker", [])]
    for peer in peers:
        print("chief met " + peer.makefile().readline().strip(), flush=True)
        peer.sendall(b"ok\\n")
        peer.close()
else:
    deadline = time.monotonic() + 120
    while True:
        try:
            peer = socket.create_connection((resolve(chief_host), int(chief_port)), timeout=5)
            break
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)
    peer.sendall(f"{task['type']}-{task['index']}\\n".encode())
    assert peer.makefile().readline().strip() == "ok"
print(f"{task['type']}-{task['index']} done", flush=True)
"""

#: The same all-reduce with torch.distributed over gloo (env:// from the operator's variables).
TORCH_ALL_REDUCE = """\
import datetime, torch, torch.distributed as dist
dist.init_process_group("gloo", timeout=datetime.timedelta(seconds=180))
rank, world = dist.get_rank(), dist.get_world_size()
tensor = torch.tensor([float(rank + 1)])
dist.all_reduce(tensor)
print(f"torch {torch.__version__} gloo rank {rank} of {world}: all_reduce sum "
      f"{tensor.item():.0f}", flush=True)
assert tensor.item() == world * (world + 1) / 2
dist.destroy_process_group()
"""


@pytest.fixture(scope="module")
def platform_data(node: Component, registry: Component, operator: Component) -> dict[str, Any]:
    targets = devnode.platform_config(node.info())["targets"]
    data = {"user": "alice", "targets": targets,
            **devregistry.platform_config(registry.info())}
    seed_runtime(RegistryAccess(registry.info()["address"], True), TORCH)
    data["runtimes"] = [*data["runtimes"], {"name": "torch", "workdir": "/workspace",
                                            "image": f"{TORCH.repo}:{TORCH.tag}"}]
    return data


@pytest.fixture
def jp_server_config(mlplat_data_dir: Path, platform_data: dict[str, Any]) -> dict[str, Any]:
    return {
        "ServerApp": {"jpserver_extensions": {"jupyter_mlplat": True}},
        "MLPlatApp": {"data_dir": str(mlplat_data_dir), **platform_data},
    }


async def _finished(api: Any, job: dict[str, Any], timeout: float = 420) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while job["state"] not in FINAL:
        assert time.monotonic() < deadline, job
        await asyncio.sleep(1)
        status, job = await api(f"jobs/{job['id']}")
        assert status == 200, job
    return job


async def _logs(api: Any, job: dict[str, Any]) -> dict[str, str]:
    """Each replica's log, through the platform's /logs."""
    texts = {}
    for replica in job["replicas"]:
        status, chunk = await api(f"jobs/{job['id']}/logs", params={"replica": replica})
        assert status == 200, chunk
        texts[replica] = chunk["text"]
    return texts


def _operator_objects(admin: client.ApiClient, job_id: str) -> tuple[list[Any], list[Any]]:
    core: Any = client.CoreV1Api(admin)
    pods = core.list_namespaced_pod(NS, label_selector=f"{mf.LABEL_JOB}={job_id}").items
    owners = {o.name for p in pods for o in p.metadata.owner_references or []}
    services = [s for s in core.list_namespaced_service(NS).items
                if any(o.name in owners for o in s.metadata.owner_references or [])]
    return pods, services


async def test_pytorchjob_replicas_rendezvous_through_the_operators_env(
        api: Any, jp_root_dir: Path, admin: client.ApiClient) -> None:
    write_notebook(jp_root_dir / "dist" / "allreduce.ipynb", "steps = 1", ALL_REDUCE)
    status, job = await api("jobs", "POST", {"notebook": "dist/allreduce.ipynb",
                                             "target": TARGET, "kind": "pytorch",
                                             "workers": 2})
    assert status == 201, job
    assert job["replicas"] == ["master-0", "worker-0", "worker-1"]
    job = await _finished(api, job)
    logs = await _logs(api, job)
    assert job["state"] == "succeeded", (job.get("error"), job.get("events"), logs)
    name = job["k8s_object"]["name"]
    pods, services = _operator_objects(admin, job["id"])
    # The operator's objects: a pod and a headless service per replica, owned by the job.
    assert sorted(p.metadata.name for p in pods) == [
        f"{name}-master-0", f"{name}-worker-0", f"{name}-worker-1"]
    assert all(p.metadata.owner_references[0].kind == "PyTorchJob" for p in pods)
    assert all(p.spec.node_name == devnode.REAL_NODE for p in pods)
    assert sorted(s.metadata.name for s in services) == sorted(p.metadata.name for p in pods)
    assert all(s.spec.cluster_ip == "None" for s in services)
    master_ip = next(p.status.pod_ip for p in pods if p.metadata.name.endswith("-master-0"))
    for rank, replica in enumerate(job["replicas"]):
        text = logs[replica]
        assert f"rank {rank} of 3, master {name}-master-0:23456" in text, text
        assert f"all-reduce sum 6 on rank {rank} of 3" in text, text
        if rank:  # the workers found the master through the cluster DNS
            assert f"MASTER_ADDR {name}-master-0 resolves to {master_ip}" in text, text


async def test_tfjob_replicas_get_a_tf_config_naming_every_replica(
        api: Any, jp_root_dir: Path, admin: client.ApiClient) -> None:
    write_notebook(jp_root_dir / "dist" / "tfconfig.ipynb", "steps = 1", TF_CONFIG_CHECK)
    status, job = await api("jobs", "POST", {"notebook": "dist/tfconfig.ipynb",
                                             "target": TARGET, "kind": "tf", "workers": 2})
    assert status == 201, job
    assert job["replicas"] == ["chief-0", "worker-0", "worker-1"]
    job = await _finished(api, job)
    logs = await _logs(api, job)
    assert job["state"] == "succeeded", (job.get("error"), job.get("events"), logs)
    name = job["k8s_object"]["name"]
    pods, _ = _operator_objects(admin, job["id"])
    ips = {p.metadata.name: p.status.pod_ip for p in pods}
    cluster = {"chief": [f"{name}-chief-0.{NS}.svc:2222"],
               "worker": [f"{name}-worker-0.{NS}.svc:2222", f"{name}-worker-1.{NS}.svc:2222"]}
    for replica, text in logs.items():
        found = re.search(r"^TF_CONFIG (\{.*\})$", text, re.MULTILINE)
        assert found, text
        conf = json.loads(found.group(1))
        kind, index = replica.rsplit("-", 1)
        assert conf["cluster"] == cluster
        assert conf["task"] == {"type": kind, "index": int(index)}
        for role, addresses in cluster.items():
            for address in addresses:
                host = address.rsplit(":", 1)[0]
                pod = host.split(".", 1)[0]
                assert f"resolved {role} {host} -> {ips[pod]}" in text, text
        assert f"{replica} done" in text
    assert "chief met worker-0" in logs["chief-0"] and "chief met worker-1" in logs["chief-0"]


async def test_torch_gloo_all_reduce_across_replicas(api: Any, jp_root_dir: Path) -> None:
    write_notebook(jp_root_dir / "dist" / "gloo.ipynb", "steps = 1", TORCH_ALL_REDUCE)
    started = time.monotonic()
    status, job = await api("jobs", "POST", {"notebook": "dist/gloo.ipynb", "target": TARGET,
                                             "kind": "pytorch", "workers": 2,
                                             "runtime": "torch"})
    assert status == 201, job
    job = await _finished(api, job, timeout=600)
    logs = await _logs(api, job)
    assert job["state"] == "succeeded", (job.get("error"), job.get("events"), logs)
    for rank, replica in enumerate(job["replicas"]):
        assert f"gloo rank {rank} of 3: all_reduce sum 6" in logs[replica], logs[replica]
    print(f"torch gloo all-reduce job: {time.monotonic() - started:.1f}s submit to succeeded")
