"""Sandboxes starting together on one machine never pick the same address for their bridges.

Like the sandbox itself, these create interfaces, so they run as root (as CI does).
"""

from __future__ import annotations

import multiprocessing
import secrets
import subprocess
from typing import Any

import pytest

from jupyter_mlplat.devcluster import host_network
from jupyter_mlplat.devcluster.base import ComponentError


def _two_choices(n: int) -> str:
    """Only two addresses to choose from: two pickers at once must take one each."""
    return f"169.254.99.{1 + n % 2}"


def _claim(name: str, barrier: Any, results: Any) -> None:
    barrier.wait()
    results.put(host_network.add_bridge(name, _two_choices, prefix=32, what="test"))


def test_pickers_at_the_same_moment_get_different_addresses() -> None:
    names = ["mlptest" + secrets.token_hex(3) for _ in range(2)]
    ctx = multiprocessing.get_context("fork")
    barrier, results = ctx.Barrier(2), ctx.Queue()
    procs = [ctx.Process(target=_claim, args=(name, barrier, results)) for name in names]
    try:
        for proc in procs:
            proc.start()
        for proc in procs:
            proc.join(timeout=60)
            assert proc.exitcode == 0
        picked = {results.get(timeout=5), results.get(timeout=5)}
        assert picked == {"169.254.99.1", "169.254.99.2"}
        held = subprocess.run(["ip", "-o", "-4", "addr", "show"], capture_output=True,
                              text=True, check=True).stdout
        assert all(f" {address}/32" in held for address in picked)
        # a third finds nothing free and says so, leaving no interface behind
        third = "mlptest" + secrets.token_hex(3)
        with pytest.raises(ComponentError, match="no free address"):
            host_network.add_bridge(third, _two_choices, prefix=32, what="test")
        links = subprocess.run(["ip", "-o", "link", "show"], capture_output=True, text=True,
                               check=True).stdout
        assert f" {third}:" not in links
    finally:
        for name in names:
            host_network.delete_link(name)


def test_a_24_is_free_only_when_no_interface_has_an_address_in_it() -> None:
    name, other = ("mlptest" + secrets.token_hex(3) for _ in range(2))
    try:
        gateway = host_network.add_bridge(name, lambda n: "10.233.7.1", prefix=24, what="t")
        assert gateway == "10.233.7.1"
        with pytest.raises(ComponentError):  # 10.233.7.9 is in the network 10.233.7.1/24 holds
            host_network.add_bridge(other, lambda n: "10.233.7.9", prefix=24, what="t")
    finally:
        host_network.delete_link(name)
        host_network.delete_link(other)
