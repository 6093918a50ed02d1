"""The sandbox registries against python-dxf, raw HTTP and skopeo (an independent client)."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
import requests
from dxf import DXF
from dxf.exceptions import DXFUnauthorizedError

from jupyter_mlplat.devcluster.base import Component
from jupyter_mlplat.devcluster.base_images import (
    RegistryAccess,
    build_manifest,
    canonical_json,
    files_layer,
    seed_base_image,
)
from jupyter_mlplat.devcluster.registry import platform_config

pytestmark = [pytest.mark.integration, pytest.mark.registry]


@pytest.fixture(scope="module")
def info(registry: Component) -> dict[str, Any]:
    return registry.info()


def _open(info: dict[str, Any]) -> RegistryAccess:
    return RegistryAccess(info["address"], insecure=True)


def _auth(info: dict[str, Any], with_credentials: bool = True) -> RegistryAccess:
    if not with_credentials:
        return RegistryAccess(info["auth_address"], ca_file=info["auth_ca_file"])
    return RegistryAccess(info["auth_address"], username=info["auth_user"],
                          password=info["auth_password"], ca_file=info["auth_ca_file"])


def _pull(client: DXF, digest: str) -> bytes:
    return b"".join(client.pull_blob(digest))  # type: ignore[arg-type]


def _push_and_pull_image(access: RegistryAccess, repo: str, tmp_path: Path) -> None:
    """Push a layer, a config and a manifest; read every one back byte for byte."""
    layer = files_layer({"app/hello.txt": f"hello from {repo}\n"}, tmp_path / "layer.tar.gz")
    config = canonical_json({"architecture": "amd64", "os": "linux",
                             "rootfs": {"type": "layers", "diff_ids": [layer.diff_id]}})
    manifest = canonical_json(build_manifest(config, [layer]))
    with access.client(repo) as client:
        assert client.push_blob(str(layer.path)) == layer.digest
        config_digest = "sha256:" + hashlib.sha256(config).hexdigest()
        client.push_blob(data=iter([config]), digest=config_digest)
        client.set_manifest("v1", manifest.decode())

        assert _pull(client, layer.digest) == layer.path.read_bytes()
        assert _pull(client, config_digest) == config
        fetched, response = client.get_manifest_and_response("v1")
        assert fetched.encode() == manifest
        assert response.headers["Docker-Content-Digest"] == \
            "sha256:" + hashlib.sha256(manifest).hexdigest()


def test_open_registry_push_pull(info: dict[str, Any], tmp_path: Path) -> None:
    assert requests.get(f"http://{info['address']}/v2/", timeout=5).status_code == 200
    _push_and_pull_image(_open(info), "tests/open", tmp_path)


def test_auth_registry_push_pull_with_credentials(info: dict[str, Any], tmp_path: Path) -> None:
    _push_and_pull_image(_auth(info), "tests/auth", tmp_path)


def test_auth_registry_refuses_without_credentials(info: dict[str, Any], tmp_path: Path) -> None:
    url = f"https://{info['auth_address']}/v2/"
    response = requests.get(url, timeout=5, verify=info["auth_ca_file"])
    assert response.status_code == 401
    assert "basic" in response.headers["WWW-Authenticate"].lower()
    wrong = requests.get(url, timeout=5, verify=info["auth_ca_file"],
                         auth=(info["auth_user"], "not-the-password"))
    assert wrong.status_code == 401
    layer = files_layer({"x.txt": "x"}, tmp_path / "x.tar.gz")
    with _auth(info, with_credentials=False).client("tests/anon") as client, \
            pytest.raises((DXFUnauthorizedError, requests.HTTPError)) as caught:
        client.push_blob(str(layer.path))
    status = getattr(getattr(caught.value, "response", None), "status_code", 401)
    assert status == 401


def test_docker_config_file_holds_the_credentials(info: dict[str, Any]) -> None:
    auths = json.loads(Path(info["docker_config"]).read_text())["auths"]
    assert set(auths) == {info["auth_address"]}
    basic = auths[info["auth_address"]]["auth"]
    response = requests.get(f"https://{info['auth_address']}/v2/", timeout=5,
                            verify=info["auth_ca_file"],
                            headers={"Authorization": f"Basic {basic}"})
    assert response.status_code == 200


def test_cross_repo_mount_moves_no_bytes(info: dict[str, Any], tmp_path: Path) -> None:
    layer = files_layer({"big/blob.bin": os.urandom(256 * 1024)}, tmp_path / "m.tar.gz")
    with _open(info).client("tests/mount-source") as client:
        client.push_blob(str(layer.path))
    response = requests.post(
        f"http://{info['address']}/v2/tests/mount-target/blobs/uploads/",
        params={"mount": layer.digest, "from": "tests/mount-source"}, timeout=5,
    )
    assert response.status_code == 201, response.text
    assert response.headers["Docker-Content-Digest"] == layer.digest
    head = requests.head(f"http://{info['address']}/v2/tests/mount-target/blobs/{layer.digest}",
                         timeout=5)
    assert head.status_code == 200
    assert int(head.headers["Content-Length"]) == layer.size
    # The same through python-dxf on the authenticated registry.
    with _auth(info).client("tests/auth-mount-source") as client:
        client.push_blob(str(layer.path))
    with _auth(info).client("tests/auth-mount-target") as client:
        assert client.mount_blob("tests/auth-mount-source", layer.digest) == layer.digest
        assert client.blob_size(layer.digest) == layer.size


def _skopeo(*args: str) -> str:
    proc = subprocess.run(["skopeo", *args], capture_output=True, text=True, timeout=120,
                          check=False)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def _assert_copy_matches(ref: str, dest: Path, manifest_digest: str) -> None:
    """skopeo copies the image to a local dir: every blob's bytes hash to its digest."""
    _skopeo("copy", "--src-tls-verify=false", f"docker://{ref}", f"dir:{dest}")
    manifest_bytes = (dest / "manifest.json").read_bytes()
    assert "sha256:" + hashlib.sha256(manifest_bytes).hexdigest() == manifest_digest
    manifest = json.loads(manifest_bytes)
    for blob in [manifest["config"], *manifest["layers"]]:
        data = (dest / blob["digest"].split(":", 1)[1]).read_bytes()
        assert len(data) == blob["size"]
        assert "sha256:" + hashlib.sha256(data).hexdigest() == blob["digest"]


def test_seeded_runtime_image_is_pullable_by_skopeo(info: dict[str, Any], tmp_path: Path) -> None:
    ref = f"{info['address']}/{info['runtime_image']}"
    inspected = json.loads(_skopeo("inspect", "--tls-verify=false", f"docker://{ref}"))
    assert inspected["Digest"] == info["runtime_digest"]
    assert "PYTHONUNBUFFERED=1" in inspected["Env"]
    _assert_copy_matches(ref, tmp_path / "copy", info["runtime_digest"])
    config = json.loads(_skopeo("inspect", "--config", "--tls-verify=false", f"docker://{ref}"))
    assert config["config"]["WorkingDir"] == "/workspace"


@pytest.mark.parametrize("media", ["docker", "oci"])
def test_seeded_base_image_of_a_given_size(info: dict[str, Any], tmp_path: Path,
                                           media: str) -> None:
    size = 3 * 1024 * 1024
    image = seed_base_image(info["address"], f"bases/{media}", "3m", size, seed=7,
                            media=media)  # type: ignore[arg-type]
    again = seed_base_image(info["address"], f"bases/{media}", "3m", size, seed=7,
                            media=media)  # type: ignore[arg-type]
    assert again.digest == image.digest, "seeding must be reproducible"
    assert image.manifest["mediaType"].startswith(
        "application/vnd.oci" if media == "oci" else "application/vnd.docker")
    assert sum(layer["size"] for layer in image.manifest["layers"]) >= size
    inspected = json.loads(_skopeo("inspect", "--tls-verify=false", f"docker://{image.ref}"))
    assert inspected["Digest"] == image.digest
    assert inspected["Layers"] == [layer.digest for layer in image.layers]
    _assert_copy_matches(image.ref, tmp_path / "copy", image.digest)


def test_seeded_image_through_auth_registry_with_authfile(info: dict[str, Any],
                                                         tmp_path: Path) -> None:
    image = seed_base_image(info["auth_address"], "bases/private", "v1", 0, insecure=False,
                            username=info["auth_user"], password=info["auth_password"],
                            ca_file=info["auth_ca_file"])
    ref = f"docker://{image.ref}"
    inspected = json.loads(_skopeo("inspect", "--authfile", info["docker_config"],
                                   "--cert-dir", info["auth_cert_dir"], ref))
    assert inspected["Digest"] == image.digest
    no_auths = tmp_path / "empty-auth.json"
    no_auths.write_text('{"auths": {}}')
    proc = subprocess.run(["skopeo", "inspect", "--cert-dir", info["auth_cert_dir"],
                           "--authfile", str(no_auths), ref],
                          capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode != 0
    assert "unauthorized" in proc.stderr.lower() or "401" in proc.stderr


def test_platform_config_fragment(info: dict[str, Any]) -> None:
    from jupyter_mlplat.config import load_config

    fragment = platform_config(info)
    assert fragment["registry"] == {"push": info["address"], "pull": info["address"],
                                    "insecure": True}
    config = load_config(fragment)
    assert config.registry is not None and config.registry.pull_address == info["address"]
    assert config.runtime("python").image == "runtimes/python:3.11"
