"""Services meet through public methods: no module reaches into another object's private
members (``other._row(...)``). ``self``/``cls``/``super()`` are the object's own; names ending
in ``_`` are protocols (``_repr_mimebundle_``). Third-party private calls are listed here, each
with its reason, so that a new one is a decision and not an accident."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "jupyter_mlplat"
ALLOWED = {
    # HdfsCLI has no public LISTSTATUS that returns the raw statuses (the one-pass listing
    # builds rows from them) nor a rename that reports the name node's answer
    ("storage/webhdfs.py", "self.client._list_status"),
    ("storage/webhdfs.py", "self.client._rename"),
    # a forked child ends without running the parent's atexit handlers or flushing its buffers
    ("warm_runner.py", "os._exit"),
}


def private_accesses() -> set[tuple[str, str]]:
    found = set()
    for path in PACKAGE.rglob("*.py"):
        rel = path.relative_to(PACKAGE).as_posix()
        if rel.startswith("devcluster/"):
            continue
        for node in ast.walk(ast.parse(path.read_text(), rel)):
            if not (isinstance(node, ast.Attribute) and node.attr.startswith("_")):
                continue
            if node.attr.startswith("__") or node.attr.endswith("_"):
                continue
            owner = node.value
            if isinstance(owner, ast.Name) and owner.id in ("self", "cls"):
                continue
            if isinstance(owner, ast.Call) and ast.unparse(owner.func) == "super":
                continue
            found.add((rel, ast.unparse(node)))
    return found


def test_no_private_member_of_another_object_is_used() -> None:
    assert private_accesses() - ALLOWED == set()
