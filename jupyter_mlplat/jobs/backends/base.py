"""The interface every compute backend implements."""

from __future__ import annotations

import abc
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ...config import ComputeTarget
    from ..context import JobContext
    from ..models import Job, JobSpec, LogChunk


class ComputeBackend(abc.ABC):
    def __init__(self, target: ComputeTarget, ctx: JobContext) -> None:
        self.target = target
        self.ctx = ctx

    def validate(self, spec: JobSpec) -> None:  # noqa: B027 - optional hook
        """Refuse a spec this target cannot run, before anything is created."""

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

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release watchers and connections."""
