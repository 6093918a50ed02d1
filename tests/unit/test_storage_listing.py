"""Listings built from storage statuses: times, writability, both shapes, on a real local folder."""

from __future__ import annotations

import os
from pathlib import Path

import nbformat
import pytest

from jupyter_mlplat.config import StorageCluster
from jupyter_mlplat.storage import listing
from jupyter_mlplat.storage.contents import ClusterContents
from jupyter_mlplat.storage.filesystem import ClusterFileSystem


@pytest.mark.parametrize("millis", [0, 1, 999, 1000, 1_700_000_000_123, 1_700_000_000_000,
                                    1_700_000_000_999.9996, 1_700_000_000_000.5])
def test_times_match_the_plain_iso_formatter(millis: float) -> None:
    assert listing.iso_millis(millis) == listing.iso(round(millis * 1000) / 1_000_000)


@pytest.mark.parametrize(("permission", "owner", "user", "expected"), [
    ("755", "alice", "alice", True), ("555", "alice", "alice", False),
    ("755", "alice", "bob", False), ("775", "alice", "bob", True), ("757", "alice", "bob", True),
    (None, "alice", "bob", True), ("700", None, "bob", True), ("700", "alice", None, True),
])
def test_writable_from_the_permission_bits(permission: str | None, owner: str | None,
                                           user: str | None, expected: bool) -> None:
    assert listing.writable(permission, owner, user) is expected


STATUSES: listing.Statuses = [
    {"pathSuffix": "data", "type": "DIRECTORY", "length": 0,
     "modificationTime": 1_700_000_000_000, "permission": "755", "owner": "alice"},
    {"pathSuffix": "a.ipynb", "type": "FILE", "length": 12,
     "modificationTime": 1_700_000_000_250, "permission": "644", "owner": "bob"},
    {"pathSuffix": ".a.ipynb.mlplat-tmp", "type": "FILE", "length": 3,
     "modificationTime": 1_700_000_000_250, "permission": "644", "owner": "alice"},
]


def test_rows_and_models_of_the_same_statuses_agree() -> None:
    shown = listing.visible(STATUSES)
    assert [s["pathSuffix"] for s in shown] == ["data", "a.ipynb"]
    assert listing.rows(shown, "alice") == [
        ["data", "directory", 0, "2023-11-14T22:13:20Z", True],
        ["a.ipynb", "notebook", 12, "2023-11-14T22:13:20.250000Z", False],
    ]
    models = listing.models(shown, "proj/x", "alice")
    assert [(m["path"], m["type"], m["size"], m["writable"]) for m in models] == [
        ("proj/x/data", "directory", None, True), ("proj/x/a.ipynb", "notebook", 12, False)]
    assert listing.models(shown, "", None)[1]["path"] == "a.ipynb"


def test_a_local_folder_lists_like_hdfs(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "nb.ipynb").write_text(nbformat.writes(nbformat.v4.new_notebook()))
    size = (tmp_path / "sub" / "nb.ipynb").stat().st_size
    (tmp_path / "sub" / "inner").mkdir()
    (tmp_path / "sub" / ".hidden").write_text("x")
    os.utime(tmp_path / "sub" / "nb.ipynb", (1_700_000_000.5, 1_700_000_000.5))
    fs = ClusterFileSystem("local", spec=StorageCluster(name="local", kind="local"),
                           user="alice", root_dir=str(tmp_path), skip_instance_cache=True)
    contents = ClusterContents(fs)
    folder = contents.get("sub")
    assert folder["type"] == "directory" and folder["path"] == "sub"
    by_name = {m["name"]: m for m in folder["content"]}
    assert set(by_name) == {"nb.ipynb", "inner"}
    assert by_name["nb.ipynb"]["path"] == "sub/nb.ipynb"
    assert by_name["nb.ipynb"]["last_modified"] == "2023-11-14T22:13:20.500000Z"
    assert by_name["inner"]["size"] is None and by_name["nb.ipynb"]["size"] == size
    rows = {r[0]: r for r in contents.get("sub", compact=True)["content"]}
    assert rows["nb.ipynb"] == ["nb.ipynb", "notebook", size, "2023-11-14T22:13:20.500000Z", True]
    assert rows["inner"][1:3] == ["directory", 0]
    notebook = contents.get("sub/nb.ipynb", type=None)  # a file: the speculative listing unused
    assert notebook["type"] == "notebook"
    with pytest.raises(FileNotFoundError):
        contents.get("missing")
