"""The TensorBoard service: start (or reuse), list, stop, idle reaping; no Tornado in here.

Instances are processes of this server, so they live in memory: a server restart ends them and
the next POST of the same log dir starts a fresh one under the same id (ids are derived from the
log dir, so tabs reopen where they were).
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from ..changes import TENSORBOARD_SCHEMA_ID, Changes
from ..errors import LimitExceeded, NotFound, Unavailable, require_extra
from .logdirs import LogDir, resolve
from .process import DEFAULT_COMMAND, TensorBoardFailed, TensorBoardProcess
from .schemas import TensorBoard, TensorBoardList
from .sync import LogDirSync

if TYPE_CHECKING:
    from ..jobs.service import JobService

PROXY_PREFIX = "jupyter-mlplat/tensorboard"


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


@dataclass
class Instance:
    logdir: LogDir
    process: TensorBoardProcess
    sync: LogDirSync | None
    url: str
    job_id: str | None = None
    state: str = "starting"
    error: str | None = None
    started: dt.datetime = field(default_factory=_now)
    last_activity: dt.datetime = field(default_factory=_now)

    @property
    def current_state(self) -> str:
        if self.state == "running" and not self.process.alive():
            return "exited"
        return self.state

    def model(self) -> TensorBoard:
        return TensorBoard(
            id=self.logdir.id, logdir=self.logdir.name, url=self.url,
            state=self.current_state, error=self.error,
            started=self.started, last_activity=self.last_activity, job_id=self.job_id,
            sync=None if self.sync is None else self.sync.stats(),
        )

    def stop(self) -> None:
        if self.sync is not None:
            self.sync.stop()
        self.process.stop()


class TensorBoardManager:
    def __init__(self, root_dir: Path, data_dir: Path, base_url: str = "/",
                 idle_timeout: float = 3600.0, command: tuple[str, ...] = DEFAULT_COMMAND,
                 start_timeout: float = 90.0, sync_interval: float = 0.5,
                 max_instances: int | None = None, changes: Changes | None = None) -> None:
        self.root_dir = root_dir
        self.changes = changes or Changes()
        self.data_dir = data_dir
        self.base_url = base_url
        self.idle_timeout = idle_timeout
        self.command = command
        self.start_timeout = start_timeout
        self.sync_interval = sync_interval
        #: TensorBoard processes at once (``limits.max_tensorboards_per_user``: a server acts
        #: for one user); None for no limit.
        self.max_instances = max_instances
        self._instances: dict[str, Instance] = {}
        self._lock = threading.Lock()
        self._starting: dict[str, threading.Lock] = {}

    # -- paths ---------------------------------------------------------------------------------
    def url_path(self, tb_id: str) -> str:
        """The proxy path as the browser sees it (under the server's base URL)."""
        return f"{self.base_url.rstrip('/')}/{PROXY_PREFIX}/{tb_id}/"

    def path_prefix(self, tb_id: str) -> str:
        """TensorBoard's ``--path_prefix``: the decoded form of :meth:`url_path`, which is
        what TensorBoard compares with after decoding the request path."""
        from urllib.parse import unquote

        return unquote(self.url_path(tb_id)).rstrip("/")

    # -- API -----------------------------------------------------------------------------------
    def start(self, logdir: str | None = None, job_id: str | None = None,
              jobs: JobService | None = None, user: str | None = None
              ) -> tuple[TensorBoard, bool]:
        """(instance, created): a starting or running instance of the log dir is reused.

        The process starts in the background (TensorBoard takes seconds to import on a busy
        machine): the instance is ``starting`` until it answers, then ``running``, or
        ``failed`` with the reason; a UI polls :meth:`get`, :meth:`wait` blocks."""
        if job_id is not None:
            if jobs is None:
                raise NotFound("jobs are not available here", reason="unknown job")
            job = jobs.get(job_id, user)
            if not job.outputs.tensorboard:
                raise NotFound(f"job {job_id} has no TensorBoard log dir", reason="no log dir")
            logdir = job.outputs.tensorboard
        assert logdir is not None
        if self.command == DEFAULT_COMMAND:  # TensorBoard itself is the `tensorboard` extra
            require_extra("tensorboard", "TensorBoard", "tensorboard")
        resolved = resolve(logdir, self.root_dir, self.data_dir / "tensorboard" / "cache")
        with self._lock:
            gate = self._starting.setdefault(resolved.id, threading.Lock())
        with gate:
            existing = self._instances.get(resolved.id)
            if existing is not None and existing.current_state in ("starting", "running"):
                existing.last_activity = _now()
                return existing.model(), False
            if existing is not None:  # failed or exited: replace it
                self._drop(resolved.id)
            self._check_limit()
            process = TensorBoardProcess(
                resolved.local, self.path_prefix(resolved.id),
                self.data_dir / "tensorboard" / "logs" / f"{resolved.id}.log", self.command)
            sync = None
            if resolved.fs is not None and resolved.remote is not None:
                sync = LogDirSync(resolved.fs, resolved.remote, resolved.local,
                                  self.sync_interval)
            instance = Instance(logdir=resolved, process=process, sync=sync,
                                url=self.url_path(resolved.id), job_id=job_id)
            with self._lock:
                self._instances[resolved.id] = instance
            threading.Thread(target=self._launch, args=(instance,), daemon=True,
                             name=f"tensorboard {resolved.id}").start()
            self._changed("started", instance)
            return instance.model(), True

    def _changed(self, kind: str, instance: Instance) -> None:
        self.changes.emit(TENSORBOARD_SCHEMA_ID, kind=kind, tensorboard_id=instance.logdir.id,
                          state="stopped" if kind == "stopped" else instance.current_state,
                          job_id=instance.job_id)

    def _check_limit(self) -> None:
        if self.max_instances is None:
            return
        with self._lock:
            alive = [i for i in self._instances.values()
                     if i.current_state in ("starting", "running")]
        if len(alive) >= self.max_instances:
            raise LimitExceeded(
                f"{len(alive)} TensorBoards are running, the most allowed "
                f"(limits.max_tensorboards_per_user = {self.max_instances}); stop one first")

    def _launch(self, instance: Instance) -> None:
        try:
            if instance.sync is not None:
                instance.sync.start()
            instance.process.start(self.start_timeout)
        except Exception as exc:  # the process group is gone already (TensorBoardProcess)
            if instance.sync is not None:
                instance.sync.stop()
            instance.process.stop()
            instance.error = getattr(exc, "message", None) or f"{type(exc).__name__}: {exc}"
            instance.last_activity = _now()  # the idle clock starts when the start ends
            instance.state = "failed"
            self._changed("state", instance)
            return
        instance.last_activity = _now()  # however long the start took
        instance.state = "running"
        if self._instances.get(instance.logdir.id) is not instance:
            instance.stop()  # stopped while it was starting
            return
        self._changed("state", instance)

    def wait(self, tb_id: str, timeout: float | None = None) -> TensorBoard:
        """Block until the instance is no longer ``starting``; raise if it failed."""
        deadline = time.monotonic() + (timeout or self.start_timeout + 30)
        while True:
            board = self.get(tb_id)
            if board.state != "starting" or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        if board.state == "failed":
            raise TensorBoardFailed(board.error or "TensorBoard failed to start")
        return board

    def list_all(self) -> TensorBoardList:
        with self._lock:
            items = [i.model() for i in self._instances.values()]
        items.sort(key=lambda t: t.started, reverse=True)
        return TensorBoardList(tensorboards=items, idle_timeout=self.idle_timeout)

    def get(self, tb_id: str) -> TensorBoard:
        return self._instance(tb_id).model()

    def _instance(self, tb_id: str) -> Instance:
        with self._lock:
            instance = self._instances.get(tb_id)
        if instance is None:
            raise NotFound(f"no TensorBoard {tb_id!r} (it may have been stopped)",
                           reason="unknown tensorboard")
        return instance

    def port(self, tb_id: str) -> int:
        """The port to proxy to; counts as activity (the idle clock restarts)."""
        instance = self._instance(tb_id)
        instance.last_activity = _now()
        if instance.current_state != "running":
            raise Unavailable(f"TensorBoard {tb_id} is {instance.current_state}"
                              + (f": {instance.error}" if instance.error else ""),
                              reason=instance.current_state)
        return instance.process.port

    def stop(self, tb_id: str) -> None:
        self._instance(tb_id)
        self._drop(tb_id)

    def _drop(self, tb_id: str) -> None:
        with self._lock:
            instance = self._instances.pop(tb_id, None)
        if instance is not None:
            instance.stop()
            self._changed("stopped", instance)

    def reap_idle(self) -> list[str]:
        """Stop instances nobody requested for ``idle_timeout`` seconds (failed and exited ones
        stay listed with their reason until then, or until the log dir is opened again)."""
        cutoff = _now() - dt.timedelta(seconds=self.idle_timeout)
        with self._lock:
            idle = [k for k, i in self._instances.items()
                    if i.last_activity < cutoff and i.current_state != "starting"]
        for tb_id in idle:
            self._drop(tb_id)
        return idle

    def stop_all(self) -> None:
        with self._lock:
            ids = list(self._instances)
        for tb_id in ids:
            self._drop(tb_id)
