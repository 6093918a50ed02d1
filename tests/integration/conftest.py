"""Session fixtures that start the real engines through the devcluster harness.

A component that fails to build or start raises, so its tests error out: never a skip.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from jupyter_mlplat.devcluster.base import Component
from jupyter_mlplat.devcluster.sandbox import component_class


def _started(name: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Component]:
    comp = component_class(name)(tmp_path_factory.mktemp(f"devcluster-{name}"))
    comp.build()
    try:
        comp.start()
        yield comp
    finally:
        comp.stop()


@pytest.fixture(scope="session")
def hdfs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Component]:
    yield from _started("hdfs", tmp_path_factory)


@pytest.fixture(scope="session")
def kube(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Component]:
    yield from _started("kube", tmp_path_factory)


@pytest.fixture(scope="session")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Component]:
    yield from _started("registry", tmp_path_factory)


@pytest.fixture(scope="session")
def postgres(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Component]:
    yield from _started("postgres", tmp_path_factory)


@pytest.fixture(scope="session")
def node(kube: Component, registry: Component,
         tmp_path_factory: pytest.TempPathFactory) -> Iterator[Component]:
    """The real node (kubelet + containerd + runc), registered to ``kube``, pulling from
    ``registry``; stopped before them (it depends on both)."""
    comp = component_class("node")(tmp_path_factory.mktemp("devcluster-node"))
    comp.build()
    comp.use({"kube": kube.info(), "registry": registry.info()})  # type: ignore[attr-defined]
    try:
        comp.start()
        yield comp
    finally:
        comp.stop()
