"""A job's row written from many threads at once (real SQLite, real threads)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from jupyter_mlplat.db import Database
from jupyter_mlplat.jobs.schemas import JobSpec, JobState
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


def test_notes_per_job_are_bounded_and_state_changes_are_not(tmp_path: Path) -> None:
    from jupyter_mlplat.jobs.store import NOTES_MAX

    store = JobStore(Database(f"sqlite:///{tmp_path / 'notes.db'}"))
    store.db.migrate()
    job = store.create(spec=JobSpec(code="1"), user="alice", name="n", outputs={})
    for i in range(NOTES_MAX + 50):
        store.add_event(job.id, f"BackOff {i}")
    store.transition(job.id, JobState.failed, message="crash loop")
    events = store.get(job.id).events
    notes = [e for e in events if e.state is None]
    assert len(notes) == NOTES_MAX + 1
    assert "not recorded" in notes[-1].message
    assert events[-1].state is JobState.failed
