"""The job feed on the sandbox's PostgreSQL: state changes written by other processes (a job's
runner, another server replica) reach it through LISTEN/NOTIFY, not by polling the events table.

The feed is driven as the server drives it (``maybe_changed`` then ``changes`` every tick) while
another Python process records the job's states on the same database; the feed's own engine
counts the statements it sends to the events table.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event

from jupyter_mlplat.db import Database
from jupyter_mlplat.devcluster.base import Component
from jupyter_mlplat.jobs.feed import JobFeed
from jupyter_mlplat.jobs.schemas import JobSpec
from jupyter_mlplat.jobs.store import JobStore

from ..helpers import wait_for

pytestmark = [pytest.mark.integration, pytest.mark.postgres]

TICK = 0.05  # the server's event_interval
WRITER = """
import sys, time
from jupyter_mlplat.db import Database
from jupyter_mlplat.jobs.schemas import JobState
from jupyter_mlplat.jobs.store import JobStore
store = JobStore(Database(sys.argv[1]))
for state in (JobState.running, JobState.succeeded):
    time.sleep(1.0)
    print(state.value, time.time(), flush=True)
    assert store.transition(sys.argv[2], state, message="written by another process")
"""


@pytest.fixture
def database(postgres: Component) -> Iterator[Database]:
    db = Database(postgres.info()["url"])
    db.migrate()
    try:
        yield db
    finally:
        db.dispose()


def events_reads(db: Database) -> list[str]:
    """The statements this engine sends that read the events table."""
    seen: list[str] = []

    def before(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if "FROM job_events" in statement and statement.lstrip().upper().startswith("SELECT"):
            seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", before)
    return seen


def tick(feed: JobFeed, out: list[tuple[float, dict[str, Any]]], seconds: float) -> None:
    """The server's loop: read when the feed may have changed (or is busy), every TICK."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if feed.busy or feed.maybe_changed():
            out.extend((time.time(), c) for c in feed.changes())
        time.sleep(TICK)


def test_states_written_by_another_process_arrive_by_notification(
        database: Database, tmp_path: Path) -> None:
    store = JobStore(database)
    feed = JobFeed(store, "pg-alice", tmp_path, tmp_path / "data", set(), database.url)
    assert feed._listener is not None
    wait_for(lambda: feed._listener is not None and feed._listener.up, timeout=30,
             what="the feed to LISTEN")
    reads = events_reads(database)
    got: list[tuple[float, dict[str, Any]]] = []
    tick(feed, got, 0.5)  # the read the connection's start asks for
    # idle: nothing is written, nothing is read from the events table
    before = len(reads)
    tick(feed, got, 2.0)
    assert len(reads) == before, reads[before:]
    # a job recorded here, its states written by another process
    job = store.create(spec=JobSpec(notebook="a.ipynb", target="cluster"), user="pg-alice",
                       name="a", outputs={})
    writer = subprocess.Popen([sys.executable, "-c", WRITER, database.url, job.id],
                              stdout=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while writer.poll() is None and time.monotonic() < deadline:
            tick(feed, got, 0.5)
        tick(feed, got, 1.0)
        out, _ = writer.communicate(timeout=10)
    finally:
        if writer.poll() is None:
            writer.kill()
    assert writer.returncode == 0, out
    written = {line.split()[0]: float(line.split()[1]) for line in out.splitlines()}
    states = {c["event_state"]: t for t, c in got
              if c.get("job_id") == job.id and c["kind"] == "state"}
    assert set(states) >= {"queued", "running", "succeeded"}, got
    delays = {s: states[s] - written[s] for s in ("running", "succeeded")}
    print(f"notification -> feed delays (s): {delays}")
    assert all(d < 1.0 for d in delays.values()), delays
    # one read of the events table per notified write, not one per tick
    reading = len(reads) - before
    assert reading <= 8, (reading, reads[before:])
    # the job ended: idle again, no reads
    before = len(reads)
    tick(feed, got, 2.5)
    assert len(reads) == before, reads[before:]


def test_the_feed_polls_while_the_listen_connection_is_down_and_listens_again(
        database: Database, tmp_path: Path) -> None:
    """A LISTEN connection killed by the database (as in a restart) leaves the feed reading by
    polling (nothing is missed), and it listens again on a new connection."""
    from sqlalchemy import text

    store = JobStore(database)
    feed = JobFeed(store, "pg-bob", tmp_path, tmp_path / "data", set(), database.url)
    listener = feed._listener
    assert listener is not None
    wait_for(lambda: listener.up, timeout=30, what="the feed to LISTEN")
    with database.engine.begin() as conn:
        killed = conn.execute(text(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE query LIKE 'LISTEN %' AND pid <> pg_backend_pid()")).all()
    assert killed, "no LISTEN connection found"
    wait_for(lambda: not listener.up, timeout=10, interval=0.05, what="the loss to be seen")
    job = store.create(spec=JobSpec(notebook="b.ipynb", target="cluster"), user="pg-bob",
                       name="b", outputs={})
    got: list[tuple[float, dict[str, Any]]] = []
    tick(feed, got, 0.3)
    assert any(c.get("job_id") == job.id for _, c in got), got
    wait_for(lambda: listener.up, timeout=30, what="the feed to LISTEN again")
