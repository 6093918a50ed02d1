"""A job's row written from many threads at once (real SQLite, real threads)."""

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


def test_events_written_from_many_threads_are_stored_in_time_order(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'jobs.db'}")
    db.migrate()
    store = JobStore(db)
    job = store.create(spec=JobSpec(notebook="nb.ipynb"), user="alice", name="nb", outputs={})

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda i: store.add_event(job.id, f"event {i}"), range(200)))
    times = [e.time for e in store.get(job.id).events]
    assert len(times) == 201 and times == sorted(times)
    db.dispose()
