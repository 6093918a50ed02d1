"""Compute backends: one class per target kind, all behind :class:`~.base.ComputeBackend`.

A backend is found by its target's ``kind`` in the entry-point group
``jupyter_mlplat.backends`` (as papermill finds its I/O handlers and fsspec its filesystems), so
a deployment adds a kind by installing a package that declares one; the two built-in kinds are
declared in this package's own metadata and also known without it (a source checkout).
"""

from __future__ import annotations

import functools
import importlib
from importlib.metadata import entry_points
from typing import TYPE_CHECKING, Any

from ...config import BACKENDS_GROUP, TargetBase
from ...errors import InvalidRequest

if TYPE_CHECKING:
    from ..context import JobContext
    from .base import ComputeBackend

BUILTIN: dict[str, str] = {
    "local": "jupyter_mlplat.jobs.backends.local:LocalBackend",
    "kubernetes": "jupyter_mlplat.jobs.backends.kubernetes:KubernetesBackend",
}


@functools.cache
def installed() -> dict[str, str]:
    """Target kind -> ``module:Class`` of its backend."""
    found = {ep.name: ep.value for ep in entry_points(group=BACKENDS_GROUP)}
    return {**BUILTIN, **found}


def backend_class(kind: str) -> type[ComputeBackend[Any]]:
    try:
        module, name = installed()[kind].split(":")
    except KeyError:
        raise InvalidRequest(f"no backend for target kind {kind!r}; installed: "
                             f"{', '.join(sorted(installed()))}", reason="unknown kind") from None
    cls: type[ComputeBackend[Any]] = getattr(importlib.import_module(module), name)
    return cls


def backend_for(target: TargetBase, ctx: JobContext) -> ComputeBackend[Any]:
    """The backend of ``target``, given the target as its own model (a plugin's kind arrives
    as a generic target and is validated by the backend's ``target_type`` here)."""
    cls = backend_class(str(getattr(target, "kind", "local")))
    typed = target if isinstance(target, cls.target_type) \
        else cls.target_type.model_validate(target.model_dump())
    return cls(typed, ctx)
