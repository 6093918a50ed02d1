"""The services of one platform, built from one config: what every entry point holds."""

from __future__ import annotations

import os
from pathlib import Path

from .changes import Changes
from .config import CONFIG_ENV, PlatformConfig, config_from_env, write_config_file
from .db import Database
from .jobs.context import ROOT_ENV, JobContext
from .jobs.service import JobService
from .jobs.store import JobStore
from .models.registry import ModelRegistry
from .runs.cronjobs import KubeCronJobs
from .runs.schedules import ScheduleService
from .runs.service import RunService
from .storage.service import StorageService
from .tensorboard.manager import TensorBoardManager


class Platform:
    def __init__(self, config: PlatformConfig, root_dir: Path,
                 config_file: Path | None = None) -> None:
        self.config = config
        self.root_dir = root_dir
        self.db = Database(config.resolved_database_url())
        self.db.migrate()
        if config_file is None:  # children (runners) must see exactly this config
            config_file = write_config_file(config, config.resolved_data_dir() / "config.json")
        self.config_file = config_file
        self.jobs = JobService(JobContext(config=config, store=JobStore(self.db),
                                          root_dir=root_dir, config_file=config_file))
        self.storage = StorageService(config, root_dir)
        #: What runs, models and TensorBoards say changed (the server pushes it on).
        self.changes = Changes()
        self.runs = RunService(self.jobs, self.db, self.changes)
        self.schedules = ScheduleService(self.runs, self.db, KubeCronJobs(self.runs))
        self.tensorboards = TensorBoardManager(
            root_dir, config.resolved_data_dir(),
            max_instances=config.limits.max_tensorboards_per_user, changes=self.changes)
        self.models = ModelRegistry(config, self.db, root_dir, self.jobs, self.changes)

    @classmethod
    def from_env(cls) -> Platform:
        """The platform a kernel, the CLI or a runner sees (config and root from the server)."""
        config_file = os.environ.get(CONFIG_ENV)
        root = Path(os.environ.get(ROOT_ENV) or os.getcwd())
        return cls(config_from_env(), root, Path(config_file) if config_file else None)

    def close(self) -> None:
        self.tensorboards.stop_all()
        self.jobs.close()
        self.db.dispose()
