"""Reading a growing log file by byte offset without splitting a UTF-8 character."""

from __future__ import annotations

import os
from pathlib import Path

MAX_CHUNK = 1 << 20


def read_from(path: Path, offset: int, limit: int = MAX_CHUNK) -> tuple[str, int]:
    """Text from ``offset`` (at most ``limit`` bytes) and the offset to continue from."""
    try:
        with open(path, "rb") as fh:
            size = os.fstat(fh.fileno()).st_size
            if offset >= size:  # nothing new (and no seek past what the filesystem allows)
                return "", offset
            fh.seek(max(offset, 0))
            data = fh.read(limit)
    except FileNotFoundError:
        return "", offset
    for cut in range(0, 4):  # a trailing partial multi-byte character waits for the next read
        try:
            text = data[: len(data) - cut].decode("utf-8")
        except UnicodeDecodeError:
            continue
        return text, offset + len(data) - cut
    return data.decode("utf-8", errors="replace"), offset + len(data)
