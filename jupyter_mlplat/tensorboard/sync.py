"""Incremental mirror of an HDFS log dir into a local folder that TensorBoard reads.

TensorBoard event files are append-only, so a poll lists the remote tree and, per file, reads
only the bytes past the local copy's size (one offset read through the storage filesystem,
i.e. WebHDFS ``OPEN`` with ``offset``). A file that shrank was rewritten and is fetched again.
One LISTSTATUS per folder and one OPEN per grown file per poll keep the name node load small.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from pathlib import Path
from typing import Any

from .schemas import SyncStats

log = logging.getLogger(__name__)


class LogDirSync:
    """Polls ``remote`` (a folder of ``fs``) every ``interval`` seconds into ``local``."""

    def __init__(self, fs: Any, remote: str, local: Path, interval: float = 0.5) -> None:
        self.fs = fs
        self.remote = remote.rstrip("/") or "/"
        self.local = local
        self.interval = interval
        self.bytes_fetched = 0
        self.polls = 0
        self.files = 0
        self.last_sync: dt.datetime | None = None
        self.error: str | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def sync_once(self) -> int:
        """One poll; returns the bytes fetched by it."""
        moved = 0
        files = 0
        for path, info in self.fs.find(self.remote, detail=True).items():
            if info.get("type") != "file":
                continue
            files += 1
            relative = path[len(self.remote):].lstrip("/")
            target = self.local / relative
            size = int(info["size"])
            have = target.stat().st_size if target.exists() else 0
            if size == have:
                continue
            if size < have:  # rewritten, not appended: start over
                target.unlink()
                have = 0
            data = self.fs.cat_file(path, start=have, end=size)
            target.parent.mkdir(parents=True, exist_ok=True)
            with open(target, "ab") as out:
                out.write(data)
            moved += len(data)
        self.local.mkdir(parents=True, exist_ok=True)
        self.bytes_fetched += moved
        self.files = files
        self.polls += 1
        self.last_sync = dt.datetime.now(dt.timezone.utc)
        self.error = None
        return moved

    def start(self) -> None:
        self.sync_once()  # TensorBoard's first load sees what is there already
        self._thread = threading.Thread(target=self._run, name=f"tb-sync {self.remote}",
                                        daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.sync_once()
            except Exception as exc:  # a flaky name node must not end the mirror
                self.error = f"{type(exc).__name__}: {exc}"
                log.warning("tensorboard sync of %s failed: %s", self.remote, self.error)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def stats(self) -> SyncStats:
        return SyncStats(bytes_fetched=self.bytes_fetched, files=self.files, polls=self.polls,
                         last_sync=self.last_sync, error=self.error)
