"""Mapping Kubernetes Job/pod status and Events to job states (pure functions)."""

from __future__ import annotations

from typing import Any

from jupyter_mlplat.jobs.k8s.states import (
    KF_REPLICA_INDEX,
    KF_REPLICA_TYPE,
    Observed,
    before,
    event_failure,
    event_line,
    observe,
    plan,
    pod_replica,
)
from jupyter_mlplat.jobs.schemas import JobState as S

JOB = {"kind": "Job", "metadata": {"name": "mlplat-j1"}, "status": {}}


def _pod(phase: str, replica: str = "main", waiting: dict[str, str] | None = None,
         terminated: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    state: dict[str, Any] = {}
    if waiting:
        state["waiting"] = waiting
    if terminated:
        state["terminated"] = terminated
    if phase == "Running" and not state:
        state["running"] = {"startedAt": "t"}
    return {"metadata": {"name": f"p-{replica}", "labels": {"mlplat.io/replica": replica}},
            "status": {"phase": phase, "containerStatuses": [{"name": "main", "state": state}],
                       **extra}}


def _job(*conditions: tuple[str, str, str]) -> dict[str, Any]:
    return {**JOB, "status": {"conditions": [
        {"type": t, "status": "True", "reason": r, "message": m} for t, r, m in conditions]}}


def test_gone_submitted_pending_running() -> None:
    assert observe("job", None, []) is None
    assert observe("job", JOB, []) == Observed(S.submitted, "waiting for pods to be created")
    unschedulable = _pod("Pending", conditions=[
        {"type": "PodScheduled", "status": "False", "reason": "Unschedulable",
         "message": "0/2 nodes are available: insufficient nvidia.com/gpu"}])
    unschedulable["status"]["containerStatuses"] = []
    seen = observe("job", JOB, [unschedulable])
    assert seen is not None and seen.state is S.pending and "insufficient" in seen.message
    seen = observe("job", JOB, [_pod("Running")])
    assert seen is not None and seen.state is S.running and seen.ran


def test_image_pull_failure_is_final_with_the_kubelet_message() -> None:
    pod = _pod("Pending", waiting={"reason": "ImagePullBackOff",
                                   "message": 'Back-off pulling image "r/x@sha256:1"'})
    seen = observe("job", JOB, [pod])
    assert seen is not None and seen.state is S.failed and seen.cleanup
    assert seen.message.startswith('ImagePullBackOff: Back-off pulling image "r/x@sha256:1"')


def test_job_conditions_decide_and_pod_exit_is_quoted() -> None:
    failed_pod = _pod("Failed", terminated={"exitCode": 1, "reason": "Error",
                                            "message": "boom", "startedAt": "t"})
    seen = observe("job", _job(("Failed", "BackoffLimitExceeded", "Job has reached the "
                                "specified backoff limit")), [failed_pod], backoff_limit=3)
    assert seen is not None and seen.state is S.failed
    assert "BackoffLimitExceeded" in seen.message and "exited with code 1 (Error): boom" in \
        seen.message
    seen = observe("job", _job(("Complete", "", "")), [])
    assert seen is not None and seen.state is S.succeeded
    # With retries left, a failed pod is not yet the job's end.
    seen = observe("job", JOB, [failed_pod, _pod("Pending")], backoff_limit=2)
    assert seen is not None and seen.state is S.pending
    seen = observe("job", JOB, [failed_pod], backoff_limit=0)
    assert seen is not None and seen.state is S.failed and seen.ran


def _operator_pod(phase: str, rtype: str, index: int) -> dict[str, Any]:
    """A replica pod as the training operator creates it: the template's replica label is the
    type alone; the operator's labels give type and index."""
    pod = _pod(phase, rtype)
    pod["metadata"]["name"] = f"p-{rtype}-{index}"
    pod["metadata"]["labels"].update({KF_REPLICA_TYPE: rtype, KF_REPLICA_INDEX: str(index)})
    return pod


def test_operator_pods_are_named_by_replica_type_and_index() -> None:
    assert pod_replica(_operator_pod("Running", "worker", 1)) == "worker-1"
    assert pod_replica(_pod("Running")) == "main"


def test_training_jobs_before_the_operators_condition_follow_the_master_or_chief() -> None:
    owner = {"kind": "PyTorchJob", "metadata": {"name": "x"}}
    pods = [_operator_pod("Succeeded", "master", 0), _operator_pod("Running", "worker", 0)]
    seen = observe("pytorch", owner, pods)
    assert seen is not None and seen.state is S.succeeded
    pods = [_operator_pod("Running", "chief", 0), _operator_pod("Failed", "worker", 0)]
    seen = observe("tf", {"kind": "TFJob"}, pods)
    assert seen is not None and seen.state is S.failed and "p-worker-0" in seen.message


def test_training_jobs_with_operator_follow_its_conditions() -> None:
    owner = {"kind": "PyTorchJob", "status": {"conditions": [
        {"type": "Created", "status": "True"},
        {"type": "Failed", "status": "True", "reason": "PyTorchJobFailed", "message": "m"}]}}
    seen = observe("pytorch", owner, [_pod("Running", "master-0")])
    assert seen is not None and seen.state is S.failed and seen.message == "PyTorchJobFailed: m"


def test_plan_moves_only_forward_and_shows_that_it_ran() -> None:
    assert plan(S.submitted, Observed(S.pending, "p")) == [(S.pending, "p")]
    assert plan(S.running, Observed(S.pending, "p")) == []
    assert plan(S.succeeded, Observed(S.failed, "x")) == []
    assert plan(S.submitted, Observed(S.succeeded, "done", ran=True)) == [
        (S.running, "started"), (S.succeeded, "done")]
    assert plan(S.pending, Observed(S.failed, "pull", ran=False)) == [(S.failed, "pull")]
    assert S.pending not in before(S.pending) and S.submitted in before(S.pending)
    assert S.running in before(S.failed)


def test_events_become_lines_and_pull_failures() -> None:
    pull = {"type": "Warning", "reason": "Failed", "message": 'Failed to pull image "x": 404',
            "involvedObject": {"kind": "Pod", "name": "mlplat-j1-abc"}}
    assert event_line(pull) == 'Failed: Failed to pull image "x": 404 (pod mlplat-j1-abc)'
    assert event_failure(pull) == 'Failed: Failed to pull image "x": 404 (pod mlplat-j1-abc)'
    mount = {**pull, "message": "MountVolume.SetUp failed"}
    assert event_failure(mount) is None
    normal = {"type": "Normal", "reason": "Pulled", "message": "ok", "involvedObject": {}}
    assert event_line(normal) is None and event_failure(normal) is None
    scheduled = {**normal, "reason": "Scheduled", "message": "assigned"}
    assert event_line(scheduled) is not None
