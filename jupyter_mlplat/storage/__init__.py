"""Storage: named HDFS clusters (and local folders) as one fsspec filesystem, its contents API
(Jupyter contents-model semantics for the frontend drives) and the papermill I/O handler."""

from __future__ import annotations

from .env import cluster_env
from .filesystem import ClusterFileSystem, filesystem
from .paths import PathOutsideRoot

__all__ = ["ClusterFileSystem", "PathOutsideRoot", "cluster_env", "filesystem"]
