"""What changed in this user's jobs since the last look, for the server to push to its clients.

States and events are written to the database by other processes (local runners, the watchers
of cluster jobs), so the feed reads the events table forward from the last event it saw (one
range of the primary key); the log of a local job grows in a file and is read forward from the
last offset; its output notebook is saved by papermill after each cell, seen by its mtime. The
log of a cluster job is pushed by its follower (:mod:`.k8s.logs`) while someone reads it. On
PostgreSQL every process that records an event notifies a channel the feed LISTENs on, and the
feed reads the events table only when told (it polls only while that connection is down).
``changes()`` returns what happened since the previous call, oldest first, as plain dicts in the
shape of :data:`SCHEMA` (``seq`` and ``server`` are added by the emitter).
"""

from __future__ import annotations

import os
import time
from collections import deque
from pathlib import Path
from typing import Any

from ..config import UnknownName
from ..db import JOB_EVENTS_CHANNEL, Listener
from .k8s.logs import attach
from .logfile import read_from
from .schemas import ACTIVE_STATES, EVENTS_SCHEMA_ID, JobState
from .store import JobStore

SCHEMA_ID = EVENTS_SCHEMA_ID
#: The jupyter_events schema of every emission: one job changed (or the feed is alive).
SCHEMA: dict[str, Any] = {
    "$id": SCHEMA_ID,
    "version": "1",
    "title": "ML Platform job change",
    "description": "A job's state, event, log text or output notebook changed; `heartbeat` "
                   "says the feed is alive. `seq` counts the server's emissions from 1: a gap "
                   "or another `server` means some were missed (read the REST API again).",
    "type": "object",
    "required": ["kind", "seq", "server"],
    "properties": {
        "kind": {"enum": ["state", "event", "log", "outputs", "heartbeat"]},
        "seq": {"type": "integer"},
        "server": {"type": "string"},
        "job_id": {"type": "string"},
        "state": {"type": "string", "description": "the job's state now"},
        "event_state": {"type": ["string", "null"], "description": "the state the event "
                                                                  "records, if any"},
        "message": {"type": "string"},
        "time": {"type": "string"},
        "offset": {"type": "integer", "description": "log: byte offset where `text` starts"},
        "next_offset": {"type": "integer", "description": "log: offset after `text`"},
        "text": {"type": "string"},
        "notebook": {"type": "string"},
    },
}

#: Log bytes pushed per job and look (more follows at the next look).
LOG_CHUNK = 64 * 1024
#: Seconds between re-reads of the active jobs (new ones are also seen through their events).
ACTIVE_EVERY = 2.0
#: The same while PostgreSQL notifies the feed of every event (a net for what has none).
LISTENING_ACTIVE_EVERY = 30.0


class JobFeed:
    """Changes of ``user``'s jobs; local jobs' logs and output notebooks too."""

    def __init__(self, store: JobStore, user: str, root_dir: Path, data_dir: Path,
                 local_targets: set[str], database_url: str = "") -> None:
        self.store = store
        # A SQLite database shows a write (by any process) in its files' size and time: one
        # stat per look says whether reading the events table can find anything.
        sqlite = database_url.split("sqlite:///", 1)[1] if database_url.startswith(
            "sqlite:///") else None
        self._db_files = [Path(sqlite), Path(sqlite + "-wal")] if sqlite else []
        self._db_seen: list[tuple[int, int]] = []
        self.user = user
        self.root_dir = root_dir
        self.data_dir = data_dir
        self.local_targets = local_targets
        self._last_event = store.last_event_id()
        self._since = time.time()
        self._watched: dict[str, dict[str, Any]] = {}  # job id -> offset, notebook, mtime
        self._active_read = 0.0
        self._active = False
        self._changed_at = 0.0
        self._pushed: deque[dict[str, Any]] = deque()  # from other threads (log followers)
        self.followers = attach(store, self._pushed.append)
        self._listener = Listener(store.db, JOB_EVENTS_CHANNEL).start() \
            if Listener.supported(store.db) else None

    def maybe_changed(self) -> bool:
        """False only when the database surely saw no write since the last call (SQLite: its
        files did not change; PostgreSQL: no notification came)."""
        if self._listener is not None:
            return not self._listener.up or self._listener.pending
        if not self._db_files:
            return True
        seen = []
        for path in self._db_files:
            try:
                st = os.stat(path)
                seen.append((st.st_mtime_ns, st.st_size))
            except OSError:
                seen.append((0, 0))
        changed = seen != self._db_seen
        self._db_seen = seen
        return changed

    @property
    def busy(self) -> bool:
        """Whether the user has active jobs or something changed in the last seconds: then
        the server reads often; otherwise it may read less often."""
        return self._active or bool(self._watched) or bool(self._pushed) or \
            time.monotonic() - self._changed_at < ACTIVE_EVERY

    def _watch(self, job_id: str, target: str, notebook: str | None, created: float) -> None:
        if job_id in self._watched or target not in self.local_targets:
            return
        log = self.data_dir / "jobs" / job_id / "job.log"
        # a job older than the feed: its earlier log is read through the REST API
        offset = 0 if created >= self._since else _size(log)
        path = self.root_dir / notebook if notebook else None
        self._watched[job_id] = {"log": log, "offset": offset, "notebook": notebook,
                                 "path": path, "mtime": _mtime(path) if path else None,
                                 "final": False}

    def _read_active(self) -> None:
        now = time.monotonic()
        if now - self._active_read < ACTIVE_EVERY:
            return
        self._active_read = now
        self._active = False
        active = set()
        for job in self.store.active():
            if job.user == self.user:
                self._active = True
                active.add(job.id)
                self._watch(job.id, job.spec.target, job.outputs.notebook,
                            job.created.timestamp())
        for job_id, seen in self._watched.items():
            if job_id not in active:
                seen["final"] = True  # ended (or deleted) without its event read here

    def changes(self) -> list[dict[str, Any]]:
        """What happened since the last call. Log text and notebook saves of the jobs already
        followed come first: they were written before any state read in the same look."""
        listening = self._listener is not None and self._listener.up
        notified = self._listener is None or self._listener.take() or not listening
        if notified or time.monotonic() - self._active_read >= LISTENING_ACTIVE_EVERY:
            self._read_active()
        out: list[dict[str, Any]] = []
        while self._pushed:
            out.append(self._pushed.popleft())
        for job_id, seen in list(self._watched.items()):
            out.extend(self._files(job_id, seen))
        before = set(self._watched)
        events = self.store.events_after(self._last_event) if notified else []
        for event_id, job_id, user, state, event in events:
            self._last_event = event_id
            if user != self.user:
                continue
            self._changed_at = time.monotonic()
            out.append({"kind": "state" if event.state else "event", "job_id": job_id,
                        "state": state, "event_state": event.state and event.state.value,
                        "message": event.message, "time": event.time.isoformat()})
            if job_id not in self._watched and JobState(state) in ACTIVE_STATES:
                self._watch_new(job_id)
            elif job_id in self._watched and JobState(state).final:
                self._watched[job_id]["final"] = True
            elif job_id in self._watched and self._watched[job_id]["path"] is None:
                self._learn_notebook(job_id)  # first seen before the submit named it
        for job_id, seen in list(self._watched.items()):
            if job_id not in before:
                out.extend(self._files(job_id, seen))
            elif seen["final"]:
                out.extend(self._files(job_id, seen))  # what it wrote after the look above
                del self._watched[job_id]
        return out

    def _watch_new(self, job_id: str) -> None:
        try:
            job = self.store.get(job_id)
        except Exception:  # deleted meanwhile
            return
        self._watch(job.id, job.spec.target, job.outputs.notebook, job.created.timestamp())

    def _learn_notebook(self, job_id: str) -> None:
        try:
            notebook = self.store.get(job_id).outputs.notebook
        except Exception:  # deleted meanwhile
            return
        if notebook:
            seen = self._watched[job_id]
            seen["notebook"], seen["path"] = notebook, self.root_dir / notebook
            seen["mtime"] = None  # a save before now is news too

    def _files(self, job_id: str, seen: dict[str, Any]) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        text, offset = read_from(seen["log"], seen["offset"], LOG_CHUNK)
        if text:
            out.append({"kind": "log", "job_id": job_id, "offset": seen["offset"],
                        "next_offset": offset, "text": text})
            seen["offset"] = offset
        if seen["path"] is not None:
            mtime = _mtime(seen["path"])
            if mtime is not None and mtime != seen["mtime"]:
                seen["mtime"] = mtime
                out.append({"kind": "outputs", "job_id": job_id, "notebook": seen["notebook"]})
        return out


def local_target_names(config: Any) -> set[str]:
    names = set()
    for target in config.targets:
        try:
            if getattr(config.target(target.name), "kind", "local") == "local":
                names.add(target.name)
        except UnknownName:
            continue
    return names


def _size(path: Path) -> int:
    try:
        return os.stat(path).st_size
    except OSError:
        return 0


def _mtime(path: Path | None) -> float | None:
    if path is None:
        return None
    try:
        return os.stat(path).st_mtime_ns / 1e9
    except OSError:
        return None
