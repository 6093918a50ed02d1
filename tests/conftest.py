"""Fixtures shared by the REST tests: a Jupyter server with the extension on a temp platform."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import dump_runner_stacks, server_config

#: A test using any of these runs on the one pytest-xdist worker that runs them all, in order:
#: the Kubernetes control plane, its real node and the registry start once per run, not once per
#: worker. Every other test file is its own group (``--dist loadgroup``; see scripts/test).
CLUSTER_FIXTURES = frozenset({"kube", "node", "operator", "dns", "registry"})


def pytest_itemcollected(item: pytest.Item) -> None:
    """Each test's group, as it is collected (pytest-xdist reads them when collection ends)."""
    if item.get_closest_marker("xdist_group") is None:
        uses = set(getattr(item, "fixturenames", ()))
        group = "cluster" if uses & CLUSTER_FIXTURES else item.nodeid.split("::")[0]
        item.add_marker(pytest.mark.xdist_group(group))


def pytest_collection_finish(session: pytest.Session) -> None:
    """Fail loudly where pytest-xdist would silently ignore the groups (it marks a grouped
    test's node id with ``@group``; some pytest versions lose that mark)."""
    if session.config.getoption("loadgroup", False) and session.items \
            and "@" not in session.items[0].nodeid:
        raise pytest.UsageError("pytest-xdist did not apply the tests' groups (see the pytest "
                                "pin in pyproject.toml); run with MLPLAT_TEST_WORKERS=1")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]
                              ) -> Iterator[pytest.TestReport]:
    """A failed test shows what the job runners it started are doing (their threads' stacks),
    taken before its fixtures stop them: a runner that hangs is visible in the report."""
    report: pytest.TestReport = yield
    if report.when == "call" and report.failed:
        base = item.config._tmp_path_factory.getbasetemp()  # type: ignore[attr-defined]
        for pid, text in dump_runner_stacks(base).items():
            report.sections.append((f"job runner {pid}", text))
    return report


@pytest.fixture
def mlplat_data_dir(tmp_path: Path) -> Path:
    path = tmp_path / "mlplat-data"
    path.mkdir()
    return path


@pytest.fixture
def jp_server_config(mlplat_data_dir: Path) -> dict[str, Any]:
    return server_config(mlplat_data_dir)


@pytest.fixture(autouse=True)
def _restore_env() -> Iterator[None]:
    """The extension exports its config to the environment for kernels; undo that per test."""
    saved = dict(os.environ)
    yield
    os.environ.clear()
    os.environ.update(saved)


@pytest.fixture
def api(jp_fetch: Callable[..., Any]) -> Callable[..., Any]:
    """``await api("jobs", method="POST", body={...})`` -> (status, json); never raises on 4xx."""
    from tornado.httpclient import HTTPClientError

    async def call(path: str, method: str = "GET", body: Any = None,
                   params: dict[str, Any] | None = None) -> tuple[int, Any]:
        # long enough for a submit that builds and pushes an image on a loaded machine
        kwargs: dict[str, Any] = {"method": method, "params": params or {},
                                  "request_timeout": 300}
        if body is not None:
            kwargs["body"] = body if isinstance(body, (str, bytes)) else json.dumps(body)
        elif method in ("POST", "PUT", "PATCH"):
            kwargs["body"] = "{}"
        try:
            resp = await jp_fetch("jupyter-mlplat", "api", *path.split("/"), **kwargs)
        except HTTPClientError as exc:
            assert exc.response is not None
            return exc.code, json.loads(exc.response.body or b"null")
        return resp.code, json.loads(resp.body or b"null")

    return call
