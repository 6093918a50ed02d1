"""Publishing to a model store on a real HDFS mini cluster (``hdfs://prod-b/models``)."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import pytest

from jupyter_mlplat.devcluster.hdfs import HdfsClusters
from jupyter_mlplat.models.schemas import PublishRequest

from ..helpers import server_config

pytestmark = [pytest.mark.integration, pytest.mark.hdfs]


@pytest.fixture
def jp_server_config(hdfs: HdfsClusters, mlplat_data_dir: Path) -> dict[str, Any]:
    info = hdfs.info()["clusters"]
    storage = [{"name": "prod-b", "kind": "webhdfs", "namenodes": info["prod-b"]["webhdfs"],
                "user": "hdfs"}]
    return server_config(mlplat_data_dir, storage=storage, model_store="hdfs://prod-b/models")


async def test_versions_on_hdfs_from_local_and_hdfs_sources(
        api: Any, hdfs: HdfsClusters, jp_root_dir: Path, jp_serverapp: Any) -> None:
    client = hdfs.client("prod-b")
    name = f"m{os.urandom(4).hex()}"
    model = jp_root_dir / "export"
    (model / "variables").mkdir(parents=True)
    (model / "saved_model.pb").write_bytes(b"graph")
    (model / "variables" / "variables.index").write_bytes(b"index")

    status, v1 = await api("models", "POST", {"path": "export", "name": name,
                                              "metrics": {"auc": 0.8}})
    assert status == 201, v1
    assert v1["uri"] == f"hdfs://prod-b/models/{name}/1"
    with client.read(f"/models/{name}/1/variables/variables.index") as reader:
        assert reader.read() == b"index"
    with client.read(f"/models/{name}/1/mlplat-manifest.json") as reader:
        assert json.load(reader)["sha256"]["saved_model.pb"] == \
            hashlib.sha256(b"graph").hexdigest()

    # An artifact already on HDFS (a job's output there) is copied cluster to store.
    client.write(f"/tmp/{name}/saved_model.pb", data=b"graph2")
    status, v2 = await api("models", "POST", {"path": f"hdfs://prod-b/tmp/{name}",
                                              "name": name})
    assert (status, v2["version"]) == (201, 2), v2
    assert v2["lineage"]["source"] == f"hdfs://prod-b/tmp/{name}"
    with client.read(f"/models/{name}/1/saved_model.pb") as reader:
        assert reader.read() == b"graph"  # version 1 is immutable

    # Missing sources: 404 and no version.
    status, err = await api("models", "POST", {"path": f"hdfs://prod-b/tmp/{name}-none",
                                               "name": name})
    assert status == 404, err

    # Interrupted mid-copy: no version registered, no version or temporary folder on HDFS.
    def interrupt(relative: str) -> None:
        raise KeyboardInterrupt

    registry = jp_serverapp.web_app.settings["mlplat"].models
    with pytest.raises(KeyboardInterrupt):
        registry.publish(PublishRequest(path="export", name=name), "alice", progress=interrupt)
    assert sorted(client.list(f"/models/{name}")) == ["1", "2"]
    status, versions = await api(f"models/{name}/versions")
    assert [v["version"] for v in versions["versions"]] == [2, 1]
