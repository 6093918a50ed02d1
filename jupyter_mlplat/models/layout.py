"""The model store on an fsspec filesystem: ``<store>/<name>/<version>/…`` (TF Serving's layout).

A version is copied into a hidden temporary folder (``.tmp-…``: TF Serving only looks at numeric
folder names) with a sha256 manifest, and renamed to its number only when complete; any failure
or interruption removes the temporary folder, so a half-written version never appears. Local
folders and ``hdfs://<cluster>/`` go through the same code (an fsspec filesystem each).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import fsspec

from ..config import UnknownName
from ..containment import contain, relative, shown
from ..errors import InvalidRequest, NotFound, Unavailable
from ..storage import PathOutsideRoot, filesystem
from ..storage.errors import NameNodesUnavailable

HDFS = "hdfs://"
MANIFEST = "mlplat-manifest.json"
CHUNK = 4 * 2**20

#: Called after each copied file with its relative path; raising aborts the copy cleanly.
Progress = Callable[[str], None]


@dataclass(frozen=True)
class Location:
    """A folder or file on one filesystem; ``url`` is how the platform names it."""

    fs: Any
    path: str
    url: str
    #: How the API shows it: ``url``, except for the default store in the server's data
    #: folder, shown as ``data_dir:models/…`` (no absolute path of the server).
    shown: str = ""

    def join(self, *parts: str) -> Location:
        path = "/".join([self.path.rstrip("/"), *parts])
        return Location(self.fs, path, "/".join([self.url.rstrip("/"), *parts]),
                        "/".join([(self.shown or self.url).rstrip("/"), *parts]))

    @property
    def public(self) -> str:
        return self.shown or self.url


@contextlib.contextmanager
def storage_errors(what: str) -> Iterator[None]:
    """Storage exceptions as the user's 400/403/404/503."""
    try:
        yield
    except UnknownName as exc:
        raise InvalidRequest(str(exc), reason="unknown cluster") from exc
    except PathOutsideRoot as exc:
        raise InvalidRequest(str(exc), reason="path") from exc
    except NameNodesUnavailable as exc:
        raise Unavailable(str(exc), reason="cluster unavailable") from exc
    except FileNotFoundError as exc:
        raise NotFound(f"{what} not found", reason="not found") from exc


def hdfs_location(url: str) -> Location:
    cluster, _, rest = url[len(HDFS):].partition("/")
    fs = filesystem(cluster)
    path = fs.confined("/" + rest)
    return Location(fs, path, f"{HDFS}{cluster}{path}")


def store_location(store_url: str | None, data_dir: Path) -> Location:
    if store_url and store_url.startswith(HDFS):
        with storage_errors("model store"):
            return hdfs_location(store_url)
    path = Path(store_url.removeprefix("file://")).expanduser() if store_url \
        else data_dir / "models"
    path.mkdir(parents=True, exist_ok=True)
    return Location(fsspec.filesystem("file"), str(path.resolve()), str(path.resolve()),
                    store_url or "data_dir:models")


def artifact_location(path: str, root_dir: Path) -> Location:
    """The artifact to publish: a path under the Jupyter root or ``hdfs://``; 404 if missing."""
    if path.startswith(HDFS):
        with storage_errors("artifact"):
            loc = hdfs_location(path)
            loc.fs.info(loc.path)
        return loc
    absolute = contain(root_dir, path, "path")
    if not absolute.exists():
        raise NotFound(f"artifact {shown(path)} not found", reason="not found")
    return Location(fsspec.filesystem("file"), str(absolute), str(absolute),
                    relative(root_dir, absolute))


def versions_in(model_dir: Location) -> list[int]:
    """Numeric version folders (what TF Serving would consider), ascending."""
    try:
        names = [PurePosixPath(p).name for p in model_dir.fs.ls(model_dir.path, detail=False)]
    except FileNotFoundError:
        return []
    return sorted(int(n) for n in names if n.isdigit())


def _files(source: Location) -> list[tuple[str, str]]:
    """(absolute path on the source fs, relative path) of every file to copy."""
    info = source.fs.info(source.path)
    if info["type"] != "directory":
        return [(source.path, PurePosixPath(source.path).name)]
    base = source.path.rstrip("/")
    found = source.fs.find(base, detail=True)
    return sorted((p, p[len(base):].lstrip("/")) for p, i in found.items()
                  if i.get("type") == "file")


def copy_version(source: Location, model_dir: Location, version: int,
                 progress: Progress | None = None) -> tuple[dict[str, str], int]:
    """Copy ``source`` to ``model_dir/<version>`` atomically; (manifest, total bytes)."""
    fs = model_dir.fs
    target = model_dir.join(str(version))
    if fs.exists(target.path):
        raise InvalidRequest(f"version folder {target.public} already exists", reason="exists")
    temp = model_dir.join(f".tmp-{version}-{secrets.token_hex(4)}")
    manifest: dict[str, str] = {}
    total = 0
    try:
        fs.makedirs(temp.path, exist_ok=True)
        for path, relative in _files(source):
            digest = hashlib.sha256()
            fs.makedirs(temp.join(relative).path.rsplit("/", 1)[0], exist_ok=True)
            with source.fs.open(path, "rb") as src, fs.open(temp.join(relative).path, "wb") as out:
                while chunk := src.read(CHUNK):
                    digest.update(chunk)
                    out.write(chunk)
                    total += len(chunk)
            manifest[relative] = digest.hexdigest()
            if progress is not None:
                progress(relative)
        with fs.open(temp.join(MANIFEST).path, "wb") as out:
            out.write(json.dumps({"version": version, "sha256": manifest}, indent=1,
                                 sort_keys=True).encode())
        fs.mv(temp.path, target.path, recursive=True)
    except BaseException:
        with contextlib.suppress(Exception):
            fs.rm(temp.path, recursive=True)
        raise
    return manifest, total
