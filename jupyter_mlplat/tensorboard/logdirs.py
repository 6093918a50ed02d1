"""Which folder a log dir names: a folder under the Jupyter root, or ``hdfs://<cluster>/path``.

Bad names are the user's errors (400), missing folders are 404, and an HDFS cluster none of
whose name nodes answers is 503 — decided here, before any process is started.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..config import UnknownName
from ..containment import contain, shown
from ..errors import Forbidden, InvalidRequest, NotFound, Unavailable
from ..storage import PathOutsideRoot, filesystem
from ..storage.errors import NameNodesUnavailable

HDFS = "hdfs://"


@dataclass(frozen=True)
class LogDir:
    name: str  # canonical: "runs/x" (under the root) or "hdfs://prod-a/tb/x"
    local: Path  # the folder TensorBoard reads (the cache, for HDFS)
    fs: Any = None  # the storage filesystem, for HDFS
    remote: str | None = None  # the cluster path, for HDFS

    @property
    def id(self) -> str:
        """Stable per log dir, so a reopened TensorBoard keeps its URL."""
        return "tb" + hashlib.sha256(self.name.encode()).hexdigest()[:12]


def resolve(logdir: str, root_dir: Path, cache_dir: Path) -> LogDir:
    if logdir.startswith(HDFS):
        return _hdfs(logdir, cache_dir)
    return _local(logdir, root_dir)


def _local(logdir: str, root_dir: Path) -> LogDir:
    path = contain(root_dir, logdir, "logdir")
    relative = path.relative_to(root_dir.resolve()).as_posix()
    if not path.exists():
        raise NotFound(f"log dir {shown(logdir)} does not exist", reason="unknown log dir")
    if not path.is_dir():
        raise InvalidRequest(f"log dir {shown(logdir)} is a file; give its folder",
                             reason="path")
    return LogDir(name=relative, local=path)


def _hdfs(logdir: str, cache_dir: Path) -> LogDir:
    cluster, _, rest = logdir[len(HDFS):].partition("/")
    try:
        fs = filesystem(cluster)
        remote = fs.confined("/" + rest)
        info = fs.info(remote)
        if info.get("type") == "directory":
            # Seeing a folder needs only its parents: list it, so a folder the user may not
            # read is refused here (403) rather than by every poll of the sync.
            fs.ls(remote, detail=False)
    except FileNotFoundError:
        raise NotFound(f"log dir {logdir!r} does not exist", reason="unknown log dir") from None
    except PermissionError as exc:
        raise Forbidden(f"log dir {logdir!r}: {exc}", reason="permission") from exc
    except UnknownName as exc:
        raise InvalidRequest(str(exc), reason="unknown cluster") from exc
    except PathOutsideRoot as exc:
        raise InvalidRequest(str(exc), reason="path") from exc
    except NameNodesUnavailable as exc:
        raise Unavailable(str(exc), reason="cluster unavailable") from exc
    if info.get("type") != "directory":
        raise InvalidRequest(f"log dir {logdir!r} is a file; give its folder", reason="path")
    name = f"{HDFS}{cluster}{remote}"
    key = hashlib.sha256(name.encode()).hexdigest()[:16]
    return LogDir(name=name, local=cache_dir / key, fs=fs, remote=remote)
