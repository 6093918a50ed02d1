"""A job's kernel (a warm runner's, a cold runner's, or one in a job's container) that cannot
bind its ports (another process took one between the manager picking it and the kernel binding
it) is replaced by one on new ports."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import jupyter_client.manager
import pytest
from jupyter_client.provisioning.local_provisioner import LocalPortCache

from jupyter_mlplat import runner


def test_a_kernel_whose_port_is_taken_is_started_again_on_other_ports(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    held = socket.socket()
    held.bind(("127.0.0.1", 0))
    held.listen()
    taken = held.getsockname()[1]
    real_find = LocalPortCache.find_available_port
    handed: list[int] = []

    def racing_find(self: Any, ip: str) -> int:
        """The first port handed out is one another process has bound meanwhile."""
        port = taken if not handed else real_find(self, ip)
        handed.append(port)
        return port

    made: list[Any] = []

    class CountingKernelManager(jupyter_client.manager.KernelManager):  # type: ignore[misc]
        def __init__(self, **kwargs: Any) -> None:
            super().__init__(**kwargs)
            made.append(self)

    monkeypatch.setattr(LocalPortCache, "find_available_port", racing_find)
    monkeypatch.setattr(jupyter_client.manager, "KernelManager", CountingKernelManager)
    monkeypatch.setattr(runner, "STARTUP_TIMEOUT", 30.0)
    try:
        km = runner.start_kernel("python3", str(tmp_path))
        try:
            assert taken in handed and len(made) == 2 and km is made[1] and km.is_alive()
            assert taken not in (km.shell_port, km.iopub_port, km.stdin_port, km.hb_port,
                                 km.control_port)
            assert not made[0].has_kernel  # the one that failed left nothing behind
        finally:
            km.shutdown_kernel(now=True)
    finally:
        held.close()
