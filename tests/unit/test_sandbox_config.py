"""The platform config for cluster jobs on the sandbox's real node, as the integration tests and
the UI tests' server build it from the running engines' info."""

from __future__ import annotations

from jupyter_mlplat.config import KubernetesTarget, load_config
from jupyter_mlplat.devcluster.sandbox import JOB_OUTPUTS, cluster_jobs_config

NODE = {"user": "alice", "kubeconfig": "/sandbox/kube/kubeconfigs/alice.kubeconfig",
        "cluster_dns": None}
REGISTRY = {"address": "127.0.0.1:5000", "runtime_image": "runtimes/python:3.11"}
HDFS = {"clusters": {name: {"webhdfs": [f"http://127.0.0.1:{port}"], "superuser": "hdfs"}
                     for name, port in (("prod-a", 9870), ("prod-b", 9871))}}


def test_cluster_jobs_config_is_a_valid_platform_config() -> None:
    data = cluster_jobs_config(NODE, REGISTRY, HDFS)
    config = load_config({**data, "data_dir": "/tmp/unused"})
    target = config.kubernetes_target("kube-node")
    assert isinstance(target, KubernetesTarget)
    assert target.outputs == JOB_OUTPUTS == "hdfs://prod-b/user/{user}/mlplat-jobs/{job_id}"
    assert target.node_selector == {"mlplat.io/node": "real"}
    assert target.pod_template["spec"]["hostNetwork"] is True
    assert config.user == "alice"
    prod_a, prod_b = (config.cluster(name) for name in ("prod-a", "prod-b"))
    assert (prod_a.user, prod_a.proxy_user) == ("hdfs", True)  # permissions on: doas the user
    assert (prod_b.user, prod_b.proxy_user) == ("hdfs", False)
    assert config.registry is not None and config.registry.push == "127.0.0.1:5000"
    assert cluster_jobs_config(NODE, REGISTRY, HDFS, outputs="hdfs://prod-a/o/{job_id}")[
        "targets"][0]["outputs"] == "hdfs://prod-a/o/{job_id}"
