"""What backends need from the platform, in one small object (no Tornado, no handlers)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from ..config import CONFIG_ENV, PlatformConfig
from ..containment import contain, private_dirs
from .store import JobStore

if TYPE_CHECKING:
    from .models import Job

ROOT_ENV = "MLPLAT_ROOT_DIR"
#: The folder a job writes TensorBoard events to (``tf.summary``/tensorboardX ``logdir``).
TENSORBOARD_ENV = "MLPLAT_TENSORBOARD_DIR"


@dataclass
class JobContext:
    config: PlatformConfig
    store: JobStore
    root_dir: Path
    config_file: Path | None = None
    extra_env: dict[str, str] = field(default_factory=dict)

    def job_dir(self, job_id: str) -> Path:
        return private_dirs(self.config.resolved_data_dir() / "jobs" / job_id)

    def tensorboard_dir(self, job: Job) -> str:
        """A local job's TensorBoard dir, relative to the root: next to its output notebook
        (``<output folder>/tensorboard/<job id>``), created so TensorBoard can open it at once."""
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
        if job is not None and job.outputs.tensorboard:
            env[TENSORBOARD_ENV] = str(self.root_dir / job.outputs.tensorboard)
        env.update(self.extra_env)
        return env
