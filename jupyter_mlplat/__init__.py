"""jupyter-mlplat: JupyterLab as the workbench of an ML platform."""

from __future__ import annotations

from typing import Any

try:
    from ._version import __version__
except ImportError:  # a source checkout that was never built
    __version__ = "0.0.0.dev0"


def _jupyter_labextension_paths() -> list[dict[str, str]]:
    return [{"src": "labextension", "dest": "jupyter-mlplat"}]


def _jupyter_server_extension_points() -> list[dict[str, Any]]:
    from .app import MLPlatApp

    return [{"module": "jupyter_mlplat", "app": MLPlatApp}]


def load_ipython_extension(ipython: Any) -> None:
    """``%load_ext jupyter_mlplat``: the ``%mlp_*`` magics."""
    from .magics import MLPlatMagics

    ipython.register_magics(MLPlatMagics)


def fs(cluster: str) -> Any:
    """The fsspec filesystem of a configured storage cluster, e.g. ``fs("prod-a")``."""
    from .storage.filesystem import filesystem

    return filesystem(cluster)
