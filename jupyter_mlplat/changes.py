"""Changes of runs, models and TensorBoards that the server pushes to its clients.

The services say what changed (:meth:`Changes.emit`) on the paths that change it (a run created,
settled or deleted, a model version published or staged, a deployment applied or its replicas
becoming ready, a TensorBoard started, up, failed or stopped); the server extension listens and
emits each as a jupyter_events event of one of the :data:`SCHEMAS` below (``seq`` and
``server`` added, counted per schema as for the job schema). Without a listener (the CLI, a
kernel) nothing is sent: clients of another process read the REST API as their fallback.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

_BASE = "https://schema.jupyter.org/jupyter_mlplat"
RUN_SCHEMA_ID = f"{_BASE}/run/v1"
MODEL_SCHEMA_ID = f"{_BASE}/model/v1"
TENSORBOARD_SCHEMA_ID = f"{_BASE}/tensorboard/v1"

_COUNTED = {
    "seq": {"type": "integer", "description": "this schema's emissions of the server, from 1"},
    "server": {"type": "string"},
}


def _schema(schema_id: str, title: str, description: str, kinds: list[str],
            properties: dict[str, Any]) -> dict[str, Any]:
    return {
        "$id": schema_id, "version": "1", "title": title,
        "description": description + " `seq` counts the server's emissions of this schema "
                                     "from 1: a gap or another `server` means some were "
                                     "missed (read the REST API again).",
        "type": "object", "required": ["kind", "seq", "server"],
        "properties": {"kind": {"enum": kinds}, **_COUNTED, **properties},
    }


RUN_SCHEMA = _schema(
    RUN_SCHEMA_ID, "ML Platform run change",
    "A run was created, changed state (its job's or its own: claimed, skipped, failed) or was "
    "deleted.",
    ["created", "state", "deleted"],
    {"run_id": {"type": "string"}, "state": {"type": "string", "description": "the run's "
                                                                           "state now"},
     "job_id": {"type": ["string", "null"]}, "schedule_id": {"type": ["string", "null"]}})
MODEL_SCHEMA = _schema(
    MODEL_SCHEMA_ID, "ML Platform model change",
    "A model version was published or changed stage, or the model's deployment was applied or "
    "its ready replicas changed.",
    ["published", "stage", "deployed", "deployment"],
    {"model": {"type": "string"}, "version": {"type": ["integer", "null"]},
     "stage": {"type": "string"}, "ready_replicas": {"type": ["integer", "null"]}})
TENSORBOARD_SCHEMA = _schema(
    TENSORBOARD_SCHEMA_ID, "ML Platform TensorBoard change",
    "A TensorBoard was started, changed state (running, failed) or was stopped.",
    ["started", "state", "stopped"],
    {"tensorboard_id": {"type": "string"}, "state": {"type": "string"},
     "job_id": {"type": ["string", "null"]}})

#: Every schema of this module (the job schema is ``jobs.feed.SCHEMA``).
SCHEMAS = (RUN_SCHEMA, MODEL_SCHEMA, TENSORBOARD_SCHEMA)

Listener = Callable[[str, dict[str, Any]], None]
log = logging.getLogger(__name__)


class Changes:
    """Where the services of one platform say what changed; listeners hear it (any thread)."""

    def __init__(self) -> None:
        self._listeners: list[Listener] = []
        self._lock = threading.Lock()

    def listen(self, listener: Listener) -> None:
        with self._lock:
            self._listeners.append(listener)

    def unlisten(self, listener: Listener) -> None:
        with self._lock:
            if listener in self._listeners:
                self._listeners.remove(listener)

    @property
    def listened(self) -> bool:
        """Whether anyone listens (work done only to tell a change can be skipped)."""
        return bool(self._listeners)

    def emit(self, schema_id: str, **data: Any) -> None:
        """Tell the listeners (a failing one is logged: the change itself happened)."""
        with self._lock:
            listeners = list(self._listeners)
        for listener in listeners:
            try:
                listener(schema_id, data)
            except Exception:
                log.exception("jupyter_mlplat: a change listener failed")
