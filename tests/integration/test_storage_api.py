"""The storage REST API (Jupyter contents semantics per cluster) against the real mini clusters."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import nbformat
import pytest

from jupyter_mlplat.devcluster.hdfs import HdfsClusters

from ..helpers import server_config, write_notebook
from .test_storage_fs import TOKEN, entry_point_path

pytestmark = [pytest.mark.integration, pytest.mark.hdfs]


@pytest.fixture
def jp_server_config(hdfs: HdfsClusters, mlplat_data_dir: Path, tmp_path: Path,
                     monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    info = hdfs.info()["clusters"]
    dead = hdfs.dead_namenode_url()
    monkeypatch.setenv("MLPLAT_TEST_TOKEN", TOKEN)
    # Job runners inherit this (the package's entry points when it is not pip-installed).
    monkeypatch.setenv("PYTHONPATH", entry_point_path(tmp_path))
    storage = [
        # The superuser's credentials acting as the workbench user (alice) through doas.
        {"name": "prod-a", "kind": "webhdfs", "namenodes": info["prod-a"]["webhdfs"],
         "user": "hdfs", "proxy_user": True},
        {"name": "prod-b", "kind": "webhdfs", "namenodes": info["prod-b"]["webhdfs"],
         "user": "hdfs"},
        {"name": "ha-b", "kind": "webhdfs", "user": "hdfs",
         "namenodes": [dead, *info["prod-b"]["webhdfs"]]},
        {"name": "down", "kind": "webhdfs", "user": "hdfs",
         "namenodes": [dead, dead.replace("127.0.0.1", "localhost")]},
        {"name": "token-b", "kind": "webhdfs", "namenodes": info["prod-b"]["webhdfs"],
         "auth": "token", "token": {"env": "MLPLAT_TEST_TOKEN"}},
    ]
    return server_config(mlplat_data_dir, storage=storage)


@pytest.fixture
def seen() -> list[str]:
    return []


@pytest.fixture
def call(api: Callable[..., Any], seen: list[str]) -> Callable[..., Any]:
    """``api`` under storage/, remembering every response body for the no-secrets check."""

    async def go(path: str, method: str = "GET", body: Any = None,
                 params: dict[str, Any] | None = None) -> tuple[int, Any]:
        status, payload = await api(f"storage/{path}" if path else "storage", method, body,
                                    params)
        seen.append(json.dumps(payload))
        return status, payload

    return go


@pytest.fixture
def folder(hdfs: HdfsClusters) -> str:
    """A fresh folder on prod-b, as a contents path (relative, no leading slash)."""
    path = f"tmp/api-{os.urandom(6).hex()}"
    hdfs.client("prod-b").makedirs(f"/{path}")
    return path


def notebook_json(source: str) -> dict[str, Any]:
    nb = nbformat.v4.new_notebook()
    nb.cells.append(nbformat.v4.new_code_cell(source))
    return dict(json.loads(nbformat.writes(nb)))


async def test_clusters_with_health_and_no_secrets(call: Any, seen: list[str]) -> None:
    status, body = await call("")
    assert status == 200
    by_name = {c["name"]: c for c in body["clusters"]}
    assert [by_name[n]["status"] for n in ("prod-a", "prod-b", "ha-b", "token-b")] == ["ok"] * 4
    assert by_name["down"]["status"] == "down"
    assert all(url in by_name["down"]["message"] for url in by_name["down"]["namenodes"])
    assert by_name["prod-a"]["url"] == "hdfs://prod-a/"
    assert TOKEN not in "".join(seen) and "MLPLAT_TEST_TOKEN" not in "".join(seen)


async def test_notebook_save_get_rename_copy_delete(call: Any, folder: str,
                                                    hdfs: HdfsClusters) -> None:
    nb_path = f"{folder}/analysis.ipynb"
    status, model = await call(f"prod-b/contents/{nb_path}", "PUT",
                               {"type": "notebook", "content": notebook_json("1 + 1")})
    assert status == 201, model
    assert model["type"] == "notebook" and model["path"] == nb_path and model["writable"]
    assert model["content"] is None and model["last_modified"].endswith("Z")

    status, _ = await call(f"prod-b/contents/{nb_path}", "PUT",
                           {"type": "notebook", "content": notebook_json("2 + 2")})
    assert status == 200
    status, got = await call(f"prod-b/contents/{nb_path}")
    assert status == 200 and got["format"] == "json"
    assert got["content"]["cells"][0]["source"] == "2 + 2"
    assert hdfs.client("prod-b").status(f"/{nb_path}")["length"] == got["size"]

    status, listing = await call(f"prod-b/contents/{folder}")
    assert status == 200 and listing["type"] == "directory" and listing["format"] == "json"
    assert [m["name"] for m in listing["content"]] == ["analysis.ipynb"]  # no temp files

    status, moved = await call(f"prod-b/contents/{nb_path}", "PATCH",
                               {"path": f"{folder}/renamed.ipynb"})
    assert status == 200 and moved["name"] == "renamed.ipynb"
    status, copied = await call(f"prod-b/contents/{folder}", "POST",
                                {"copy_from": f"{folder}/renamed.ipynb"})
    assert status == 201 and copied["name"] == "renamed-Copy1.ipynb"
    status, conflict = await call(f"prod-b/contents/{folder}/renamed.ipynb", "PATCH",
                                  {"path": f"{folder}/renamed-Copy1.ipynb"})
    assert status == 409, conflict

    status, _ = await call(f"prod-b/contents/{folder}/renamed.ipynb", "DELETE")
    assert status == 204
    status, listing = await call(f"prod-b/contents/{folder}", params={"content": "1"})
    assert [m["name"] for m in listing["content"]] == ["renamed-Copy1.ipynb"]


async def test_files_text_base64_and_new_items(call: Any, folder: str) -> None:
    status, _ = await call(f"prod-b/contents/{folder}/notes.txt", "PUT",
                           {"type": "file", "format": "text", "content": "héllo"})
    assert status == 201
    status, got = await call(f"prod-b/contents/{folder}/notes.txt")
    assert got["content"] == "héllo" and got["format"] == "text"
    assert got["mimetype"] == "text/plain"
    blob = bytes(range(256))
    await call(f"prod-b/contents/{folder}/blob.bin", "PUT",
               {"type": "file", "format": "base64",
                "content": base64.b64encode(blob).decode()})
    status, got = await call(f"prod-b/contents/{folder}/blob.bin")
    assert got["format"] == "base64" and base64.b64decode(got["content"]) == blob
    status, meta = await call(f"prod-b/contents/{folder}/blob.bin", params={"content": "0"})
    assert meta["content"] is None and meta["size"] == 256

    status, made = await call(f"prod-b/contents/{folder}/sub", "PUT", {"type": "directory"})
    assert status == 201 and made["type"] == "directory"
    status, untitled = await call(f"prod-b/contents/{folder}", "POST", {"type": "directory"})
    assert status == 201 and untitled["name"] == "Untitled Folder"
    status, nb = await call(f"prod-b/contents/{folder}", "POST", {"type": "notebook"})
    assert status == 201 and nb["name"] == "untitled.ipynb"
    status, nb2 = await call(f"prod-b/contents/{folder}", "POST", {"type": "notebook"})
    assert nb2["name"] == "untitled1.ipynb"


async def test_chunked_upload_appears_only_after_the_last_chunk(
        call: Any, folder: str, hdfs: HdfsClusters) -> None:
    payload = os.urandom(5 * 2**20 + 17)
    size = 2**20  # JupyterLab's chunk size
    parts = [payload[i:i + size] for i in range(0, len(payload), size)]
    target = f"{folder}/upload.bin"
    await call(f"prod-b/contents/{target}", "PUT",
               {"type": "file", "format": "text", "content": "old"})
    for number, part in enumerate(parts, start=1):
        chunk = -1 if number == len(parts) else number
        status, model = await call(f"prod-b/contents/{target}", "PUT", {
            "type": "file", "format": "base64", "chunk": chunk,
            "content": base64.b64encode(part).decode()})
        assert status == 200, model
        if chunk != -1:
            with hdfs.client("prod-b").read(f"/{target}") as reader:
                assert reader.read() == b"old"  # the old file until the last chunk
    with hdfs.client("prod-b").read(f"/{target}") as reader:
        assert reader.read() == payload
    status, listing = await call(f"prod-b/contents/{folder}")
    assert [m["name"] for m in listing["content"]] == ["upload.bin"]
    status, error = await call(f"prod-b/contents/{folder}/never.bin", "PUT", {
        "type": "file", "format": "base64", "chunk": 3, "content": "AAAA"})
    assert status == 400 and "chunk 1" in error["message"]


async def test_large_directory_lists_in_one_response(call: Any, folder: str,
                                                     hdfs: HdfsClusters) -> None:
    client = hdfs.client("prod-b")
    for i in range(300):
        client.makedirs(f"/{folder}/d{i:04d}")
    started = time.monotonic()
    status, listing = await call(f"prod-b/contents/{folder}")
    assert status == 200 and len(listing["content"]) == 300
    assert time.monotonic() - started < 5
    status, compact = await call(f"prod-b/contents/{folder}", params={"compact": "1"})
    assert status == 200 and len(compact["content"]) == 300
    name, kind, _size, modified, writable = compact["content"][0]
    model = next(m for m in listing["content"] if m["name"] == name)
    assert (kind, modified, writable) == (model["type"], model["last_modified"],
                                          model["writable"])


async def test_bad_input_and_faults(call: Any, folder: str) -> None:
    for bad in (f"{folder}/../../restricted", f"{folder}/%2e%2e/%2E%2E/restricted"):
        status, error = await call(f"prod-b/contents/{bad}")
        assert status == 400 and "'..'" in error["message"], (bad, error)

    status, error = await call("nowhere/contents/x")
    assert status == 404
    assert error["message"].startswith("unknown storage cluster 'nowhere'; valid: prod-a, prod-b")

    status, error = await call("prod-a/contents/restricted")
    assert status == 403 and "Permission denied: user=alice" in error["message"], error
    status, error = await call("prod-a/contents/restricted/x.txt", "PUT",
                               {"type": "file", "format": "text", "content": "no"})
    assert status == 403 and "Permission denied" in error["message"]

    status, error = await call("down/contents/tmp")
    assert status == 503
    assert error["message"].count("http://") == 2 and "no name node answered" in error["message"]

    status, model = await call(f"ha-b/contents/{folder}")  # dead first name node: failover
    assert status == 200 and model["type"] == "directory"

    status, error = await call(f"prod-b/contents/{folder}/missing.txt")
    assert status == 404
    status, error = await call(f"prod-b/contents/{folder}", params={"type": "file"})
    assert status == 400
    status, error = await call(f"prod-b/contents/{folder}/x.ipynb", "PUT",
                               {"type": "notebook", "content": {"cells": "nope"}})
    assert status == 400 and "invalid notebook" in error["message"]
    status, error = await call("prod-b/contents/", "DELETE")
    assert status in (400, 405)


async def test_no_credentials_in_any_response(call: Any, seen: list[str], folder: str,
                                              caplog: pytest.LogCaptureFixture) -> None:
    await call("")
    await call("token-b/contents/tmp")
    await call(f"token-b/contents/{folder}/t.txt", "PUT",
               {"type": "file", "format": "text", "content": "x"})  # data node refuses it
    await call("token-b/contents/nothing-here")
    assert len(seen) == 4
    assert TOKEN not in "".join(seen)
    assert TOKEN not in caplog.text


async def test_local_job_reads_from_hdfs_with_pandas(api: Any, jp_root_dir: Path,
                                                     hdfs: HdfsClusters) -> None:
    path = f"/tmp/job-{os.urandom(4).hex()}.csv"
    hdfs.client("prod-b").write(path, data=b"a,b\n1,2\n3,4\n")
    write_notebook(jp_root_dir / "reader.ipynb", None,
                   f"import pandas as pd\ndf = pd.read_csv('hdfs://prod-b{path}')\n"
                   "print('total', int(df.values.sum()))")
    status, job = await api("jobs", "POST", {"notebook": "reader.ipynb"})
    assert status == 201, job
    deadline = time.monotonic() + 120
    while job["state"] not in ("succeeded", "failed", "cancelled"):
        assert time.monotonic() < deadline, job
        await asyncio.sleep(0.5)
        _, job = await api(f"jobs/{job['id']}")
    assert job["state"] == "succeeded", job["error"]
    _, logs = await api(f"jobs/{job['id']}/logs")
    assert "total 10" in logs["text"]
