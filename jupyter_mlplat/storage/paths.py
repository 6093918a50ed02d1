"""Cluster paths: one normal form, and confinement to the cluster's ``base_path``.

Every path that reaches a transport goes through :func:`confine`, so no caller (REST handler,
pandas, papermill) can reach a file outside the folder the admin configured. A ``..`` segment is
refused rather than resolved, also when it arrives percent-encoded once or several times
(``%2e%2e``, ``%252e%252e``): resolving would make the accepted set depend on how many layers
decoded the URL before us, refusing never does.
"""

from __future__ import annotations

import posixpath
from urllib.parse import unquote


class PathOutsideRoot(ValueError):
    """A path that would leave the cluster's base path; ``str()`` says which and why."""


def percent_decoded(segment: str) -> str:
    """A path segment with every layer of percent-encoding undone (``%252e`` -> ``.``)."""
    for _ in range(4):  # enough for any sane number of encoding layers
        decoded = unquote(segment)
        if decoded == segment:
            break
        segment = decoded
    return segment


def normalize(path: str) -> str:
    """``/a/b`` for any of ``a/b``, ``/a//b/``, ``/a/./b``; ``..`` is kept for :func:`confine`."""
    parts = [p for p in path.replace("\\", "/").split("/") if p not in ("", ".")]
    return "/" + "/".join(parts)


def confine(path: str, base_path: str = "/") -> str:
    """The normal form of ``path`` if it stays under ``base_path``; else :class:`PathOutsideRoot`.
    """
    if "\x00" in path:
        raise PathOutsideRoot(f"path {path!r} contains a NUL character")
    norm = normalize(path)
    decoded = (piece.strip() for part in norm.split("/")[1:]
               for piece in percent_decoded(part).replace("\\", "/").split("/"))
    if any(piece == ".." for piece in decoded):
        raise PathOutsideRoot(f"path {path!r} may not contain '..' segments")
    base = normalize(base_path)
    if base != "/" and norm != base and not norm.startswith(base + "/"):
        raise PathOutsideRoot(f"path {path!r} is outside the cluster's base path {base}")
    return norm


def join(base: str, relative: str) -> str:
    """``relative`` (a contents-API path, no leading slash) under ``base``, still unconfined."""
    return normalize(posixpath.join(normalize(base), relative.lstrip("/")))


def relative_to(path: str, base: str) -> str:
    """The contents-API form (no leading slash) of a cluster path under ``base``."""
    base = normalize(base)
    if base == "/":
        return path.lstrip("/")
    return path[len(base):].lstrip("/")


def split(path: str) -> tuple[str, str]:
    """(parent, name) of a normal path."""
    parent, name = posixpath.split(path)
    return parent or "/", name
