"""The model registry over REST with a local store: versions, lineage, stages, name policy."""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from jupyter_mlplat.models.schemas import PublishRequest

from .helpers import server_config, write_notebook


def saved_model(folder: Path, weights: bytes = b"w1") -> Path:
    (folder / "variables").mkdir(parents=True, exist_ok=True)
    (folder / "saved_model.pb").write_bytes(b"graph")
    (folder / "variables" / "variables.data-00000-of-00001").write_bytes(weights)
    return folder


def registry(jp_serverapp: Any) -> Any:
    return jp_serverapp.web_app.settings["mlplat"].models


def store_dir(mlplat_data_dir: Path) -> Path:
    return mlplat_data_dir / "models"


async def test_publish_versions_and_stages(api: Any, jp_root_dir: Path,
                                           mlplat_data_dir: Path) -> None:
    saved_model(jp_root_dir / "out" / "model", b"w1")
    status, v1 = await api("models", "POST", {"path": "out/model", "name": "resnet",
                                              "metrics": {"accuracy": 0.91}})
    assert status == 201, v1
    assert (v1["version"], v1["stage"], v1["user"]) == (1, "none", "alice")
    assert v1["manifest"]["variables/variables.data-00000-of-00001"] == \
        hashlib.sha256(b"w1").hexdigest()
    folder = store_dir(mlplat_data_dir) / "resnet" / "1"
    assert (folder / "saved_model.pb").read_bytes() == b"graph"
    manifest = json.loads((folder / "mlplat-manifest.json").read_text())
    assert manifest["sha256"] == v1["manifest"]

    saved_model(jp_root_dir / "out" / "model", b"w2")  # retrained: a new version, v1 untouched
    status, v2 = await api("models", "POST", {"path": "out/model", "name": "resnet",
                                              "metrics": {"accuracy": 0.95}})
    assert (status, v2["version"]) == (201, 2)
    assert (folder / "variables" / "variables.data-00000-of-00001").read_bytes() == b"w1"
    assert sorted(p.name for p in folder.parent.iterdir()) == ["1", "2"]

    status, listing = await api("models")
    assert [(m["name"], m["latest_version"], m["owner"]) for m in listing["models"]] == \
        [("resnet", 2, "alice")]
    status, versions = await api("models/resnet/versions")
    assert [(v["version"], v["metrics"]["accuracy"]) for v in versions["versions"]] == \
        [(2, 0.95), (1, 0.91)]

    for version in (1, 2):
        status, moved = await api(f"models/resnet/versions/{version}/stage", "POST",
                                  {"stage": "production"})
        assert status == 200 and moved["stage"] == "production"
    status, old = await api("models/resnet/versions/1")
    assert old["stage"] == "archived"
    assert [(h["from_stage"], h["to_stage"]) for h in old["stage_history"]] == \
        [("none", "production"), ("production", "archived")]
    status, listing = await api("models")
    assert listing["models"][0]["stages"] == {"production": 2}

    for path, expected in (("models/resnet/versions/9", 404), ("models/resnet/versions/x", 400),
                           ("models/nope/versions", 404), ("models/resnet/deployment", 404)):
        status, err = await api(path)
        assert status == expected, (path, status, err)
    status, err = await api("models/resnet/versions/1/stage", "POST", {"stage": "gold"})
    assert status == 400


async def test_bad_publishes_leave_nothing(api: Any, jp_root_dir: Path, jp_serverapp: Any,
                                           mlplat_data_dir: Path) -> None:
    status, err = await api("models", "POST", {"path": "missing/model", "name": "m"})
    assert status == 404, err
    for body in ({"path": "x", "name": "bad name"}, {"path": "../x", "name": "m"},
                 {"path": "x", "name": "a/b"}, {"name": "m"}):
        status, err = await api("models", "POST", body)
        assert status == 400, (body, err)
    assert (await api("models"))[1]["models"] == []

    # An interrupted copy (here: after the first file) registers nothing and leaves no folder.
    saved_model(jp_root_dir / "big")

    def interrupt(relative: str) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        registry(jp_serverapp).publish(PublishRequest(path="big", name="m"), "alice",
                                       progress=interrupt)
    assert (await api("models"))[1]["models"] == []
    assert list((store_dir(mlplat_data_dir) / "m").iterdir()) == []


async def test_name_owned_by_another_user_is_refused(api: Any, jp_root_dir: Path,
                                                     jp_serverapp: Any) -> None:
    saved_model(jp_root_dir / "model")
    await asyncio.get_running_loop().run_in_executor(
        None, registry(jp_serverapp).publish, PublishRequest(path="model", name="shared"), "bob")
    status, err = await api("models", "POST", {"path": "model", "name": "shared"})
    assert status == 409, err
    assert "bob" in err["message"] and "choose another name" in err["message"]
    status, versions = await api("models/shared/versions")
    assert [v["user"] for v in versions["versions"]] == ["bob"]


async def test_lineage_from_a_finished_job(api: Any, jp_root_dir: Path) -> None:
    nb = write_notebook(jp_root_dir / "train.ipynb", "lr = 0.1",
                        "import pathlib\np = pathlib.Path('export/1')\n"
                        "p.mkdir(parents=True, exist_ok=True)\n"
                        "(p / 'saved_model.pb').write_text(str(lr))")
    status, job = await api("jobs", "POST", {"notebook": "train.ipynb",
                                             "parameters": {"lr": 0.5}})
    assert status == 201, job
    status, err = await api("models", "POST", {"path": "export", "name": "m",
                                               "job_id": job["id"]})
    assert status in (404, 409), err  # not finished (and maybe nothing exported yet)
    deadline = time.monotonic() + 120
    while job["state"] not in ("succeeded", "failed"):
        assert time.monotonic() < deadline, job
        await asyncio.sleep(0.5)
        job = (await api(f"jobs/{job['id']}"))[1]
    assert job["state"] == "succeeded", job
    status, version = await api("models", "POST", {"path": "export/1", "name": "m",
                                                   "job_id": job["id"],
                                                   "metrics": {"loss": 0.2}})
    assert status == 201, version
    lineage = version["lineage"]
    assert lineage["job_id"] == job["id"] and lineage["notebook"] == "train.ipynb"
    assert lineage["notebook_sha256"] == hashlib.sha256(nb.read_bytes()).hexdigest()
    assert lineage["parameters"] == {"lr": 0.5} and lineage["source"] == "export/1"
    assert version["manifest"]["saved_model.pb"] == hashlib.sha256(b"0.5").hexdigest()


class TestNamespacePolicy:
    @pytest.fixture
    def jp_server_config(self, mlplat_data_dir: Path, tmp_path: Path) -> dict[str, Any]:
        config = tmp_path / "mlplat.yaml"
        config.write_text("model_name_policy: namespace\n")
        return server_config(mlplat_data_dir, config_file=str(config))

    async def test_names_are_namespaced_by_user(self, api: Any, jp_root_dir: Path,
                                                jp_serverapp: Any,
                                                jp_fetch: Callable[..., Any]) -> None:
        saved_model(jp_root_dir / "model")
        await asyncio.get_running_loop().run_in_executor(
            None, registry(jp_serverapp).publish, PublishRequest(path="model", name="shared"),
            "bob")
        status, mine = await api("models", "POST", {"path": "model", "name": "shared"})
        assert status == 201, mine
        assert (mine["name"], mine["version"]) == ("alice/shared", 1)
        status, err = await api("models", "POST", {"path": "model", "name": "bob/shared"})
        assert status == 403 and "alice/shared" in err["message"]
        # The name as one percent-encoded segment (alice%2Fshared), as the frontend sends it.
        resp = await jp_fetch("jupyter-mlplat", "api", "models", "alice/shared", "versions")
        assert json.loads(resp.body)["name"] == "alice/shared"
        for path in ("models/alice/shared/versions", "models/shared/versions"):
            status, versions = await api(path)
            assert status == 200, (path, versions)
            assert versions["name"] == "alice/shared"
        status, listing = await api("models")
        assert sorted(m["name"] for m in listing["models"]) == ["alice/shared", "bob/shared"]


def test_cli_publish_versions_and_stage(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from click.testing import CliRunner

    from jupyter_mlplat.cli import cli

    from .helpers import platform_env

    root = tmp_path / "root"
    saved_model(root / "work" / "model")
    for key, value in platform_env(root).items():
        monkeypatch.setenv(key, value)
    monkeypatch.chdir(root / "work")

    def mlp(*args: str) -> Any:
        return CliRunner().invoke(cli, list(args), prog_name="mlp", catch_exceptions=False)

    for accuracy in ("0.9", "0.93"):
        result = mlp("models", "publish", "model", "--name", "cli-model",
                     "--metric", f"accuracy={accuracy}")
        assert result.exit_code == 0, result.output
    assert "version 2" in result.output
    result = mlp("models", "versions", "cli-model")
    lines = result.output.splitlines()
    assert lines[0].split("\t")[:3] == ["version", "stage", "accuracy"]
    assert [line.split("\t")[2] for line in lines[1:]] == ["0.93", "0.9"]
    assert mlp("models", "stage", "cli-model", "2", "production").exit_code == 0
    assert "production v2" in mlp("models", "list").output
    result = mlp("models", "publish", "nope", "--name", "cli-model")
    assert result.exit_code == 1 and "not found" in result.output
    result = mlp("models", "publish", "model", "--name", "x", "--metric", "acc")
    assert result.exit_code == 2 and "NAME=NUMBER" in result.output
