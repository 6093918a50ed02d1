"""The local backend's reconcile judges a runner by one reading of the job (real SQLite).

A reconcile pass that looked for the runner before a submit in another thread recorded its pid,
and read the pid after, took a runner that was just starting for one that had ended, and failed
a healthy job ("runner process ended without reporting a result", 3 ms after it was handed over).
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from typing import Any

import psutil

from jupyter_mlplat.config import LocalTarget, PlatformConfig
from jupyter_mlplat.db import Database
from jupyter_mlplat.jobs.backends.local import LocalBackend
from jupyter_mlplat.jobs.context import JobContext
from jupyter_mlplat.jobs.schemas import JobSpec, JobState
from jupyter_mlplat.jobs.store import JobStore


class StartsMeanwhile(JobStore):
    """A store whose first read of a job's backend reference is followed, before the reader
    goes on, by a submit recording the runner's pid: the order a busy server can run them in."""

    def __init__(self, db: Database, pid: int) -> None:
        super().__init__(db)
        self.pid = pid
        self.reads = 0

    def backend_ref(self, job_id: str) -> dict[str, Any]:
        ref = super().backend_ref(job_id)
        self.reads += 1
        if self.reads == 1:
            self.merge_backend_ref(job_id, pid=self.pid,
                                   create_time=psutil.Process(self.pid).create_time())
        return ref


def backend(tmp_path: Path, store: JobStore) -> LocalBackend:
    target = LocalTarget(name="local", warm_runners=0)
    config = PlatformConfig(data_dir=str(tmp_path / "data"), targets=[target])
    return LocalBackend(target, JobContext(config=config, store=store, root_dir=tmp_path))


def test_a_pid_recorded_while_reconcile_looks_is_not_a_lost_runner(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'jobs.db'}")
    db.migrate()
    try:
        store = StartsMeanwhile(db, os.getpid())  # a live process plays the starting runner
        job = store.create(spec=JobSpec(notebook="nb.ipynb"), user="alice", name="nb",
                           outputs={})
        backend(tmp_path, store).reconcile(job)
        assert store.get(job.id).state is JobState.queued
        assert "pid" in store.backend_ref(job.id)
    finally:
        db.dispose()


def test_reconcile_waits_for_a_start_in_progress(tmp_path: Path) -> None:
    """A start holds the slots' lock from taking a runner to recording its pid; reconcile
    judges only outside it."""
    db = Database(f"sqlite:///{tmp_path / 'jobs.db'}")
    db.migrate()
    try:
        store = JobStore(db)
        local = backend(tmp_path, store)
        job = store.create(spec=JobSpec(notebook="nb.ipynb"), user="alice", name="nb",
                           outputs={})
        store.merge_backend_ref(job.id, pid=999_999_999, create_time=0.0)  # a runner that ended
        with local._slots:
            judged = threading.Thread(target=local.reconcile, args=(job,))
            judged.start()
            time.sleep(0.3)
            assert judged.is_alive()  # the job is not judged while its start is under way
            proc = psutil.Process()
            store.merge_backend_ref(job.id, pid=proc.pid, create_time=proc.create_time())
        judged.join(timeout=10)
        assert store.get(job.id).state is JobState.queued
    finally:
        db.dispose()
