"""Containment: the one rule for every path a request can influence.

A notebook, an output folder, an included file, a TensorBoard log dir, a model source — and
the file names made from job, run and schedule names — all pass through :func:`contain`
before anything is read or written:

1. the text must be a path a filesystem can take (no NUL, valid Unicode);
2. no segment may be ``..``, also when it arrives percent-encoded once or several times
   (``%2e%2e``, ``%252e%252e``) or with backslashes: refused, never resolved;
3. the path is *resolved* (every symlink that exists followed) and must then lie inside the
   root. A symlink inside the root that points outside is therefore outside.

Writers check again where they write (:func:`contain` in the runner, just before the output
notebook is created), so a symlink planted between the request and the write is caught too.

Display names become file names through :func:`safe_name`: only ``A-Z a-z 0-9 . _ -``
survive, so a name can never be a path. Messages quote what the request said, never an absolute
path of the server.
"""

from __future__ import annotations

import contextlib
import re
from pathlib import Path, PurePosixPath

from .errors import InvalidRequest
from .pathtext import check_path_text
from .storage.paths import percent_decoded

#: Characters a reduced file name keeps; everything else becomes ``-``.
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
SAFE_NAME_MAX = 100


class PathOutside(InvalidRequest):
    """A path that is not allowed or leads outside its root (400, reason ``path``)."""

    reason = "path"


def shown(path: str) -> str:
    """How a message quotes a requested path: as given when relative, else not at all (an
    absolute path names the server's folders)."""
    if PurePosixPath(path).is_absolute():
        return "(an absolute path)"
    return repr(path)


def check_text(path: str, field: str) -> str:
    """Rules 1 and 2: the text is a path and has no ``..`` segment, however encoded."""
    try:
        check_path_text(path)
    except ValueError as exc:
        raise PathOutside(f"{field}: {exc}") from None
    pieces = (piece.strip() for part in path.replace("\\", "/").split("/")
              for piece in percent_decoded(part).replace("\\", "/").split("/"))
    if any(piece == ".." for piece in pieces):
        raise PathOutside(f"{field}: {shown(path)} may not contain '..'; give a path inside "
                          "the Jupyter root")
    return path


def contain(root: Path, path: str, field: str) -> Path:
    """The resolved absolute path of ``path`` (relative to ``root``, or absolute inside it),
    or :class:`PathOutside` when it is not allowed or leads outside ``root``."""
    check_text(path, field)
    real_root = root.resolve()
    pure = PurePosixPath(path)
    candidate = Path(path) if pure.is_absolute() else real_root / pure
    try:
        resolved = candidate.resolve()
    except (OSError, RuntimeError):  # a symlink loop
        raise PathOutside(f"{field}: {shown(path)} cannot be resolved (a symlink loop)") \
            from None
    if not resolved.is_relative_to(real_root):
        how = " through a symlink" if not pure.is_absolute() else ""
        raise PathOutside(f"{field}: {shown(path)} leads outside the Jupyter root{how}; give "
                          "a path inside it")
    return resolved


def relative(root: Path, resolved: Path) -> str:
    """The root-relative POSIX form of a path :func:`contain` returned."""
    return resolved.relative_to(root.resolve()).as_posix()


def safe_name(name: str, fallback: str = "job") -> str:
    """``name`` reduced to a file name: no separators, no dots in front, at most 100 chars."""
    reduced = _UNSAFE.sub("-", name).strip(".-")[:SAFE_NAME_MAX].strip(".-")
    return reduced or fallback


def private_dirs(path: Path) -> Path:
    """Create ``path`` and its missing parents readable by their owner only (what the
    workbench writes for a user: job folders, outputs, TensorBoard folders)."""
    missing = []
    probe = path
    while not probe.exists() and probe != probe.parent:
        missing.append(probe)
        probe = probe.parent
    for folder in reversed(missing):
        with contextlib.suppress(FileExistsError):
            folder.mkdir(mode=0o700)
    return path
