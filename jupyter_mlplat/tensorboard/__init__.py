"""TensorBoard inside JupyterLab: one ``tensorboard`` child process per log dir, proxied through
the Jupyter server with its auth, with HDFS log dirs mirrored incrementally to a local cache."""

from __future__ import annotations

from .manager import TensorBoardManager
from .schemas import TensorBoard, TensorBoardList, TensorBoardRequest

__all__ = ["TensorBoard", "TensorBoardList", "TensorBoardManager", "TensorBoardRequest"]
