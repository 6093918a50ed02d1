"""Two image registries on loopback: Debian's ``docker-registry`` (CNCF distribution 2.8).

* the **open** one (plain HTTP, no auth) is what the sandbox's platform config names for push and
  pull, like an in-cluster registry reached as ``insecure``;
* the **auth** one has htpasswd (bcrypt) basic auth for the credential paths. It speaks TLS with a
  self-signed certificate for ``127.0.0.1`` because clients such as python-dxf refuse to send
  credentials over plain HTTP; ``info()`` gives the certificate to trust.

Each instance gets its own config file: the packaged ``/etc/docker/registry/config.yml`` listens
on all interfaces and points htpasswd at a directory, so every request there answers 401.
"""

from __future__ import annotations

import base64
import contextlib
import copy
import json
import os
import secrets
import shutil
import signal
from pathlib import Path
from typing import Any

import requests
import yaml

from ..errors import MissingExtra
from ..images.registry import RegistryAccess
from . import runtime_images
from .base import Component, ComponentError, ManagedProcess, free_port, run, wait_until
from .base_images import SeededImage, push_image

try:
    import bcrypt
except ImportError as exc:
    raise MissingExtra("The sandbox's registry (mlp devcluster)", "devcluster") from exc

USER = "mlplat"
RUNTIME_REPO = runtime_images.PYTHON.repo
RUNTIME_TAG = runtime_images.PYTHON.tag
#: A serving image for deploys on the real node (:func:`seed_serving`).
SERVING_REPO, SERVING_TAG = "serving/folder", "1"
START_TIMEOUT = 60.0


def registry_config(*, port: int, data_dir: Path, htpasswd: Path | None = None,
                    tls: tuple[Path, Path] | None = None) -> dict[str, Any]:
    """A distribution config for one instance: loopback only, filesystem storage, deletes on."""
    http: dict[str, Any] = {"addr": f"127.0.0.1:{port}", "secret": secrets.token_hex(16),
                            "headers": {"X-Content-Type-Options": ["nosniff"]}}
    if tls is not None:
        http["tls"] = {"certificate": str(tls[0]), "key": str(tls[1])}
    config: dict[str, Any] = {
        "version": 0.1,
        "log": {"level": "warn", "accesslog": {"disabled": True}},
        "storage": {"filesystem": {"rootdirectory": str(data_dir)}, "delete": {"enabled": True},
                    "cache": {"blobdescriptor": "inmemory"}},
        "http": http,
    }
    if htpasswd is not None:
        config["auth"] = {"htpasswd": {"realm": "mlplat-sandbox", "path": str(htpasswd)}}
    return config


def write_htpasswd(path: Path, user: str, password: str) -> Path:
    """An htpasswd file with one bcrypt entry (the only hash distribution accepts)."""
    hashed = bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=10)).decode()
    path.write_text(f"{user}:{hashed}\n")
    path.chmod(0o600)
    return path


def write_self_signed_cert(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate for ``127.0.0.1`` (EC key: fast to make) and its key.

    The certificate is also copied alone into ``folder/ca/ca.crt``: skopeo and buildah take a
    ``--cert-dir`` in which any ``*.key`` would be read as a client key.
    """
    tls_dir, ca_dir = folder / "tls", folder / "ca"
    tls_dir.mkdir(parents=True, exist_ok=True)
    ca_dir.mkdir(parents=True, exist_ok=True)
    cert, key = tls_dir / "tls.crt", tls_dir / "tls.key"
    run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-days", "3650", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1",
         "-addext", "basicConstraints=critical,CA:TRUE",
         "-keyout", str(key), "-out", str(cert)], what="openssl (registry TLS certificate)")
    key.chmod(0o600)
    shutil.copyfile(cert, ca_dir / "ca.crt")
    return cert, key


def write_docker_config(path: Path, host: str, user: str, password: str) -> Path:
    """A docker config JSON (``auths``): the credentials format skopeo, buildah, kubelets read."""
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    path.write_text(json.dumps({"auths": {host: {"auth": token}}}, indent=2))
    path.chmod(0o600)
    return path


def _v2_answers(url: str, ok_statuses: tuple[int, ...], verify: str | bool = True) -> bool:
    return requests.get(url, timeout=2, verify=verify).status_code in ok_statuses


class Registries(Component):
    """An open and an authenticated registry, with the python runtime image seeded.

    The runtime is a real one (:mod:`.runtime_images`: Debian's CPython, papermill, ipykernel
    and the platform package in ``/opt/venv``), so the jobs that the real node runs execute.
    """

    name = "registry"

    def __init__(self, workdir: Path) -> None:
        super().__init__(workdir)
        self.open_port = 0
        self.auth_port = 0
        self.password = ""
        self.ca_file: Path | None = None
        self.docker_config: Path | None = None
        self.runtime_digest = ""
        self.serving_digest = ""
        self.instances: dict[str, ManagedProcess] = {}

    def build(self) -> None:
        """Check the Debian packages; build the runtime image's layers (cached by inputs)."""
        for binary, package in (("docker-registry", "docker-registry"), ("openssl", "openssl")):
            if shutil.which(binary) is None:
                raise ComponentError(
                    f"`{binary}` not found on PATH; install it with `apt-get install {package}`"
                )
        runtime_images.build_runtime(runtime_images.PYTHON)

    def start(self) -> None:
        """Start both instances, wait for ``/v2/``, write the credentials, seed the runtime."""
        try:
            self._start()
        except BaseException:
            self.stop()  # a half-started component must not leave a registry running
            raise

    def _start(self) -> None:
        self.open_port, self.auth_port = free_port(), free_port()
        self.password = secrets.token_urlsafe(18)
        self._spawn_instance("open", self.open_port)
        self._spawn_instance("auth", self.auth_port, with_auth=True)
        self._wait_instance("open")
        self._wait_instance("auth")
        self.docker_config = write_docker_config(
            self.workdir / "docker-config.json", self.auth_address, USER, self.password)
        access = RegistryAccess(self.open_address, True)
        runtime = runtime_images.seed_runtime(access, runtime_images.PYTHON)
        self.runtime_digest = runtime.digest
        self.serving_digest = seed_serving(access, runtime).digest

    def _spawn_instance(self, kind: str, port: int, *, with_auth: bool = False
                        ) -> ManagedProcess:
        folder = self.workdir / kind
        folder.mkdir(parents=True, exist_ok=True)
        htpasswd = tls = None
        if with_auth:
            htpasswd = write_htpasswd(folder / "htpasswd", USER, self.password)
            tls = write_self_signed_cert(folder)
            self.ca_file = folder / "ca" / "ca.crt"
        config = registry_config(port=port, data_dir=folder / "data", htpasswd=htpasswd, tls=tls)
        config_path = folder / "config.yml"
        config_path.write_text(yaml.safe_dump(config, sort_keys=False))
        return self._serve(kind)

    def _serve(self, kind: str) -> ManagedProcess:
        folder = self.workdir / kind
        proc = self.spawn(f"registry-{kind}",
                          ["docker-registry", "serve", str(folder / "config.yml")], cwd=folder)
        self.instances[kind] = proc
        return proc

    def _wait_instance(self, kind: str) -> None:
        proc = self._instance(kind)
        if kind == "open":
            wait_until(lambda: _v2_answers(f"http://{self.open_address}/v2/", (200,)),
                       timeout=START_TIMEOUT, what="registry (open)", alive=proc.died)
        else:
            wait_until(lambda: _v2_answers(f"https://{self.auth_address}/v2/", (401,),
                                           verify=str(self.ca_file)),
                       timeout=START_TIMEOUT, what="registry (auth)", alive=proc.died)

    def _instance(self, kind: str) -> ManagedProcess:
        if kind not in ("open", "auth"):
            raise ComponentError(f"unknown registry instance {kind!r}; valid: open, auth")
        proc = self.instances.get(kind)
        if proc is None:
            raise ComponentError(f"registry ({kind}) is not running")
        return proc

    # -- faults, for tests ---------------------------------------------------------------------
    def data_dir(self, kind: str = "open") -> Path:
        """The instance's storage root (``docker/registry/v2/...`` below it)."""
        return self.workdir / kind / "data"

    def pause_instance(self, kind: str = "open") -> None:
        """Freeze one instance (SIGSTOP): it holds its connections and answers nothing.

        A client in the middle of an upload then stalls exactly where it is, which makes
        "the registry went away during the push" reproducible at any layer size.
        """
        proc = self._instance(kind)
        if proc.pid is not None:
            os.killpg(os.getpgid(proc.pid), signal.SIGSTOP)

    def stop_instance(self, kind: str = "open") -> None:
        """Stop one instance; its port, config and storage stay for :meth:`start_instance`.

        Also stops a paused instance at once: SIGTERM is queued, then SIGCONT lets it act.
        distribution exits on SIGTERM without draining (no ``http.draintimeout``), so a push in
        flight sees its connection cut, like a registry that crashed.
        """
        proc = self._instance(kind)
        if proc.pid is not None:
            with contextlib.suppress(ProcessLookupError):
                group = os.getpgid(proc.pid)
                os.killpg(group, signal.SIGTERM)
                os.killpg(group, signal.SIGCONT)
        proc.stop()
        with contextlib.suppress(ValueError):
            self.processes.remove(proc)
        del self.instances[kind]

    def start_instance(self, kind: str = "open") -> None:
        """Start a stopped instance again on the same port with the same storage."""
        if kind in self.instances:
            return
        if kind not in ("open", "auth"):
            raise ComponentError(f"unknown registry instance {kind!r}; valid: open, auth")
        self._serve(kind)
        self._wait_instance(kind)

    def stop(self) -> None:
        super().stop()
        self.instances.clear()

    @property
    def open_address(self) -> str:
        return f"127.0.0.1:{self.open_port}"

    @property
    def auth_address(self) -> str:
        return f"127.0.0.1:{self.auth_port}"

    def info(self) -> dict[str, Any]:
        return {
            "address": self.open_address,
            "insecure": True,
            "auth_address": self.auth_address,
            "auth_user": USER,
            "auth_password": self.password,
            "auth_ca_file": str(self.ca_file) if self.ca_file else None,
            "auth_cert_dir": str(self.ca_file.parent) if self.ca_file else None,
            "docker_config": str(self.docker_config) if self.docker_config else None,
            "runtime_image": f"{RUNTIME_REPO}:{RUNTIME_TAG}",
            "runtime_digest": self.runtime_digest,
            "serving_image": f"{self.open_address}/{SERVING_REPO}:{SERVING_TAG}",
            "serving_digest": self.serving_digest,
        }


def seed_serving(access: RegistryAccess, runtime: SeededImage) -> SeededImage:
    """``serving/folder:1``: the runtime image (its layers, nothing added) with
    :mod:`jupyter_mlplat.models.folder_serving` as its entrypoint. It takes TF Serving's flags,
    so a deploy runs it on the real node where no TF Serving image can be pulled."""
    config = copy.deepcopy(runtime.config)
    inner = config["config"]
    inner.pop("Cmd", None)
    inner["Entrypoint"] = ["python", "-m", "jupyter_mlplat.models.folder_serving"]
    inner["Labels"] = {**inner.get("Labels", {}), "org.mlplat.serving": "folder"}
    return push_image(access, SERVING_REPO, SERVING_TAG, list(runtime.layers), config)


def platform_config(info: dict[str, Any]) -> dict[str, Any]:
    """The platform-config fragment that points push and pull at the open registry."""
    return {
        "registry": {"push": info["address"], "pull": info["address"], "insecure": True},
        "runtimes": [{"name": "python", "image": info["runtime_image"], "workdir": "/workspace"}],
    }
