"""A real Kubernetes node beside the KWOK ones: kubelet + Debian's containerd + runc.

The kubelet is built with the control plane (:mod:`.kube_build`), registers to the sandbox's API
server as ``system:node:mlplat-node-0`` (Node authorizer), and runs what the platform submits:
containerd pulls the job image from the sandbox registry — the plain-HTTP instance, and the TLS
one with the credentials of the pod's imagePullSecret — and runc starts it in cgroups, so memory
limits are enforced and logs are what the container printed.

What this machine kind needs, from trying it (see ENGINES.md, "A real node"):

* root here lacks ``CAP_SYS_RESOURCE``; containerd's CRI must not lower ``oom_score_adj``
  (``restrict_oom_score_adj = true``) or every pod sandbox fails in runc;
* cgroup v1 with the ``cgroupfs`` driver (``failCgroupV1: false``);
* the kubelet refuses a loopback node IP and then publishes no address, so the node's status gets
  ``InternalIP 127.0.0.1`` patched in (as KWOK's nodes have): the API server reaches the kubelet
  there for logs, exec and port-forward, authenticating with its kubelet client certificate;
* the pause image is built here (busybox ``sleep``) and pushed to the sandbox registry.

**Networking**: job pods run with ``hostNetwork`` (the ``kube-node`` target's ``pod_template``),
because the engines they use — HDFS name and data nodes, the registry, the API server — listen
on 127.0.0.1 only, and pods on a CNI bridge cannot reach the host's loopback. A bridge network
(Debian's ``containernetworking-plugins``) is still configured, because the runtime reports the
node not ready without one, and serves pods that need no sandbox engine — such as the replicas of
a distributed job (the ``kube-node-pods`` target), which each need their own network: with the
host's, every replica of a PyTorchJob/TFJob declares the same port (the training operator's
``pytorchjob-port``/``tfjob-port``), which a host-network pod holds on the node, so a second
replica could never be placed there. The cluster DNS (:mod:`.dns`) serves both kinds of pods.

The node is tainted ``mlplat.io/dedicated=real-node:NoSchedule``, so only pods that ask for it
land here (the ``kube-node`` target tolerates it); KWOK's nodes keep simulating GPUs and scale.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import secrets
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import yaml

from . import host_network, kube_build
from .base import Component, ComponentError, free_port, wait_until
from .kube import REAL_NODE

NODE_LABEL = ("mlplat.io/node", "real")
TAINT = {"key": "mlplat.io/dedicated", "value": "real-node", "effect": "NoSchedule"}
PAUSE_REPO, PAUSE_TAG = "sandbox/pause", "3.10"
#: The imagePullSecret for the TLS registry in every user namespace (what an admin creates,
#: docs/deployment.md step 4).
PULL_SECRET = "mlplat-pull"
BUSYBOX = Path("/bin/busybox")
#: Debian packages that provide the node's programs (scripts/setup --test installs them).
TOOLS = {"containerd": "containerd", "containerd-shim-runc-v2": "containerd", "ctr": "containerd",
         "runc": "runc", "mount": "mount", "ip": "iproute2"}
CNI_BIN = Path("/usr/lib/cni")
CGROUP_V1 = Path("/sys/fs/cgroup")
START_TIMEOUT = 120.0


def _toml_str(value: str) -> str:
    return json.dumps(value)  # a TOML basic string is a JSON string for these values


class Node(Component):
    """containerd + kubelet, registered as :data:`~.kube.REAL_NODE`."""

    name = "node"
    requires = ("kube", "registry")
    wants = ("dns",)

    def __init__(self, workdir: Path) -> None:
        super().__init__(workdir)
        self.socket = self.workdir / "containerd.sock"
        self.kubelet_port = 0
        self.bridge = ""
        self.subnet = ""
        self.pause_image = ""
        # The node's own cgroup root: a kubelet removes pod cgroups it does not know under its
        # root, so two sandboxes on one machine (two test sessions) must not share /kubepods.
        self.cgroup_root = f"/mlplat-{secrets.token_hex(4)}"
        self.start_seconds: dict[str, float] = {}

    # -- build ---------------------------------------------------------------------------------
    def build(self) -> None:
        kube_build.build()
        missing = sorted({pkg for tool, pkg in TOOLS.items() if shutil.which(tool) is None})
        if not BUSYBOX.exists():
            missing.append("busybox-static")
        if not (CNI_BIN / "bridge").exists():
            missing.append("containernetworking-plugins")
        if missing:
            raise ComponentError("the real node needs Debian packages that are not installed: "
                                 f"apt-get install {' '.join(missing)}")

    # -- start ---------------------------------------------------------------------------------
    def start(self) -> None:
        if not self.deps:
            raise ComponentError("node: use() was not given the kube and registry info")
        t0 = time.monotonic()
        try:
            self._push_pause()
            self._create_pull_secrets()
            self._start_containerd()
            self._start_kubelet()
            self._wait_ready()
        except BaseException:
            self.stop()
            raise
        self.start_seconds["total"] = round(time.monotonic() - t0, 2)

    def _push_pause(self) -> None:
        """The pod sandbox image: busybox sleeping forever, in the open registry."""
        from ..images.registry import RegistryAccess
        from .base_images import cached_files_layer, image_config, push_image

        reg = self.deps["registry"]
        layer = cached_files_layer({"bin/busybox": BUSYBOX.read_bytes()},
                                   modes={"bin/busybox": 0o755})
        config = image_config([layer], cmd=["/bin/busybox", "sleep", "2147483647"],
                              labels={"org.mlplat.sandbox": "pause"})
        image = push_image(RegistryAccess(reg["address"], True), PAUSE_REPO, PAUSE_TAG,
                           [layer], config)
        self.pause_image = image.ref

    def _create_pull_secrets(self) -> None:
        from kubernetes import client

        reg = self.deps["registry"]
        if not reg.get("auth_address"):
            return
        data = base64.b64encode(docker_config_secret(
            reg["auth_address"], reg["auth_user"], reg["auth_password"]).encode()).decode()
        api = self._api()
        try:
            core: Any = client.CoreV1Api(api)
            for namespace in self.deps["kube"]["namespaces"]:
                body = {"apiVersion": "v1", "kind": "Secret", "type":
                        "kubernetes.io/dockerconfigjson",
                        "metadata": {"name": PULL_SECRET, "namespace": namespace},
                        "data": {".dockerconfigjson": data}}
                try:
                    core.create_namespaced_secret(namespace, body)
                except client.exceptions.ApiException as exc:
                    if exc.status != 409:
                        raise
                    core.replace_namespaced_secret(PULL_SECRET, namespace, body)
        finally:
            api.close()

    def _write_containerd_config(self) -> Path:
        reg = self.deps["registry"]
        hosts = self.workdir / "certs.d"
        open_dir = hosts / reg["address"]
        open_dir.mkdir(parents=True, exist_ok=True)
        (open_dir / "hosts.toml").write_text(
            f'server = "http://{reg["address"]}"\n\n[host."http://{reg["address"]}"]\n'
            '  capabilities = ["pull", "resolve"]\n')
        if reg.get("auth_address"):
            auth_dir = hosts / reg["auth_address"]
            auth_dir.mkdir(parents=True, exist_ok=True)
            (auth_dir / "hosts.toml").write_text(
                f'server = "https://{reg["auth_address"]}"\n\n'
                f'[host."https://{reg["auth_address"]}"]\n'
                '  capabilities = ["pull", "resolve"]\n'
                f'  ca = {_toml_str(reg["auth_ca_file"])}\n')
        cni_conf = self.workdir / "cni"
        cni_conf.mkdir(exist_ok=True)
        self.bridge = "mlp" + secrets.token_hex(4)  # interface names: at most 15 characters
        # The bridge exists, with its gateway address, from here on: CNI's bridge plugin takes it
        # as it is, and no other sandbox on the machine picks the same /24.
        gateway = host_network.add_bridge(self.bridge, lambda n: f"10.231.{n}.1", prefix=24,
                                          what="node")
        self.subnet = gateway.rsplit(".", 1)[0] + ".0/24"
        # Pods on the bridge reach the cluster DNS (an address of the host) through the bridge.
        dns = self.deps.get("dns")
        routes = [{"dst": f"{dns['address']}/32"}] if dns else []
        (cni_conf / "10-mlplat.conflist").write_text(json.dumps({
            "cniVersion": "1.0.0", "name": "mlplat-sandbox",
            "plugins": [{"type": "bridge", "bridge": self.bridge, "isGateway": True,
                         "ipMasq": False,
                         "ipam": {"type": "host-local", "ranges": [[{"subnet": self.subnet}]],
                                  "routes": routes,
                                  "dataDir": str(self.workdir / "cni-ipam")}},
                        {"type": "loopback"}]}, indent=2))
        config = f"""version = 2
root = {_toml_str(str(self.workdir / "containerd-root"))}
state = {_toml_str(str(self.workdir / "containerd-state"))}

[grpc]
  address = {_toml_str(str(self.socket))}

[ttrpc]
  address = {_toml_str(str(self.socket) + ".ttrpc")}

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = {_toml_str(self.pause_image)}
  restrict_oom_score_adj = true
  enable_selinux = false
  disable_apparmor = true

[plugins."io.containerd.grpc.v1.cri".containerd]
  default_runtime_name = "runc"
  snapshotter = "overlayfs"

[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
  runtime_type = "io.containerd.runc.v2"

[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
  SystemdCgroup = false

[plugins."io.containerd.grpc.v1.cri".cni]
  bin_dir = {_toml_str(str(CNI_BIN))}
  conf_dir = {_toml_str(str(cni_conf))}

[plugins."io.containerd.grpc.v1.cri".registry]
  config_path = {_toml_str(str(hosts))}
"""
        path = self.workdir / "containerd.toml"
        path.write_text(config)
        return path

    def _start_containerd(self) -> None:
        config = self._write_containerd_config()
        started = time.monotonic()
        proc = self.spawn("containerd", ["containerd", "--config", str(config),
                                         "--log-level", "warn"])
        wait_until(lambda: _ctr(self.socket, "version").returncode == 0,
                   timeout=START_TIMEOUT, what="containerd", alive=proc.died)
        self.start_seconds["containerd"] = round(time.monotonic() - started, 2)

    def _write_kubelet_files(self) -> tuple[Path, Path]:
        kube = self.deps["kube"]
        self.kubelet_port = free_port()
        config = {
            "apiVersion": "kubelet.config.k8s.io/v1beta1", "kind": "KubeletConfiguration",
            "address": "127.0.0.1", "port": self.kubelet_port, "readOnlyPort": 0,
            "healthzBindAddress": "127.0.0.1", "healthzPort": free_port(),
            "containerRuntimeEndpoint": f"unix://{self.socket}",
            "cgroupDriver": "cgroupfs", "failCgroupV1": False, "failSwapOn": False,
            "enforceNodeAllocatable": [], "evictionHard": {},
            "cgroupRoot": self.cgroup_root,
            "imageGCHighThresholdPercent": 100, "imageGCLowThresholdPercent": 99,
            "podLogsDir": str(self.workdir / "pod-logs"),
            "serializeImagePulls": False, "maxPods": 50,
            "registerWithTaints": [TAINT],
            "authentication": {"anonymous": {"enabled": False}, "webhook": {"enabled": True},
                               "x509": {"clientCAFile": kube["ca_file"]}},
            "authorization": {"mode": "Webhook"},
            # Status often enough that a finished container shows within a second or two.
            "nodeStatusUpdateFrequency": "10s", "syncFrequency": "10s",
            "shutdownGracePeriod": "0s",
        }
        dns = self.deps.get("dns")
        if dns:  # pods with dnsPolicy ClusterFirst(WithHostNet) resolve cluster names there
            config["clusterDNS"] = [dns["address"]]
            config["clusterDomain"] = dns["domain"]
        path = self.workdir / "kubelet.yaml"
        path.write_text(yaml.safe_dump(config, sort_keys=False))
        return path, Path(kube["kubeconfigs"]["node"])

    def _start_kubelet(self) -> None:
        config, kubeconfig = self._write_kubelet_files()
        make_cgroup_root(self.cgroup_root)
        key, value = NODE_LABEL
        self.spawn("kubelet", [
            str(kube_build.binary("kubelet")), f"--config={config}",
            f"--kubeconfig={kubeconfig}", f"--root-dir={self.workdir / 'kubelet'}",
            f"--cert-dir={self.workdir / 'kubelet-pki'}", f"--hostname-override={REAL_NODE}",
            # Refused as loopback (logged), which leaves the status without addresses for
            # _publish_address to fill; any other address would be one the kubelet does not
            # listen on.
            "--node-ip=127.0.0.1", f"--node-labels={key}={value},type=real",
        ])

    def _api(self) -> Any:
        from kubernetes import config

        return config.new_client_from_config(config_file=self.deps["kube"]["kubeconfigs"]["admin"])

    def _wait_ready(self) -> None:
        from kubernetes import client

        started = time.monotonic()
        api = self._api()
        try:
            core: Any = client.CoreV1Api(api)

            def ready() -> bool:
                node = core.read_node(REAL_NODE)
                addresses = {(a.type, a.address) for a in node.status.addresses or []}
                if ("InternalIP", "127.0.0.1") not in addresses:
                    _publish_address(core)
                    return False
                # Ready, and the node lifecycle controller has lifted the not-ready taints it
                # put on at registration (a moment later): until then nothing is scheduled here.
                return any(c.type == "Ready" and c.status == "True"
                           for c in node.status.conditions or []) \
                    and not any(t.key == "node.kubernetes.io/not-ready"
                                for t in node.spec.taints or [])

            wait_until(ready, timeout=START_TIMEOUT, what="kubelet (node Ready, not tainted "
                       "not-ready)",
                       alive=self._any_died, interval=0.5)
        finally:
            api.close()
        self.start_seconds["kubelet"] = round(time.monotonic() - started, 2)

    def _any_died(self) -> str | None:
        for proc in self.processes:
            dead = proc.died()
            if dead:
                return f"{proc.name} {dead}"
        return None

    # -- stop ----------------------------------------------------------------------------------
    def stop(self) -> None:
        info = self.info()
        kubelet = next((p for p in self.processes if p.name == "kubelet"), None)
        if kubelet is not None:
            kubelet.stop()
            self.processes.remove(kubelet)
        if self.socket.exists():
            release(info)
        super().stop()
        cleanup(info)

    # -- info ----------------------------------------------------------------------------------
    def info(self) -> dict[str, Any]:
        kube = self.deps.get("kube", {})
        return {
            "node": REAL_NODE,
            "user": kube.get("user"),
            "workdir": str(self.workdir),
            "containerd_socket": str(self.socket),
            "kubelet": f"127.0.0.1:{self.kubelet_port}",
            "kubelet_pid": next((p.pid for p in self.processes if p.name == "kubelet"), None),
            "pause_image": self.pause_image,
            "pull_secret": PULL_SECRET,
            "bridge": self.bridge,
            "cgroup_root": self.cgroup_root,
            "cluster_dns": self.deps.get("dns", {}).get("address"),
            "subnet": self.subnet,
            "kubeconfig": (kube.get("users", {}).get(kube.get("user", ""), {})
                           .get("kubeconfig")),
            "admin_kubeconfig": kube.get("kubeconfigs", {}).get("admin"),
            "label": "=".join(NODE_LABEL),
            "taint": TAINT,
            "versions": {"kubelet": kube_build.KUBERNETES_VERSION,
                         "containerd": _version(["containerd", "--version"]),
                         "runc": _version(["runc", "--version"])},
            "start_seconds": self.start_seconds,
        }

    def rss_mb(self) -> dict[str, float]:
        """Resident memory of containerd, the kubelet and the runc shims, in MiB."""
        usage = super().rss_mb()
        shims = _shims(str(self.socket))
        usage["shims"] = round(sum(p.memory_info().rss for p in shims) / 2**20, 1)
        return usage


def _ctr(socket: Path | str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["ctr", "--address", str(socket), "--namespace", "k8s.io", *args],
                          capture_output=True, text=True, timeout=30, check=False)


def _version(cmd: list[str]) -> str:
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=10, check=False)
        return out.stdout.splitlines()[0].strip() if out.stdout else ""
    return ""


def _publish_address(core: Any) -> None:
    """InternalIP 127.0.0.1 (and the hostname) in the node's status, where the API server
    looks for the kubelet."""
    core.patch_node_status(REAL_NODE, {"status": {"addresses": [
        {"type": "InternalIP", "address": "127.0.0.1"},
        {"type": "Hostname", "address": REAL_NODE}]}})


def _shims(socket: str) -> list[Any]:
    """The runc shims of *this* containerd: they name its socket on their command line."""
    import psutil

    found = []
    for proc in psutil.process_iter(["cmdline"]):
        cmdline = proc.info.get("cmdline") or []
        if cmdline and cmdline[0].endswith("containerd-shim-runc-v2") and socket in cmdline:
            found.append(proc)
    return found


def release(info: dict[str, Any]) -> None:
    """Before containerd stops: stop the kubelet, kill and delete every container it runs.

    The runc shims leave containerd's process group on purpose (containers outlive a containerd
    restart), so stopping containerd alone would leave the pods running.
    """
    from .base import stop_process_group

    if info.get("kubelet_pid"):
        stop_process_group(int(info["kubelet_pid"]), timeout=10)
    socket = info.get("containerd_socket")
    if not socket or not Path(socket).exists():
        return
    listed = _ctr(socket, "tasks", "list", "--quiet")
    tasks = [t for t in listed.stdout.split() if t] if listed.returncode == 0 else []
    for task in tasks:
        _ctr(socket, "tasks", "kill", "--signal", "SIGKILL", task)
    deadline = time.monotonic() + 15
    while tasks and time.monotonic() < deadline:
        listed = _ctr(socket, "tasks", "list")
        if listed.returncode != 0 or "RUNNING" not in listed.stdout:
            break
        time.sleep(0.2)
    for task in tasks:
        _ctr(socket, "tasks", "delete", "--force", task)


def cleanup(info: dict[str, Any]) -> None:
    """After containerd stopped: left-over shims, mounts under the node's folder, the bridge."""
    import psutil

    socket = info.get("containerd_socket")
    if socket:
        for shim in _shims(socket):
            with contextlib.suppress(psutil.Error):
                shim.kill()
    workdir = info.get("workdir")
    if workdir:
        for mount in sorted(_mounts_under(workdir), key=len, reverse=True):
            subprocess.run(["umount", "--lazy", mount], capture_output=True, check=False)
    bridge = info.get("bridge")
    if bridge:
        host_network.delete_link(bridge)
    if info.get("cgroup_root"):
        remove_cgroup_root(info["cgroup_root"])


def _hierarchies() -> list[Path]:
    """The cgroup v1 hierarchies (one per controller, and systemd's named one)."""
    if not CGROUP_V1.is_dir():
        return []
    return sorted(p for p in CGROUP_V1.iterdir()
                  if p.is_dir() and p.name != "unified" and (p / "cgroup.procs").exists())


def make_cgroup_root(root: str) -> None:
    """Create ``root`` in every hierarchy (the kubelet requires it to exist); a cpuset cgroup
    starts without CPUs or memory nodes, so it gets its parent's."""
    for hierarchy in _hierarchies():
        folder = hierarchy / root.strip("/")
        folder.mkdir(exist_ok=True)
        for name in ("cpuset.cpus", "cpuset.mems"):
            parent = hierarchy / name
            if parent.exists() and not (folder / name).read_text().strip():
                (folder / name).write_text(parent.read_text())


def remove_cgroup_root(root: str) -> None:
    """Remove ``root`` and the cgroups under it, deepest first (they are empty by now)."""
    for hierarchy in _hierarchies():
        top = hierarchy / root.strip("/")
        if not top.is_dir():
            continue
        below = sorted((p for p in top.rglob("*") if p.is_dir()),
                       key=lambda p: len(p.parts), reverse=True)
        for folder in [*below, top]:
            with contextlib.suppress(OSError):
                folder.rmdir()


def _mounts_under(folder: str) -> list[str]:
    prefix = os.path.realpath(folder).rstrip("/") + "/"
    found = []
    with open("/proc/self/mountinfo") as handle:
        for line in handle:
            point = line.split()[4].replace("\\040", " ")
            if point.startswith(prefix):
                found.append(point)
    return found


def platform_config(info: dict[str, Any]) -> dict[str, Any]:
    """The ``kube-node`` target: jobs on the real node, with the host's network.

    ``pod_template`` is the target's override of every pod the platform renders; here it asks
    for the host network so that pods reach the sandbox's engines on 127.0.0.1, and — with
    cluster DNS running — ``dnsPolicy: ClusterFirstWithHostNet``, without which a host-network
    pod gets the host's resolver and cannot resolve service names (the training operator's
    ``MASTER_ADDR``, ``TF_CONFIG``). A real deployment uses the same field for what its cluster
    needs (host aliases, volumes, sidecars, a security context).

    ``kube-node-pods`` runs on the same node without that override: each pod on the node's
    bridge network with an address of its own, resolving cluster names through the cluster DNS
    (``dnsPolicy: ClusterFirst``, the default). That is the target for distributed jobs, whose
    replicas each hold the same port; its pods cannot reach the sandbox's engines on 127.0.0.1.
    """
    key, value = NODE_LABEL
    dns_policy = "ClusterFirstWithHostNet" if info.get("cluster_dns") else "Default"
    base = {
        "name": "kube-node", "kind": "kubernetes", "kubeconfig": info["kubeconfig"],
        "namespace": "ml-{user}", "node_selector": {key: value},
        "tolerations": [{"key": TAINT["key"], "operator": "Equal", "value": TAINT["value"],
                         "effect": TAINT["effect"]}],
    }
    return {"targets": [
        {**base, "pod_template": {"spec": {"hostNetwork": True, "dnsPolicy": dns_policy}}},
        {**base, "name": "kube-node-pods"},
    ]}


def docker_config_secret(server: str, user: str, password: str) -> str:
    """``.dockerconfigjson`` for one registry (what an imagePullSecret holds)."""
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return json.dumps({"auths": {server: {"auth": token}}})
