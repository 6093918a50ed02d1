"""The small interface between the fsspec filesystem and a storage: WebHDFS or a local folder.

Everything above it (path confinement, atomic writes, contents models, REST) is shared, so a
``local`` cluster and an HDFS cluster behave the same way and are tested through one code path.
Paths are absolute cluster paths in normal form (see :mod:`.paths`).
"""

from __future__ import annotations

from collections.abc import Iterable
from contextlib import AbstractContextManager
from typing import Any, Protocol, TypedDict

from .listing import Statuses


class Entry(TypedDict):
    """fsspec's ``info()`` dict, plus the HDFS fields the contents model uses."""

    name: str
    size: int
    type: str  # "file" | "directory"
    mtime: float  # seconds since the epoch
    permission: str | None
    owner: str | None
    group: str | None


class Transport(Protocol):
    #: Where the data lives (name node URLs or the folder), for messages.
    addresses: list[str]
    #: The identity the storage checks permissions for, when known.
    effective_user: str | None
    #: Secret values this transport carries; cut from every message.
    secrets: list[str]

    def status(self, path: str) -> Entry: ...

    def list(self, path: str) -> list[Entry]: ...

    def listing(self, path: str) -> Statuses:
        """A directory's entries as WebHDFS ``FileStatus`` dicts (what listings are built from)."""
        ...

    def read(self, path: str, offset: int = 0, length: int | None = None) -> bytes: ...

    def stream(self, path: str, chunk_size: int) -> AbstractContextManager[Any]: ...

    def create(self, path: str, data: bytes | Iterable[bytes]) -> None: ...

    def append(self, path: str, data: bytes) -> None: ...

    def makedirs(self, path: str) -> None: ...

    def delete(self, path: str, recursive: bool) -> None: ...

    def rename(self, src: str, dst: str, overwrite: bool) -> None: ...
