"""``python -m jupyter_mlplat.devcluster up|status|down`` in subprocesses, as a user runs it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from jupyter_mlplat.config import load_config

pytestmark = [pytest.mark.integration, pytest.mark.registry, pytest.mark.postgres]


def _cli(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run([sys.executable, "-m", "jupyter_mlplat.devcluster", *args],
                          capture_output=True, text=True, timeout=300, check=False)
    if check:
        assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc


def _gone(pid: int, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.1)
    return False


def test_up_status_down(tmp_path: Path) -> None:
    workdir = str(tmp_path / "sandbox")
    up = _cli("up", "--only", "registry,postgres", "--workdir", workdir)
    try:
        for name in ("registry", "postgres"):
            assert f"{name}: up in" in up.stdout
        config_file = str(tmp_path / "sandbox" / "mlplat.yaml")
        assert f"jupyter lab --MLPlatApp.config_file={config_file}" in up.stdout

        config = load_config(path=config_file)
        assert config.registry is not None and config.registry.insecure
        assert config.database_url and config.database_url.startswith("postgresql+psycopg2://")
        assert yaml.safe_load(Path(config_file).read_text())["runtimes"][0]["name"] == "python"

        again = _cli("up", "--only", "registry", "--workdir", workdir, check=False)
        assert again.returncode != 0 and "already running" in again.stderr

        status = _cli("status", "--workdir", workdir)
        assert "registry" in status.stdout and "postgres" in status.stdout
        assert "password" not in status.stdout
        state = json.loads(_cli("status", "--json", "--workdir", workdir).stdout)
        assert all(entry["alive"] for entry in state["components"].values())
        pids = [pid for entry in state["components"].values() for pid in entry["pids"]]
        scratch = [p for entry in state["components"].values() for p in entry["scratch"]]
    finally:
        down = _cli("down", "--workdir", workdir)
    assert "stopped: postgres, registry" in down.stdout
    assert pids and all(_gone(pid) for pid in pids), "no engine process may outlive `down`"
    assert not any(Path(p).exists() for p in scratch)
    assert "no sandbox running" in _cli("status", "--workdir", workdir).stdout


def test_unknown_component_is_a_usage_error(tmp_path: Path) -> None:
    proc = _cli("up", "--only", "registry,nosuch", "--workdir", str(tmp_path), check=False)
    assert proc.returncode == 2
    assert "nosuch" in proc.stderr
    assert "valid: hdfs, kube, dns, registry, operator, node, postgres" in proc.stderr


def test_up_replaces_a_stale_state(tmp_path: Path) -> None:
    """A state whose processes are gone (e.g. after a reboot) does not block the next `up`."""
    finished = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                              capture_output=True, text=True, check=True)
    (tmp_path / "state.json").write_text(json.dumps(
        {"components": {"registry": {"info": {}, "pids": [int(finished.stdout)]}}}))
    try:
        up = _cli("up", "--only", "registry", "--workdir", str(tmp_path))
        assert "registry: up in" in up.stdout
    finally:
        _cli("down", "--workdir", str(tmp_path))


@pytest.mark.kube
def test_cluster_dns_and_the_training_operator_come_and_go_with_the_sandbox(
        tmp_path: Path) -> None:
    """`up --only kube,dns,operator`: CoreDNS answers cluster names on the sandbox's own
    link-local address and the operator serves PyTorchJob/TFJob; `down` leaves neither their
    processes nor the DNS address's interface behind."""
    workdir = str(tmp_path / "sandbox")
    up = _cli("up", "--only", "kube,dns,operator", "--workdir", workdir)
    try:
        for name in ("kube", "dns", "operator"):
            assert f"{name}: up in" in up.stdout
        state = json.loads(_cli("status", "--json", "--workdir", workdir).stdout)
        dns = state["components"]["dns"]["info"]
        assert dns["address"].startswith("169.254.53.") and dns["domain"] == "cluster.local"
        links = subprocess.run(["ip", "-o", "-4", "addr", "show", "dev", dns["interface"]],
                               capture_output=True, text=True, check=True).stdout
        assert f" {dns['address']}/32 " in links
        assert _resolve(dns["address"], "kubernetes.default.svc.cluster.local") == "10.0.0.1"
        operator = state["components"]["operator"]["info"]
        assert operator["version"] == "v1.8.1" and operator["schemes"] == ["pytorchjob", "tfjob"]
        pids = [pid for entry in state["components"].values() for pid in entry["pids"]]
    finally:
        down = _cli("down", "--workdir", workdir)
    assert "stopped: operator, dns, kube" in down.stdout
    assert pids and all(_gone(pid) for pid in pids)
    gone = subprocess.run(["ip", "link", "show", dns["interface"]], capture_output=True,
                          text=True, check=False)
    assert gone.returncode != 0


def _resolve(server: str, name: str) -> str:
    """The first A record for ``name`` from the DNS server at ``server``:53 (a plain query)."""
    import socket
    import struct

    question = b"".join(bytes([len(p)]) + p.encode() for p in name.split(".")) + b"\0"
    query = struct.pack(">HHHHHH", 0x1234, 0x0100, 1, 0, 0, 0) + question + b"\0\1\0\1"
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(5)
        sock.sendto(query, (server, 53))
        answer = sock.recv(512)
    assert answer[3] & 0xF == 0, f"rcode {answer[3] & 0xF}"
    return socket.inet_ntoa(answer[-4:])
