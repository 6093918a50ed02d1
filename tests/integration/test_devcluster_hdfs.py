"""The HDFS mini clusters of the devcluster harness, exercised over real WebHDFS with HdfsCLI."""

from __future__ import annotations

import uuid

import pytest
import requests
from hdfs import HdfsError, InsecureClient

from jupyter_mlplat.config import load_config
from jupyter_mlplat.devcluster.hdfs import HdfsClusters, platform_config

pytestmark = [pytest.mark.integration, pytest.mark.hdfs]

CLUSTERS = ["prod-a", "prod-b"]


@pytest.fixture
def clusters(hdfs: HdfsClusters) -> HdfsClusters:
    assert isinstance(hdfs, HdfsClusters)
    return hdfs


def unique(prefix: str) -> str:
    return f"{prefix}/{uuid.uuid4().hex}.bin"


@pytest.mark.parametrize("name", CLUSTERS)
def test_write_then_read_over_webhdfs(clusters: HdfsClusters, name: str) -> None:
    url = clusters.info()["clusters"][name]["webhdfs"][0]
    client = InsecureClient(url, user="alice")
    path = unique("/user/alice")
    payload = uuid.uuid4().bytes * 4096  # 64 KiB: goes through a data node redirect

    client.write(path, data=payload)

    with client.read(path) as reader:
        assert reader.read() == payload
    assert client.status(path)["owner"] == "alice"


def test_redirects_stay_on_loopback(clusters: HdfsClusters) -> None:
    url = clusters.info()["clusters"]["prod-a"]["webhdfs"][0]
    response = requests.put(
        f"{url}/webhdfs/v1{unique('/tmp')}",
        params={"op": "CREATE", "user.name": "alice"}, allow_redirects=False, timeout=10,
    )
    assert response.status_code == 307
    assert response.headers["Location"].startswith("http://127.0.0.1:")


def test_permission_denied_under_restricted_on_prod_a(clusters: HdfsClusters) -> None:
    bob = clusters.client("prod-a", "bob")

    with pytest.raises(HdfsError, match="Permission denied: user=bob"):
        bob.write(unique("/restricted"), data=b"nope")
    with pytest.raises(HdfsError, match="Permission denied"):
        bob.list("/restricted")
    assert clusters.client("prod-a").status("/restricted")["permission"] == "700"


def test_users_own_their_home_and_not_others(clusters: HdfsClusters) -> None:
    bob = clusters.client("prod-a", "bob")
    bob.write(unique("/user/bob"), data=b"mine")

    with pytest.raises(HdfsError, match="Permission denied"):
        bob.write(unique("/user/alice"), data=b"not mine")


def test_prod_b_does_not_check_permissions(clusters: HdfsClusters) -> None:
    path = unique("/restricted")
    clusters.client("prod-b", "bob").write(path, data=b"allowed")

    assert clusters.client("prod-b").status(path)["owner"] == "bob"


def test_superuser_acts_as_a_user_through_doas(clusters: HdfsClusters) -> None:
    info = clusters.info()["clusters"]["prod-a"]
    path = f"/user/alice/{uuid.uuid4().hex}"
    response = requests.put(
        f"{info['webhdfs'][0]}/webhdfs/v1{path}",
        params={"op": "MKDIRS", "user.name": info["superuser"], "doas": "alice"}, timeout=10,
    )
    assert response.status_code == 200, response.text

    assert clusters.client("prod-a").status(path)["owner"] == "alice"
    # Only the configured proxy user may impersonate.
    refused = requests.put(
        f"{info['webhdfs'][0]}/webhdfs/v1{path}-bob",
        params={"op": "MKDIRS", "user.name": "bob", "doas": "alice"}, timeout=10,
    )
    assert refused.status_code == 403, refused.text
    assert "not allowed to impersonate" in refused.text


def test_the_two_clusters_are_independent(clusters: HdfsClusters) -> None:
    path = unique("/tmp")
    clusters.client("prod-a").write(path, data=b"only on prod-a")

    assert clusters.client("prod-a").status(path, strict=False) is not None
    assert clusters.client("prod-b").status(path, strict=False) is None
    a, b = (clusters.info()["clusters"][name] for name in CLUSTERS)
    assert a["webhdfs"] != b["webhdfs"]
    assert a["rpc"] != b["rpc"]
    assert a["base_dir"] != b["base_dir"]


def test_stop_and_restart_a_cluster_keeps_ports_and_data(clusters: HdfsClusters) -> None:
    before = clusters.info()["clusters"]["prod-b"]
    path = unique("/tmp")
    clusters.client("prod-b").write(path, data=b"survives a restart")

    clusters.stop_cluster("prod-b")
    try:
        with pytest.raises(requests.ConnectionError):
            requests.get(f"{before['webhdfs'][0]}/webhdfs/v1/?op=LISTSTATUS", timeout=5)
        # The other cluster is not affected.
        assert "user" in clusters.client("prod-a").list("/")
    finally:
        clusters.start_cluster("prod-b")

    after = clusters.info()["clusters"]["prod-b"]
    assert after["webhdfs"] == before["webhdfs"]
    assert after["rpc"] == before["rpc"]
    with clusters.client("prod-b").read(path) as reader:
        assert reader.read() == b"survives a restart"
    clusters.client("prod-b").write(unique("/tmp"), data=b"writable again")


def test_dead_namenode_url_refuses_connections(clusters: HdfsClusters) -> None:
    url = clusters.dead_namenode_url()

    assert url.startswith("http://127.0.0.1:")
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{url}/webhdfs/v1/?op=LISTSTATUS", timeout=5)
    assert clusters.dead_namenode_url() == url
    # HdfsCLI takes an HA list separated by ";" and moves past the dead name node.
    live = clusters.info()["clusters"]["prod-b"]["webhdfs"][0]
    assert "user" in InsecureClient(f"{url};{live}", user="hdfs").list("/")


def test_platform_config_names_both_clusters(clusters: HdfsClusters) -> None:
    config = load_config(platform_config(clusters.info()))

    assert [c.name for c in config.storage] == CLUSTERS
    for cluster in config.storage:
        assert cluster.kind == "webhdfs"
        assert cluster.namenodes == clusters.info()["clusters"][cluster.name]["webhdfs"]
        client = InsecureClient(cluster.namenodes[0], user=cluster.user)
        assert "user" in client.list("/")
