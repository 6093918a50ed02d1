"""Model registry: immutable numeric versions in a TF Serving layout with checksums and lineage,
stages with history, and TF Serving deployments that follow new versions without a redeploy."""

from __future__ import annotations

from .registry import ModelRegistry

__all__ = ["ModelRegistry"]
