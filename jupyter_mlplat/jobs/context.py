"""What backends need from the platform, in one small object (no Tornado, no handlers)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from .. import envvars
from ..config import CONFIG_ENV, PlatformConfig
from ..containment import contain, private_dirs
from .store import JobStore

if TYPE_CHECKING:
    from .schemas import Job

ROOT_ENV = envvars.ROOT_DIR
TENSORBOARD_ENV = envvars.TENSORBOARD_DIR
OUTPUT_ENV = envvars.OUTPUT_DIR


@dataclass
class JobContext:
    config: PlatformConfig
    store: JobStore
    root_dir: Path
    config_file: Path | None = None
    extra_env: dict[str, str] = field(default_factory=dict)

    def job_dir(self, job_id: str) -> Path:
        return private_dirs(self.config.resolved_data_dir() / "jobs" / job_id)

    def output_dir(self, job: Job) -> str | None:
        """A local job's own folder (``MLPLAT_OUTPUT_DIR``), relative to the root, created;
        None for a job recorded before jobs had one."""
        if not job.outputs.folder:
            return None
        private_dirs(contain(self.root_dir, job.outputs.folder, "output"))
        return job.outputs.folder

    def tensorboard_dir(self, job: Job) -> str:
        """A local job's TensorBoard dir, relative to the root: ``<its folder>/tensorboard``
        (older jobs: ``<output folder>/tensorboard/<job id>``), created so TensorBoard can open
        it at once."""
        folder = self.output_dir(job)
        if folder is not None:
            relative = (PurePosixPath(folder) / "tensorboard").as_posix()
        else:
            output = PurePosixPath(job.outputs.notebook or "mlplat-outputs/x.ipynb")
            relative = (output.parent / "tensorboard" / job.id).as_posix()
        private_dirs(contain(self.root_dir, relative, "output"))
        return relative

    def child_env(self, job: Job | None = None) -> dict[str, str]:
        """Environment for runner processes: the same config and root as this process.

        The storage clusters also travel as environment (``cluster_env``: references to secrets,
        never their values), so ``hdfs://<cluster>/`` resolves in job code even where the config
        file is not reachable; the Kubernetes backend injects the same variables into pods.
        """
        from ..storage.env import cluster_env

        env = dict(os.environ)
        env.update(cluster_env(self.config))
        env[ROOT_ENV] = str(self.root_dir)
        if self.config_file is not None:
            env[CONFIG_ENV] = str(self.config_file)
        if job is not None and job.outputs.folder:
            env[OUTPUT_ENV] = str(self.root_dir / job.outputs.folder)
        if job is not None and job.outputs.tensorboard:
            env[TENSORBOARD_ENV] = str(self.root_dir / job.outputs.tensorboard)
        env.update(self.extra_env)
        return env
