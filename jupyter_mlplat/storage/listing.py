"""Directory listings for the browser, built in one pass over the storage's own statuses.

A 10,000-entry folder is a 2.9 MB LISTSTATUS reply. Turning each status into an fsspec entry
and then into a contents model or a compact row walks it twice and builds 10,000 throwaway
dicts; these builders go from WebHDFS ``FileStatus`` dicts (which the local transport also
produces) straight to what the REST route sends. Times are formatted once per second, as
entries written together share their second.
"""

from __future__ import annotations

import datetime as dt
import functools
import time
from typing import Any, TypedDict


class Status(TypedDict):
    """The fields of a WebHDFS ``FileStatus`` a listing uses (local folders produce them too)."""

    pathSuffix: str
    type: str  # "FILE" | "DIRECTORY" (| "SYMLINK")
    length: int
    modificationTime: float  # milliseconds since the epoch
    permission: str | None
    owner: str | None


#: A directory's statuses (an alias: the transports have a method named ``list``).
Statuses = list[Status]


def iso(timestamp: float) -> str:
    """Seconds since the epoch as Jupyter's ISO 8601 UTC string (``...Z``)."""
    return dt.datetime.fromtimestamp(timestamp, tz=dt.timezone.utc).isoformat() \
        .replace("+00:00", "Z")


@functools.lru_cache(maxsize=4096)
def _iso_second(second: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))


def iso_millis(millis: float) -> str:
    """``iso(millis / 1000)`` with the second's text cached: what listings spend time on."""
    second = int(millis // 1000)
    micros = round((millis - second * 1000) * 1000)
    if micros >= 1_000_000:
        second, micros = second + 1, 0
    prefix = _iso_second(second)
    return f"{prefix}.{micros:06d}Z" if micros else f"{prefix}Z"


@functools.lru_cache(maxsize=64)
def _octal(permission: str) -> int:
    return int(permission, 8)


def writable(permission: str | None, owner: str | None, user: str | None) -> bool:
    """From the permission bits when the acting user is known (superusers may do more)."""
    if user is None or not permission or owner is None:
        return True
    return bool(_octal(permission) & (0o200 if owner == user else 0o022))


def kind(name: str, is_dir: bool) -> str:
    return "directory" if is_dir else ("notebook" if name.endswith(".ipynb") else "file")


def visible(statuses: list[Status]) -> list[Status]:
    """Without hidden entries (``.name``: temporary files of atomic writes, dot files)."""
    return [s for s in statuses if not s["pathSuffix"].startswith(".")]


def rows(statuses: list[Status], user: str | None) -> list[list[Any]]:
    """The compact listing: ``[name, type, size, last_modified, writable]`` per entry.

    A drive expands these into contents models in the browser; the payload is a quarter of
    the models' and parses accordingly faster for very large folders.
    """
    stamp, can_write = iso_millis, writable
    out = []
    for s in statuses:
        name = s["pathSuffix"]
        is_dir = s["type"] == "DIRECTORY"
        out.append([
            name,
            "directory" if is_dir else ("notebook" if name.endswith(".ipynb") else "file"),
            s["length"],
            stamp(s["modificationTime"]),
            can_write(s["permission"], s["owner"], user),
        ])
    return out


def models(statuses: list[Status], folder: str, user: str | None) -> list[dict[str, Any]]:
    """Contents models without content of the entries of ``folder`` (relative to the root)."""
    stamp, can_write = iso_millis, writable
    prefix = f"{folder.strip('/')}/" if folder.strip("/") else ""
    out = []
    for s in statuses:
        name = s["pathSuffix"]
        is_dir = s["type"] == "DIRECTORY"
        when = stamp(s["modificationTime"])
        out.append({
            "name": name,
            "path": prefix + name,
            "type": "directory" if is_dir else (
                "notebook" if name.endswith(".ipynb") else "file"),
            "writable": can_write(s["permission"], s["owner"], user),
            "created": when,
            "last_modified": when,
            "size": None if is_dir else s["length"],
            "mimetype": None,
            "format": None,
            "content": None,
        })
    return out
