"""Session fixtures that start the real engines through the devcluster harness.

A component that fails to build or start raises, so its tests error out: never a skip.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client, config

from jupyter_mlplat.config import load_config
from jupyter_mlplat.devcluster.base import Component
from jupyter_mlplat.devcluster.sandbox import component_class
from jupyter_mlplat.platform import Platform


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


def _started_on(name: str, deps: dict[str, Component],
                tmp_path_factory: pytest.TempPathFactory) -> Iterator[Component]:
    """A component that uses others (given their info); stopped before them."""
    comp = component_class(name)(tmp_path_factory.mktemp(f"devcluster-{name}"))
    comp.build()
    comp.use({dep: c.info() for dep, c in deps.items()})  # type: ignore[attr-defined]
    try:
        comp.start()
        yield comp
    finally:
        comp.stop()


@pytest.fixture(scope="session")
def dns(kube: Component, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Component]:
    """CoreDNS serving ``cluster.local`` from ``kube`` on a 127.53.x.y address of its own."""
    yield from _started_on("dns", {"kube": kube}, tmp_path_factory)


@pytest.fixture(scope="session")
def operator(kube: Component, registry: Component,
             tmp_path_factory: pytest.TempPathFactory) -> Iterator[Component]:
    """The Kubeflow training operator (its CRDs installed) watching ``kube``; the image of its
    PyTorch init container is in ``registry``."""
    yield from _started_on("operator", {"kube": kube, "registry": registry}, tmp_path_factory)


@pytest.fixture(scope="session")
def node(kube: Component, registry: Component, dns: Component,
         tmp_path_factory: pytest.TempPathFactory) -> Iterator[Component]:
    """The real node (kubelet + containerd + runc), registered to ``kube``, pulling from
    ``registry``, giving pods ``dns`` as cluster DNS; stopped before them."""
    yield from _started_on("node", {"kube": kube, "registry": registry, "dns": dns},
                           tmp_path_factory)


@pytest.fixture(scope="module")
def admin(kube: Component) -> Iterator[client.ApiClient]:
    """The sandbox cluster's administrator: how a test looks at what the platform created."""
    api = config.new_client_from_config(config_file=kube.info()["kubeconfigs"]["admin"])
    yield api
    api.close()


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """The Jupyter root of a test's platform (a module may fill it with notebooks)."""
    path = tmp_path / "root"
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture
def platform(platform_data: dict[str, Any], root: Path, tmp_path: Path) -> Iterator[Platform]:
    """The platform on the module's ``platform_data``, with its own data folder."""
    plat = Platform(load_config({**platform_data, "data_dir": str(tmp_path / "data")}), root)
    yield plat
    plat.close()
