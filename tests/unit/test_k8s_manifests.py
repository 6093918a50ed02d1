"""The rendered Kubernetes objects of a job (pure functions, no cluster)."""

from __future__ import annotations

from jupyter_mlplat.config import Resources
from jupyter_mlplat.jobs.k8s import manifests as mf


def _w(**kw: object) -> mf.Workload:
    base: dict[str, object] = {"job_id": "j000000000001", "user": "Alice Smith",
                               "namespace": "ml-alice", "image": "reg:5000/mlplat/alice@sha256:"
                               + "a" * 64, "env": {"MLPLAT_JOB_ID": "j000000000001"}}
    return mf.Workload(**{**base, **kw})  # type: ignore[arg-type]


def test_batch_job_carries_limits_deadline_ttl_labels_and_pull_secret() -> None:
    job = mf.primary(_w(resources=Resources(cpu="2", memory="4Gi", gpu=1), timeout=300,
                        ttl_seconds_after_finished=60, pull_secret="regcred",
                        node_selector={"pool": "gpu"}, priority_class="high",
                        pod_annotations={"a": "b"}, client_request_id="r1"))
    assert job["apiVersion"] == "batch/v1" and job["kind"] == "Job"
    assert job["metadata"]["name"] == "mlplat-j000000000001"
    assert job["metadata"]["labels"] == {mf.LABEL_JOB: "j000000000001",
                                         mf.LABEL_USER: "Alice-Smith", mf.LABEL_MANAGED: mf.MANAGER}
    assert job["metadata"]["annotations"][mf.ANNOTATION_USER] == "Alice Smith"
    assert job["metadata"]["annotations"][mf.ANNOTATION_REQUEST] == "r1"
    spec = job["spec"]
    assert (spec["backoffLimit"], spec["activeDeadlineSeconds"],
            spec["ttlSecondsAfterFinished"]) == (0, 300, 60)
    pod = spec["template"]["spec"]
    assert pod["restartPolicy"] == "Never"
    assert pod["imagePullSecrets"] == [{"name": "regcred"}]
    assert pod["nodeSelector"] == {"pool": "gpu"} and pod["priorityClassName"] == "high"
    limits = {"cpu": "2", "memory": "4Gi", "nvidia.com/gpu": "1"}
    assert pod["containers"][0]["resources"] == {"requests": limits, "limits": limits}
    assert pod["containers"][0]["env"] == [{"name": "MLPLAT_JOB_ID", "value": "j000000000001"}]
    assert spec["template"]["metadata"]["labels"][mf.LABEL_REPLICA] == "main"
    assert spec["template"]["metadata"]["annotations"]["a"] == "b"


def test_no_resources_no_deadline_when_not_asked() -> None:
    spec = mf.primary(_w())["spec"]
    assert "activeDeadlineSeconds" not in spec and "ttlSecondsAfterFinished" not in spec
    assert "resources" not in spec["template"]["spec"]["containers"][0]


def test_pytorchjob_master_and_workers_with_overrides_merged() -> None:
    obj = mf.primary(_w(kind="pytorch", workers=3, timeout=10,
                        kubeflow_spec={"runPolicy": {"cleanPodPolicy": "All"}}))
    assert (obj["apiVersion"], obj["kind"]) == ("kubeflow.org/v1", "PyTorchJob")
    replicas = obj["spec"]["pytorchReplicaSpecs"]
    assert {k: v["replicas"] for k, v in replicas.items()} == {"Master": 1, "Worker": 3}
    assert replicas["Worker"]["template"]["spec"]["containers"][0]["name"] == "pytorch"
    assert obj["spec"]["runPolicy"] == {"cleanPodPolicy": "All", "backoffLimit": 0,
                                        "activeDeadlineSeconds": 10}


def test_tfjob_chief_worker_ps() -> None:
    obj = mf.primary(_w(kind="tf", workers=2, ps=1))
    replicas = obj["spec"]["tfReplicaSpecs"]
    assert {k: v["replicas"] for k, v in replicas.items()} == {"Chief": 1, "Worker": 2, "PS": 1}
    assert mf.replica_names("tf", 2, 1) == ["chief-0", "worker-0", "worker-1", "ps-0"]


def test_training_job_replicas_are_templates_for_the_operator() -> None:
    """The platform creates only the PyTorchJob; each replica type's template (labels, the
    container named as the operator expects) is what the training operator makes pods from."""
    obj = mf.primary(_w(kind="pytorch", workers=2))
    replicas = obj["spec"]["pytorchReplicaSpecs"]
    assert {k: v["replicas"] for k, v in replicas.items()} == {"Master": 1, "Worker": 2}
    for rtype, spec in replicas.items():
        template = spec["template"]
        assert template["metadata"]["labels"][mf.LABEL_JOB] == "j000000000001"
        assert template["metadata"]["labels"][mf.LABEL_REPLICA] == rtype.lower()
        assert [c["name"] for c in template["spec"]["containers"]] == ["pytorch"]
        env = {e["name"] for e in template["spec"]["containers"][0]["env"]}
        assert "MASTER_ADDR" not in env and "RANK" not in env  # the operator's to set


def test_names_and_label_values_stay_valid() -> None:
    assert mf.object_name("J_ABC") == "mlplat-j-abc"
    assert len(mf.object_name("j" * 80)) <= 52
    assert mf.label_value("-weird user@example.com-") == "weird-user-example.com"
    assert mf.label_value("@@@") == "unknown"
