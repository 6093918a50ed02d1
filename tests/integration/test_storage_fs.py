"""``hdfs://<cluster>/`` through fsspec, pandas and papermill, against the real mini clusters."""

from __future__ import annotations

import http.server
import json
import logging
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
import uuid
from collections.abc import Iterator
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

import fsspec
import nbformat
import pytest
import tomllib

import jupyter_mlplat
from jupyter_mlplat.config import SecretRef, StorageCluster
from jupyter_mlplat.devcluster.hdfs import HdfsClusters
from jupyter_mlplat.storage.errors import NameNodesUnavailable
from jupyter_mlplat.storage.filesystem import ClusterFileSystem
from jupyter_mlplat.storage.paths import PathOutsideRoot

pytestmark = [pytest.mark.integration, pytest.mark.hdfs]

REPO = Path(__file__).resolve().parents[2]
TOKEN = "s3cr3t-delegation-token-9f2c"


# -- the platform the tests see ---------------------------------------------------------------
def installed_entry_points() -> bool:
    specs = [ep.value for ep in entry_points(group="fsspec.specs") if ep.name == "hdfs"]
    return any(v.startswith("jupyter_mlplat.") for v in specs)


def entry_point_path(tmp: Path) -> str:
    """A folder on ``PYTHONPATH`` that declares the package's entry points, when not installed.

    The entry points are read from pyproject.toml, so a subprocess (papermill's CLI, a job's
    kernel) discovers exactly what a pip install would register. Installed: nothing to add.
    """
    parts = [str(REPO)]
    if not installed_entry_points():
        project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
        dist = tmp / "entrypoints" / "jupyter_mlplat_entrypoints-0.dist-info"
        dist.mkdir(parents=True, exist_ok=True)
        (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: jupyter-mlplat-entrypoints"
                                       "\nVersion: 0\n")
        lines = []
        for group in ("fsspec.specs", "papermill.io"):
            lines.append(f"[{group}]")
            lines += [f"{k} = {v}" for k, v in project["entry-points"][group].items()]
        (dist / "entry_points.txt").write_text("\n".join(lines) + "\n")
        parts.insert(0, str(dist.parent))
    return os.pathsep.join([*parts, *filter(None, [os.environ.get("PYTHONPATH")])])


def platform_clusters(hdfs: HdfsClusters) -> list[dict[str, Any]]:
    info = hdfs.info()["clusters"]
    a, b = info["prod-a"]["webhdfs"], info["prod-b"]["webhdfs"]
    return [
        {"name": "prod-a", "kind": "webhdfs", "namenodes": a, "user": "hdfs"},
        {"name": "prod-b", "kind": "webhdfs", "namenodes": b, "user": "hdfs"},
        {"name": "prod-a-bob", "kind": "webhdfs", "namenodes": a, "user": "bob"},
        {"name": "prod-a-doas", "kind": "webhdfs", "namenodes": a, "user": "hdfs",
         "proxy_user": True},
        {"name": "ha-b", "kind": "webhdfs", "namenodes": [hdfs.dead_namenode_url(), *b],
         "user": "hdfs"},
        {"name": "token-b", "kind": "webhdfs", "namenodes": b, "auth": "token",
         "token": {"env": "MLPLAT_TEST_TOKEN"}},
    ]


@pytest.fixture
def clusters(hdfs: HdfsClusters, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
             ) -> HdfsClusters:
    """The process (and its children) see a platform config naming the mini clusters."""
    config = tmp_path / "mlplat.json"
    config.write_text(json.dumps({"user": "alice", "data_dir": str(tmp_path / "data"),
                                  "storage": platform_clusters(hdfs)}))
    monkeypatch.setenv("MLPLAT_CONFIG_FILE", str(config))
    monkeypatch.setenv("MLPLAT_TEST_TOKEN", TOKEN)
    monkeypatch.setenv("PYTHONPATH", entry_point_path(tmp_path))
    if not installed_entry_points():  # in this process fsspec read its entry points already
        fsspec.register_implementation("hdfs", ClusterFileSystem, clobber=True)
    return hdfs


def unique(folder: str = "/tmp") -> str:
    return f"{folder}/{uuid.uuid4().hex}"


# -- fsspec API --------------------------------------------------------------------------------
def test_fsspec_open_ls_info_mv_rm(clusters: HdfsClusters) -> None:
    base = unique()
    with fsspec.open(f"hdfs://prod-b{base}/hello.txt", "w") as f:
        f.write("hello hdfs\n")
    fs = jupyter_mlplat.fs("prod-b")
    assert isinstance(fs, ClusterFileSystem)
    assert fs.cat(f"{base}/hello.txt") == b"hello hdfs\n"
    with fsspec.open(f"hdfs://prod-b{base}/hello.txt", "r") as f:
        assert f.read() == "hello hdfs\n"
    info = fs.info(f"hdfs://prod-b{base}/hello.txt")
    assert info["type"] == "file" and info["size"] == 11 and info["owner"] == "hdfs"
    fs.mkdir(f"{base}/sub")
    assert sorted(fs.ls(base, detail=False)) == [f"{base}/hello.txt", f"{base}/sub"]
    fs.mv(f"{base}/hello.txt", f"{base}/sub/moved.txt")
    assert not fs.exists(f"{base}/hello.txt") and fs.exists(f"{base}/sub/moved.txt")
    assert fs.cat_file(f"{base}/sub/moved.txt", start=6, end=10) == b"hdfs"
    fs.rm(base, recursive=True)
    assert not fs.exists(base)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        fs.info(f"{base}/nothing")


def test_large_file_round_trip_and_ranged_reads(clusters: HdfsClusters, tmp_path: Path) -> None:
    payload = os.urandom(9 * 2**20 + 123)  # crosses the writer's chunks and the read blocks
    local = tmp_path / "blob.bin"
    local.write_bytes(payload)
    fs = jupyter_mlplat.fs("prod-a")
    path = unique()
    fs.put_file(str(local), path)
    assert fs.info(path)["size"] == len(payload)
    with fs.open(path, "rb") as f:
        f.seek(8 * 2**20 + 7)
        assert f.read(100) == payload[8 * 2**20 + 7: 8 * 2**20 + 107]
    back = tmp_path / "back.bin"
    fs.get_file(path, str(back))
    assert back.read_bytes() == payload
    with fs.open(path + ".2", "wb") as f:
        for i in range(0, len(payload), 1000003):
            f.write(payload[i:i + 1000003])
    assert fs.cat(path + ".2") == payload


def test_existing_targets_and_escapes_are_refused(clusters: HdfsClusters) -> None:
    fs = jupyter_mlplat.fs("prod-b")
    a, b = unique(), unique()
    fs.pipe_file(a, b"a")
    fs.pipe_file(b, b"b")
    with pytest.raises(FileExistsError):
        fs.mv(a, b, overwrite=False)
    with pytest.raises(FileExistsError), fs.open(a, "xb"):
        pass
    for bad in ("/tmp/../restricted", "/tmp/%2e%2e/restricted", "/tmp/%252E%252E/x"):
        with pytest.raises(PathOutsideRoot):
            fs.ls(bad)
    confined = ClusterFileSystem("conf", spec=StorageCluster(
        name="conf", kind="webhdfs", namenodes=fs.spec.namenodes, user="hdfs",
        base_path="/tmp"), user="alice")
    assert confined.exists(a)
    with pytest.raises(PathOutsideRoot, match="outside the cluster's base path /tmp"):
        confined.ls("/user")


# -- pandas -------------------------------------------------------------------------------------
def test_pandas_csv_and_parquet(clusters: HdfsClusters) -> None:
    import pandas as pd

    df = pd.DataFrame({"x": range(1000), "y": [f"v{i}" for i in range(1000)]})
    base = f"hdfs://prod-a{unique('/user/hdfs')}"
    df.to_csv(f"{base}/data.csv", index=False)
    pd.testing.assert_frame_equal(pd.read_csv(f"{base}/data.csv"), df)
    # pandas tries pyarrow's libhdfs for hdfs:// unless storage_options is given (even empty).
    df.to_parquet(f"{base}/data.parquet", storage_options={})
    pd.testing.assert_frame_equal(pd.read_parquet(f"{base}/data.parquet", storage_options={}),
                                  df)
    fs = jupyter_mlplat.fs("prod-a")
    pd.testing.assert_frame_equal(pd.read_parquet(f"{base}/data.parquet", filesystem=fs), df)


# -- HA failover and unavailability ------------------------------------------------------------
def test_failover_from_a_dead_first_name_node(clusters: HdfsClusters) -> None:
    fs = jupyter_mlplat.fs("ha-b")
    _dead, live = fs.spec.namenodes
    path = unique()
    fs.pipe_file(path, b"through the second name node")
    assert fs.cat(path) == b"through the second name node"
    assert fs.transport.client._urls[0] == live  # HdfsCLI keeps the live one in front


class _Standby(http.server.BaseHTTPRequestHandler):
    """A name node in standby state, as WebHDFS reports it (403 + StandbyException)."""

    hits = 0

    def _standby(self) -> None:
        type(self).hits += 1
        body = json.dumps({"RemoteException": {
            "exception": "StandbyException", "javaClassName":
            "org.apache.hadoop.ipc.StandbyException",
            "message": "Operation category READ is not supported in state standby"}}).encode()
        self.send_response(403)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_PUT = do_POST = do_DELETE = _standby

    def log_message(self, *args: Any) -> None:
        pass


def test_failover_from_a_standby_name_node(clusters: HdfsClusters) -> None:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Standby)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        live = clusters.info()["clusters"]["prod-b"]["webhdfs"][0]
        spec = StorageCluster(name="sb", kind="webhdfs", user="hdfs", namenodes=[
            f"http://127.0.0.1:{server.server_address[1]}", live])
        fs = ClusterFileSystem("sb", spec=spec, user="alice", skip_instance_cache=True)
        assert fs.ls("/", detail=False)
        assert _Standby.hits == 1
    finally:
        server.shutdown()


def test_all_name_nodes_down_lists_the_addresses(clusters: HdfsClusters) -> None:
    dead = clusters.dead_namenode_url()
    spec = StorageCluster(name="gone", kind="webhdfs", user="hdfs",
                          namenodes=[dead, dead.replace("127.0.0.1", "localhost")])
    fs = ClusterFileSystem("gone", spec=spec, user="alice", skip_instance_cache=True)
    with pytest.raises(NameNodesUnavailable) as caught:
        fs.ls("/")
    assert caught.value.addresses == spec.namenodes
    assert all(url in str(caught.value) for url in spec.namenodes)
    with pytest.raises(ConnectionError):
        fs.health(timeout=1)


# -- identities --------------------------------------------------------------------------------
def test_permission_denied_as_bob_carries_the_hdfs_message(clusters: HdfsClusters) -> None:
    fs = jupyter_mlplat.fs("prod-a-bob")
    with pytest.raises(PermissionError, match="Permission denied: user=bob"):
        fs.pipe_file("/restricted/x.txt", b"nope")
    with pytest.raises(PermissionError, match="Permission denied: user=bob"):
        fs.ls("/restricted")
    path = unique("/user/bob")
    fs.pipe_file(path, b"mine")
    assert fs.info(path)["owner"] == "bob"


def test_proxy_user_acts_as_the_workbench_user(clusters: HdfsClusters) -> None:
    fs = jupyter_mlplat.fs("prod-a-doas")  # superuser credentials, doas=alice
    path = unique("/user/alice")
    fs.pipe_file(path, b"as alice")
    assert fs.info(path)["owner"] == "alice"
    with pytest.raises(PermissionError, match="user=alice"):
        fs.ls("/restricted")


def test_token_never_appears_in_logs_or_errors(clusters: HdfsClusters,
                                               caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    # The insecure mini cluster's name node ignores the token; its data node tries to decode
    # this made-up one and fails: both paths must keep it out of logs and messages.
    fs = jupyter_mlplat.fs("token-b")
    assert "/tmp" in fs.ls("/", detail=False)
    with pytest.raises(FileNotFoundError) as missing:
        fs.info(unique())
    with pytest.raises(OSError) as refused:
        fs.pipe_file(unique(), b"with a made-up token")
    dead = StorageCluster(name="td", kind="webhdfs", namenodes=[clusters.dead_namenode_url()],
                          auth="token", token=SecretRef(env="MLPLAT_TEST_TOKEN"))
    with pytest.raises(NameNodesUnavailable) as down:
        ClusterFileSystem("td", spec=dead, user="a", skip_instance_cache=True).ls("/")
    assert "delegation=" in caplog.text or "/webhdfs/v1" in caplog.text  # requests were logged
    for text in (caplog.text, str(missing.value), str(refused.value), str(down.value)):
        assert TOKEN not in text


# -- atomic writes -----------------------------------------------------------------------------
def test_exception_while_writing_keeps_the_old_file(clusters: HdfsClusters) -> None:
    fs = jupyter_mlplat.fs("prod-b")
    path = unique()
    fs.pipe_file(path, b"old content")
    with pytest.raises(RuntimeError), fs.open(path, "wb") as f:
        f.write(os.urandom(6 * 2**20))  # already streaming to the data node
        raise RuntimeError("interrupted")
    assert fs.cat(path) == b"old content"
    folder = path.rsplit("/", 1)[0]
    assert not [n for n in fs.ls(folder, detail=False) if ".mlplat-" in n
                and Path(path).name in n]


def test_killed_writer_leaves_the_old_file_intact(clusters: HdfsClusters) -> None:
    fs = jupyter_mlplat.fs("prod-b")
    path = unique()
    fs.pipe_file(path, b"old content")
    script = textwrap.dedent(f"""
        import os, sys, time, jupyter_mlplat
        f = jupyter_mlplat.fs("prod-b").open({path!r}, "wb")
        for _ in range(3):
            f.write(os.urandom(4 * 2**20))
        print("streaming", flush=True)
        time.sleep(60)
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "streaming"
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        proc.kill()
    assert fs.cat(path) == b"old content"


# -- papermill ---------------------------------------------------------------------------------
def test_papermill_cli_across_two_clusters(clusters: HdfsClusters) -> None:
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell("x = 0")
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, nbformat.v4.new_code_cell("print('x is', x * 10)")]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    src, out = unique("/user/hdfs") + "/in.ipynb", unique("/tmp") + "/out.ipynb"
    jupyter_mlplat.fs("prod-a").pipe_file(src, nbformat.writes(nb).encode())
    jupyter_mlplat.fs("prod-b").mkdir(out.rsplit("/", 1)[0])
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "papermill", f"hdfs://prod-a{src}", f"hdfs://prod-b{out}",
         "-p", "x", "1", "-k", "python3"],
        capture_output=True, text=True, timeout=300, check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    executed = nbformat.reads(jupyter_mlplat.fs("prod-b").cat(out).decode(), as_version=4)
    outputs = [o.get("text", "") for c in executed.cells for o in c.get("outputs", [])]
    assert "x is 10\n" in outputs, (outputs, time.monotonic() - started)


# -- a local cluster through the same interface ------------------------------------------------
@pytest.fixture
def local_fs(tmp_path: Path) -> Iterator[ClusterFileSystem]:
    root = tmp_path / "local-root"
    root.mkdir()
    (tmp_path / "outside.txt").write_text("secret")
    yield ClusterFileSystem("loc", spec=StorageCluster(name="loc", kind="local"),
                            user="alice", root_dir=str(root), skip_instance_cache=True)


def test_local_cluster_same_interface(local_fs: ClusterFileSystem, tmp_path: Path) -> None:
    local_fs.mkdir("/a")
    local_fs.pipe_file("/a/b.txt", b"local")
    assert local_fs.cat("hdfs://loc/a/b.txt") == b"local"
    assert (tmp_path / "local-root" / "a" / "b.txt").read_bytes() == b"local"
    with pytest.raises(PathOutsideRoot):
        local_fs.cat("/../outside.txt")
    os.symlink(tmp_path, tmp_path / "local-root" / "link")
    with pytest.raises(PathOutsideRoot, match="outside the cluster's folder"):
        local_fs.cat("/link/outside.txt")
    with pytest.raises(RuntimeError), local_fs.open("/a/b.txt", "wb") as f:
        f.write(b"partial")
        raise RuntimeError("interrupted")
    assert local_fs.cat("/a/b.txt") == b"local"
