"""``python -m jupyter_mlplat.models.mirror SOURCE DEST``: the serving sidecar for HDFS stores.

Copies each numeric version folder of ``SOURCE`` (``hdfs://<cluster>/models/<name>``) that
``DEST`` lacks, through a hidden temporary folder renamed when complete, so TF Serving (which
watches ``DEST``) only ever sees whole versions. Versions are immutable: nothing is re-read.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import fsspec

from .layout import Location, copy_version, hdfs_location, versions_in


def mirror_once(source: Location, dest: Location) -> list[int]:
    have = set(versions_in(dest))
    copied = []
    for version in versions_in(source):
        if version not in have:
            copy_version(source.join(str(version)), dest, version)
            copied.append(version)
    return copied


def main(argv: list[str]) -> int:
    source = hdfs_location(argv[0])
    Path(argv[1]).mkdir(parents=True, exist_ok=True)
    dest = Location(fsspec.filesystem("file"), argv[1], argv[1])
    interval = float(argv[2]) if len(argv) > 2 else 5.0
    while True:
        for version in mirror_once(source, dest):
            print(f"mirrored version {version}", flush=True)
        time.sleep(interval)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
