"""Cluster jobs' outputs come home: a job on the real node writes its output notebook, its files
and its log to its output location on a real HDFS cluster, where the workbench reads them after
the pod is gone; an output cluster that is down, or a folder the user may not write, refuses the
submit before anything is recorded, built or created.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client, config

from jupyter_mlplat.config import load_config
from jupyter_mlplat.devcluster.base import Component
from jupyter_mlplat.devcluster.hdfs import HdfsClusters
from jupyter_mlplat.devcluster.sandbox import JOB_OUTPUTS, cluster_jobs_config
from jupyter_mlplat.errors import Forbidden, Unavailable
from jupyter_mlplat.jobs.k8s import manifests as mf
from jupyter_mlplat.jobs.models import Job, JobSpec, JobState
from jupyter_mlplat.models.schemas import PublishRequest
from jupyter_mlplat.platform import Platform
from jupyter_mlplat.storage.env import cluster_env

from ..helpers import wait_for, write_notebook

pytestmark = [pytest.mark.integration, pytest.mark.kube, pytest.mark.registry,
              pytest.mark.node, pytest.mark.hdfs]

NS = "ml-alice"
TARGET = "kube-node"
OUTPUTS = JOB_OUTPUTS  # hdfs://prod-b/user/{user}/mlplat-jobs/{job_id}


@pytest.fixture(scope="module")
def platform_data(node: Component, registry: Component, hdfs: HdfsClusters) -> dict[str, Any]:
    data = cluster_jobs_config(node.info(), registry.info(), hdfs.info(), outputs=OUTPUTS)
    assert data["user"] == "alice"
    # and a cluster whose only namenode does not answer
    down = {"name": "down", "kind": "webhdfs", "user": "hdfs",
            "namenodes": [hdfs.dead_namenode_url()]}
    return {**data, "storage": [*data["storage"], down]}


@pytest.fixture(scope="module")
def admin(node: Component) -> Iterator[client.ApiClient]:
    api = config.new_client_from_config(config_file=node.info()["admin_kubeconfig"])
    yield api
    api.close()


@pytest.fixture
def root(tmp_path: Path) -> Path:
    path = tmp_path / "root"
    path.mkdir()
    return path


@pytest.fixture
def platform(platform_data: dict[str, Any], root: Path, tmp_path: Path) -> Iterator[Platform]:
    plat = Platform(load_config({**platform_data, "data_dir": str(tmp_path / "data")}), root)
    yield plat
    plat.close()


def _final(plat: Platform, job_id: str, timeout: float = 240) -> Job:
    return wait_for(lambda: (j := plat.jobs.store.get(job_id)).state.final and j,
                    timeout=timeout, interval=0.2, what=f"job {job_id} to finish")


def _pods(api: client.ApiClient, job_id: str) -> list[Any]:
    return list(client.CoreV1Api(api).list_namespaced_pod(
        NS, label_selector=f"{mf.LABEL_JOB}={job_id}").items)


def _path(url: str) -> tuple[str, str]:
    cluster, _, path = url.split("://", 1)[1].partition("/")
    return cluster, "/" + path


def test_outputs_are_on_the_cluster_while_it_runs_and_after_the_pod_is_gone(
        platform: Platform, root: Path, admin: client.ApiClient,
        monkeypatch: pytest.MonkeyPatch) -> None:
    write_notebook(
        root / "train.ipynb", "steps = 2",
        "import os, fsspec\n"
        "out = os.environ['MLPLAT_OUTPUT_DIR']\n"
        "tb = os.environ['MLPLAT_TENSORBOARD_DIR']\n"
        "with fsspec.open(out + '/model.txt', 'w') as f:\n"
        "    f.write(f'weights after {steps} steps')\n"
        "print('wrote', out, 'tb', tb, flush=True)",
        "import time\n"
        "for step in range(steps):\n"
        "    print(f'step {step}', flush=True)\n"
        "    time.sleep(1)\n"
        "print('trained', flush=True)")
    job = platform.jobs.submit(JobSpec(notebook="train.ipynb", target=TARGET,
                                       parameters={"steps": 3}), "alice")
    own = f"hdfs://prod-b/user/alice/mlplat-jobs/{job.id}"
    assert job.outputs.folder == own
    assert job.outputs.notebook == f"{own}/train.ipynb"
    assert job.outputs.log == f"{own}/job.log"
    assert job.outputs.tensorboard == f"{own}/tensorboard"
    pod = wait_for(lambda: _pods(admin, job.id), timeout=120, what="the job's pod")[0]
    env = {e.name: e.value for e in pod.spec.containers[0].env}
    assert env["MLPLAT_OUTPUT_DIR"] == own and env["MLPLAT_OUTPUT_NOTEBOOK"] == \
        job.outputs.notebook and env["MLPLAT_TENSORBOARD_DIR"] == job.outputs.tensorboard
    storage = platform.storage
    nb_cluster, nb_path = _path(job.outputs.notebook)

    # The output notebook is on the cluster while the job runs (papermill saves it per cell).
    def partial_notebook() -> Any:
        if platform.jobs.store.get(job.id).state.final:
            return "finished"
        try:
            model = storage.call(nb_cluster, "get", nb_path)
        except Exception:
            return None
        return model
    seen = wait_for(partial_notebook, timeout=240, interval=0.3,
                    what="the output notebook on prod-b while the job runs")
    assert seen != "finished", "the output notebook appeared only after the job ended"

    done = _final(platform, job.id)
    assert done.state is JobState.succeeded, (done.error, platform.jobs.logs(job.id).text)
    succeeded_at = time.monotonic()
    model = storage.call(nb_cluster, "get", nb_path)
    opened_after = time.monotonic() - succeeded_at
    print(f"\n[outputs] job succeeded -> output notebook opened from prod-b: "
          f"{opened_after * 1000:.0f} ms")
    text = json.dumps(model["content"])
    assert "trained" in text and "step 2" in text, text[:2000]

    # Gone from the cluster: the Job and its pod.
    ref = platform.jobs.store.backend_ref(job.id)
    client.BatchV1Api(admin).delete_namespaced_job(ref["name"], NS,
                                                   propagation_policy="Foreground")
    wait_for(lambda: not _pods(admin, job.id), timeout=60, what="the pod to be deleted")
    fs = storage.filesystem("prod-b")
    _, folder = _path(own)
    assert fs.cat_file(f"{folder}/model.txt") == b"weights after 3 steps"
    log = fs.cat_file(f"{folder}/job.log").decode()
    assert "[mlplat] executing" in log and "step 2" in log and "trained" in log, log
    assert "[mlplat] notebook finished" in log
    assert fs.isdir(f"{folder}/tensorboard")
    again = storage.call(nb_cluster, "get", nb_path)
    assert again["content"]["cells"][-1]["outputs"], again["content"]["cells"][-1]

    # "Publish model" from the job's hdfs:// folder (what the job detail proposes), and
    # "Open TensorBoard" on its hdfs:// log dir (synced to this machine). The runtime image has
    # neither tensorboard nor tensorboardX, so the job wrote no scalars: the dir is empty.
    for key, value in cluster_env(platform.jobs.config).items():
        monkeypatch.setenv(key, value)
    board, _ = platform.tensorboards.start(job_id=job.id, jobs=platform.jobs, user="alice")
    try:
        assert board.logdir == job.outputs.tensorboard and board.sync is not None, board
    finally:
        platform.tensorboards.stop(board.id)
    version = platform.models.publish(PublishRequest(path=own, name="churn", job_id=job.id),
                                      "alice")
    assert "model.txt" in version.manifest and "train.ipynb" in version.manifest, \
        version.manifest
    assert version.lineage.job_id == job.id and version.lineage.source == own


def test_output_write_failing_mid_run_fails_the_job(platform: Platform, root: Path) -> None:
    # The notebook turns its own output folder into a file: papermill's next save of the
    # output notebook (at the cell's end) cannot be written.
    write_notebook(
        root / "breaks.ipynb", "x = 1",
        "import os, fsspec\n"
        "fs, path = fsspec.core.url_to_fs(os.environ['MLPLAT_OUTPUT_DIR'])\n"
        "fs.rm(path, recursive=True)\n"
        "fs.pipe_file(path, b'not a folder')",
        "print('should not be reported as a success')")
    job = platform.jobs.submit(JobSpec(notebook="breaks.ipynb", target=TARGET), "alice")
    done = _final(platform, job.id)
    assert done.state is JobState.failed, platform.jobs.logs(job.id).text
    folder = _path(job.outputs.folder or "")[1]
    assert done.error and "NotADirectoryError" in done.error and folder in done.error, \
        done.error
    assert "exited with code 1" in done.error


def _k8s_jobs(admin: client.ApiClient) -> set[str]:
    return {o.metadata.name for o in client.BatchV1Api(admin).list_namespaced_job(NS).items}


def _nothing_created(platform: Platform, admin: client.ApiClient, before: int,
                     objects: set[str]) -> None:
    assert platform.jobs.store.page(user="alice").total == before
    assert _k8s_jobs(admin) <= objects


def test_output_cluster_down_answers_503_and_creates_nothing(
        platform: Platform, root: Path, admin: client.ApiClient) -> None:
    write_notebook(root / "train.ipynb", "lr = 0.1", "print(lr)")
    before = platform.jobs.store.page(user="alice").total
    objects = _k8s_jobs(admin)
    started = time.monotonic()
    with pytest.raises(Unavailable) as err:
        platform.jobs.submit(JobSpec(notebook="train.ipynb", target=TARGET,
                                     output="hdfs://down/jobs"), "alice")
    assert err.value.status == 503
    assert "'down'" in err.value.message and "unavailable" in err.value.message
    assert time.monotonic() - started < 30
    _nothing_created(platform, admin, before, objects)


def test_output_folder_without_write_access_answers_403_and_creates_nothing(
        platform: Platform, root: Path, admin: client.ApiClient, hdfs: HdfsClusters) -> None:
    restricted = hdfs.info()["clusters"]["prod-a"]["restricted"]
    write_notebook(root / "train.ipynb", "lr = 0.1", "print(lr)")
    before = platform.jobs.store.page(user="alice").total
    objects = _k8s_jobs(admin)
    with pytest.raises(Forbidden) as err:
        platform.jobs.submit(JobSpec(notebook="train.ipynb", target=TARGET,
                                     output=f"hdfs://prod-a{restricted}/jobs"), "alice")
    assert err.value.status == 403
    assert "Permission denied" in err.value.message and "user=alice" in err.value.message, \
        err.value.message
    _nothing_created(platform, admin, before, objects)
    # alice's own folder on prod-a is fine (the per-job override, permissions on)
    job = platform.jobs.submit(JobSpec(notebook="train.ipynb", target=TARGET,
                                       output="hdfs://prod-a/user/alice/runs"), "alice")
    assert job.outputs.folder == f"hdfs://prod-a/user/alice/runs/train-{job.id}"
    done = _final(platform, job.id)
    assert done.state is JobState.succeeded, (done.error, platform.jobs.logs(job.id).text)
    fs = platform.storage.filesystem("prod-a")
    assert "0.1" in fs.cat_file(f"/user/alice/runs/train-{job.id}/job.log").decode()


# -- through the REST API, as the job detail does ----------------------------------------------
@pytest.fixture
def jp_server_config(mlplat_data_dir: Path, platform_data: dict[str, Any]) -> dict[str, Any]:
    return {
        "ServerApp": {"jpserver_extensions": {"jupyter_mlplat": True}},
        "MLPlatApp": {"data_dir": str(mlplat_data_dir), **platform_data},
    }


async def test_rest_refusals_and_the_output_notebook_opening_after_success(
        api: Any, jp_root_dir: Path, hdfs: HdfsClusters) -> None:
    write_notebook(jp_root_dir / "train.ipynb", "lr = 0.1", "print('lr', lr)")
    restricted = hdfs.info()["clusters"]["prod-a"]["restricted"]
    status, error = await api("jobs", "POST", {"notebook": "train.ipynb", "target": TARGET,
                                               "output": "hdfs://down/jobs"})
    assert status == 503 and "'down'" in error["message"], error
    status, error = await api("jobs", "POST", {"notebook": "train.ipynb", "target": TARGET,
                                               "output": f"hdfs://prod-a{restricted}/jobs"})
    assert status == 403 and "Permission denied" in error["message"], error
    status, page = await api("jobs")
    assert status == 200 and page["jobs"] == [], page

    status, job = await api("jobs", "POST", {"notebook": "train.ipynb", "target": TARGET,
                                             "parameters": {"lr": 0.25}})
    assert status == 201, job
    deadline = time.monotonic() + 240
    while job["state"] not in ("succeeded", "failed", "cancelled"):
        assert time.monotonic() < deadline, job
        await asyncio.sleep(0.2)
        status, job = await api(f"jobs/{job['id']}")
    assert job["state"] == "succeeded", job
    succeeded_at = time.monotonic()
    # What "Open output notebook" asks for: prod-b:<path> through the cluster's drive.
    cluster, path = _path(job["outputs"]["notebook"])
    status, model = await api(f"storage/{cluster}/contents{path}")
    opened_after = time.monotonic() - succeeded_at
    assert status == 200 and model["type"] == "notebook", model
    assert "lr 0.25" in json.dumps(model["content"])
    print(f"\n[outputs] REST: job succeeded -> output notebook opened from {cluster}: "
          f"{opened_after * 1000:.0f} ms")
