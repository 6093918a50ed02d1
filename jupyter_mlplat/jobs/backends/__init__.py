"""Compute backends: one class per target kind, all behind :class:`~.base.ComputeBackend`."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ...config import ComputeTarget
    from ..context import JobContext
    from .base import ComputeBackend


def backend_for(target: ComputeTarget, ctx: JobContext) -> ComputeBackend:
    if target.kind == "local":
        from .local import LocalBackend

        return LocalBackend(target, ctx)
    from .kubernetes import KubernetesBackend  # type: ignore[import-not-found,unused-ignore]

    return KubernetesBackend(target, ctx)  # type: ignore[no-any-return,unused-ignore]
