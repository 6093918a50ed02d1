"""The interface every compute backend implements."""

from __future__ import annotations

import abc
from typing import TYPE_CHECKING, ClassVar, Generic, TypeVar

from ...config import TargetBase

if TYPE_CHECKING:
    from ..context import JobContext
    from ..schemas import Job, JobSpec, LogChunk

T = TypeVar("T", bound=TargetBase)


class ComputeBackend(abc.ABC, Generic[T]):
    """What every target kind implements; ``target_type`` is the config model of its kind."""

    target_type: ClassVar[type[TargetBase]]

    def __init__(self, target: T, ctx: JobContext) -> None:
        self.target: T = target
        self.ctx = ctx

    def validate(self, spec: JobSpec) -> None:
        """Refuse a spec this target cannot run, before anything is created."""

    def output_location(self, spec: JobSpec, name: str) -> str | None:
        """Where a job of ``spec`` named ``name`` keeps its outputs when not under the Jupyter
        root: a URL with ``{job_id}`` (e.g. ``hdfs://prod-b/user/alice/jobs/{job_id}``),
        checked reachable and writable before the job is recorded. None (the default): the
        job's own folder is under the root."""
        return None

    @abc.abstractmethod
    def submit(self, job: Job) -> None:
        """Start the job; states after ``queued`` are recorded by the backend or its runner."""

    @abc.abstractmethod
    def cancel(self, job: Job) -> None:
        """Stop everything the job started. The service records ``cancelled``."""

    @abc.abstractmethod
    def logs(self, job: Job, offset: int = 0, replica: str | None = None) -> LogChunk:
        """Log text from byte ``offset``; ``complete`` once the job is final and all is read."""

    @abc.abstractmethod
    def reconcile(self, job: Job) -> None:
        """Bring an active job's recorded state in line with reality (e.g. after a restart)."""

    def forget(self, job: Job) -> None:
        """Remove what a final job left on its target (objects, pods) when it is deleted; by
        default what cancelling removes."""
        self.cancel(job)

    def close(self) -> None:
        """Release watchers and connections."""
