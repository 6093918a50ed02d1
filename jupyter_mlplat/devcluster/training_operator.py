"""The Kubeflow training operator (v1.8.1), built from source, run against the sandbox.

PyTorchJob and TFJob get their pods, their headless services and their rendezvous environment
(``MASTER_ADDR``/``MASTER_PORT``/``WORLD_SIZE``/``RANK``, ``TF_CONFIG``) from the operator
itself, as on a cluster where an admin installed it. Only the PyTorchJob and TFJob controllers
run (``--enable-scheme``), the platform's two distributed kinds.

What installing it here takes, from its own manifests (``manifests/base`` of the module):

* its CRDs, read from the module at the pinned version, installed before it starts;
* its ClusterRole (``rbac/role.yaml``), bound to the identity it runs as
  (``system:serviceaccount:kubeflow:training-operator``, a token of the sandbox API server);
* the ``kubeflow`` namespace and the Secret ``training-operator-webhook-cert`` that its
  certificate rotator fills. In a cluster that Secret is mounted into the operator's pod at
  ``/tmp/k8s-webhook-server/serving-certs``, a path compiled into the operator; here the
  operator runs in a private mount namespace (``unshare --mount``) where that path is a folder
  of this sandbox, and the Secret's files are written there once the rotator made them, as
  the kubelet would. Two sandboxes on one machine therefore never share certificates.

**Webhooks are left out**: no ValidatingWebhookConfiguration is installed. The API server
calls a webhook through a Service (the rotator's certificate names
``training-operator.kubeflow.svc`` only); this sandbox runs no service proxy and the operator
listens on the host's loopback, which an Endpoints object may not name, and a ``url`` client
config of ``https://127.0.0.1:…`` fails the certificate's name check. Without the webhook the
CRDs' schemas still validate every object (the platform renders them); what the webhook adds —
replica-type names and container-name checks — is then done by the operator's reconciler,
which marks such a job failed.
"""

from __future__ import annotations

import base64
import functools
import json
import time
import urllib.request
from pathlib import Path
from typing import Any

import yaml

from . import go_programs, kube_build
from .base import Component, ComponentError, free_port, run, wait_until

VERSION = "v1.8.1"
MODULE = "github.com/kubeflow/training-operator"
PROGRAM = go_programs.GoProgram(
    name="training-operator", module=MODULE, version=VERSION,
    package=f"{MODULE}/cmd/training-operator.v1")
SCHEMES = ("pytorchjob", "tfjob")
CRD_FILES = ("kubeflow.org_pytorchjobs.yaml", "kubeflow.org_tfjobs.yaml")
NAMESPACE = "kubeflow"
SERVICE_ACCOUNT = "training-operator"
USER = f"system:serviceaccount:{NAMESPACE}:{SERVICE_ACCOUNT}"
CERT_SECRET = "training-operator-webhook-cert"
#: Where the operator reads its serving certificate (compiled in: pkg/cert and the webhook
#: server's default under the temp folder).
CERT_DIR = Path("/tmp/k8s-webhook-server/serving-certs")
START_TIMEOUT = 120.0
#: The image of the init container the operator gives PyTorch workers (it waits until the
#: master's name resolves): busybox from the machine, pushed to the sandbox registry. The
#: operator's default, ``alpine:3.10`` from Docker Hub, is not reachable from the sandbox.
BUSYBOX = Path("/bin/busybox")
INIT_REPO, INIT_TAG = "sandbox/pytorch-init", "1"
INIT_TOOLS = ("sh", "seq", "nslookup", "grep", "sleep")
#: The operator's own init container template (pkg/controller.v1/pytorch/initcontainer.go),
#: with one change: busybox's nslookup exits 1 when any search domain misses even though the
#: name resolved, so the loop checks that an answer was printed.
INIT_TEMPLATE = """
- name: init-pytorch
  image: {{.InitContainerImage}}
  imagePullPolicy: IfNotPresent
  resources:
    limits:
      cpu: 100m
      memory: 20Mi
    requests:
      cpu: 50m
      memory: 10Mi
  command: ['sh', '-c', '""" + (
    "err=1;for i in $(seq {{.MaxTries}}); do "
    'if nslookup {{.MasterAddr}} | grep -q "^Name:"; then err=0 && break; fi;'
    "echo waiting for master; sleep 2; done; exit $err") + """']
"""


@functools.cache
def module_dir() -> Path:
    """The operator's module at the pinned version, in the sandbox's Go module cache."""
    out = run(["go", "mod", "download", "-json", f"{MODULE}@{VERSION}"],
              env=kube_build.go_env(), cwd=PROGRAM.folder(), what=f"download {MODULE}")
    return Path(json.loads(out)["Dir"])


def crds() -> list[dict[str, Any]]:
    """The CustomResourceDefinitions the operator v1.8.1 ships for PyTorchJob and TFJob."""
    folder = module_dir() / "manifests" / "base" / "crds"
    return [yaml.safe_load((folder / name).read_text()) for name in CRD_FILES]


def cluster_role() -> dict[str, Any]:
    """The operator's own ClusterRole (``manifests/base/rbac/role.yaml``)."""
    docs = yaml.safe_load_all((module_dir() / "manifests/base/rbac/role.yaml").read_text())
    return next(d for d in docs if d and d.get("kind") == "ClusterRole")


def _apply_crd(ext: Any, crd: dict[str, Any]) -> None:
    """Create the CRD, or replace one already there (an older one, or a sandbox started again
    on its own etcd data) with this version's."""
    from kubernetes.client.exceptions import ApiException

    try:
        ext.create_custom_resource_definition(crd)
    except ApiException as exc:
        if exc.status != 409:
            raise
        existing = ext.read_custom_resource_definition(crd["metadata"]["name"])
        body = {**crd, "metadata": {**crd["metadata"],
                                    "resourceVersion": existing.metadata.resource_version}}
        ext.replace_custom_resource_definition(crd["metadata"]["name"], body)


class TrainingOperator(Component):
    """``training-operator --enable-scheme=pytorchjob --enable-scheme=tfjob``."""

    name = "operator"
    requires = ("kube",)
    wants = ("registry",)

    def __init__(self, workdir: Path) -> None:
        super().__init__(workdir)
        self.health_port = 0
        self.start_seconds: dict[str, float] = {}
        self.certs = self.workdir / "serving-certs"

    def build(self) -> None:
        go_programs.build(PROGRAM)

    # -- start ---------------------------------------------------------------------------------
    def start(self) -> None:
        if not self.deps:
            raise ComponentError("operator: use() was not given the kube info")
        t0 = time.monotonic()
        try:
            self._install()
            self.start_seconds["install"] = round(time.monotonic() - t0, 2)
            self._start_operator()
            self._mount_certs()
            self._wait_ready()
        except BaseException:
            self.stop()
            raise
        self.start_seconds["total"] = round(time.monotonic() - t0, 2)

    def _api(self) -> Any:
        from kubernetes import config

        return config.new_client_from_config(config_file=self.deps["kube"]["kubeconfigs"]["admin"])

    def _install(self) -> None:
        from kubernetes import client

        from .kube import _crds_established, _create

        role = cluster_role()
        objects: list[dict[str, Any]] = [
            *crds(), role,
            {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
             "metadata": {"name": "training-operator"},
             "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                         "name": role["metadata"]["name"]},
             "subjects": [{"kind": "ServiceAccount", "name": SERVICE_ACCOUNT,
                           "namespace": NAMESPACE}]},
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}},
            {"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
             "metadata": {"name": CERT_SECRET, "namespace": NAMESPACE}},
        ]
        api = self._api()
        try:
            ext = client.ApiextensionsV1Api(api)
            for obj in objects:
                if obj["kind"] == "CustomResourceDefinition":
                    _apply_crd(ext, obj)
                else:
                    _create(api, obj)
            wait_until(lambda: _crds_established(ext), timeout=60,
                       what="training-operator CRDs established")
        finally:
            api.close()

    def _push_init_image(self) -> str | None:
        """The PyTorch workers' init container image in the sandbox registry (none without a
        registry: then only KWOK's simulated nodes run pods, which pull nothing)."""
        reg = self.deps.get("registry")
        if not reg:
            return None
        from ..images.registry import RegistryAccess
        from .base_images import cached_files_layer, image_config, push_image

        if not BUSYBOX.exists():
            raise ComponentError("operator: the PyTorch init container needs busybox: "
                                 "apt-get install busybox-static")
        data = BUSYBOX.read_bytes()
        files = {f"bin/{tool}": data for tool in INIT_TOOLS}
        layer = cached_files_layer(files, modes={name: 0o755 for name in files})
        config = image_config([layer], labels={"org.mlplat.sandbox": "pytorch-init"})
        image = push_image(RegistryAccess(reg["address"], True), INIT_REPO, INIT_TAG, [layer],
                           config)
        return image.ref

    def _start_operator(self) -> None:
        self.certs.mkdir(parents=True, exist_ok=True)
        CERT_DIR.mkdir(parents=True, exist_ok=True)  # the mount point (stays empty outside)
        self.health_port = free_port()
        flags = [f"--enable-scheme={scheme}" for scheme in SCHEMES]
        operator = [
            str(PROGRAM.binary()), *flags,
            f"--metrics-bind-address=127.0.0.1:{free_port()}",
            f"--health-probe-bind-address=127.0.0.1:{self.health_port}",
            f"--webhook-server-port={free_port()}",
            "--leader-elect=false", "--zap-log-level=info",
        ]
        init_image = self._push_init_image()
        if init_image:
            template = self.workdir / "pytorch-init-container.yaml"
            template.write_text(INIT_TEMPLATE)
            operator += [f"--pytorch-init-container-image={init_image}",
                         f"--pytorch-init-container-template-file={template}"]
        script = 'mount --bind "$1" "$2" && shift 2 && exec "$@"'
        self.spawn("training-operator", [
            "unshare", "--mount", "--propagation", "private", "sh", "-c", script, "sh",
            str(self.certs), str(CERT_DIR), *operator,
        ], env={"KUBECONFIG": self.deps["kube"]["kubeconfigs"]["training-operator"],
                "MY_POD_NAMESPACE": NAMESPACE})

    def _mount_certs(self) -> None:
        """The Secret's certificate and key as files, once the operator's rotator wrote them."""
        from kubernetes import client

        api = self._api()
        try:
            core: Any = client.CoreV1Api(api)

            def written() -> bool:
                data = core.read_namespaced_secret(CERT_SECRET, NAMESPACE).data or {}
                if not {"tls.crt", "tls.key"} <= set(data):
                    return False
                for name in ("tls.crt", "tls.key", "ca.crt"):
                    if name in data:
                        path = self.certs / name
                        path.write_bytes(base64.b64decode(data[name]))
                        path.chmod(0o600)
                return True

            wait_until(written, timeout=START_TIMEOUT, what="training-operator certificates",
                       alive=self._died)
        finally:
            api.close()

    def _wait_ready(self) -> None:
        started = time.monotonic()

        def ready() -> bool:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.health_port}/readyz",
                                        timeout=2) as response:
                if response.status != 200:
                    return False
            lines = (self.workdir / "training-operator.log").read_text(
                errors="replace").splitlines()
            workers = [line for line in lines if "Starting workers" in line]
            return all(any(f'"{scheme}-controller"' in line for line in workers)
                       for scheme in SCHEMES)

        wait_until(ready, timeout=START_TIMEOUT, what="training-operator (controllers started)",
                   alive=self._died, interval=0.3)
        self.start_seconds["ready"] = round(time.monotonic() - started, 2)

    def _died(self) -> str | None:
        for proc in self.processes:
            dead = proc.died()
            if dead:
                return f"{proc.name} {dead}"
        return None

    # -- info ----------------------------------------------------------------------------------
    def info(self) -> dict[str, Any]:
        return {
            "version": VERSION,
            "schemes": list(SCHEMES),
            "health": f"127.0.0.1:{self.health_port}",
            "identity": USER,
            "webhooks": False,
            "build_seconds": PROGRAM.build_seconds(),
            "start_seconds": self.start_seconds,
        }


def platform_config(info: dict[str, Any]) -> dict[str, Any]:
    """Nothing to add: targets on this cluster run PyTorchJob/TFJob through the operator."""
    return {}
