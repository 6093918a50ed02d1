"""The server extension: reads the platform config, builds the services, registers the routes."""

from __future__ import annotations

import asyncio
import os
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from jupyter_server.extension.application import ExtensionApp
from tornado.ioloop import IOLoop, PeriodicCallback
from traitlets import Dict, Float, List, Unicode

from .api.routes import ROUTES
from .config import CONFIG_ENV, ConfigError, load_config, write_config_file
from .db import is_disconnect
from .jobs.context import ROOT_ENV
from .platform import Platform
from .tensorboard.client import SERVER_URL_ENV

#: jupyter-server-proxy's server extension: its generic ``/proxy/<port>/`` routes reach any
#: loopback port (the Jupyter server itself included). We use its handler class only.
SERVER_PROXY_EXTENSION = "jupyter_server_proxy"
#: Seconds the job feed waits after a failed read (the database unreachable) before the next.
FEED_PAUSE_AFTER_ERROR = 2.0


def disable_server_proxy_extension(serverapp: Any, log: Any) -> bool:
    """Keep jupyter-server-proxy's server extension from loading in this server.

    Installing the package enables it in Jupyter's config (``jupyter_server_config.d``), and
    extensions are loaded only after all of them are linked, so switching it off while this
    extension links is in time. Returns whether it was on.
    """
    extension = serverapp.extension_manager.extensions.get(SERVER_PROXY_EXTENSION)
    was_on = bool(extension is not None and extension.enabled)
    if extension is not None:
        extension.enabled = False
    if serverapp.jpserver_extensions.get(SERVER_PROXY_EXTENSION):
        serverapp.jpserver_extensions = {**serverapp.jpserver_extensions,
                                         SERVER_PROXY_EXTENSION: False}
    if was_on:
        log.info("jupyter_mlplat: jupyter_server_proxy's server extension (its /proxy/<port>/ "
                 "routes) stays off; TensorBoard is proxied at jupyter-mlplat/tensorboard/")
    return was_on


class MLPlatApp(ExtensionApp):
    name = "jupyter_mlplat"
    description = "The workbench of an ML platform: HDFS, training jobs, runs, models."

    config_file = Unicode("", config=True,
                          help="YAML file with the platform config (the traits below win).")
    user = Unicode("", config=True, help="The workbench user (default: the OS user).")
    data_dir = Unicode("", config=True, help="Database, logs and job files (default: "
                                             "<Jupyter data dir>/mlplat).")
    database_url = Unicode("", config=True, help="SQLAlchemy URL (default: SQLite in data_dir).")
    storage = List(Dict(), config=True, help="Storage clusters (see the config reference).")
    registry = Dict(config=True, help="Image registry: push, pull, insecure, credentials.")
    runtimes = List(Dict(), config=True, help="Runtimes: name, image, python, workdir, resources.")
    targets = List(Dict(), config=True, help="Compute targets: local or kubernetes.")
    model_store = Unicode("", config=True, help="Model store URL (default: local).")
    limits = Dict(config=True, help="Limits on bodies, parameters, schedules, queued jobs and "
                                    "TensorBoards (see the config reference).")
    reconcile_interval = Float(2.0, config=True,
                               help="Seconds between checks of active jobs against backends.")
    event_interval = Float(0.05, config=True,
                           help="Seconds between reads of job changes (states, events, log "
                                "text, output notebooks) that the server pushes to the browser "
                                "as Jupyter events (0: none are pushed; the views poll).")
    idle_event_interval = Float(0.5, config=True,
                                help="Seconds between reads of job changes while none of the "
                                     "user's jobs is active and nothing changed lately (on "
                                     "SQLite a write to the database file is read at once).")
    heartbeat_interval = Float(10.0, config=True,
                               help="Seconds after which the job feed says it is alive when "
                                    "nothing changed (browsers poll while they miss it).")
    scheduler_interval = Float(5.0, config=True,
                               help="Seconds between scheduler ticks (0 disables the scheduler "
                                    "of `local` schedules in this server).")
    schedule_lease = Float(60.0, config=True,
                           help="Seconds a server holds a claimed firing before another server "
                                "may take it over (it died meanwhile).")
    misfire_grace = Float(60.0, config=True,
                          help="Seconds after a due time within which a firing is on time; "
                               "later ones follow the schedule's misfire policy.")
    tensorboard_idle_timeout = Float(3600.0, config=True,
                                     help="Seconds without a request before a TensorBoard stops.")
    tensorboard_command = List(Unicode(), config=True,
                               help="Command that starts TensorBoard (default: this Python's "
                                    "`-m tensorboard.main`); arguments are appended.")

    def _link_jupyter_server_extension(self, serverapp: Any) -> None:
        super()._link_jupyter_server_extension(serverapp)
        disable_server_proxy_extension(serverapp, self.log)

    def _platform_data(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "user": self.user, "data_dir": self.data_dir, "database_url": self.database_url,
            "storage": self.storage, "registry": self.registry, "runtimes": self.runtimes,
            "targets": self.targets, "model_store": self.model_store, "limits": self.limits,
        }
        return {k: v for k, v in data.items() if v not in ("", None, [], {})}

    def initialize_settings(self) -> None:
        try:
            config = load_config(self._platform_data(), self.config_file or None)
        except ConfigError as exc:
            self.log.critical("jupyter_mlplat: %s", exc)
            # A half-configured platform is worse than none: stop the server with the reason.
            sys.exit(f"jupyter_mlplat: {exc}")
        assert self.serverapp is not None
        root = Path(os.path.expanduser(self.serverapp.root_dir)).resolve()
        config_file = write_config_file(config, Path(self.serverapp.runtime_dir)
                                        / f"mlplat-config-{os.getpid()}.json")
        # Kernels and terminals started by this server inherit these: one platform everywhere.
        os.environ[CONFIG_ENV] = str(config_file)
        os.environ[ROOT_ENV] = str(root)
        self.platform = Platform(config, root, config_file)
        self.settings["mlplat"] = self.platform
        self._warm_local_runners(config)
        self._start_job_feed(config, root)
        self._start_change_push()
        self.log.info("jupyter_mlplat: storage %s, targets %s, database %s",
                      [c.name for c in config.storage], [t.name for t in config.targets],
                      config.resolved_database_url().split("@")[-1])
        self._reconciler = PeriodicCallback(self._reconcile, self.reconcile_interval * 1000)
        self._reconciler.start()
        self._reconciling = False
        self._start_scheduler()
        self._setup_tensorboards()
        # A job's output notebook is its record: read-only through Jupyter's contents API.
        from .api.contents_guard import install as guard_job_outputs

        guard_job_outputs(self.serverapp.contents_manager, self.platform.jobs.store)

    def _start_job_feed(self, config: Any, root: Path) -> None:
        """Push the changes of this user's jobs through Jupyter's event bus (jupyter_events):
        the panel, the job detail and its log follow them as they happen."""
        from .jobs.feed import SCHEMA, JobFeed, local_target_names

        self._feed: JobFeed | None = None
        self._feeder: PeriodicCallback | None = None
        if self.event_interval <= 0:
            return
        assert self.serverapp is not None
        if self.serverapp.event_logger is None:
            return
        self.serverapp.event_logger.register_event_schema(SCHEMA)
        self._feed = JobFeed(self.platform.jobs.store, config.user, root,
                             config.resolved_data_dir(), local_target_names(config),
                             config.resolved_database_url())
        self._feed_server = uuid.uuid4().hex
        self._feed_seq = 0
        self._feed_busy = False
        self._feed_emitted = self._feed_read = time.monotonic()
        self._feed_paused_until = 0.0
        self._feeder = PeriodicCallback(self._push_job_changes, self.event_interval * 1000)
        self._feeder.start()

    async def _push_job_changes(self) -> None:
        from .jobs.feed import SCHEMA_ID

        if self._feed is None or self._feed_busy:
            return
        now = time.monotonic()
        if now < self._feed_paused_until:
            return
        if not self._feed.busy and not self._feed.maybe_changed() \
                and now - self._feed_read < self.idle_event_interval:
            return
        self._feed_read = now
        self._feed_busy = True
        try:
            changes = await asyncio.get_running_loop().run_in_executor(None, self._feed.changes)
        except Exception as exc:
            # one line per pause, not one per tick, while the database is unreachable
            self._feed_paused_until = time.monotonic() + FEED_PAUSE_AFTER_ERROR
            self._log_loop_error("reading job changes failed", exc)
            return
        finally:
            self._feed_busy = False
        now = time.monotonic()
        if not changes and now - self._feed_emitted >= self.heartbeat_interval:
            changes = [{"kind": "heartbeat"}]
        assert self.serverapp is not None and self.serverapp.event_logger is not None
        for data in changes:
            self._feed_seq += 1
            self.serverapp.event_logger.emit(schema_id=SCHEMA_ID, data={
                **data, "seq": self._feed_seq, "server": self._feed_server})
            self._feed_emitted = now
        moved = [c["job_id"] for c in changes if c.get("kind") == "state"]
        if moved and self._change_listener is not None:
            await self._push_run_states(moved)

    def _start_change_push(self) -> None:
        """Push what runs, models and TensorBoards say changed (``changes.SCHEMAS``) through
        the same event bus: the sidebar shows a publish or a run's new state at once."""
        from .changes import SCHEMAS

        self._change_listener: Any = None
        assert self.serverapp is not None
        logger = self.serverapp.event_logger
        if self.event_interval <= 0 or logger is None:
            return
        for schema in SCHEMAS:
            logger.register_event_schema(schema)
        self._change_server = getattr(self, "_feed_server", None) or uuid.uuid4().hex
        self._change_seq: dict[str, int] = {}
        loop = IOLoop.current()

        def listener(schema_id: str, data: dict[str, Any]) -> None:
            loop.add_callback(self._emit_change, schema_id, data)  # from any thread

        self._change_listener = listener
        self.platform.changes.listen(listener)

    def _emit_change(self, schema_id: str, data: dict[str, Any]) -> None:
        assert self.serverapp is not None and self.serverapp.event_logger is not None
        seq = self._change_seq[schema_id] = self._change_seq.get(schema_id, 0) + 1
        self.serverapp.event_logger.emit(schema_id=schema_id, data={
            **data, "seq": seq, "server": self._change_server})

    async def _push_run_states(self, job_ids: list[str]) -> None:
        """A job's new state is its run's too: say so for the runs among the jobs."""
        from .changes import RUN_SCHEMA_ID

        try:
            runs = await asyncio.get_running_loop().run_in_executor(
                None, self.platform.runs.runs_of_jobs, job_ids)
        except Exception as exc:
            self._log_loop_error("reading the runs of changed jobs failed", exc)
            return
        for run in runs:
            self._emit_change(RUN_SCHEMA_ID, {
                "kind": "state", "run_id": run.id, "state": run.state.value,
                "job_id": run.job_id, "schedule_id": run.schedule_id})

    def _warm_local_runners(self, config: Any) -> None:
        """Local targets keep runners waiting with a kernel started (``warm_runners``)."""
        from .config import LocalTarget
        from .jobs.backends.local import LocalBackend

        for target in config.targets:
            if isinstance(target, LocalTarget):
                backend = self.platform.jobs.backend(target.name)
                if isinstance(backend, LocalBackend):
                    backend.warm()

    def _setup_tensorboards(self) -> None:
        assert self.serverapp is not None
        boards = self.platform.tensorboards
        boards.base_url = self.serverapp.base_url
        # Kernels and terminals reach this server's TensorBoard API by it (no secret in it).
        os.environ[SERVER_URL_ENV] = self.serverapp.connection_url
        boards.idle_timeout = self.tensorboard_idle_timeout
        if self.tensorboard_command:
            boards.command = tuple(self.tensorboard_command)
        every = max(0.5, min(60.0, self.tensorboard_idle_timeout / 4))
        self._tb_reaper = PeriodicCallback(self._reap_tensorboards, every * 1000)
        self._tb_reaper.start()

    async def _reap_tensorboards(self) -> None:
        assert self.serverapp is not None
        os.environ[SERVER_URL_ENV] = self.serverapp.connection_url  # the port is bound now
        loop = asyncio.get_running_loop()
        try:
            stopped = await loop.run_in_executor(None, self.platform.tensorboards.reap_idle)
        except Exception:
            self.log.exception("jupyter_mlplat: stopping idle TensorBoards failed")
            return
        if stopped:
            self.log.info("jupyter_mlplat: stopped idle TensorBoards %s", stopped)

    def _start_scheduler(self) -> None:
        """Fire `local` schedules from this server (all servers may: the lease decides)."""
        from .runs.scheduler import Scheduler

        self._scheduler = Scheduler(self.platform.schedules, lease=self.schedule_lease,
                                    grace=self.misfire_grace)
        self._scheduling = False
        self._schedule_ticker: PeriodicCallback | None = None
        if self.scheduler_interval > 0:
            self._schedule_ticker = PeriodicCallback(self._tick_scheduler,
                                                     self.scheduler_interval * 1000)
            self._schedule_ticker.start()

    async def _tick_scheduler(self) -> None:
        if self._scheduling:
            return
        self._scheduling = True
        began = time.monotonic()
        try:
            await asyncio.get_running_loop().run_in_executor(None, self._scheduler.tick)
        except Exception as exc:
            self._log_loop_error("scheduler tick failed", exc)
        finally:
            self._scheduling = False
        took = time.monotonic() - began
        if took > self.misfire_grace / 2:
            self.log.warning("jupyter_mlplat: a scheduler tick took %.1f s; due times later "
                             "than the misfire grace (%g s) follow the misfire policy",
                             took, self.misfire_grace)

    async def _reconcile(self) -> None:
        if self._reconciling:
            return
        self._reconciling = True
        try:
            await asyncio.get_running_loop().run_in_executor(None, self.platform.jobs.reconcile)
        except Exception as exc:
            self._log_loop_error("reconciling jobs failed", exc)
        finally:
            self._reconciling = False

    def _log_loop_error(self, what: str, exc: Exception) -> None:
        """A database outage is one line per tick (the loop goes on); anything else a trace."""
        if is_disconnect(exc):
            self.log.warning("jupyter_mlplat: %s: database unreachable, retrying next tick: %s",
                             what, str(getattr(exc, "orig", exc)).strip())
        else:
            self.log.error("jupyter_mlplat: %s", what, exc_info=exc)

    def initialize_handlers(self) -> None:
        self.handlers.extend(ROUTES)

    async def stop_extension(self) -> None:
        if getattr(self, "_reconciler", None) is not None:
            self._reconciler.stop()
        feeder = getattr(self, "_feeder", None)
        if feeder is not None:
            feeder.stop()
        if getattr(self, "_tb_reaper", None) is not None:
            self._tb_reaper.stop()
        ticker = getattr(self, "_schedule_ticker", None)
        if ticker is not None:
            ticker.stop()
        if getattr(self, "platform", None) is not None:
            if getattr(self, "_change_listener", None) is not None:
                self.platform.changes.unlisten(self._change_listener)
            self.platform.close()
