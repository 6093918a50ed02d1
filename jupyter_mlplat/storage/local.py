"""A ``kind: local`` cluster: a folder on this machine behind the same transport interface.

fsspec's ``LocalFileSystem`` does the work; this class maps cluster paths under ``root`` and
refuses symlinks that would lead outside it.
"""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Iterable, Iterator

from fsspec.implementations.local import LocalFileSystem

from .errors import DirectoryNotEmpty
from .listing import Statuses
from .paths import PathOutsideRoot
from .transport import Entry


class LocalTransport:
    secrets: list[str] = []

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = os.path.realpath(os.path.expanduser(str(root)))
        self.addresses = [self.root]
        self.effective_user: str | None = None
        self.fs = LocalFileSystem()

    def _local(self, path: str) -> str:
        local = os.path.join(self.root, path.lstrip("/"))
        # The deepest existing ancestor decides where a symlink points.
        probe = local
        while not os.path.lexists(probe) and probe != self.root:
            probe = os.path.dirname(probe)
        real = os.path.realpath(probe)
        if real != self.root and not real.startswith(self.root + os.sep):
            raise PathOutsideRoot(f"path {path!r} leads outside the cluster's folder")
        return local

    def _inside(self, local: str) -> bool:
        real = os.path.realpath(local)
        return real == self.root or real.startswith(self.root + os.sep)

    def _stat(self, item: os.DirEntry[str]) -> os.stat_result:
        """An entry's own status; a symlink that leads outside the folder shows the link
        itself, never its target's size, time or type."""
        if item.is_symlink() and not self._inside(item.path):
            return item.stat(follow_symlinks=False)
        return item.stat()

    def _entry(self, path: str, st: os.stat_result) -> Entry:
        return {
            "name": path,
            "size": st.st_size,
            "type": "directory" if stat.S_ISDIR(st.st_mode) else "file",
            "mtime": st.st_mtime,
            "permission": format(st.st_mode & 0o7777, "o"),
            "owner": None,
            "group": None,
        }

    def status(self, path: str) -> Entry:
        return self._entry(path, os.stat(self._local(path)))

    def list(self, path: str) -> list[Entry]:
        local = self._local(path)
        if not os.path.isdir(local):
            return [self.status(path)]
        prefix = path.rstrip("/") + "/"
        entries = []
        with os.scandir(local) as it:
            for item in it:
                with contextlib.suppress(FileNotFoundError):  # removed while listing
                    entries.append(self._entry(prefix + item.name, self._stat(item)))
        return entries

    def listing(self, path: str) -> Statuses:
        """The folder's entries shaped like WebHDFS statuses, from one ``scandir``."""
        out: Statuses = []
        with os.scandir(self._local(path)) as it:
            for item in it:
                with contextlib.suppress(FileNotFoundError):  # removed while listing
                    st = self._stat(item)
                    is_dir = stat.S_ISDIR(st.st_mode)
                    out.append({"pathSuffix": item.name,
                                "type": "DIRECTORY" if is_dir else "FILE",
                                "length": 0 if is_dir else st.st_size,
                                "modificationTime": st.st_mtime * 1000,
                                "permission": format(st.st_mode & 0o7777, "o"),
                                "owner": None})
        return out

    def read(self, path: str, offset: int = 0, length: int | None = None) -> bytes:
        with open(self._local(path), "rb") as f:
            f.seek(offset)
            return f.read(-1 if length is None else length)

    @contextlib.contextmanager
    def stream(self, path: str, chunk_size: int) -> Iterator[Iterator[bytes]]:
        with open(self._local(path), "rb") as f:
            yield iter(lambda: f.read(chunk_size), b"")

    def create(self, path: str, data: bytes | Iterable[bytes]) -> None:
        with self.fs.open(self._local(path), "wb") as f:
            if isinstance(data, (bytes, bytearray, memoryview)):
                f.write(data)
            else:
                for chunk in data:
                    f.write(chunk)

    def append(self, path: str, data: bytes) -> None:
        with open(self._local(path), "ab") as f:
            f.write(data)

    def makedirs(self, path: str) -> None:
        self.fs.makedirs(self._local(path), exist_ok=True)

    def delete(self, path: str, recursive: bool) -> None:
        local = self._local(path)
        if os.path.isdir(local) and not os.path.islink(local):
            if not recursive and os.listdir(local):
                raise DirectoryNotEmpty(f"{path} is a non-empty directory")
            self.fs.rm(local, recursive=True)
        else:
            os.unlink(local)

    def rename(self, src: str, dst: str, overwrite: bool) -> None:
        source, target = self._local(src), self._local(dst)
        if not os.path.lexists(source):
            raise FileNotFoundError(f"rename source {src} is not found")
        if os.path.lexists(target) and (not overwrite or os.path.isdir(target)):
            raise FileExistsError(f"rename destination {dst} already exists")
        os.replace(source, target)
