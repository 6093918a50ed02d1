"""papermill I/O for ``hdfs://<cluster>/…``, registered through the ``papermill.io`` entry point.

papermill registers the entry point's object itself (the class), so the methods are class
methods. Each path resolves its own cluster, which is what lets
``papermill hdfs://prod-a/in.ipynb hdfs://prod-b/out.ipynb`` read from one cluster and write to
another; writes are atomic (temporary name, then rename), like every write of the filesystem.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from .filesystem import ClusterFileSystem, filesystem


def _fs(path: str) -> ClusterFileSystem:
    cluster = urlsplit(path).netloc
    if not cluster:
        raise ValueError(f"{path!r}: name the storage cluster, e.g. hdfs://prod-a/path")
    return filesystem(cluster)


class HDFSHandler:
    @classmethod
    def read(cls, path: str) -> str:
        return _fs(path).cat_file(path).decode("utf-8")

    @classmethod
    def write(cls, buf: str, path: str) -> None:
        _fs(path).pipe_file(path, buf.encode("utf-8"))

    @classmethod
    def listdir(cls, path: str) -> list[str]:
        fs = _fs(path)
        return [fs.unstrip_protocol(name) for name in fs.ls(path, detail=False)]

    @classmethod
    def pretty_path(cls, path: str) -> str:
        return path
