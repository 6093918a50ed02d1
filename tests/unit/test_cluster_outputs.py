"""A cluster job's outputs on a storage cluster: config rules, what its pod is given (references,
never secret values), and the names the runner reads (no cluster here; the real node and HDFS
run in tests/integration/test_node_outputs.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from jupyter_mlplat import envvars, runner
from jupyter_mlplat.config import ConfigError, load_config
from jupyter_mlplat.db import Database
from jupyter_mlplat.jobs.backends.kubernetes import KubernetesBackend
from jupyter_mlplat.jobs.context import JobContext
from jupyter_mlplat.jobs.k8s import manifests as mf
from jupyter_mlplat.jobs.schemas import JobSpec
from jupyter_mlplat.jobs.store import JobStore

SECRET_VALUE = "s3cr3t-delegation-token-value"


def _data(**target: Any) -> dict[str, Any]:
    return {
        "user": "alice",
        "storage": [
            {"name": "prod-a", "kind": "webhdfs", "namenodes": ["http://nn1:9870"],
             "auth": "token", "token": {"k8s_secret": "hdfs-token/alice"}},
            {"name": "prod-b", "kind": "webhdfs", "namenodes": ["http://nn2:9870"],
             "auth": "token", "token": {"env": "MLPLAT_TEST_HDFS_TOKEN"}},
        ],
        "registry": {"push": "reg:5000"},
        "runtimes": [{"name": "python", "image": "runtimes/python:3.11"}],
        "targets": [{"name": "k8s", "kind": "kubernetes",
                     "outputs": "hdfs://prod-a/user/{user}/jobs/{job_id}", **target}],
    }


@pytest.mark.parametrize(("outputs", "message"), [
    ("hdfs://nowhere/x/{job_id}", "names storage cluster 'nowhere', which is not in `storage`"),
    ("hdfs://prod-a/user/{user}/jobs", "must contain {job_id}"),
    ("/local/{job_id}", "must be hdfs://<cluster>/<path>"),
    ("hdfs://prod-a/{job_id}/{name}", "unknown placeholder(s) name"),
])
def test_outputs_are_checked_at_start_up(outputs: str, message: str) -> None:
    with pytest.raises(ConfigError) as err:
        load_config(_data(outputs=outputs))
    assert message in str(err.value)


def test_the_pod_gets_its_output_locations_and_secret_references_only(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLPLAT_TEST_HDFS_TOKEN", SECRET_VALUE)
    config = load_config({**_data(), "data_dir": str(tmp_path)})
    db = Database(config.resolved_database_url())
    db.migrate()
    store = JobStore(db)
    backend = KubernetesBackend(config.kubernetes_target("k8s"),
                                JobContext(config=config, store=store, root_dir=tmp_path),
                                builder=lambda *_: None, watch=False)  # type: ignore[arg-type]
    own = "hdfs://prod-a/user/alice/jobs/j000000000001"
    job = store.create(spec=JobSpec(notebook="train.ipynb", target="k8s"), user="alice",
                       name="train", outputs={"folder": own, "notebook": f"{own}/train.ipynb",
                                              "log": f"{own}/job.log",
                                              "tensorboard": f"{own}/tensorboard"})
    manifest = mf.primary(backend.workload(job, "reg:5000/mlplat/alice@sha256:" + "a" * 64))
    rendered = json.dumps(manifest)
    assert SECRET_VALUE not in rendered
    env = {e["name"]: e for e in manifest["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env[envvars.OUTPUT_DIR]["value"] == own
    assert env[envvars.OUTPUT_NOTEBOOK]["value"] == f"{own}/train.ipynb"
    assert env[envvars.OUTPUT_LOG]["value"] == f"{own}/job.log"
    assert env[envvars.TENSORBOARD_DIR]["value"] == f"{own}/tensorboard"
    # {k8s_secret: NAME/KEY}: the kubelet fills a variable from the Secret; MLPLAT_STORAGE
    # names that variable. {env: NAME}: the reference travels as it is.
    var = envvars.TOKEN_PREFIX + "PROD_A"
    assert env[var] == {"name": var, "valueFrom": {"secretKeyRef": {"name": "hdfs-token",
                                                                    "key": "alice"}}}
    clusters = {c["name"]: c for c in json.loads(env[envvars.STORAGE]["value"])}
    assert clusters["prod-a"]["token"] == {"env": var}
    assert clusters["prod-b"]["token"] == {"env": "MLPLAT_TEST_HDFS_TOKEN"}


def test_the_runner_reads_the_variables_named_in_envvars() -> None:
    # runner.py also runs as a script in job images, where it cannot import envvars
    assert runner.OUTPUT_DIR_ENV == envvars.OUTPUT_DIR
    assert runner.TENSORBOARD_DIR_ENV == envvars.TENSORBOARD_DIR
    assert runner.OUTPUT_NOTEBOOK_ENV == envvars.OUTPUT_NOTEBOOK
    assert runner.OUTPUT_LOG_ENV == envvars.OUTPUT_LOG


def test_an_hdfs_output_on_a_local_target_is_refused_before_anything_is_recorded(
        tmp_path: Path) -> None:
    from jupyter_mlplat.errors import InvalidRequest
    from jupyter_mlplat.platform import Platform

    from ..helpers import write_notebook

    root = tmp_path / "root"
    write_notebook(root / "train.ipynb")
    plat = Platform(load_config({"user": "alice", "data_dir": str(tmp_path / "data")}), root)
    try:
        with pytest.raises(InvalidRequest) as err:
            plat.jobs.submit(JobSpec(notebook="train.ipynb", output="hdfs://prod-b/jobs"),
                             "alice")
        assert err.value.status == 400 and "needs a kubernetes target" in err.value.message
        assert plat.jobs.page(user="alice").total == 0
    finally:
        plat.close()


@pytest.mark.parametrize(("env", "replica", "notebook"), [
    ({}, "", "hdfs://b/j/train.ipynb"),
    ({"RANK": "0"}, "", "hdfs://b/j/train.ipynb"),
    ({"RANK": "2"}, "worker-1", "hdfs://b/j/train.worker-1.ipynb"),
    ({"TF_CONFIG": json.dumps({"task": {"type": "chief", "index": 0}})}, "",
     "hdfs://b/j/train.ipynb"),
    ({"TF_CONFIG": json.dumps({"task": {"type": "ps", "index": 1}})}, "ps-1",
     "hdfs://b/j/train.ps-1.ipynb"),
])
def test_each_replica_of_a_distributed_job_keeps_its_own_notebook_and_log(
        env: dict[str, str], replica: str, notebook: str) -> None:
    assert runner.replica_of(env) == replica
    assert runner.replica_path("hdfs://b/j/train.ipynb", replica) == notebook
    assert runner.replica_path("hdfs://b/j/job.log", replica) == \
        ("hdfs://b/j/job.log" if not replica else f"hdfs://b/j/job.{replica}.log")


def test_a_papermill_run_with_an_hdfs_output_is_no_local_folder(tmp_path: Path) -> None:
    """A run's hdfs:// output reaches the jobs service as a URL (never a local folder named
    ``hdfs:``): a local target refuses it (400) and nothing is recorded."""
    from jupyter_mlplat.errors import InvalidRequest
    from jupyter_mlplat.platform import Platform
    from jupyter_mlplat.runs.schemas import RunRequest

    from ..helpers import write_notebook

    root = tmp_path / "root"
    write_notebook(root / "train.ipynb")
    plat = Platform(load_config({"user": "alice", "data_dir": str(tmp_path / "data")}), root)
    try:
        with pytest.raises(InvalidRequest) as err:
            plat.runs.create(RunRequest(notebook="train.ipynb", output="hdfs://prod-b/runs"),
                             "alice")
        assert err.value.status == 400 and "needs a kubernetes target" in err.value.message
        assert plat.runs.page().total == 0 and plat.jobs.page(user="alice").total == 0
        assert not (root / "hdfs:").exists()
    finally:
        plat.close()


def test_a_cronjob_firing_names_its_own_output_folder() -> None:
    """The CronJob's pod reads the fired Job's name from its label before the output variables
    that name it (``$(MLPLAT_K8S_JOB)``); the import records the folder of that Job."""
    from jupyter_mlplat.jobs.backends.kubernetes import fired_outputs
    from jupyter_mlplat.runs.cronjobs import JOB_NAME_LABEL

    own = f"hdfs://prod-b/user/alice/jobs/$({envvars.K8S_JOB})"
    w = mf.Workload(job_id="s1", user="alice", namespace="ml-alice", image="img",
                    env={envvars.OUTPUT_DIR: own, envvars.OUTPUT_LOG: f"{own}/job.log",
                         envvars.JOB_ID: "s1"},
                    field_env={envvars.K8S_JOB: f"metadata.labels['{JOB_NAME_LABEL}']"})
    env = mf.container(w)["env"]
    assert env[0] == {"name": envvars.K8S_JOB, "valueFrom": {"fieldRef": {
        "fieldPath": "metadata.labels['batch.kubernetes.io/job-name']"}}}
    assert [e["name"] for e in env[1:]] == sorted(e["name"] for e in env[1:])
    assert fired_outputs({"containers": [{"env": env}]}, "mlplat-s1-29412345") == {
        "folder": "hdfs://prod-b/user/alice/jobs/mlplat-s1-29412345",
        "log": "hdfs://prod-b/user/alice/jobs/mlplat-s1-29412345/job.log"}
    assert fired_outputs({"containers": [{"env": [{"name": envvars.OUTPUT_DIR,
                                                   "value": "/workspace/out"}]}]}, "x") == {}
