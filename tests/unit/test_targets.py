"""Compute targets are typed by their kind; backends are found by kind; rules derived from a
target (a user's namespace) are stated once."""

from __future__ import annotations

from typing import Any, ClassVar

import pytest
from pydantic import ValidationError

from jupyter_mlplat import config as cfg
from jupyter_mlplat.config import KubernetesTarget, LocalTarget, PlatformConfig, TargetBase
from jupyter_mlplat.errors import InvalidRequest
from jupyter_mlplat.jobs import backends
from jupyter_mlplat.jobs.backends.base import ComputeBackend

REGISTRY = {"push": "registry.example:5000"}


def test_kinds_become_types_and_a_missing_kind_is_local() -> None:
    config = PlatformConfig.model_validate({
        "registry": REGISTRY,
        "targets": [{"name": "here"}, {"name": "gpu", "kind": "kubernetes"}]})
    assert [type(t) for t in config.targets] == [LocalTarget, KubernetesTarget]
    assert config.kubernetes_target("gpu").namespace == "ml-{user}"
    with pytest.raises(InvalidRequest, match="'here' is local; this needs a kubernetes"):
        config.kubernetes_target("here")


def test_fields_of_another_kind_are_refused() -> None:
    with pytest.raises(ValidationError, match="namespace"):
        PlatformConfig.model_validate({"targets": [{"name": "x", "namespace": "ml-{user}"}]})


def test_a_kind_without_an_installed_backend_names_the_installed_ones() -> None:
    with pytest.raises(ValidationError, match=r"no backend is installed for kind slurm; "
                                              r"installed: kubernetes, local"):
        PlatformConfig.model_validate({"targets": [{"name": "hpc", "kind": "slurm"}]})


@pytest.mark.parametrize(("user", "namespace"), [
    ("alice", "ml-alice"), ("Alice.B", "ml-alice-b"), ("bob_smith@corp", "ml-bob-smith-corp"),
    ("...", "ml-user")])
def test_one_namespace_rule_for_jobs_schedules_and_deploys(user: str, namespace: str) -> None:
    target = KubernetesTarget(name="k", kind="kubernetes")
    assert target.namespace_for(user) == namespace


def test_the_named_runtime_or_the_first_one() -> None:
    config = PlatformConfig.model_validate({"runtimes": [{"name": "a"}, {"name": "b"}]})
    assert config.runtime_for(None).name == "a"
    assert config.runtime_for("b").name == "b"


class SlurmTarget(TargetBase):
    kind: str = "slurm"
    partition: str


class SlurmBackend(ComputeBackend[SlurmTarget]):
    target_type: ClassVar[type[TargetBase]] = SlurmTarget

    def submit(self, job: Any) -> None: ...
    def cancel(self, job: Any) -> None: ...
    def logs(self, job: Any, offset: int = 0, replica: str | None = None) -> Any: ...
    def reconcile(self, job: Any) -> None: ...


def test_an_installed_backend_adds_a_kind(monkeypatch: pytest.MonkeyPatch) -> None:
    """What a package declaring ``slurm = "...:SlurmBackend"`` in the entry-point group gets."""
    monkeypatch.setattr(cfg, "installed_target_kinds", lambda: {"local", "kubernetes", "slurm"})
    monkeypatch.setattr(backends, "installed",
                        lambda: {**backends.BUILTIN, "slurm": f"{__name__}:SlurmBackend"})
    config = PlatformConfig.model_validate(
        {"targets": [{"name": "hpc", "kind": "slurm", "partition": "gpu"}]})
    backend = backends.backend_for(config.target("hpc"), ctx=None)  # type: ignore[arg-type]
    assert isinstance(backend, SlurmBackend)
    assert isinstance(backend.target, SlurmTarget) and backend.target.partition == "gpu"
    bad = PlatformConfig.model_validate({"targets": [{"name": "hpc", "kind": "slurm"}]})
    with pytest.raises(ValidationError, match="partition"):
        backends.backend_for(bad.target("hpc"), ctx=None)  # type: ignore[arg-type]


def test_backends_of_the_package_are_declared_as_entry_points() -> None:
    from importlib.metadata import entry_points

    declared = {ep.name: ep.value for ep in entry_points(group=cfg.BACKENDS_GROUP)}
    assert declared == backends.BUILTIN
