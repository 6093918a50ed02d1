"""What a job's Kubernetes objects say, as one of our states (pure; works on API JSON dicts).

The backend is level-triggered: whatever woke it (a watch event, the reconcile loop, a
restart), it reads the job's object and pods, asks :func:`observe` what state they show, and
applies :func:`plan`, which only ever moves a job forward. Missed intermediate events therefore
cannot leave a job stuck, and replaying old ones cannot move it back.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..schemas import JobState

#: Container waiting reasons after which the pod will not start without a human: the job fails.
FATAL_WAITING = frozenset({"ErrImagePull", "ImagePullBackOff", "InvalidImageName",
                           "ErrImageNeverPull", "CreateContainerConfigError",
                           "CreateContainerError", "RunContainerError"})
#: Kubelet event reasons that mean the same, for when the event arrives before the pod status.
FATAL_EVENTS = frozenset({"ErrImageNeverPull", "InspectFailed", "Failed"})
#: Events worth a line in the job's timeline besides warnings.
NOTABLE_NORMAL_EVENTS = frozenset({"Scheduled", "DeadlineExceeded", "BackoffLimitExceeded"})

ORDER = (JobState.queued, JobState.building, JobState.pushing, JobState.submitted,
         JobState.pending, JobState.running)


@dataclass(frozen=True)
class Observed:
    """The state the cluster shows, why, and whether any container ever started."""

    state: JobState
    message: str
    ran: bool = False
    cleanup: bool = False  # failed by our judgement while Kubernetes still holds the objects


Obj = Mapping[str, Any]


def _meta(obj: Obj) -> Obj:
    return obj.get("metadata") or {}


def _status(obj: Obj) -> Obj:
    return obj.get("status") or {}


def _name(obj: Obj) -> str:
    return str(_meta(obj).get("name", "?"))


def _containers(pod: Obj) -> list[Obj]:
    status = _status(pod)
    return [*(status.get("initContainerStatuses") or []),
            *(status.get("containerStatuses") or [])]


#: Labels the Kubeflow training operator puts on each replica pod it creates.
KF_REPLICA_TYPE = "training.kubeflow.org/replica-type"
KF_REPLICA_INDEX = "training.kubeflow.org/replica-index"


def pod_replica(pod: Obj, label: str = "mlplat.io/replica") -> str:
    """The pod's replica: ``master-0``, ``worker-1`` (the operator's type and index labels on
    a PyTorchJob/TFJob pod), else our own label (``main`` for a Job's pod)."""
    labels = _meta(pod).get("labels") or {}
    rtype, index = labels.get(KF_REPLICA_TYPE), labels.get(KF_REPLICA_INDEX)
    if rtype and index is not None:
        return f"{str(rtype).lower()}-{index}"
    return str(labels.get(label, ""))


def pod_waiting_failure(pod: Obj) -> str | None:
    """The kubelet's message when a container cannot start (image pull and friends)."""
    for cs in _containers(pod):
        waiting = (cs.get("state") or {}).get("waiting") or {}
        reason = waiting.get("reason")
        if reason in FATAL_WAITING:
            detail = waiting.get("message") or f"cannot start container {cs.get('name')}"
            return f"{reason}: {detail} (pod {_name(pod)})"
    return None


def pod_termination(pod: Obj) -> str:
    """Why a Failed pod failed: exit code, reason and the container's message."""
    parts = []
    for cs in _containers(pod):
        term = (cs.get("state") or {}).get("terminated") or {}
        if term and term.get("exitCode", 0) != 0:
            text = f"container {cs.get('name')} exited with code {term.get('exitCode')}"
            if term.get("reason"):
                text += f" ({term['reason']})"
            if term.get("message"):
                text += f": {str(term['message']).strip()}"
            parts.append(text)
    status = _status(pod)
    if not parts and (status.get("reason") or status.get("message")):
        parts.append(": ".join(str(x) for x in (status.get("reason"), status.get("message"))
                               if x))
    return f"pod {_name(pod)} failed: " + ("; ".join(parts) or "no reason given")


def pod_ran(pod: Obj) -> bool:
    if _status(pod).get("phase") in ("Running", "Succeeded", "Failed") and any(
            (cs.get("state") or {}).get("running") or
            ((cs.get("state") or {}).get("terminated") or {}).get("startedAt")
            for cs in _containers(pod)):
        return True
    return _status(pod).get("phase") == "Running"


def pending_reason(pods: Sequence[Obj]) -> str:
    """Why pods are not running yet: unschedulable, or what the containers wait for."""
    for pod in pods:
        for cond in _status(pod).get("conditions") or []:
            if cond.get("type") == "PodScheduled" and cond.get("status") == "False":
                return f"not scheduled: {cond.get('message') or cond.get('reason')}"
        for cs in _containers(pod):
            waiting = (cs.get("state") or {}).get("waiting") or {}
            if waiting.get("reason"):
                return f"{waiting['reason']} (pod {_name(pod)})"
    return "waiting for pods to start"


def _condition(obj: Obj, *types: str) -> Obj | None:
    for cond in _status(obj).get("conditions") or []:
        if cond.get("type") in types and cond.get("status") == "True":
            return cond
    return None


def _cond_text(cond: Obj) -> str:
    return ": ".join(str(x) for x in (cond.get("reason"), cond.get("message")) if x)


def _live(pods: Sequence[Obj]) -> list[Obj]:
    return [p for p in pods if not _meta(p).get("deletionTimestamp")]


def observe(kind: str, owner: Obj | None, pods: Sequence[Obj], *,
            backoff_limit: int = 0) -> Observed | None:
    """The state shown by the job's object (``owner``) and pods; None if both are gone."""
    if owner is None and not pods:
        return None
    live = _live(pods)
    ran = any(pod_ran(p) for p in pods)
    for pod in live:
        failure = pod_waiting_failure(pod)
        if failure:
            return Observed(JobState.failed, failure, ran, cleanup=True)
    if owner is not None:
        decided = _from_owner(kind, owner, pods, ran)
        if decided is not None:
            return decided
    failed = [p for p in pods if _status(p).get("phase") == "Failed"]
    if failed and (kind != "job" or backoff_limit == 0):
        return Observed(JobState.failed, pod_termination(failed[0]), True)
    if kind != "job":
        done = _training_succeeded(kind, pods)
        if done:
            return Observed(JobState.succeeded, done, True)
    elif any(_status(p).get("phase") == "Succeeded" for p in pods):
        return Observed(JobState.succeeded, "pod succeeded", True)
    if any(_status(p).get("phase") == "Running" for p in live):
        running = sorted(_name(p) for p in live if _status(p).get("phase") == "Running")
        return Observed(JobState.running, f"running: {', '.join(running)}", True)
    if live:
        return Observed(JobState.pending, pending_reason(live), ran)
    return Observed(JobState.submitted, "waiting for pods to be created", ran)


def _from_owner(kind: str, owner: Obj, pods: Sequence[Obj], ran: bool) -> Observed | None:
    if kind == "job":
        failed = _condition(owner, "Failed", "FailureTarget")
        if failed:
            bad = [p for p in pods if _status(p).get("phase") == "Failed"]
            detail = f"; {pod_termination(bad[0])}" if bad else ""
            return Observed(JobState.failed, f"job failed: {_cond_text(failed)}{detail}", ran)
        done = _condition(owner, "Complete", "SuccessCriteriaMet")
        if done:
            return Observed(JobState.succeeded, "job complete", True)
        return None
    failed = _condition(owner, "Failed")
    if failed:
        return Observed(JobState.failed, _cond_text(failed) or "training job failed", ran)
    done = _condition(owner, "Succeeded")
    if done:
        return Observed(JobState.succeeded, _cond_text(done) or "training job succeeded", True)
    return None


def _training_succeeded(kind: str, pods: Sequence[Obj]) -> str | None:
    """PyTorchJob: the master succeeded. TFJob: the chief did (or, without one, all workers)."""
    head = "master" if kind == "pytorch" else "chief"
    heads = [p for p in pods if pod_replica(p).startswith(f"{head}-")]
    phases = [_status(p).get("phase") for p in (heads or pods)]
    if phases and all(ph == "Succeeded" for ph in phases):
        return f"{head} succeeded" if heads else "all replicas succeeded"
    return None


def plan(current: JobState, observed: Observed) -> list[tuple[JobState, str]]:
    """Transitions that bring ``current`` forward to ``observed`` (never backward).

    A job that finished between two looks still passes through ``running`` when a container
    did start, so its timeline shows when it ran.
    """
    if current.final:
        return []
    target = observed.state
    rank = ORDER.index(current)
    if not target.final:
        return [(target, observed.message)] if ORDER.index(target) > rank else []
    steps: list[tuple[JobState, str]] = []
    if observed.ran and rank < ORDER.index(JobState.running):
        steps.append((JobState.running, "started"))
    steps.append((target, observed.message))
    return steps


def before(state: JobState) -> frozenset[JobState]:
    """States a job may leave for ``state`` (those earlier in the order)."""
    if state.final:
        return frozenset(ORDER)
    return frozenset(ORDER[: ORDER.index(state)])


def event_line(event: Obj) -> str | None:
    """A timeline line for a Kubernetes Event, or None when it is not worth one."""
    if event.get("type") != "Warning" and event.get("reason") not in NOTABLE_NORMAL_EVENTS:
        return None
    involved = event.get("involvedObject") or {}
    return (f"{event.get('reason')}: {str(event.get('message') or '').strip()} "
            f"({str(involved.get('kind', '')).lower()} {involved.get('name', '?')})")


def event_failure(event: Obj) -> str | None:
    """The kubelet's message when an Event alone shows the pod cannot start."""
    reason = event.get("reason")
    message = str(event.get("message") or "")
    if event.get("type") != "Warning" or reason not in FATAL_EVENTS | FATAL_WAITING:
        return None
    if reason == "Failed" and "pull" not in message.lower():
        return None
    involved = event.get("involvedObject") or {}
    return f"{reason}: {message.strip()} (pod {involved.get('name', '?')})"


def k8s_time(value: Any) -> dt.datetime | None:
    """A Kubernetes timestamp (``2026-11-29T10:00:00Z``) as an aware UTC time; None if absent."""
    if not value:
        return None
    try:
        parsed = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.timezone.utc)
