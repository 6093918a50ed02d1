"""Pure logic of the storage layer: path confinement, error mapping, env export, Kerberos hint."""

from __future__ import annotations

import json

import pytest

from jupyter_mlplat.config import PlatformConfig, SecretRef, StorageCluster
from jupyter_mlplat.errors import MissingExtra
from jupyter_mlplat.storage.env import cluster_env
from jupyter_mlplat.storage.errors import redact, remote_error
from jupyter_mlplat.storage.paths import PathOutsideRoot, confine, normalize
from jupyter_mlplat.storage.webhdfs import build_client
from jupyter_mlplat.storage.writer import is_temp, temp_name


@pytest.mark.parametrize("path", ["/a/../b", "..", "/a/%2e%2e/b", "/a/%2E%2e", "/x/%252e%252e/y",
                                  "a/..%2f..", "/a/\x00"])
def test_escapes_are_refused(path: str) -> None:
    with pytest.raises(PathOutsideRoot):
        confine(path)


def test_normal_forms_and_base_path() -> None:
    assert normalize("a//b/./c/") == "/a/b/c"
    assert confine("/data/x", "/data") == "/data/x"
    assert confine("/data", "/data/") == "/data"
    with pytest.raises(PathOutsideRoot, match="outside the cluster's base path /data"):
        confine("/database/x", "/data")


def test_remote_errors_become_builtins() -> None:
    assert isinstance(remote_error("FileNotFoundException", "File /x does not exist."),
                      FileNotFoundError)
    denied = remote_error("AccessControlException", "Permission denied: user=bob")
    assert isinstance(denied, PermissionError) and str(denied) == "Permission denied: user=bob"
    assert isinstance(remote_error("FileAlreadyExistsException", "x"), FileExistsError)
    assert redact("token=abc&x=abc", ["abc"]) == "token=***&x=***"


def test_temp_names_are_hidden_siblings() -> None:
    name = temp_name("/a/b/data.csv")
    assert name.startswith("/a/b/.data.csv.mlplat-") and is_temp(name.rsplit("/", 1)[1])


def test_cluster_env_carries_references_not_values(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HDFS_TOKEN", "very-secret")
    config = PlatformConfig(user="carol", storage=[StorageCluster(
        name="prod-a", kind="webhdfs", namenodes=["http://nn1:9870", "http://nn2:9870"],
        auth="token", token=SecretRef(env="HDFS_TOKEN"))])
    env = cluster_env(config)
    assert "very-secret" not in json.dumps(env)
    assert json.loads(env["MLPLAT_STORAGE"])[0]["token"] == {"env": "HDFS_TOKEN"}
    assert env["MLPLAT_USER"] == "carol"


def test_kerberos_without_requests_gssapi_says_what_to_install(
        monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    spec = StorageCluster(name="k", kind="webhdfs", namenodes=["http://nn:9870"],
                          auth="kerberos")
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "requests_gssapi" else real(name, *a))
    with pytest.raises(MissingExtra, match=r"pip install 'jupyter_mlplat\[kerberos\]'.*kinit"):
        build_client(spec, "alice")
