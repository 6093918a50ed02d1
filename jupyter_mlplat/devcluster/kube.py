"""A real Kubernetes control plane on loopback, with KWOK standing in for the kubelets.

etcd, kube-apiserver (RBAC on, token authentication), kube-controller-manager (the Job
controller and friends) and kube-scheduler are the real programs, built from source by
:mod:`.kube_build`. No container runtime is available on these machines, so KWOK plays the
kubelet: it marks fake nodes Ready and moves scheduled pods through Running to Succeeded (or
Failed, on request) according to the stages in ``manifests/kwok-stages.yaml``. KWOK's server
also stands in for the kubelets' API: the nodes publish its port, the API server reaches it at
the nodes' InternalIP (127.0.0.1), and it answers ``pods/log`` from the files that KWOK ``Logs``
objects name (:func:`write_pod_log` gives a pod its log, as a container would have printed it).

Two ordinary users, ``alice`` and ``bob``, may only manage workloads in their own namespace
(``ml-alice``, ``ml-bob``), which is what the platform's ``ml-{user}`` namespace template expects.
The Kubeflow ``PyTorchJob``/``TFJob`` CRDs come with the training operator
(:mod:`.training_operator`) and cluster DNS with CoreDNS (:mod:`.dns`): a cluster started
without those components has neither, like a real cluster where nobody installed them.
"""

from __future__ import annotations

import base64
import contextlib
import json
import secrets
import signal
import ssl
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from . import kube_build
from .base import Component, ComponentError, ManagedProcess, free_port, wait_until
from .kube_pki import Pki, make_pki

MANIFESTS = Path(__file__).parent / "manifests"
#: KWOK's own ``Logs`` CRD (from its release): per-pod log files that KWOK serves.
KWOK_LOGS_CRD = "kwok.x-k8s.io_logs.yaml"
STAGES_FILE = "kwok-stages.yaml"
KWOK_GROUP, KWOK_VERSION_API = "kwok.x-k8s.io", "v1alpha1"

USERS = ("alice", "bob")
#: The user the platform config acts as (its namespace is ``ml-alice``).
PLATFORM_USER = "alice"
NAMESPACE_TEMPLATE = "ml-{user}"
USERS_GROUP = "mlplat:users"
ADMIN = "mlplat-admin"

SERVICE_CIDR = "10.0.0.0/24"
#: Fake pod addresses handed out by KWOK: loopback, so nothing could ever leave the machine.
POD_CIDR = "127.1.0.0/16"
KWOK_NODE_ANNOTATION = ("kwok.x-k8s.io/node", "fake")
#: The real node (kubelet + containerd + runc) that :mod:`.node` registers, when it runs.
REAL_NODE = "mlplat-node-0"

#: Fake nodes: name -> (allocatable resources, extra labels).
NODES: dict[str, tuple[dict[str, str], dict[str, str]]] = {
    "kwok-cpu-0": ({"cpu": "8", "memory": "32Gi", "pods": "110"}, {}),
    "kwok-gpu-0": ({"cpu": "16", "memory": "64Gi", "pods": "110", "nvidia.com/gpu": "4"},
                   {"nvidia.com/gpu.present": "true"}),
}

#: What an ordinary user may do in their own namespace, and nothing else anywhere.
USER_RULES: list[dict[str, list[str]]] = [
    {"apiGroups": [""],
     "resources": ["pods", "pods/log", "events", "services", "secrets", "configmaps"]},
    {"apiGroups": ["batch"], "resources": ["jobs", "cronjobs"]},
    {"apiGroups": ["apps"], "resources": ["deployments"]},
    {"apiGroups": ["events.k8s.io"], "resources": ["events"]},
    {"apiGroups": ["kubeflow.org"], "resources": ["*"]},
]
USER_VERBS = ["get", "list", "watch", "create", "update", "patch", "delete", "deletecollection"]


def namespace_of(user: str) -> str:
    return NAMESPACE_TEMPLATE.format(user=user)


class Kubernetes(Component):
    """etcd + kube-apiserver + kube-controller-manager + kube-scheduler + KWOK."""

    name = "kube"

    def __init__(self, workdir: Path) -> None:
        super().__init__(workdir)
        self.server = ""
        self.etcd_url = ""
        self.tokens: dict[str, str] = {}
        self.kubeconfigs: dict[str, Path] = {}
        self.start_seconds: dict[str, float] = {}
        self._pki: Pki | None = None
        self._controllers_started = 0.0
        self.kwok_port = 0
        self.pod_logs = self.workdir / "pod-logs"
        self.apiserver_port = 0
        self._apiserver: ManagedProcess | None = None

    # -- build ---------------------------------------------------------------------------------
    def build(self) -> None:
        kube_build.build()

    # -- start ---------------------------------------------------------------------------------
    def start(self) -> None:
        """Start every piece, install users, namespaces, CRDs and nodes, wait until usable."""
        t0 = time.monotonic()
        self._pki = make_pki(self.workdir / "pki")
        self._write_tokens()
        self.kwok_port = free_port()
        self.pod_logs.mkdir(parents=True, exist_ok=True)
        self._start_etcd()
        self._start_apiserver()
        self._write_kubeconfigs()
        self._install_kwok_crds()
        self._start_controllers()
        self._bootstrap()
        self.start_seconds["total"] = round(time.monotonic() - t0, 2)

    def _timed_wait(self, name: str, started: float, check: Callable[[], bool],
                    timeout: float) -> None:
        wait_until(check, timeout=timeout, what=name, alive=self._any_died)
        self.start_seconds[name] = round(time.monotonic() - started, 2)

    def _any_died(self) -> str | None:
        for proc in self.processes:
            dead = proc.died()
            if dead:
                return f"{proc.name} {dead}"
        return None

    def _write_tokens(self) -> None:
        """Static token authentication: an admin, the control-plane clients and the users.

        kube-controller-manager and kube-scheduler get the user names that Kubernetes' built-in
        RBAC bindings grant their permissions to, so they run with the rights they have on a
        real cluster; KWOK, playing every kubelet, is an admin.
        """
        identities = {
            "admin": (ADMIN, "system:masters"),
            "controller-manager": ("system:kube-controller-manager", ""),
            "scheduler": ("system:kube-scheduler", ""),
            "kwok": ("kwok", "system:masters"),
            # The real node's kubelet: the Node authorizer gives it what a kubelet may do
            # (its node, the pods bound to it and the secrets they name, events, leases).
            "node": (f"system:node:{REAL_NODE}", "system:nodes"),
            # The training operator and CoreDNS run as the service accounts their own
            # manifests bind their ClusterRoles to.
            "training-operator": ("system:serviceaccount:kubeflow:training-operator",
                                  "system:serviceaccounts"),
            "coredns": ("system:serviceaccount:kube-system:coredns", "system:serviceaccounts"),
            **{user: (user, USERS_GROUP) for user in USERS},
        }
        lines = []
        for key, (user, groups) in identities.items():
            self.tokens[key] = secrets.token_urlsafe(32)
            lines.append(f'{self.tokens[key]},{user},{user},"{groups}"' if groups
                         else f"{self.tokens[key]},{user},{user}")
        path = self.workdir / "tokens.csv"
        path.write_text("\n".join(lines) + "\n")
        path.chmod(0o600)

    def _start_etcd(self) -> None:
        client, peer = free_port(), free_port()
        self.etcd_url = f"http://127.0.0.1:{client}"
        peer_url = f"http://127.0.0.1:{peer}"
        started = time.monotonic()
        self.spawn("etcd", [
            str(kube_build.binary("etcd")), "--name", "devcluster",
            "--data-dir", str(self.workdir / "etcd-data"),
            "--listen-client-urls", self.etcd_url, "--advertise-client-urls", self.etcd_url,
            "--listen-peer-urls", peer_url, "--initial-advertise-peer-urls", peer_url,
            "--initial-cluster", f"devcluster={peer_url}",
            "--unsafe-no-fsync", "--log-level", "warn",
        ])
        self._timed_wait("etcd", started, lambda: _etcd_healthy(self.etcd_url), timeout=60)

    def _start_apiserver(self) -> None:
        self.apiserver_port = free_port()
        self.server = f"https://127.0.0.1:{self.apiserver_port}"
        self._spawn_apiserver()

    def _spawn_apiserver(self) -> ManagedProcess:
        pki = self._require_pki()
        port = self.apiserver_port
        started = time.monotonic()
        self._apiserver = proc = self.spawn("kube-apiserver", [
            str(kube_build.binary("kube-apiserver")),
            f"--etcd-servers={self.etcd_url}",
            "--bind-address=127.0.0.1", "--advertise-address=127.0.0.1",
            f"--secure-port={port}",
            f"--tls-cert-file={pki.server_cert}", f"--tls-private-key-file={pki.server_key}",
            f"--cert-dir={self.workdir / 'apiserver-certs'}",
            "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
            f"--service-account-key-file={pki.sa_pub}",
            f"--service-account-signing-key-file={pki.sa_key}",
            f"--token-auth-file={self.workdir / 'tokens.csv'}",
            "--authorization-mode=Node,RBAC",
            # The real node's kubelet authenticates the API server by this client certificate
            # (x509 against the sandbox CA) and asks it whether the request is allowed.
            f"--kubelet-client-certificate={pki.kubelet_client_cert}",
            f"--kubelet-client-key={pki.kubelet_client_key}",
            f"--service-cluster-ip-range={SERVICE_CIDR}",
            "--allow-privileged=true", "--endpoint-reconciler-type=none",
            "--profiling=false",
            # The "kubelet" of every fake node is KWOK's server on 127.0.0.1 (the node's
            # InternalIP, port from its daemonEndpoints); its certificate is self-signed, which
            # the API server accepts without --kubelet-certificate-authority.
            "--kubelet-preferred-address-types=InternalIP",
        ])
        self._timed_wait("kube-apiserver", started, self._apiserver_ready, timeout=120)
        return proc

    # -- faults, for tests -----------------------------------------------------------------------
    def stop_apiserver(self) -> None:
        """Stop kube-apiserver alone: etcd, the controllers and KWOK keep running.

        Clients then see what they see while a real API server restarts: connections refused
        on the known address. :meth:`start_apiserver` brings it back on the same port with the
        same certificates and tokens, so kubeconfigs stay valid.
        """
        proc = self._apiserver
        if proc is None:
            return
        proc.stop()
        with contextlib.suppress(ValueError):
            self.processes.remove(proc)
        self._apiserver = None

    def start_apiserver(self) -> None:
        """Start a stopped kube-apiserver again on its port; return once it is ready."""
        if self._apiserver is not None:
            return
        proc = self._spawn_apiserver()
        # Back in its place after etcd: :meth:`stop` stops the processes in reverse order, and
        # an API server stopped before its clients (the controllers, KWOK) waits on their
        # watches until it is killed (15 s).
        self.processes.remove(proc)
        after_etcd = next((i + 1 for i, p in enumerate(self.processes) if p.name == "etcd"), 0)
        self.processes.insert(after_etcd, proc)

    @property
    def apiserver_running(self) -> bool:
        return self._apiserver is not None and self._apiserver.died() is None

    def _apiserver_ready(self) -> bool:
        request = urllib.request.Request(
            f"{self.server}/readyz", headers={"Authorization": f"Bearer {self.tokens['admin']}"})
        context = ssl.create_default_context(cafile=str(self._require_pki().ca_cert))
        with urllib.request.urlopen(request, context=context, timeout=5) as response:
            return bool(response.status == 200)

    def _write_kubeconfigs(self) -> None:
        """One kubeconfig per identity; the users' default to their own namespace."""
        ca_data = base64.b64encode(self._require_pki().ca_cert.read_bytes()).decode()
        folder = self.workdir / "kubeconfigs"
        folder.mkdir(exist_ok=True)
        for key, token in self.tokens.items():
            namespace = namespace_of(key) if key in USERS else "default"
            path = folder / f"{key}.kubeconfig"
            path.write_text(yaml.safe_dump(
                kubeconfig(self.server, ca_data, key, token, namespace), sort_keys=False))
            path.chmod(0o600)
            self.kubeconfigs[key] = path

    def _start_controllers(self) -> None:
        """kube-controller-manager, kube-scheduler and KWOK; readiness is checked by bootstrap.

        ``--secure-port=0``: their health endpoints are not needed, and no extra port is opened.
        ``--use-service-account-credentials`` makes each controller act as its own service
        account, as kubeadm clusters do, so RBAC problems show up here as they would there.
        """
        pki = self._require_pki()
        started = time.monotonic()
        self.spawn("kube-controller-manager", [
            str(kube_build.binary("kube-controller-manager")),
            f"--kubeconfig={self.kubeconfigs['controller-manager']}",
            "--leader-elect=false", "--secure-port=0",
            "--use-service-account-credentials=true",
            f"--service-account-private-key-file={pki.sa_key}",
            f"--root-ca-file={pki.ca_cert}",
            "--controllers=*", "--profiling=false",
            # KWOK renews the fake nodes' leases; on a starved machine a renewal can come late,
            # and the default 50 s grace flipped nodes NotReady (evicting their pods) mid-test.
            "--node-monitor-grace-period=10m",
        ])
        self.spawn("kube-scheduler", [
            str(kube_build.binary("kube-scheduler")),
            f"--kubeconfig={self.kubeconfigs['scheduler']}",
            "--leader-elect=false", "--secure-port=0", "--profiling=false",
        ])
        key, value = KWOK_NODE_ANNOTATION
        self.spawn("kwok", [
            str(kube_build.binary("kwok")),
            f"--kubeconfig={self.kubeconfigs['kwok']}",
            f"--config={MANIFESTS / STAGES_FILE}",
            "--manage-all-nodes=false",
            f"--manage-nodes-with-annotation-selector={key}={value}",
            "--node-ip=127.0.0.1", f"--cidr={POD_CIDR}",
            f"--server-address=127.0.0.1:{self.kwok_port}", f"--node-port={self.kwok_port}",
            "--enable-crds=Logs",
        ])
        self._controllers_started = started

    def _install_kwok_crds(self) -> None:
        """KWOK watches ``Logs`` objects from its start, so their CRD must exist before it."""
        from kubernetes import client, config

        api = config.new_client_from_config(config_file=str(self.kubeconfigs["admin"]))
        try:
            _create(api, yaml.safe_load((MANIFESTS / KWOK_LOGS_CRD).read_text()))
            ext = client.ApiextensionsV1Api(api)
            self._timed_wait("kwok-crds", time.monotonic(), lambda: _crds_established(ext),
                             timeout=60)
        finally:
            api.close()

    def _bootstrap(self) -> None:
        """Install namespaces, RBAC and nodes, then wait for what proves the cluster works.

        A Ready node proves KWOK runs; the ``default`` service account in each user namespace
        proves the controller manager runs with working credentials (pods cannot be created
        before it exists).
        """
        from kubernetes import client, config

        api = config.new_client_from_config(config_file=str(self.kubeconfigs["admin"]))
        try:
            for obj in cluster_objects():
                _create(api, obj)
            core = client.CoreV1Api(api)
            ext = client.ApiextensionsV1Api(api)
            started = self._controllers_started
            self._timed_wait("crds-established", started, lambda: _crds_established(ext),
                             timeout=60)
            self._timed_wait("kwok-nodes-ready", started, lambda: _nodes_ready(core),
                             timeout=90)
            self._timed_wait("kube-controller-manager", started,
                             lambda: _service_accounts_exist(core), timeout=90)
        finally:
            api.close()

    def _require_pki(self) -> Pki:
        if self._pki is None:
            raise ComponentError("kube: start() has not made the certificates yet")
        return self._pki

    # -- info ----------------------------------------------------------------------------------
    def info(self) -> dict[str, Any]:
        return {
            "server": self.server,
            "ca_file": str(self._require_pki().ca_cert) if self._pki else None,
            "etcd": self.etcd_url,
            "kubeconfigs": {key: str(self.kubeconfigs[key])
                            for key in ("admin", "node", "training-operator", "coredns",
                                        *USERS)},
            "user": PLATFORM_USER,
            "users": {user: {"kubeconfig": str(self.kubeconfigs[user]),
                             "namespace": namespace_of(user)} for user in USERS},
            "namespaces": [namespace_of(user) for user in USERS],
            "kwok_server": f"127.0.0.1:{self.kwok_port}",
            "pod_logs": str(self.pod_logs),
            "nodes": list(NODES),
            "versions": {"kubernetes": kube_build.KUBERNETES_VERSION,
                         "etcd": kube_build.ETCD_VERSION, "kwok": kube_build.KWOK_VERSION},
            "start_seconds": self.start_seconds,
        }


def platform_config(info: dict[str, Any]) -> dict[str, Any]:
    """The sandbox's compute target: the cluster as ``alice``, in ``ml-{user}``.

    ``user`` is set too, so that the namespace template resolves to the namespace the sandbox
    user may actually use.
    """
    return {
        "user": info["user"],
        "targets": [{"name": "kube", "kind": "kubernetes",
                     "kubeconfig": info["kubeconfigs"][info["user"]],
                     "namespace": NAMESPACE_TEMPLATE}],
    }


# -- objects -----------------------------------------------------------------------------------
def kubeconfig(server: str, ca_data: str, user: str, token: str,
               namespace: str) -> dict[str, Any]:
    context = f"{user}@devcluster"
    return {
        "apiVersion": "v1", "kind": "Config", "preferences": {},
        "clusters": [{"name": "devcluster",
                      "cluster": {"server": server, "certificate-authority-data": ca_data}}],
        "users": [{"name": user, "user": {"token": token}}],
        "contexts": [{"name": context, "context": {"cluster": "devcluster", "user": user,
                                                   "namespace": namespace}}],
        "current-context": context,
    }


def cluster_objects() -> list[dict[str, Any]]:
    """Namespaces with their users' Role and RoleBinding, and the fake nodes."""
    objects: list[dict[str, Any]] = []
    for user in USERS:
        namespace = namespace_of(user)
        objects.append({"apiVersion": "v1", "kind": "Namespace",
                        "metadata": {"name": namespace, "labels": {"mlplat.io/user": user}}})
        objects.append({
            "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
            "metadata": {"name": "mlplat-user", "namespace": namespace},
            "rules": [{**rule, "verbs": USER_VERBS} for rule in USER_RULES],
        })
        objects.append({
            "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
            "metadata": {"name": f"mlplat-user-{user}", "namespace": namespace},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role",
                        "name": "mlplat-user"},
            "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User",
                          "name": user}],
        })
    objects.extend(fake_node(name, allocatable, labels)
                   for name, (allocatable, labels) in NODES.items())
    return objects


def fake_node(name: str, allocatable: dict[str, str], labels: dict[str, str]) -> dict[str, Any]:
    """A node object for KWOK to manage (its annotation) with the resources it offers."""
    key, value = KWOK_NODE_ANNOTATION
    return {
        "apiVersion": "v1", "kind": "Node",
        "metadata": {
            "name": name,
            "annotations": {key: value, "node.alpha.kubernetes.io/ttl": "0"},
            "labels": {"kubernetes.io/hostname": name, "kubernetes.io/os": "linux",
                       "kubernetes.io/arch": "amd64", "type": "kwok", **labels},
        },
        "status": {"allocatable": allocatable, "capacity": allocatable},
    }


# -- container logs ----------------------------------------------------------------------------
def cri_log(lines: list[str], stream: str = "stdout") -> str:
    """Lines in the CRI log format the kubelet writes (and KWOK reads back)."""
    now = time.time()
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + f".{int(now % 1 * 1e9):09d}Z"
    return "".join(f"{stamp} {stream} F {line}\n" for line in lines)


def write_pod_log(info: dict[str, Any], namespace: str, pod: str, lines: list[str],
                  container: str | None = None) -> Path:
    """Give a pod a log: what a container would have printed, served by KWOK as its kubelet.

    Writes the lines to a file under the cluster's ``pod_logs`` folder and points a KWOK
    ``Logs`` object named after the pod at it (``container`` None: every container). The API
    server's ``pods/log`` then answers with these lines, as with a real kubelet.
    """
    from kubernetes import client, config

    path = Path(info["pod_logs"]) / f"{namespace}_{pod}_{container or 'all'}.log"
    path.write_text(cri_log(lines))
    entry: dict[str, Any] = {"logsFile": str(path), "follow": False}
    if container:
        entry["containers"] = [container]
    body = {"apiVersion": f"{KWOK_GROUP}/{KWOK_VERSION_API}", "kind": "Logs",
            "metadata": {"name": pod, "namespace": namespace}, "spec": {"logs": [entry]}}
    api = config.new_client_from_config(config_file=info["kubeconfigs"]["admin"])
    try:
        custom = client.CustomObjectsApi(api)
        try:
            custom.create_namespaced_custom_object(KWOK_GROUP, KWOK_VERSION_API, namespace,
                                                   "logs", body)
        except client.exceptions.ApiException as exc:
            if exc.status != 409:
                raise
            custom.patch_namespaced_custom_object(KWOK_GROUP, KWOK_VERSION_API, namespace,
                                                  "logs", pod, {"spec": body["spec"]})
    finally:
        api.close()
    return path


# -- readiness checks --------------------------------------------------------------------------
def _etcd_healthy(url: str) -> bool:
    with urllib.request.urlopen(f"{url}/health", timeout=2) as response:
        return bool(json.load(response).get("health") == "true")


def _crds_established(ext: Any) -> bool:
    for crd in ext.list_custom_resource_definition().items:
        if not any(c.type == "Established" and c.status == "True"
                   for c in crd.status.conditions or []):
            return False
    return True


def _nodes_ready(core: Any) -> bool:
    """Every KWOK node is Ready (a real node, also from an earlier run, is not waited for)."""
    nodes = [n for n in core.list_node().items if n.metadata.name in NODES]
    return len(nodes) == len(NODES) and all(
        any(c.type == "Ready" and c.status == "True" for c in node.status.conditions or [])
        for node in nodes)


def _service_accounts_exist(core: Any) -> bool:
    for user in USERS:
        core.read_namespaced_service_account("default", namespace_of(user))
    return True


def _interrupt_on(*signals: signal.Signals) -> None:
    """Turn these signals into KeyboardInterrupt so ``up`` stops its children on the way out.

    SIGINT needs it too: a shell starts background jobs with SIGINT ignored.
    """
    def interrupt(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    for sig in signals:
        signal.signal(sig, interrupt)


def main(argv: list[str]) -> int:
    """``python -m jupyter_mlplat.devcluster.kube build`` pre-builds the binaries (for CI);
    ``… up DIR`` runs the cluster in DIR until interrupted and prints its info."""
    if argv[:1] == ["build"]:
        seconds = kube_build.build()
        print(f"kube binaries in {kube_build.bin_dir()} "
              f"({'cached' if not seconds else f'built in {seconds:.0f}s'})")
        return 0
    if argv[:1] == ["up"] and len(argv) == 2:
        _interrupt_on(signal.SIGTERM, signal.SIGINT)
        cluster = Kubernetes(Path(argv[1]))
        cluster.build()
        try:
            cluster.start()
            print(json.dumps({**cluster.info(), "rss_mb": cluster.rss_mb()}, indent=2),
                  flush=True)
            while not cluster._any_died():
                time.sleep(1)
            print(cluster._any_died(), file=sys.stderr)
            return 1
        except KeyboardInterrupt:
            return 0
        finally:
            cluster.stop()
    print("usage: python -m jupyter_mlplat.devcluster.kube build | up WORKDIR", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))


def _create(api: Any, obj: dict[str, Any]) -> None:
    """Create ``obj``; one that exists already (a sandbox started again on its own etcd data)
    is left as it is."""
    from kubernetes import utils

    try:
        utils.create_from_dict(api, obj)
    except utils.FailToCreateError as exc:
        if any(e.status != 409 for e in exc.api_exceptions):
            raise
