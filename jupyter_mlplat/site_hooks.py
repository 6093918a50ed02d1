"""Run at interpreter start in job runtime images (a ``.pth`` line), so job code needs no set-up.

It only installs an import hook (no third-party import here: every Python start pays for this
module): when tensorboardX's ``record_writer`` is imported, ``hdfs://`` log dirs are registered
with it (:mod:`jupyter_mlplat.storage.tensorboardx`), and
``SummaryWriter(os.environ["MLPLAT_TENSORBOARD_DIR"])`` writes to the output cluster.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import sys
from types import ModuleType
from typing import Any

TENSORBOARDX_RECORD_WRITER = "tensorboardX.record_writer"


class _ThenRegister(importlib.abc.Loader):
    """Executes the real module, then registers the ``hdfs`` writer with it."""

    def __init__(self, loader: Any) -> None:
        self.loader = loader

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        return self.loader.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        self.loader.exec_module(module)
        try:
            from .storage.tensorboardx import register

            register(module)
        except Exception as exc:  # tensorboardX itself must keep working
            print(f"[mlplat] hdfs:// log dirs for tensorboardX unavailable: "
                  f"{type(exc).__name__}: {exc}", file=sys.stderr)


class _Finder(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname: str, path: Any, target: Any = None
                  ) -> importlib.machinery.ModuleSpec | None:
        if fullname != TENSORBOARDX_RECORD_WRITER:
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is None or spec.loader is None:
            return None
        spec.loader = _ThenRegister(spec.loader)
        return spec


def install() -> None:
    if not any(isinstance(finder, _Finder) for finder in sys.meta_path):
        sys.meta_path.insert(0, _Finder())


install()
