"""Addresses on this machine's interfaces that concurrent sandboxes must not share.

Several sandboxes may run at once on one machine (the test workers, a UI-test server, a
``mlp devcluster up``): each gives its cluster DNS a link-local ``169.254.53.x`` address and its
node's pods a ``10.231.x.0/24`` on a bridge. A sandbox picks an address no interface holds and
puts it on its interface while it holds one machine-wide lock, so the next sandbox to pick sees
it taken: two sandboxes can never pick the same one, however close together they start.
"""

from __future__ import annotations

import contextlib
import secrets
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path

from .base import ComponentError, file_lock

LOCK_DIR = Path("/run/lock")


def ip(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["ip", *args], capture_output=True, text=True, timeout=30,
                          check=False)


def _machine_lock() -> contextlib.AbstractContextManager[None]:
    """One lock for the whole machine (not in the cache folder: two users' sandboxes share
    the interfaces too)."""
    folder = LOCK_DIR if LOCK_DIR.is_dir() else Path(tempfile.gettempdir())
    return file_lock(folder / "jupyter-mlplat-host-network.lock")


def add_bridge(name: str, pick: Callable[[int], str], *, prefix: int, what: str) -> str:
    """Create bridge ``name`` (up) holding ``pick(n)/prefix`` for a random ``n`` in 1..254 whose
    address no interface holds and that shares no ``/prefix`` network with one; return it."""
    with _machine_lock():
        held = ip("-o", "-4", "addr", "show").stdout
        for _ in range(100):
            address = pick(1 + secrets.randbelow(254))
            if _network(address, prefix) not in held:
                break
        else:
            raise ComponentError(f"{what}: no free address like {pick(1)}/{prefix} "
                                 "after 100 tries")
        for args in (("link", "add", name, "type", "bridge"),
                     ("addr", "add", f"{address}/{prefix}", "dev", name),
                     ("link", "set", name, "up")):
            done = ip(*args)
            if done.returncode != 0:
                ip("link", "delete", name)
                raise ComponentError(f"{what}: ip {' '.join(args)} failed: "
                                     f"{done.stderr.strip()}")
    return address


def _network(address: str, prefix: int) -> str:
    """How ``ip -o addr`` output shows an address in the same network: `` a.b.c.d/`` for a
    /32, `` a.b.c.`` for a /24."""
    if prefix == 32:
        return f" {address}/"
    if prefix == 24:
        return " " + address.rsplit(".", 1)[0] + "."
    raise ValueError(f"prefix /{prefix}: only /24 and /32 are picked")


def delete_link(name: str) -> None:
    ip("link", "delete", name)
