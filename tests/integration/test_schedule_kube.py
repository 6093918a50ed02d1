"""Schedules with executor ``kubernetes``: a CronJob in the real kube-apiserver, created, edited,
paused and deleted through the platform and the REST API. A firing of the real CronJob controller
(kube-controller-manager), its Job run on the real node and imported into the run history by a
later server, is in test_node_outputs.py.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client, config
from kubernetes.client.exceptions import ApiException

from jupyter_mlplat.config import load_config
from jupyter_mlplat.devcluster import kube as devkube
from jupyter_mlplat.devcluster import registry as devregistry
from jupyter_mlplat.devcluster.base import Component
from jupyter_mlplat.errors import Forbidden
from jupyter_mlplat.jobs.k8s import manifests as mf
from jupyter_mlplat.platform import Platform
from jupyter_mlplat.runs.schemas import ScheduleRequest, ScheduleUpdate

from ..helpers import write_notebook

pytestmark = [pytest.mark.integration, pytest.mark.kube, pytest.mark.registry]

NS = "ml-alice"


@pytest.fixture(scope="module")
def platform_data(kube: Component, registry: Component) -> dict[str, Any]:
    info = kube.info()
    base = {**devkube.platform_config(info)["targets"][0]}
    targets = [base, {**base, "name": "kube-2"},
               {**base, "name": "kube-bob", "namespace": "ml-bob"}]
    return {"user": info["user"], "targets": targets,
            **devregistry.platform_config(registry.info())}


@pytest.fixture(scope="module")
def batch(kube: Component) -> Iterator[Any]:
    api = config.new_client_from_config(config_file=kube.info()["kubeconfigs"]["admin"])
    yield client.BatchV1Api(api)
    api.close()


@pytest.fixture
def root(tmp_path: Path) -> Path:
    folder = tmp_path / "root"
    write_notebook(folder / "report.ipynb", "region = 'eu'", "print('report', region)")
    return folder


def _platform(platform_data: dict[str, Any], root: Path, data: Path) -> Platform:
    return Platform(load_config({**platform_data, "data_dir": str(data)}), root)


@pytest.fixture
def platform(platform_data: dict[str, Any], root: Path, tmp_path: Path) -> Iterator[Platform]:
    plat = _platform(platform_data, root, tmp_path / "data")
    yield plat
    plat.close()


def _request(**kw: Any) -> ScheduleRequest:
    return ScheduleRequest(**{"notebook": "report.ipynb", "cron": "0 3 * * *",
                              "target": "kube", "runtime": "python",
                              "executor": "kubernetes", **kw})


def _until(check: Callable[[], Any], what: str, timeout: float = 60) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}")


def _cronjob(batch: Any, name: str, ns: str = NS) -> Any | None:
    try:
        return batch.read_namespaced_cron_job(name, ns)
    except ApiException as exc:
        if exc.status == 404:
            return None
        raise


def _schedule_jobs(batch: Any, schedule_id: str, ns: str = NS) -> list[Any]:
    return list(batch.list_namespaced_job(
        ns, label_selector=f"{mf.LABEL_SCHEDULE}={schedule_id}").items)


def test_create_pause_edit_and_delete_the_cronjob(platform: Platform, batch: Any) -> None:
    schedule = platform.schedules.create(_request(
        timezone="Europe/Berlin", concurrency_policy="replace", misfire_policy="skip",
        parameters={"region": "us"}), "alice")
    ref = schedule.k8s_object
    assert ref is not None and ref.kind == "CronJob" and ref.namespace == NS
    cj = _cronjob(batch, ref.name)
    assert cj is not None
    spec = cj.spec
    assert spec.schedule == "0 3 * * *" and spec.time_zone == "Europe/Berlin"
    assert spec.concurrency_policy == "Replace" and spec.starting_deadline_seconds == 60
    assert spec.suspend is False
    assert cj.metadata.labels[mf.LABEL_SCHEDULE] == schedule.id
    assert cj.metadata.labels[mf.LABEL_USER] == "alice"
    template = spec.job_template
    assert template.metadata.labels[mf.LABEL_SCHEDULE] == schedule.id
    pod = template.spec.template
    assert mf.LABEL_JOB not in pod.metadata.labels  # no single job of ours
    container = pod.spec.containers[0]
    image = container.image
    assert "@sha256:" in image and image.startswith(
        platform.config.registry.pull_address)  # type: ignore[union-attr]
    env = {e.name: e.value for e in container.env}
    assert env["MLPLAT_SCHEDULE_ID"] == schedule.id and "MLPLAT_STORAGE" in env

    paused = platform.schedules.update(schedule.id, ScheduleUpdate(paused=True), "alice")
    assert paused.paused
    cj = _cronjob(batch, ref.name)
    assert cj is not None and cj.spec.suspend is True
    assert cj.spec.job_template.spec.template.spec.containers[0].image == image  # no rebuild

    platform.schedules.update(schedule.id, ScheduleUpdate(
        paused=False, cron="30 4 * * 1-5", concurrency_policy="allow",
        misfire_policy="run_once", parameters={"region": "apac"}), "alice")
    cj = _cronjob(batch, ref.name)
    assert cj is not None
    assert cj.spec.suspend is False and cj.spec.schedule == "30 4 * * 1-5"
    assert cj.spec.concurrency_policy == "Allow"
    assert cj.spec.starting_deadline_seconds == 24 * 3600
    new_image = cj.spec.job_template.spec.template.spec.containers[0].image
    assert new_image != image and "@sha256:" in new_image  # parameters are in the image
    # Another target on the same cluster and namespace: the same CronJob, patched, not deleted.
    moved = platform.schedules.update(schedule.id, ScheduleUpdate(target="kube-2"), "alice")
    assert moved.target == "kube-2" and _cronjob(batch, ref.name) is not None

    platform.schedules.delete(schedule.id, "alice")
    assert _cronjob(batch, ref.name) is None
    assert platform.schedules.page().total == 0


def test_namespace_not_writable_is_forbidden_and_leaves_nothing(
        platform: Platform, batch: Any) -> None:
    with pytest.raises(Forbidden) as info:
        platform.schedules.create(_request(target="kube-bob"), "alice")
    assert 'cannot create resource "cronjobs"' in info.value.message
    assert 'namespace "ml-bob"' in info.value.message
    assert platform.schedules.page().total == 0
    assert not batch.list_namespaced_cron_job("ml-bob").items


# -- through the REST API ---------------------------------------------------------------------
@pytest.fixture
def jp_server_config(mlplat_data_dir: Path, platform_data: dict[str, Any]) -> dict[str, Any]:
    return {
        "ServerApp": {"jpserver_extensions": {"jupyter_mlplat": True}},
        "MLPlatApp": {"data_dir": str(mlplat_data_dir), "scheduler_interval": 0,
                      **platform_data},
    }


async def test_rest_kubernetes_schedule(api: Any, jp_root_dir: Path, batch: Any) -> None:
    write_notebook(jp_root_dir / "report.ipynb", "region = 'eu'", "print(region)")
    body = {"notebook": "report.ipynb", "cron": "15 6 * * *", "timezone": "UTC",
            "target": "kube", "runtime": "python", "executor": "kubernetes"}
    status, schedule = await api("schedules", "POST", body)
    assert status == 201, schedule
    assert schedule["k8s_object"]["kind"] == "CronJob"
    assert "image" not in schedule["k8s_object"]
    name = schedule["k8s_object"]["name"]
    assert _cronjob(batch, name) is not None
    status, body_403 = await api("schedules", "POST", {**body, "target": "kube-bob"})
    assert status == 403 and "ml-bob" in body_403["message"], body_403
    status, _ = await api(f"schedules/{schedule['id']}", "DELETE")
    assert status in (200, 204)
    assert _cronjob(batch, name) is None
    assert not batch.list_namespaced_cron_job("ml-bob").items
