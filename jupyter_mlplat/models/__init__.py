"""Model registry: immutable numeric versions in a TF Serving layout with checksums and lineage,
stages with history, and TF Serving deployments that follow new versions without a redeploy.

``ModelRegistry`` is imported on first use: the modules that run inside serving pods
(:mod:`.mirror`, :mod:`.folder_serving`) are run as ``python -m jupyter_mlplat.models.…`` in the
runtime image, which has no database libraries.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .registry import ModelRegistry

__all__ = ["ModelRegistry"]


def __getattr__(name: str) -> Any:
    if name == "ModelRegistry":
        from .registry import ModelRegistry

        return ModelRegistry
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
