"""The append builder against the sandbox registries, checked with skopeo (an independent client).

No mocks: faults are real (a stopped registry, a wrong password, a pull address that is another
registry), and every pushed image is inspected and copied by Debian's skopeo.
"""

from __future__ import annotations

import base64
import json
import subprocess
import tarfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from jupyter_mlplat.config import RegistryConfig, Runtime, SecretRef
from jupyter_mlplat.devcluster.base import Component, free_port
from jupyter_mlplat.devcluster.base_images import seed_base_image
from jupyter_mlplat.devcluster.sandbox import component_class
from jupyter_mlplat.errors import InvalidRequest
from jupyter_mlplat.images import (
    BaseImageNotFound,
    CodeSource,
    Progress,
    PullAddressMismatch,
    Registry,
    RegistryAuthError,
    RegistryError,
    build_and_push,
    check_pull_address,
    registry_access,
)
from jupyter_mlplat.images.append import LABEL_JOB_ID, LABEL_SOURCE_HASH, LABEL_USER
from jupyter_mlplat.images.media import DOCKER_MANIFEST, OCI_INDEX, OCI_MANIFEST, canonical_json

pytestmark = [pytest.mark.integration, pytest.mark.registry]

RUNTIME = Runtime(name="python", image="runtimes/python:3.11", workdir="/workspace")


@pytest.fixture(scope="module")
def info(registry: Component) -> dict[str, Any]:
    return registry.info()


@pytest.fixture(scope="module")
def second(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Component]:
    """Another registry: a wrong pull address, and one we can stop in the middle of a build."""
    comp = component_class("registry")(tmp_path_factory.mktemp("second-registry"))
    comp.build()
    comp.start()
    try:
        yield comp
    finally:
        comp.stop()


def _open_config(info: dict[str, Any], **overrides: Any) -> RegistryConfig:
    return RegistryConfig(**{"push": info["address"], "insecure": True, **overrides})


def _notebook(folder: Path, marker: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    nb = {"cells": [{"cell_type": "code", "execution_count": None, "id": "c1", "metadata": {},
                     "outputs": [], "source": f"print({marker!r})"}],
          "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    path = folder / "train.ipynb"
    path.write_text(json.dumps(nb))
    (folder / "data").mkdir(exist_ok=True)
    (folder / "data" / "labels.csv").write_text(f"id,label\n1,{marker}\n")
    return path


class Recorder:
    def __init__(self) -> None:
        self.events: list[Progress] = []

    def __call__(self, progress: Progress) -> None:
        self.events.append(progress)

    @property
    def phases(self) -> list[str]:
        return sorted({e.phase for e in self.events})

    @property
    def moved(self) -> int:
        pushing = [e for e in self.events if e.phase == "pushing"]
        return pushing[-1].bytes_done if pushing else 0


def _skopeo(*args: str) -> str:
    proc = subprocess.run(["skopeo", *args], capture_output=True, text=True, timeout=120,
                          check=False)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def _layer_names(blob: Path) -> dict[str, bytes]:
    with tarfile.open(blob, "r:gz") as tar:
        out: dict[str, bytes] = {}
        for member in tar.getmembers():
            handle = tar.extractfile(member) if member.isfile() else None
            out[member.name] = handle.read() if handle else b""
        return out


@pytest.mark.parametrize("media", ["docker", "oci"])
def test_append_is_pullable_and_holds_the_notebook(info: dict[str, Any], tmp_path: Path,
                                                   media: str) -> None:
    if media == "docker":
        runtime, manifest_type = RUNTIME, DOCKER_MANIFEST
    else:
        seeded = seed_base_image(info["address"], "bases/oci-small", "1", 256 * 1024, seed=3,
                                 media="oci")
        runtime = Runtime(name="oci", image="bases/oci-small:1", workdir="/srv/job")
        manifest_type = OCI_MANIFEST
        assert seeded.manifest["mediaType"] == OCI_MANIFEST
    marker = uuid.uuid4().hex
    notebook = _notebook(tmp_path / "project", marker)
    recorder = Recorder()
    built = build_and_push(_open_config(info), runtime,
                           CodeSource(notebook=notebook, include=["data/*.csv"],
                                      parameters={"lr": 0.1}),
                           user="Ada", job_id=f"job-{media}", work_dir=tmp_path / "w",
                           progress=recorder)
    assert recorder.phases == ["building", "pushing"]
    assert built.repo == "mlplat/ada" and built.tag == f"job-{media}"
    assert built.pull_reference == f"{info['address']}/mlplat/ada@{built.digest}"
    assert built.pull_check == "same-address"
    assert built.media == media

    base = json.loads(_skopeo("inspect", "--tls-verify=false",
                              f"docker://{info['address']}/{runtime.image}"))
    inspected = json.loads(_skopeo("inspect", "--tls-verify=false",
                                   f"docker://{built.pull_reference}"))
    assert inspected["Digest"] == built.digest
    assert inspected["Layers"] == [*base["Layers"], built.layer_digest]
    assert built.layers_mounted == len(base["Layers"]) and built.layers_copied == 0
    assert inspected["Labels"][LABEL_USER] == "Ada"
    assert inspected["Labels"][LABEL_JOB_ID] == f"job-{media}"
    assert inspected["Labels"][LABEL_SOURCE_HASH] == built.source_hash
    assert f"MLPLAT_JOB_ID=job-{media}" in inspected["Env"]
    config = json.loads(_skopeo("inspect", "--config", "--tls-verify=false",
                                f"docker://{built.pull_reference}"))
    assert config["config"]["WorkingDir"] == runtime.workdir
    assert config["config"]["Cmd"][1:3] == [f"{runtime.workdir}/.mlplat/runner.py", "notebook"]
    assert "Entrypoint" not in config["config"]
    assert len(config["rootfs"]["diff_ids"]) == len(base["Layers"]) + 1

    dest = tmp_path / "copy"
    _skopeo("copy", "--src-tls-verify=false", f"docker://{built.pull_reference}", f"dir:{dest}")
    manifest = json.loads((dest / "manifest.json").read_text())
    assert manifest["mediaType"] == manifest_type
    new_layer = dest / manifest["layers"][-1]["digest"].split(":", 1)[1]
    files = _layer_names(new_layer)
    root = runtime.workdir.strip("/")
    assert files[f"{root}/train.ipynb"] == notebook.read_bytes()
    assert marker.encode() in files[f"{root}/data/labels.csv"]
    assert json.loads(files[f"{root}/params.json"]) == {"lr": 0.1}
    assert f"{root}/.mlplat/runner.py" in files
    for older in manifest["layers"][:-1]:  # the base layers are the base's, untouched
        assert f"{root}/train.ipynb" not in _layer_names(dest / older["digest"].split(":")[1])


def test_same_code_twice_moves_no_layer_bytes(info: dict[str, Any], tmp_path: Path) -> None:
    notebook = _notebook(tmp_path / "p", uuid.uuid4().hex)
    source = CodeSource(notebook=notebook, include=["data"])
    config = _open_config(info)
    runs = []
    for job_id in ("same-1", "same-2", "same-2"):
        recorder = Recorder()
        built = build_and_push(config, RUNTIME, source, user="bob", job_id=job_id,
                               work_dir=tmp_path / job_id, progress=recorder)
        runs.append((built, recorder.moved))
    (first, moved1), (second, moved2), (third, moved3) = runs
    assert moved1 == first.bytes_uploaded > 0
    assert first.layer_digest == second.layer_digest == third.layer_digest
    assert (moved2, moved3) == (0, 0) and second.bytes_uploaded == 0
    assert second.digest != first.digest, "the job id label differs"
    assert third.digest == second.digest, "same code, same job: the same image"


def _auth_config(info: dict[str, Any], docker_config: str) -> RegistryConfig:
    return RegistryConfig(push=info["auth_address"], insecure=False,
                          credentials=SecretRef(file=docker_config))


def test_credentials_from_docker_config(info: dict[str, Any], tmp_path: Path) -> None:
    seed_base_image(info["auth_address"], "runtimes/python", "3.11", 0, insecure=False,
                    username=info["auth_user"], password=info["auth_password"],
                    ca_file=info["auth_ca_file"])
    notebook = _notebook(tmp_path / "p", uuid.uuid4().hex)
    built = build_and_push(_auth_config(info, info["docker_config"]), RUNTIME,
                           CodeSource(notebook=notebook), user="carol", job_id="auth-1",
                           work_dir=tmp_path / "w", ca_file=info["auth_ca_file"])
    inspected = json.loads(_skopeo("inspect", "--authfile", info["docker_config"],
                                   "--cert-dir", info["auth_cert_dir"],
                                   f"docker://{built.pull_reference}"))
    assert inspected["Digest"] == built.digest

    wrong = tmp_path / "wrong.json"
    token = base64.b64encode(f"{info['auth_user']}:not-the-password".encode()).decode()
    wrong.write_text(json.dumps({"auths": {f"https://{info['auth_address']}": {"auth": token}}}))
    with pytest.raises(RegistryAuthError) as caught:
        build_and_push(_auth_config(info, str(wrong)), RUNTIME, CodeSource(notebook=notebook),
                       user="carol", job_id="auth-wrong", work_dir=tmp_path / "w2",
                       ca_file=info["auth_ca_file"])
    message = str(caught.value)
    assert info["auth_address"] in message and "user 'mlplat'" in message
    assert "authentication required" in message  # distribution's own words
    no_entry = tmp_path / "other-host.json"
    no_entry.write_text(json.dumps({"auths": {"elsewhere.example:5000": {"auth": token}}}))
    with pytest.raises(RegistryAuthError, match="no entry for"):
        build_and_push(_auth_config(info, str(no_entry)), RUNTIME, CodeSource(notebook=notebook),
                       user="carol", job_id="auth-none", work_dir=tmp_path / "w3",
                       ca_file=info["auth_ca_file"])
    access = registry_access(_auth_config(info, info["docker_config"]),
                             ca_file=info["auth_ca_file"])
    with Registry(access) as reg:
        assert reg.head_manifest("mlplat/carol", "auth-1") == built.digest
        assert reg.head_manifest("mlplat/carol", "auth-wrong") is None


def test_pull_address_checks(info: dict[str, Any], second: Component, tmp_path: Path) -> None:
    notebook = _notebook(tmp_path / "p", uuid.uuid4().hex)
    port = info["address"].rsplit(":", 1)[1]
    # Two names of the same registry: verified.
    config = _open_config(info, pull=f"localhost:{port}")
    built = build_and_push(config, RUNTIME, CodeSource(notebook=notebook), user="dan",
                           job_id="pull-ok", work_dir=tmp_path / "w")
    assert built.pull_check == "verified"
    assert built.pull_reference == f"localhost:{port}/mlplat/dan@{built.digest}"
    # A pull address that is another registry: a 400 explaining the config.
    other = second.info()["address"]
    with pytest.raises(PullAddressMismatch) as caught:
        build_and_push(_open_config(info, pull=other), RUNTIME, CodeSource(notebook=notebook),
                       user="dan", job_id="pull-bad", work_dir=tmp_path / "w2")
    assert isinstance(caught.value, InvalidRequest) and caught.value.status == 400
    message = str(caught.value)
    assert info["address"] in message and other in message and "mlplat/dan@sha256:" in message
    assert "registry.pull" in message and "MANIFEST_UNKNOWN" in message
    # Only reachable from the cluster: nothing to check from here.
    unreachable = _open_config(info, pull=f"127.0.0.1:{free_port()}")
    assert check_pull_address(unreachable, built.repo, built.digest) == "unreachable"


def test_registry_down_is_a_clear_error(info: dict[str, Any], tmp_path: Path) -> None:
    notebook = _notebook(tmp_path / "p", "down")
    address = f"127.0.0.1:{free_port()}"
    with pytest.raises(RegistryError) as caught:
        build_and_push(RegistryConfig(push=address, insecure=True), RUNTIME,
                       CodeSource(notebook=notebook), user="eve", job_id="down",
                       work_dir=tmp_path / "w")
    message = str(caught.value)
    assert f"cannot reach the registry {address} (push address)" in message
    assert "Connection refused" in message


def test_registry_stopping_mid_build_leaves_no_tag(second: Component, tmp_path: Path) -> None:
    notebook = _notebook(tmp_path / "p", uuid.uuid4().hex)
    config = _open_config(second.info())

    def stop_before_upload(progress: Progress) -> None:
        if progress.message == "uploading code layer":
            second.stop()

    try:
        with pytest.raises(RegistryError, match="cannot reach the registry"):
            build_and_push(config, RUNTIME, CodeSource(notebook=notebook), user="fay",
                           job_id="half", work_dir=tmp_path / "w", progress=stop_before_upload)
    finally:
        second.start()  # same data folder, new port
    restarted = _open_config(second.info())
    with Registry(registry_access(restarted)) as reg:
        assert reg.manifest("runtimes/python", "3.11") is not None, "same storage"
        assert reg.head_manifest("mlplat/fay", "half") is None, "no tag after a failed build"


def test_missing_base_image(info: dict[str, Any], tmp_path: Path) -> None:
    notebook = _notebook(tmp_path / "p", "x")
    runtime = Runtime(name="gone", image="runtimes/missing:1")
    with pytest.raises(BaseImageNotFound, match="runtimes/missing:1"):
        build_and_push(_open_config(info), runtime, CodeSource(notebook=notebook), user="gus",
                       job_id="nobase", work_dir=tmp_path / "w")


def test_mount_refused_then_copy(info: dict[str, Any], tmp_path: Path) -> None:
    """The registry declines a mount from a repository without the blob; copying works."""
    seeded = seed_base_image(info["address"], "bases/copy-src", "1", 128 * 1024, seed=11)
    layer = seeded.manifest["layers"][-1]
    moved: list[int] = []
    with Registry(registry_access(_open_config(info))) as reg:
        assert not reg.mount("tests/copy-dst", "tests/has-nothing", layer["digest"])
        reg.copy_blob("tests/copy-dst", "bases/copy-src", layer["digest"], moved.append)
        assert reg.has_blob("tests/copy-dst", layer["digest"])
    assert sum(moved) == layer["size"]


def test_index_base_resolves_to_linux_amd64(info: dict[str, Any], tmp_path: Path) -> None:
    host = info["address"]
    amd64 = seed_base_image(host, "bases/multi", "amd64", 64 * 1024, seed=21, media="oci")
    arm64 = seed_base_image(host, "bases/multi", "arm64", 64 * 1024, seed=22, media="oci")

    def entry(image: Any, arch: str) -> dict[str, Any]:
        return {"mediaType": OCI_MANIFEST, "digest": image.digest,
                "size": len(canonical_json(image.manifest)),
                "platform": {"os": "linux", "architecture": arch}}

    with Registry(registry_access(_open_config(info))) as reg:
        reg.put_manifest("bases/multi", "multi", canonical_json(
            {"schemaVersion": 2, "mediaType": OCI_INDEX,
             "manifests": [entry(arm64, "arm64"), entry(amd64, "amd64")]}))
        reg.put_manifest("bases/multi", "arm-only", canonical_json(
            {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [entry(arm64, "arm64")]}))
    notebook = _notebook(tmp_path / "p", uuid.uuid4().hex)
    built = build_and_push(_open_config(info), Runtime(name="multi", image="bases/multi:multi"),
                           CodeSource(notebook=notebook), user="hal", job_id="multi",
                           work_dir=tmp_path / "w")
    assert built.base_digest == amd64.digest and built.media == "oci"
    inspected = json.loads(_skopeo("inspect", "--tls-verify=false",
                                   f"docker://{built.pull_reference}"))
    assert inspected["Layers"] == [*(layer.digest for layer in amd64.layers), built.layer_digest]
    with pytest.raises(BaseImageNotFound, match="linux/arm64"):
        build_and_push(_open_config(info), Runtime(name="arm", image="bases/multi:arm-only"),
                       CodeSource(notebook=notebook), user="hal", job_id="arm",
                       work_dir=tmp_path / "w2")
