"""Atomic, streaming writes: bytes go to a hidden temporary file, renamed over the target.

A writer that fails or is interrupted (an exception in the ``with`` block, a killed process, a
dropped connection) never leaves a truncated file in place of the old one: the target is only
replaced by the rename, which HDFS (``rename2`` with ``OVERWRITE``) and POSIX do atomically.

Bytes stream to the storage in one request while the caller writes (a bounded queue feeds a
background thread), so a 512 MB file never sits in memory and costs one WebHDFS CREATE.
"""

from __future__ import annotations

import contextlib
import io
import queue
import threading
import uuid
from collections.abc import Iterator
from typing import Any

from .paths import split
from .transport import Transport

CHUNK = 4 * 2**20
TEMP_MARK = ".mlplat-"


def temp_name(path: str, tag: str | None = None) -> str:
    """A hidden sibling of ``path``: same folder (rename stays inside one directory)."""
    parent, name = split(path)
    return f"{parent.rstrip('/')}/.{name}{TEMP_MARK}{tag or uuid.uuid4().hex[:12]}.tmp"


def is_temp(name: str) -> bool:
    return name.startswith(".") and TEMP_MARK in name and name.endswith(".tmp")


_DONE = object()


class AtomicWriter(io.RawIOBase):
    """A binary file object; ``close()`` commits, ``discard()`` (or an exception) abandons."""

    def __init__(self, transport: Transport, path: str, chunk_size: int = CHUNK) -> None:
        super().__init__()
        self.transport = transport
        self.path = path
        self.temp = temp_name(path)
        self.chunk_size = chunk_size
        self._buffer = bytearray()
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=4)
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None
        self._done = False

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        if self._done:
            raise ValueError("I/O operation on closed file")
        view = memoryview(data).cast("B")
        self._buffer += view
        while len(self._buffer) >= self.chunk_size:
            self._send(bytes(self._buffer[: self.chunk_size]))
            del self._buffer[: self.chunk_size]
        return view.nbytes

    def _chunks(self) -> Iterator[bytes]:
        while True:
            item = self._queue.get()
            if item is _DONE:
                return
            yield item

    def _run(self) -> None:
        try:
            self.transport.create(self.temp, self._chunks())
        except BaseException as exc:
            self._error = exc
            while self._queue.get() is not _DONE:  # unblock the producer
                pass

    def _send(self, chunk: bytes) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, daemon=True,
                                            name=f"mlplat-write-{self.path}")
            self._thread.start()
        if self._error is not None:
            self._abandon()
            raise self._error
        self._queue.put(chunk)

    def _finish_stream(self) -> None:
        if self._thread is None:  # small file: one request with the bytes
            self.transport.create(self.temp, bytes(self._buffer))
        else:
            if self._buffer:
                self._queue.put(bytes(self._buffer))
            self._queue.put(_DONE)
            self._thread.join()
            if self._error is not None:
                raise self._error
        self._buffer = bytearray()

    def close(self) -> None:
        """Finish the upload and swap the temporary file in; on failure the target is intact."""
        if self._done:
            return
        try:
            self._finish_stream()
            self.transport.rename(self.temp, self.path, overwrite=True)
        except BaseException:
            self._abandon()
            raise
        finally:
            self._done = True
            super().close()

    def discard(self) -> None:
        """Abandon the write: the temporary file goes, the target is untouched."""
        if not self._done:
            self._abandon()
            super().close()

    def _abandon(self) -> None:
        self._done = True
        if self._thread is not None and self._thread.is_alive():
            self._error = self._error or RuntimeError("write abandoned")
            # Ends the request body early; the data node sees a short, discarded file.
            self._queue.put(_DONE)
            self._thread.join(timeout=30)
        with contextlib.suppress(Exception):  # best effort: a hidden leftover is harmless
            self.transport.delete(self.temp, recursive=False)

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if exc_type is not None:
            self.discard()
        else:
            self.close()
