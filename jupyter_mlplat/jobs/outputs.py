"""Which file is a job's output notebook: the record of what the job ran and printed.

Output notebooks are named after their job (``…/<name>-<job id>/<name>.ipynb``; before jobs had
a folder of their own, ``…/<name>-<job id>.ipynb``), so only paths of that shape cost a lookup,
and the job's own record decides.
"""

from __future__ import annotations

import re
from pathlib import PurePosixPath
from typing import TYPE_CHECKING

from ..errors import NotFound

if TYPE_CHECKING:
    from .schemas import Job
    from .store import JobStore

_JOB_ID = re.compile(r"-(j[0-9a-f]{12})$")
#: A cluster job's output folder: ``…/<job id>`` (a target's ``outputs``) or ``…/<name>-<job id>``
#: (a job's own ``output``).
_JOB_FOLDER = re.compile(r"(?:^|-)(j[0-9a-f]{12})$")


def job_of_output(store: JobStore, path: str) -> Job | None:
    """The job whose output notebook ``path`` (relative to the Jupyter root) is, or None."""
    pure = PurePosixPath(path.strip("/"))
    if pure.suffix != ".ipynb":
        return None
    for candidate in (pure.parent.name, pure.stem):
        found = _JOB_ID.search(candidate)
        if found is None:
            continue
        try:
            job = store.get(found.group(1))
        except NotFound:
            continue
        if job.outputs.notebook == pure.as_posix():
            return job
    return None


def job_of_cluster_output(store: JobStore, cluster: str, path: str) -> Job | None:
    """The job whose output notebook ``hdfs://<cluster>/<path>`` is (a cluster job's, in its
    output folder on that cluster), or None."""
    pure = PurePosixPath("/" + path.strip("/"))
    if pure.suffix != ".ipynb":
        return None
    found = _JOB_FOLDER.search(pure.parent.name)
    if found is None:
        return None
    try:
        job = store.get(found.group(1))
    except NotFound:
        return None
    return job if job.outputs.notebook == f"hdfs://{cluster}{pure.as_posix()}" else None
