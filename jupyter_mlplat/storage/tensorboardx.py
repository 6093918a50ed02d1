"""``hdfs://`` log dirs for tensorboardX: ``SummaryWriter(os.environ["MLPLAT_TENSORBOARD_DIR"])``.

tensorboardX picks a record writer by the log dir's scheme (``s3``, ``gs``) and otherwise opens a
local file: an ``hdfs://prod-b/…`` log dir would silently become a local folder named
``hdfs:``. :func:`register` adds a writer for ``hdfs`` that appends each flush to the event file
on the cluster (one WebHDFS APPEND per flush of tensorboardX's writer, every ``flush_secs`` or on
``writer.flush()``), so the workbench's TensorBoard, which mirrors only the bytes past what it has,
sees each step soon after the job flushes it.

A job's runtime image runs :mod:`jupyter_mlplat.site_hooks` at interpreter start, which calls
:func:`register` when tensorboardX's record writer is imported; elsewhere call it yourself.
"""

from __future__ import annotations

from typing import Any


class AppendingRecordFile:
    """What tensorboardX writes records to: bytes are kept until ``flush``, then appended."""

    def __init__(self, url: str) -> None:
        import fsspec

        self.url = url
        self.fs, self.path = fsspec.core.url_to_fs(url)
        self.buffer = bytearray()
        self.created = False
        self.closed = False

    def write(self, data: bytes) -> int:
        self.buffer += data
        return len(data)

    def flush(self) -> None:
        if self.created and not self.buffer:
            return
        data, self.buffer = bytes(self.buffer), bytearray()
        if not self.created:  # tensorboardX names a new file per writer: create it
            self.fs.pipe_file(self.path, data)
            self.created = True
        else:
            self.fs.append_bytes(self.path, data)

    def close(self) -> None:
        if not self.closed:
            self.flush()
            self.closed = True


class HdfsWriterFactory:
    """tensorboardX's writer factory protocol (``open``, ``directory_check``)."""

    def open(self, path: str) -> AppendingRecordFile:
        return AppendingRecordFile(path)

    def directory_check(self, path: str) -> None:
        import fsspec

        fs, folder = fsspec.core.url_to_fs(path)
        fs.makedirs(folder, exist_ok=True)


def register(module: Any = None) -> None:
    """Make tensorboardX write ``hdfs://`` log dirs to the cluster (idempotent)."""
    if module is None:
        import importlib

        module = importlib.import_module("tensorboardX.record_writer")
    module.register_writer_factory("hdfs", HdfsWriterFactory())
