"""What a runtime image must declare (its config labels), and the target's pod template overlay."""

from __future__ import annotations

import pytest

from jupyter_mlplat.images import contract
from jupyter_mlplat.images.errors import RuntimeImageIncomplete
from jupyter_mlplat.jobs.k8s import manifests as mf

COMPLETE = {contract.LABEL_PYTHON: "3.11", contract.LABEL_PAPERMILL: "2.7.0",
            contract.LABEL_KERNELS: "python3, ir"}


def test_a_complete_image_lacks_nothing() -> None:
    assert contract.missing(COMPLETE) == []
    assert contract.missing(COMPLETE, kernel="ir") == []
    contract.check("reg/runtimes/python:3.11", {"config": {"Labels": COMPLETE}})


def test_each_missing_part_is_named() -> None:
    problems = contract.missing({})
    assert len(problems) == 3
    assert "Python 3.10+ (no label org.mlplat.runtime.python)" in problems[0]
    assert "papermill" in problems[1] and "kernel 'python3'" in problems[2]
    old = contract.missing({**COMPLETE, contract.LABEL_PYTHON: "3.8"})
    assert old == ["Python 3.10+ (org.mlplat.runtime.python is '3.8')"]
    other = contract.missing(COMPLETE, kernel="julia")
    assert other == ["the kernel 'julia' (it lists python3, ir)"]


def test_check_raises_a_400_naming_the_image_and_the_doc() -> None:
    with pytest.raises(RuntimeImageIncomplete) as raised:
        contract.check("reg/bare:1", {"config": {"Labels": {contract.LABEL_PYTHON: "3.12"}}})
    assert raised.value.status == 400
    message = raised.value.message
    assert message.startswith("the runtime image reg/bare:1 cannot run notebook jobs")
    assert "papermill" in message and contract.DOC in message
    assert "Python" not in message.split("lacks", 1)[1].split(".")[0]


def _w(**kw: object) -> mf.Workload:
    base: dict[str, object] = {"job_id": "j000000000001", "user": "alice",
                               "namespace": "ml-alice", "image": "reg/x@sha256:" + "a" * 64,
                               "env": {"A": "1"}}
    return mf.Workload(**{**base, **kw})  # type: ignore[arg-type]


def test_pod_template_overlays_every_rendered_pod() -> None:
    overlay = {"metadata": {"labels": {"team": "ml"}},
               "spec": {"hostNetwork": True,
                        "hostAliases": [{"ip": "10.0.0.9", "hostnames": ["nn1"]}],
                        "volumes": [{"name": "cache", "emptyDir": {}}],
                        "containers": [{"name": "main", "volumeMounts": [
                            {"name": "cache", "mountPath": "/cache"}],
                            "env": [{"name": "B", "value": "2"}]}]}}
    job = mf.primary(_w(pod_template=overlay))
    template = job["spec"]["template"]
    assert template["metadata"]["labels"]["team"] == "ml"
    assert template["metadata"]["labels"][mf.LABEL_JOB] == "j000000000001"
    spec = template["spec"]
    assert spec["hostNetwork"] is True and spec["restartPolicy"] == "Never"
    assert spec["hostAliases"][0]["hostnames"] == ["nn1"]
    (main,) = spec["containers"]  # merged by name, not replaced
    assert main["image"].startswith("reg/x@") and main["volumeMounts"][0]["name"] == "cache"
    assert main["env"] == [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}]
    assert main["terminationMessagePolicy"] == "FallbackToLogsOnError"
    cron = mf.cron_job(_w(pod_template=overlay), mf.CronSpec("s1", "* * * * *", "UTC",
                                                              "forbid", 60))
    assert cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]["hostNetwork"] is True
    training = mf.primary(_w(kind="pytorch", workers=1, pod_template=overlay))
    for replica in training["spec"]["pytorchReplicaSpecs"].values():
        pod = replica["template"]  # what the training operator makes the replica pods from
        assert pod["spec"]["hostNetwork"] is True
        assert [c["name"] for c in pod["spec"]["containers"]] == ["pytorch"]


def test_no_pod_template_leaves_the_pod_alone() -> None:
    assert "hostNetwork" not in mf.primary(_w())["spec"]["template"]["spec"]
    assert mf.merge_named({"a": [1, 2]}, {"a": [3]}) == {"a": [3]}
