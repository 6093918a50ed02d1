"""Cluster DNS: CoreDNS with its ``kubernetes`` plugin, on a loopback address of its own.

What a real cluster's DNS add-on does: ``<service>.<namespace>.svc.cluster.local`` answers with
the service's cluster IP, or for a headless service with the addresses of its ready (or, with
``publishNotReadyAddresses``, all) endpoints. The training operator names replicas that way
(``MASTER_ADDR=<job>-master-0``, ``TF_CONFIG`` with ``<job>-worker-0.<namespace>.svc:2222``),
and the real node's pods use the host's network, so their endpoints are the node's address,
127.0.0.1.

CoreDNS is built from source (:mod:`.go_programs`) with a small ``main`` of ours that imports
``coremain`` and only the plugins used here: ``bind``, ``ready``, ``errors`` and
``kubernetes`` — CoreDNS's documented way to choose plugins at compile time. No ``forward``:
names outside ``cluster.local`` are refused (they resolve from the pods' ``/etc/hosts`` or not
at all), so no query leaves the machine.

The kubelet gives pods the server by IP on port 53 (``clusterDNS``), so each sandbox gets its
own link-local address ``169.254.53.x`` on an interface of its own (how NodeLocal DNSCache
serves a node: a link-local address on a local interface), and two sandboxes on one machine
each have their own DNS. Both kinds of pods reach it: pods with the host's network directly
(with ``dnsPolicy: ClusterFirstWithHostNet``, what Kubernetes requires of host-network pods
that need cluster names, set by the real node's ``kube-node`` target), and pods on the node's
bridge network through the route the node's CNI configuration gives them to that address. A
loopback address would serve only the former. (The kernel here has no ``dummy`` interfaces, so
the interface is an empty bridge; it carries the address and nothing else.) The address is
picked and put on that interface under one machine-wide lock (:mod:`.host_network`).
"""

from __future__ import annotations

import secrets
import time
import urllib.request
from pathlib import Path
from typing import Any

from . import go_programs, host_network
from .base import Component, ComponentError, free_port, wait_until

VERSION = "v1.15.0"
MODULE = "github.com/coredns/coredns"
PLUGINS = ("bind", "ready", "errors", "kubernetes")
MAIN = f"""// CoreDNS with the plugins the sandbox uses, in CoreDNS's directive order.
package main

import (
	"github.com/coredns/coredns/core/dnsserver"
	"github.com/coredns/coredns/coremain"

{"".join(f'	_ "github.com/coredns/coredns/plugin/{p}"{chr(10)}' for p in PLUGINS)})

func init() {{
	dnsserver.Directives = []string{{{", ".join(f'"{p}"' for p in PLUGINS)}}}
}}

func main() {{ coremain.Run() }}
"""
PROGRAM = go_programs.GoProgram(name="coredns", module=MODULE, version=VERSION,
                                package=MODULE, main_source=MAIN)
DOMAIN = "cluster.local"
PORT = 53
SERVICE_ACCOUNT = ("kube-system", "coredns")
#: What CoreDNS' own deployment manifest grants it (``system:coredns``).
RULES: list[dict[str, list[str]]] = [
    {"apiGroups": [""], "resources": ["endpoints", "services", "pods", "namespaces"],
     "verbs": ["list", "watch"]},
    {"apiGroups": ["discovery.k8s.io"], "resources": ["endpointslices"],
     "verbs": ["list", "watch"]},
]
START_TIMEOUT = 60.0


def cleanup(info: dict[str, Any]) -> None:
    """After CoreDNS stopped (also from ``mlp devcluster down``): remove its interface."""
    if info.get("interface"):
        host_network.delete_link(info["interface"])


class ClusterDns(Component):
    """CoreDNS serving ``cluster.local`` from the sandbox API server."""

    name = "dns"
    requires = ("kube",)

    def __init__(self, workdir: Path) -> None:
        super().__init__(workdir)
        self.address = ""
        self.interface = ""
        self.ready_port = 0
        self.start_seconds: dict[str, float] = {}

    def build(self) -> None:
        go_programs.build(PROGRAM)

    def start(self) -> None:
        if not self.deps:
            raise ComponentError("dns: use() was not given the kube info")
        t0 = time.monotonic()
        try:
            self._grant()
            self._start_coredns()
        except BaseException:
            self.stop()
            raise
        self.start_seconds["total"] = round(time.monotonic() - t0, 2)

    def _grant(self) -> None:
        """CoreDNS's ClusterRole, bound to the service account it runs as."""
        from kubernetes import config

        from .kube import _create

        namespace, account = SERVICE_ACCOUNT
        objects = [
            {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
             "metadata": {"name": "system:coredns"}, "rules": RULES},
            {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
             "metadata": {"name": "system:coredns"},
             "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                         "name": "system:coredns"},
             "subjects": [{"kind": "ServiceAccount", "name": account,
                           "namespace": namespace}]},
        ]
        api = config.new_client_from_config(
            config_file=self.deps["kube"]["kubeconfigs"]["admin"])
        try:
            for obj in objects:
                _create(api, obj)
        finally:
            api.close()

    def _start_coredns(self) -> None:
        self.interface = "mlpdns" + secrets.token_hex(4)  # at most 15 characters
        self.address = host_network.add_bridge(self.interface, lambda n: f"169.254.53.{n}",
                                               prefix=32, what="dns")
        self.ready_port = free_port()
        kubeconfig = self.deps["kube"]["kubeconfigs"]["coredns"]
        corefile = self.workdir / "Corefile"
        corefile.write_text(f"""{DOMAIN}:{PORT} {{
    bind {self.address}
    ready 127.0.0.1:{self.ready_port}
    errors
    kubernetes {DOMAIN} {{
        kubeconfig {kubeconfig}
        ttl 5
    }}
}}
""")
        proc = self.spawn("coredns", [str(PROGRAM.binary()), "-conf", str(corefile)])

        def ready() -> bool:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.ready_port}/ready",
                                        timeout=2) as response:
                return bool(response.status == 200)

        started = time.monotonic()
        wait_until(ready, timeout=START_TIMEOUT, what="coredns (kubernetes plugin synced)",
                   alive=proc.died)
        self.start_seconds["coredns"] = round(time.monotonic() - started, 2)

    def stop(self) -> None:
        super().stop()
        cleanup(self.info())

    def info(self) -> dict[str, Any]:
        return {
            "address": self.address,
            "interface": self.interface,
            "port": PORT,
            "domain": DOMAIN,
            "ready": f"127.0.0.1:{self.ready_port}",
            "version": VERSION,
            "plugins": list(PLUGINS),
            "build_seconds": PROGRAM.build_seconds(),
            "start_seconds": self.start_seconds,
        }


def platform_config(info: dict[str, Any]) -> dict[str, Any]:
    """Nothing to add: the node's kubelet hands the address to pods."""
    return {}
