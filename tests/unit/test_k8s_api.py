"""Retries and error mapping of the Kubernetes API wrapper (the callee is a stub function)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from kubernetes.client.exceptions import ApiException

from jupyter_mlplat.config import KubernetesTarget
from jupyter_mlplat.errors import Forbidden, InvalidRequest, Unavailable
from jupyter_mlplat.jobs.k8s.api import KubeApi


@pytest.fixture
def api(tmp_path: Path) -> KubeApi:
    path = tmp_path / "kubeconfig"
    path.write_text(json.dumps({
        "apiVersion": "v1", "kind": "Config", "current-context": "c",
        "clusters": [{"name": "k", "cluster": {"server": "https://127.0.0.1:1"}}],
        "users": [{"name": "u", "user": {"token": "t"}}],
        "contexts": [{"name": "c", "context": {"cluster": "k", "user": "u"}}]}))
    target = KubernetesTarget(name="k", kind="kubernetes", kubeconfig=str(path))
    return KubeApi(target, sleep=lambda _s: None)


def _error(status: int, message: str = "m", headers: dict[str, str] | None = None
           ) -> ApiException:
    exc = ApiException(status=status, reason="r")
    exc.body = json.dumps({"kind": "Status", "message": message})
    exc.headers = headers or {}
    return exc


def _flaky(*errors: ApiException) -> Any:
    calls: list[int] = []

    def fn() -> str:
        calls.append(1)
        if len(calls) <= len(errors):
            raise errors[len(calls) - 1]
        return "ok"

    fn.calls = calls  # type: ignore[attr-defined]
    return fn


def test_transient_answers_are_retried_then_succeed(api: KubeApi) -> None:
    fn = _flaky(_error(503), _error(429, headers={"Retry-After": "1"}), _error(500))
    assert api.call("x", fn) == "ok"
    assert len(fn.calls) == 4


def test_retries_are_bounded(api: KubeApi) -> None:
    fn = _flaky(*[_error(503, "etcd leader changed")] * 10)
    with pytest.raises(Unavailable, match="etcd leader changed"):
        api.call("create Job ns/x", fn)
    assert len(fn.calls) == api.attempts


def test_forbidden_and_schema_errors_quote_kubernetes(api: KubeApi) -> None:
    with pytest.raises(Forbidden, match='cannot create resource "jobs"'):
        api.call("x", _flaky(_error(403, 'User "a" cannot create resource "jobs"')))
    with pytest.raises(InvalidRequest, match="Unsupported value"):
        api.call("x", _flaky(_error(422, 'spec.runPolicy: Unsupported value: "S"')))


def test_conflict_and_missing_are_left_to_the_caller(api: KubeApi) -> None:
    with pytest.raises(ApiException):
        api.call("x", _flaky(_error(409)))
    fn = _flaky(_error(409))
    assert api.call("x", fn, retry_conflict=True) == "ok"
