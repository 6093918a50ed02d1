"""Cluster jobs' outputs come home: a job on the real node writes its output notebook, its files
and its log to its output location on a real HDFS cluster, where the workbench reads them after
the pod is gone; an output cluster that is down, or a folder the user may not write, refuses the
submit before anything is recorded, built or created.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from jupyter_mlplat.config import load_config
from jupyter_mlplat.devcluster import node as devnode
from jupyter_mlplat.devcluster.base import Component
from jupyter_mlplat.devcluster.hdfs import HdfsClusters
from jupyter_mlplat.devcluster.sandbox import JOB_OUTPUTS, cluster_jobs_config
from jupyter_mlplat.errors import Forbidden, InvalidRequest, NotFound, Unavailable
from jupyter_mlplat.jobs.k8s import manifests as mf
from jupyter_mlplat.jobs.schemas import JobSpec, JobState
from jupyter_mlplat.models.schemas import PublishRequest
from jupyter_mlplat.platform import Platform
from jupyter_mlplat.runs.scheduler import Scheduler
from jupyter_mlplat.runs.schemas import RunState, ScheduleRequest
from jupyter_mlplat.storage.env import cluster_env

from ..helpers import final_job, job_pods, percentile, tensorboard_scalars, wait_for, write_notebook

pytestmark = [pytest.mark.integration, pytest.mark.kube, pytest.mark.registry,
              pytest.mark.node, pytest.mark.hdfs]

NS = "ml-alice"
TARGET = "kube-node"
OUTPUTS = JOB_OUTPUTS  # hdfs://prod-b/user/{user}/mlplat-jobs/{job_id}
MODEL_STORE = "hdfs://prod-b/models"
#: TensorBoard through the proxy must show a scalar this soon after the job wrote it (p95).
LAG_BUDGET = 3.0


@pytest.fixture(scope="module")
def platform_data(node: Component, registry: Component, hdfs: HdfsClusters) -> dict[str, Any]:
    data = cluster_jobs_config(node.info(), registry.info(), hdfs.info(), outputs=OUTPUTS)
    assert data["user"] == "alice"
    # and a cluster whose only namenode does not answer
    down = {"name": "down", "kind": "webhdfs", "user": "hdfs",
            "namenodes": [hdfs.dead_namenode_url()]}
    return {**data, "storage": [*data["storage"], down], "model_store": MODEL_STORE}


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
    pod = wait_for(lambda: job_pods(admin, job.id, NS), timeout=120, what="the job's pod")[0]
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

    done = final_job(platform, job.id)
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
    wait_for(lambda: not job_pods(admin, job.id, NS), timeout=60, what="the pod to be deleted")
    fs = storage.filesystem("prod-b")
    _, folder = _path(own)
    assert fs.cat_file(f"{folder}/model.txt") == b"weights after 3 steps"
    log = fs.cat_file(f"{folder}/job.log").decode()
    assert "[mlplat] executing" in log and "step 2" in log and "trained" in log, log
    assert "[mlplat] notebook finished" in log
    # the job detail's log, with the pod gone: the copy on the cluster
    chunk = platform.jobs.logs(job.id)
    assert chunk.text == log and chunk.complete, chunk
    assert fs.isdir(f"{folder}/tensorboard")
    again = storage.call(nb_cluster, "get", nb_path)
    assert again["content"]["cells"][-1]["outputs"], again["content"]["cells"][-1]

    # "Publish model" from the job's hdfs:// folder (what the job detail proposes), and
    # "Open TensorBoard" on its hdfs:// log dir (synced to this machine; this job wrote no
    # scalars, the training run below does).
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
    done = final_job(platform, job.id)
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
    done = final_job(platform, job.id)
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


# -- a training run, end to end, as the workbench sees it -----------------------------------------
TRAIN_PARAMETERS = "data = ''\nsteps = 3\nlr = 0.5\npause = 0.0"
TRAIN = (
    "import json, os, time\n"
    "import fsspec, numpy as np, pandas as pd\n"
    "from tensorboardX import SummaryWriter\n"
    "df = pd.read_csv(data)\n"
    "x, y = df['x'].to_numpy(float), df['y'].to_numpy(float)\n"
    "out, tb = os.environ['MLPLAT_OUTPUT_DIR'], os.environ['MLPLAT_TENSORBOARD_DIR']\n"
    "writer = SummaryWriter(tb + '/train', flush_secs=1)\n"
    "w = b = 0.0\n"
    "written = {}\n"
    "for step in range(steps):\n"
    "    err = w * x + b - y\n"
    "    w -= lr * float(np.mean(err * x))\n"
    "    b -= lr * float(np.mean(err))\n"
    "    loss = float(np.mean((w * x + b - y) ** 2))\n"
    "    writer.add_scalar('loss', loss, step)\n"
    "    written[step] = time.time()\n"
    "    print(f'step {step} loss {loss:.4f}', flush=True)\n"
    "    time.sleep(pause)\n"
    "writer.close()\n"
    "with fsspec.open(out + '/model/weights.json', 'w') as f:\n"
    "    json.dump({'w': w, 'b': b}, f)\n"
    "with fsspec.open(out + '/metrics.json', 'w') as f:\n"
    "    json.dump({'loss': loss, 'w': w}, f)\n"
    "with fsspec.open(out + '/written.json', 'w') as f:\n"
    "    json.dump(written, f)\n"
    "print('trained', rows := len(df), flush=True)")
JOB_FINAL = ("succeeded", "failed", "cancelled")


async def _run_to_end(api: Any, run: dict[str, Any], timeout: float = 300) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while run["state"] not in JOB_FINAL:
        assert time.monotonic() < deadline, run
        await asyncio.sleep(0.5)
        run = (await api(f"runs/{run['id']}"))[1]
    return run


async def test_training_run_reads_hdfs_and_its_scalars_reach_tensorboard_within_3s(
        api: Any, jp_fetch: Any, jp_root_dir: Path, hdfs: HdfsClusters) -> None:
    """A run on the real node reads hdfs://prod-a with pandas, trains, writes TensorBoard scalars
    and a model folder to its hdfs:// outputs. While it runs its partial output notebook opens
    and TensorBoard (through our proxy) shows its scalars; the lag from the job writing a scalar
    to TensorBoard's data endpoint returning it is measured per step. Then: Publish model with
    lineage, Compare with a rerun (metrics.json on HDFS), delete with outputs."""
    tag = os.urandom(4).hex()
    data_path = f"/user/alice/data-{tag}/train.csv"
    rows = "".join(f"{i / 50:.2f},{2 * i / 50 + 1:.2f}\n" for i in range(50))
    hdfs.client("prod-a").write(data_path, data=f"x,y\n{rows}".encode(), overwrite=True)
    write_notebook(jp_root_dir / "train.ipynb", TRAIN_PARAMETERS, TRAIN)
    parameters = {"data": f"hdfs://prod-a{data_path}", "steps": 25, "lr": 0.5, "pause": 1.0}
    status, run = await api("runs", "POST", {"notebook": "train.ipynb", "target": TARGET,
                                             "parameters": parameters})
    assert status == 201, run
    job_id = run["job_id"]
    own = f"hdfs://prod-b/user/alice/mlplat-jobs/{job_id}"
    status, job = await api(f"jobs/{job_id}")
    assert job["outputs"]["folder"] == own and job["outputs"]["tensorboard"] == \
        f"{own}/tensorboard", job["outputs"]
    # the run lists its output notebook as a manual job does: the hdfs:// URL
    assert run["output"] == job["outputs"]["notebook"] == f"{own}/train.ipynb", run
    nb_cluster, nb_path = _path(job["outputs"]["notebook"])

    partial: dict[str, Any] | None = None
    board: dict[str, Any] | None = None
    running_at: float | None = None  # wall clock: TensorBoard answers
    seen: dict[int, float] = {}  # step -> wall clock when the data endpoint first returned it
    checked = 0.0
    deadline = time.monotonic() + 400
    while True:
        assert time.monotonic() < deadline, job
        if time.monotonic() - checked > 1.0:
            checked = time.monotonic()
            job = (await api(f"jobs/{job_id}"))[1]
            if job["state"] in JOB_FINAL:
                break
        if partial is None:
            status, model = await api(f"storage/{nb_cluster}/contents{nb_path}")
            if status == 200:
                partial = model
        elif board is None:  # "Open TensorBoard" in the job detail
            status, board = await api("tensorboards", "POST", {"job_id": job_id})
            assert status in (200, 201), board
        elif board["state"] == "starting":
            board = (await api(f"tensorboards/{board['id']}"))[1]
            assert board["state"] != "failed", board
            if board["state"] == "running":
                running_at = time.time()
        else:
            for _, step, _ in await tensorboard_scalars(jp_fetch, board["id"], "train", "loss"):
                seen.setdefault(step, time.time())
        await asyncio.sleep(0.1)
    assert job["state"] == "succeeded", (job["error"], (await api(f"jobs/{job_id}/logs"))[1])
    succeeded_at = time.monotonic()
    status, final = await api(f"storage/{nb_cluster}/contents{nb_path}")
    opened_after = time.monotonic() - succeeded_at
    assert status == 200 and "trained 50" in json.dumps(final["content"]), final
    assert partial is not None and partial["type"] == "notebook", \
        "the output notebook never opened while the job ran"
    assert "trained 50" not in json.dumps(partial["content"])  # opened before the end
    assert board is not None and running_at is not None, "TensorBoard never ran during the job"
    assert seen, "TensorBoard showed no scalar while the job ran"
    first_seen = min(seen.values())
    while len(seen) < 25 and time.time() - first_seen < 120:  # the last steps, after the end
        for _, step, _ in await tensorboard_scalars(jp_fetch, board["id"], "train", "loss"):
            seen.setdefault(step, time.time())
        await asyncio.sleep(0.1)
    assert sorted(seen) == list(range(25)), sorted(seen)

    client = hdfs.client("prod-b")
    folder = _path(own)[1]
    with client.read(f"{folder}/written.json") as handle:
        written = {int(k): float(v) for k, v in json.load(handle).items()}
    # Steps written once TensorBoard ran: their lag is the sync's, not TensorBoard's start.
    lags = [seen[step] - at for step, at in sorted(written.items()) if at >= running_at]
    _, board = await api(f"tensorboards/{board['id']}")
    p95 = percentile(lags, 0.95)
    print(f"\n[outputs] TensorBoard lag (job wrote scalar -> proxied data endpoint returned it) "
          f"over {len(lags)} steps: min {min(lags):.2f} s, median {percentile(lags, 0.5):.2f} s, "
          f"p95 {p95:.2f} s, max {max(lags):.2f} s; first scalar shown "
          f"{first_seen - written[min(seen)]:.2f} s after the job wrote it (TensorBoard started "
          f"meanwhile); sync: {board['sync']}")
    print(f"[outputs] training run succeeded -> output notebook opened from {nb_cluster}: "
          f"{opened_after * 1000:.0f} ms")
    assert len(lags) >= 5, (lags, running_at, written)
    assert p95 <= LAG_BUDGET, lags

    # "Publish model" from the run's job: version 1 in the HDFS model store, with lineage.
    name = f"linear-{tag}"
    status, version = await api("models", "POST", {"path": f"{own}/model", "name": name,
                                                   "job_id": job_id})
    assert status == 201, version
    assert version["version"] == 1 and version["uri"] == f"{MODEL_STORE}/{name}/1", version
    lineage = version["lineage"]
    assert lineage["job_id"] == job_id and lineage["source"] == f"{own}/model"
    assert "@sha256:" in (lineage["image"] or ""), lineage
    assert lineage["parameters"] == parameters, lineage
    assert set(version["metrics"]) == {"loss", "w"} and version["metrics"]["loss"] < 0.1, version
    assert client.status(f"{_path(MODEL_STORE)[1]}/{name}/1/weights.json")["length"] > 0

    # Compare with a rerun: each side's metrics come from metrics.json in its hdfs:// folder.
    status, rerun = await api(f"runs/{run['id']}/rerun", "POST",
                              {"parameters": {"steps": 2, "pause": 0.0}})
    assert status == 201, rerun
    rerun = await _run_to_end(api, rerun)
    assert rerun["state"] == "succeeded", rerun
    status, diff = await api("runs/diff", params={"a": run["id"], "b": rerun["id"]})
    assert status == 200, diff
    assert diff["metrics_a"] == version["metrics"], diff
    assert set(diff["metrics_b"]) == {"loss", "w"} and \
        diff["metrics_b"]["loss"] > diff["metrics_a"]["loss"], diff
    assert diff["changed"]["steps"] == {"a": 25, "b": 2}, diff
    status, page = await api("runs")
    listed = {r["id"]: r["output"] for r in page["runs"]}
    assert listed[rerun["id"]] == f"hdfs://prod-b/user/alice/mlplat-jobs/{rerun['job_id']}" \
        "/train.ipynb", listed

    # Delete with outputs: the run's own hdfs:// folder goes, as alice; the other stays.
    status, _ = await api(f"tensorboards/{board['id']}", "DELETE")
    assert status == 204
    rerun_folder = f"/user/alice/mlplat-jobs/{rerun['job_id']}"
    assert client.status(rerun_folder, strict=False) is not None
    status, _ = await api(f"runs/{rerun['id']}", "DELETE", params={"outputs": "true"})
    assert status == 204
    assert client.status(rerun_folder, strict=False) is None
    assert client.status(folder, strict=False) is not None
    status, _ = await api(f"runs/{run['id']}", "DELETE", params={"outputs": "true"})
    assert status == 204
    assert client.status(folder, strict=False) is None
    assert (await api(f"jobs/{job_id}"))[0] == 404


# -- a CronJob firing while JupyterLab is gone -------------------------------------------------
def test_cronjob_firing_with_the_server_stopped_runs_is_imported_once_and_keeps_its_outputs(
        platform_data: dict[str, Any], root: Path, tmp_path: Path,
        admin: client.ApiClient, hdfs: HdfsClusters, monkeypatch: pytest.MonkeyPatch) -> None:
    """The whole life of a ``kubernetes`` schedule's firing, on one minute boundary (the
    CronJob controller fires on whole minutes, so each firing costs a test ~30 s of waiting):
    the real CronJob controller fires while no server runs, the Job runs on the real node and
    writes its outputs to HDFS; a later server imports the firing into the run history once,
    reads its log, metrics and model from HDFS, and deleting the schedule with its runs and
    outputs removes the CronJob, its Jobs and the firing's folder."""
    write_notebook(root / "report.ipynb", "region = 'eu'",
                   "import json, os, fsspec\n"
                   "out = os.environ['MLPLAT_OUTPUT_DIR']\n"
                   "with fsspec.open(out + '/model/table.json', 'w') as f:\n"
                   "    json.dump({'region': region}, f)\n"
                   "with fsspec.open(out + '/metrics.json', 'w') as f:\n"
                   "    json.dump({'rows': 42}, f)\n"
                   "print('report for', region, 'in', out, flush=True)")
    batch = client.BatchV1Api(admin)
    data = {**platform_data, "data_dir": str(tmp_path / "data")}
    for key, value in cluster_env(load_config(data)).items():  # what the server gives hdfs://
        monkeypatch.setenv(key, value)
    first = Platform(load_config(data), root)
    try:
        schedule = first.schedules.create(ScheduleRequest(
            notebook="report.ipynb", cron="* * * * *", timezone="UTC", target=TARGET,
            runtime="python", executor="kubernetes", parameters={"region": "apac"}), "alice")
    finally:
        first.close()  # JupyterLab is gone while the CronJob fires and its Job runs
    assert schedule.k8s_object is not None
    cronjob = schedule.k8s_object.name
    selector = f"{mf.LABEL_SCHEDULE}={schedule.id}"
    # The real CronJob controller fires at the next minute boundary.
    fired = wait_for(lambda: batch.list_namespaced_job(NS, label_selector=selector).items,
                     timeout=100, interval=1, what="the CronJob to fire")[0]
    batch.patch_namespaced_cron_job(cronjob, NS, {"spec": {"suspend": True}})  # one firing
    owner = fired.metadata.owner_references[0]
    assert owner.kind == "CronJob" and owner.name == cronjob
    k8s_name = fired.metadata.name
    wait_for(lambda: any(c.type == "Complete" and c.status == "True" for c in
                         (batch.read_namespaced_job(k8s_name, NS).status.conditions or [])),
             timeout=240, interval=1, what="the fired Job to complete with no server")
    pods = client.CoreV1Api(admin).list_namespaced_pod(
        NS, label_selector=f"job-name={k8s_name}").items
    assert pods and pods[0].spec.node_name == devnode.REAL_NODE  # ran for real
    own = f"hdfs://prod-b/user/alice/mlplat-jobs/{k8s_name}"
    folder = _path(own)[1]
    fs = hdfs.client("prod-b")
    assert fs.status(f"{folder}/report.ipynb", strict=False) is not None  # written meanwhile

    later = Platform(load_config(data), root)
    try:
        scheduler = Scheduler(later.schedules)
        touched = scheduler.tick()  # imports the firing into the history
        runs = later.runs.page(schedule_id=schedule.id).runs
        run = next(r for r in runs if r.job_id and (j := later.jobs.store.get(r.job_id))
                   .k8s_object and j.k8s_object.name == k8s_name)
        assert run.id in touched
        assert run.trigger == "cronjob" and run.schedule_id == schedule.id
        assert run.notebook == "report.ipynb" and run.target == TARGET
        assert run.due_time is not None and run.due_time.second == 0
        assert run.id not in scheduler.tick()  # imported once
        imported = later.runs.page(schedule_id=schedule.id).runs
        assert len({r.id for r in imported}) == len(imported) == len(runs)
        job = later.jobs.store.get(run.job_id or "")
        assert job.outputs.folder == own and job.outputs.log == f"{own}/job.log", job.outputs
        assert run.output == f"{own}/report.ipynb" == job.outputs.notebook, run
        wait_for(lambda: (later.jobs.reconcile(), later.runs.get(run.id).state.final)[1],
                 timeout=120, interval=1, what="the imported run to be final")
        assert later.runs.get(run.id).state is RunState.succeeded
        job = later.jobs.store.get(job.id)
        assert job.started is not None and job.finished is not None
        assert later.schedules.get(schedule.id).last_fire == run.due_time
        assert "report for apac" in later.jobs.logs(job.id).text
        model = later.storage.call("prod-b", "get", f"{folder}/report.ipynb")
        assert "report for apac" in json.dumps(model["content"]), model["content"]
        log = later.storage.filesystem("prod-b").cat_file(f"{folder}/job.log").decode()
        assert "report for apac" in log and "[mlplat] notebook finished" in log, log
        assert later.jobs.metrics(job.id) == {"rows": 42.0}

        name = f"report-{job.id}"
        version = later.models.publish(PublishRequest(path=f"{own}/model", name=name,
                                                      job_id=job.id), "alice")
        assert version.version == 1 and version.uri == f"{MODEL_STORE}/{name}/1", version
        assert version.lineage.job_id == job.id and version.lineage.parameters == \
            {"region": "apac"}, version.lineage
        assert version.lineage.image and "@sha256:" in version.lineage.image, version.lineage
        assert version.metrics == {"rows": 42.0}
        assert "table.json" in version.manifest

        # Deleting the schedule with its runs and their outputs removes the CronJob, its Jobs
        # and the firing's folder.
        later.schedules.delete(schedule.id, "alice", runs=True, outputs=True)
        assert fs.status(folder, strict=False) is None
        with pytest.raises(ApiException):
            batch.read_namespaced_cron_job(cronjob, NS)
        wait_for(lambda: not batch.list_namespaced_job(NS, label_selector=selector).items,
                 timeout=60, what="the CronJob's Jobs to go")
    finally:
        later.close()


def test_delete_with_outputs_removes_only_a_jobs_own_hdfs_folder(
        platform: Platform, hdfs: HdfsClusters) -> None:
    """The containment rule for hdfs:// outputs: a job's folder goes only if it is the folder
    recorded for it and named after it; a cluster that is down refuses (503) and keeps the job."""
    fs = hdfs.client("prod-b")
    store = platform.jobs.store

    def finished_job(folder: str) -> str:
        job = store.create(spec=JobSpec(notebook="train.ipynb", target=TARGET), user="alice",
                           name="train", outputs={"folder": folder,
                                                  "notebook": f"{folder}/train.ipynb"})
        store.transition(job.id, JobState.failed, message="test", error="test")
        return job.id

    shared = f"/user/alice/shared-{os.urandom(4).hex()}"
    fs.write(f"{shared}/keep.txt", data=b"not a job's own", overwrite=True)
    job_id = finished_job(f"hdfs://prod-b{shared}")
    with pytest.raises(InvalidRequest) as err:
        platform.jobs.delete(job_id, outputs=True, user="alice")
    assert "not a folder of its own" in err.value.message
    assert fs.status(f"{shared}/keep.txt", strict=False) is not None
    assert store.get(job_id)  # nothing deleted

    dotted = finished_job(f"hdfs://prod-b{shared}/../{os.urandom(2).hex()}")
    with pytest.raises(InvalidRequest):
        platform.jobs.delete(dotted, outputs=True, user="alice")
    assert fs.status(f"{shared}/keep.txt", strict=False) is not None

    down = finished_job("hdfs://down/user/alice/jobs/x")
    store.update(down, outputs={"folder": f"hdfs://down/user/alice/jobs/{down}"})
    with pytest.raises(Unavailable) as unavailable:
        platform.jobs.delete(down, outputs=True, user="alice")
    assert unavailable.value.status == 503 and "'down'" in unavailable.value.message
    assert store.get(down)

    own_job = finished_job("hdfs://prod-b/placeholder")
    own = f"{shared}/{own_job}"
    store.update(own_job, outputs={"folder": f"hdfs://prod-b{own}"})
    fs.write(f"{own}/model/weights.bin", data=b"w", overwrite=True)
    fs.write(f"{own}/metrics.json", data=b'{"auc": 0.9, "note": "x"}', overwrite=True)
    assert platform.jobs.metrics(own_job) == {"auc": 0.9}
    platform.jobs.delete(own_job, outputs=True, user="alice")
    assert fs.status(own, strict=False) is None
    assert fs.status(f"{shared}/keep.txt", strict=False) is not None
    with pytest.raises(NotFound):
        store.get(own_job)
