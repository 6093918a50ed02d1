"""Concurrent merges into a job's backend reference lose nothing (real SQLite, real threads)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from jupyter_mlplat.db import Database
from jupyter_mlplat.jobs.models import JobSpec
from jupyter_mlplat.jobs.store import JobStore


def test_concurrent_merges_keep_every_key(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'jobs.db'}")
    db.migrate()
    store = JobStore(db)
    job = store.create(spec=JobSpec(notebook="nb.ipynb"), user="alice", name="nb", outputs={})

    def merge(i: int) -> None:
        store.merge_backend_ref(job.id, **{f"key{i}": i})

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(merge, range(200)))
    assert store.backend_ref(job.id) == {f"key{i}": i for i in range(200)}
    db.dispose()
