"""The code layer is a pure function of the job's files and parameters."""

from __future__ import annotations

import gzip
import io
import json
import os
import tarfile
from pathlib import Path

import pytest

from jupyter_mlplat.errors import InvalidRequest
from jupyter_mlplat.images.errors import BadInclude, CodeTooLarge
from jupyter_mlplat.images.layer import CodeSource, build_code_layer, collect_includes
from jupyter_mlplat.images.refs import job_tag, parse_image_ref, user_repository
from jupyter_mlplat.images.tarlayer import files_layer

NOTEBOOK = json.dumps({"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5})


def _project(root: Path) -> Path:
    (root / "data" / "raw").mkdir(parents=True)
    (root / "nb.ipynb").write_text(NOTEBOOK)
    (root / "helpers.py").write_text("X = 1\n")
    (root / "data" / "train.csv").write_text("a,b\n1,2\n")
    (root / "data" / "raw" / "big.bin").write_bytes(b"\0" * 2048)
    (root / "data" / ".ipynb_checkpoints").mkdir()
    (root / "data" / ".ipynb_checkpoints" / "train-checkpoint.csv").write_text("old")
    return root / "nb.ipynb"


def _members(path: Path) -> dict[str, tarfile.TarInfo]:
    with tarfile.open(path, "r:gz") as tar:
        return {m.name: m for m in tar.getmembers()}


def _read(path: Path, name: str) -> bytes:
    with tarfile.open(path, "r:gz") as tar:
        handle = tar.extractfile(name)
        assert handle is not None
        return handle.read()


def test_same_inputs_same_digest_in_other_folders(tmp_path: Path) -> None:
    first = _project(tmp_path / "one")
    second = _project(tmp_path / "two")
    os.utime(second, (12345, 12345))  # mtimes must not leak into the layer
    source = CodeSource(notebook=first, include=["helpers.py", "data"], parameters={"lr": 0.1})
    again = CodeSource(notebook=second, include=["data", "helpers.py"], parameters={"lr": 0.1})
    a = build_code_layer(source, tmp_path / "out-a")
    b = build_code_layer(again, tmp_path / "out-b")
    assert (a.layer.digest, a.layer.diff_id, a.source_hash) == \
           (b.layer.digest, b.layer.diff_id, b.source_hash)
    assert a.layer.path.read_bytes() == b.layer.path.read_bytes()
    other = build_code_layer(CodeSource(notebook=first, include=["helpers.py", "data"],
                                        parameters={"lr": 0.2}), tmp_path / "out-c")
    assert other.layer.digest != a.layer.digest, "parameters are part of the layer"
    assert other.source_hash == a.source_hash, "the source hash covers code, not parameters"


def test_layer_layout_and_fixed_metadata(tmp_path: Path) -> None:
    notebook = _project(tmp_path)
    built = build_code_layer(CodeSource(notebook=notebook, include=["data/*.csv"],
                                        parameters={"epochs": 3}), tmp_path / "out",
                             workdir="/workspace/")
    members = _members(built.layer.path)
    names = list(members)
    assert names == sorted(names)
    assert {"workspace/nb.ipynb", "workspace/data/train.csv", "workspace/params.json",
            "workspace/.mlplat/runner.py"} <= set(names)
    assert "workspace/helpers.py" not in names
    for info in members.values():
        assert (info.mtime, info.uid, info.gid) == (0, 0, 0)
        assert info.mode in (0o644, 0o755)
    assert json.loads(_read(built.layer.path, "workspace/params.json")) == {"epochs": 3}
    assert _read(built.layer.path, "workspace/nb.ipynb").decode() == NOTEBOOK
    with open(built.layer.path, "rb") as raw:
        assert raw.read(10)[4:8] == b"\0\0\0\0", "gzip mtime must be 0"
    assert built.files == ("/workspace/nb.ipynb", "/workspace/data/train.csv")
    assert built.command[1:3] == ("/workspace/.mlplat/runner.py", "notebook")
    assert built.command[built.command.index("--input") + 1] == "/workspace/nb.ipynb"
    assert json.loads(built.command[built.command.index("--parameters") + 1]) == {"epochs": 3}
    assert built.env["MLPLAT_PARAMETERS_FILE"] == "/workspace/params.json"


def test_runner_in_layer_runs_without_our_package(tmp_path: Path) -> None:
    built = build_code_layer(CodeSource(code="print(1)"), tmp_path)
    runner = _read(built.layer.path, "workspace/.mlplat/runner.py").decode()
    assert "def run_notebook" in runner
    # Only papermill/nbformat at import time: no top-level import of our package.
    top = [line for line in runner.splitlines() if line.startswith(("import ", "from "))]
    assert not [line for line in top if "jupyter_mlplat" in line or line.startswith("from .")]
    assert _read(built.layer.path, "workspace/main.py") == b"print(1)"
    assert built.command[built.command.index("--code") + 1] == "/workspace/main.py"


def test_script_runs_directly(tmp_path: Path) -> None:
    script = tmp_path / "train.py"
    script.write_text("print('train')\n")
    built = build_code_layer(CodeSource(script=script), tmp_path / "out", python="python3.11")
    assert built.command == ("python3.11", "/workspace/train.py")
    assert _members(built.layer.path)["workspace/train.py"].mode == 0o755


def test_size_limit_names_the_biggest_files(tmp_path: Path) -> None:
    notebook = _project(tmp_path)
    with pytest.raises(CodeTooLarge) as caught:
        build_code_layer(CodeSource(notebook=notebook, include=["**/*"]), tmp_path / "out",
                         size_limit=1024)
    assert isinstance(caught.value, InvalidRequest)
    message = str(caught.value)
    assert "1.0 KB limit" in message
    assert message.index("data/raw/big.bin (2.0 KB)") < message.index("data/train.csv")
    assert not (tmp_path / "out").exists() or not list((tmp_path / "out").iterdir())


def test_globs(tmp_path: Path) -> None:
    _project(tmp_path)
    assert sorted(collect_includes(tmp_path, ["data"])) == ["data/raw/big.bin", "data/train.csv"]
    assert sorted(collect_includes(tmp_path, ["**/*.csv"])) == ["data/train.csv"]
    assert sorted(collect_includes(tmp_path, ["*.py", "data/raw/*"])) == \
        ["data/raw/big.bin", "helpers.py"]
    for bad in ("../etc/passwd", "/etc/passwd", "data/../../x"):
        with pytest.raises(BadInclude, match="relative"):
            collect_includes(tmp_path, [bad])
    with pytest.raises(BadInclude, match="matches no files"):
        collect_includes(tmp_path, ["*.parquet"])
    for unusable in ("", "data/**x"):  # pathlib refuses these globs: a 400, never a 500
        with pytest.raises(BadInclude, match="not a usable glob"):
            collect_includes(tmp_path, [unusable])
    outside = tmp_path.parent / "outside.txt"
    outside.write_text("secret")
    (tmp_path / "link.txt").symlink_to(outside)
    with pytest.raises(BadInclude, match="outside"):
        collect_includes(tmp_path, ["link.txt"])


def test_includes_may_not_overwrite_platform_files(tmp_path: Path) -> None:
    notebook = _project(tmp_path)
    (tmp_path / "params.json").write_text("{}")
    with pytest.raises(BadInclude, match="overwrite"):
        build_code_layer(CodeSource(notebook=notebook, include=["params.json"]), tmp_path / "o")


def test_files_layer_is_deterministic(tmp_path: Path) -> None:
    a = files_layer({"b/x.txt": "x", "a/": ""}, tmp_path / "a.tar.gz")
    b = files_layer({"a/": "", "b/x.txt": "x"}, tmp_path / "b.tar.gz")
    assert a.digest == b.digest and a.diff_id == b.diff_id
    raw = gzip.decompress(a.path.read_bytes())
    assert "sha256:" + __import__("hashlib").sha256(raw).hexdigest() == a.diff_id
    with tarfile.open(fileobj=io.BytesIO(raw)) as tar:
        assert tar.getnames() == ["a", "b", "b/x.txt"]


def test_references() -> None:
    ref = parse_image_ref("runtimes/python:3.11")
    assert (ref.repo, ref.tag, ref.host, ref.reference) == ("runtimes/python", "3.11", None,
                                                            "3.11")
    ref = parse_image_ref("127.0.0.1:5000/a/b@sha256:" + "0" * 64)
    assert (ref.host, ref.repo, ref.tag) == ("127.0.0.1:5000", "a/b", None)
    assert parse_image_ref("localhost/x").host == "localhost"
    with pytest.raises(InvalidRequest):
        parse_image_ref("Upper/Case")
    assert user_repository("mlplat", "Jane.Doe@corp") == "mlplat/jane-doe-corp"
    assert job_tag("01HX/7") == "01HX-7"
    assert job_tag("-x") == "j-x"
