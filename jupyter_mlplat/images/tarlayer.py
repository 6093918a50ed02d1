"""Deterministic gzip tar layers, written in one streaming pass.

An image layer is identified twice: the manifest names the gzip blob (``digest``) and the image
config names the uncompressed tar (``diff_id``). Both are hashed while the layer is written, so
a gigabyte layer is never held in memory nor read back. Entries carry mtime 0, uid/gid 0 and
fixed modes, and gzip is written with ``mtime=0`` and no file name: the same entries always give
the same two digests, which is what lets a registry answer "already have it".
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import tarfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

TarEntry = tuple[tarfile.TarInfo, IO[bytes] | None]


@dataclass(frozen=True)
class Layer:
    """A gzip layer blob on disk with the two digests an image needs."""

    path: Path
    digest: str  # sha256 of the gzip blob: what the manifest and the registry use
    diff_id: str  # sha256 of the uncompressed tar: what the image config lists
    size: int  # bytes of the gzip blob
    created_by: str = "mlplat"


class HashingWriter(io.RawIOBase):
    """Pass writes through to ``target`` while counting bytes and hashing them."""

    def __init__(self, target: IO[bytes]) -> None:
        super().__init__()
        self.target = target
        self.sha256 = hashlib.sha256()
        self.count = 0

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        view = memoryview(data)
        self.sha256.update(view)
        self.count += len(view)
        self.target.write(view)
        return len(view)

    def flush(self) -> None:
        self.target.flush()


def tarinfo(name: str, *, size: int = 0, directory: bool = False, mode: int | None = None
            ) -> tarfile.TarInfo:
    """A tar header with everything that could vary between machines pinned."""
    info = tarfile.TarInfo(name)
    info.type = tarfile.DIRTYPE if directory else tarfile.REGTYPE
    info.mode = mode if mode is not None else (0o755 if directory else 0o644)
    info.size = 0 if directory else size
    info.mtime = 0
    info.uid = info.gid = 0
    info.uname = info.gname = "root"
    return info


def parent_dirs(paths: Iterable[str]) -> list[str]:
    """Every ancestor folder of ``paths`` (relative, ``/``-separated), sorted."""
    dirs: set[str] = set()
    for path in paths:
        parts = path.split("/")[:-1]
        for i in range(1, len(parts) + 1):
            dirs.add("/".join(parts[:i]))
    return sorted(dirs)


def write_layer(out: Path, entries: Iterable[TarEntry], *, compresslevel: int = 6,
                created_by: str = "mlplat") -> Layer:
    """Stream ``entries`` (already in order) into a gzip tar at ``out``, hashing on the way.

    ``entries`` may be a generator that opens each file only when it is its turn, so that a
    layer of many files never has them all open at once. The file appears at ``out`` only when
    complete.
    """
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".partial")
    with open(tmp, "wb") as raw:
        gz_hash = HashingWriter(raw)
        with gzip.GzipFile(filename="", mode="wb", fileobj=gz_hash, mtime=0,
                           compresslevel=compresslevel) as gz:
            tar_hash = HashingWriter(gz)  # type: ignore[arg-type]
            with tarfile.open(fileobj=tar_hash, mode="w|", format=tarfile.PAX_FORMAT) as tar:
                for info, data in entries:
                    tar.addfile(info, data)
    os.replace(tmp, out)
    return Layer(path=out, digest="sha256:" + gz_hash.sha256.hexdigest(),
                 diff_id="sha256:" + tar_hash.sha256.hexdigest(), size=gz_hash.count,
                 created_by=created_by)


def files_layer(files: Mapping[str, bytes | str], out: Path, *,
                modes: Mapping[str, int] | None = None, compresslevel: int = 6,
                created_by: str | None = None) -> Layer:
    """A layer holding ``files`` (``path -> content``, relative paths; ``dir/`` is a directory).

    Parent directories get explicit entries so that every extractor creates them with the same
    owner and mode.
    """
    modes = modes or {}
    contents = {name.strip("/"): data for name, data in files.items() if not name.endswith("/")}
    dirs = set(parent_dirs(contents)) | {n.strip("/") for n in files if n.endswith("/")}
    dirs |= set(parent_dirs(dirs))
    entries: list[TarEntry] = []
    for name in sorted(dirs | set(contents)):
        if name in dirs:
            entries.append((tarinfo(name, directory=True, mode=modes.get(name)), None))
            continue
        content = contents[name]
        data = content.encode() if isinstance(content, str) else content
        entries.append((tarinfo(name, size=len(data), mode=modes.get(name)), io.BytesIO(data)))
    return write_layer(out, entries, compresslevel=compresslevel,
                       created_by=created_by or f"COPY {len(contents)} files")
