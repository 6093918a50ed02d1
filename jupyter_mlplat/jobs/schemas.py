"""Request and response models of the jobs API (pydantic); the OpenAPI file is held against them."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ..config import Resources
from ..parameters import Parameters
from ..pathtext import DisplayName, PathText


class JobState(str, enum.Enum):
    queued = "queued"
    building = "building"
    pushing = "pushing"
    submitted = "submitted"
    pending = "pending"
    running = "running"
    succeeded = "succeeded"
    failed = "failed"
    cancelled = "cancelled"

    @property
    def final(self) -> bool:
        return self in FINAL_STATES


FINAL_STATES = frozenset({JobState.succeeded, JobState.failed, JobState.cancelled})
ACTIVE_STATES = frozenset(set(JobState) - FINAL_STATES)


class JobSpec(BaseModel):
    """What to run, where, and with what."""

    model_config = ConfigDict(extra="forbid")

    notebook: PathText | None = Field(
        None, description="Notebook path relative to the Jupyter root (or hdfs://cluster/path)."
    )
    code: str | None = Field(None, description=(
        "Python code to run instead of a notebook (bounded by `limits.max_body_bytes`)."))
    name: DisplayName | None = Field(None, max_length=200, description=(
        "Display name (one line); the output notebook is named after it, reduced to "
        "`A-Z a-z 0-9 . _ -`."))
    parameters: Parameters = Field(default_factory=dict, description=(
        "Values by name; names are Python identifiers (not keywords)."))
    target: str = Field("local", description="Compute target name from the platform config.")
    runtime: str | None = Field(
        None, description="Runtime name from the platform config (default: the first one)."
    )
    resources: Resources = Field(default_factory=Resources)
    kind: Literal["job", "pytorch", "tf"] = "job"
    workers: int = Field(0, ge=0, le=256, description="Worker replicas (pytorch/tf).")
    files: list[PathText] = Field(default_factory=list, description="Globs of files to ship along.")
    output: PathText | None = Field(
        None, description="Output folder (default: mlplat-outputs/ beside the notebook, or the "
        "target's `outputs` location); on a kubernetes target also `hdfs://<cluster>/path`, "
        "where the job gets a folder `<name>-<job id>`.")
    timeout: int | None = Field(None, gt=0, description="Seconds before the job is stopped.")
    client_request_id: str | None = Field(
        None, max_length=100, description="Idempotency key: a retried submit returns the job."
    )

    @model_validator(mode="after")
    def _one_source(self) -> JobSpec:
        if (self.notebook is None) == (self.code is None):
            raise ValueError("give exactly one of `notebook` or `code`")
        return self


#: The jupyter_events schema of job changes the server pushes (see ``jobs.feed``).
EVENTS_SCHEMA_ID = "https://schema.jupyter.org/jupyter_mlplat/job/v1"


class JobEvent(BaseModel):
    time: dt.datetime
    state: JobState | None = None
    message: str = ""


class JobOutputs(BaseModel):
    notebook: str | None = Field(
        None, description="The output notebook (root-relative; `hdfs://…` for a cluster job "
        "whose outputs live on a storage cluster).")
    folder: str | None = Field(
        None, description="The job's own output folder (root-relative): the output notebook, "
        "and what the job writes to `MLPLAT_OUTPUT_DIR` (local jobs).")
    log: str | None = None
    tensorboard: str | None = Field(
        None, description="TensorBoard log dir (`MLPLAT_TENSORBOARD_DIR`); for local jobs "
        "`<folder>/tensorboard`.")


    @classmethod
    def on_cluster(cls, folder: str, notebook_name: str, log_name: str = "job.log"
                   ) -> JobOutputs:
        """The outputs of a job whose own folder is ``folder`` (``hdfs://…``) on a storage
        cluster: its output notebook, log and TensorBoard dir inside it."""
        own = folder.rstrip("/")
        return cls(notebook=f"{own}/{notebook_name}.ipynb", folder=own, log=f"{own}/{log_name}",
                   tensorboard=f"{own}/tensorboard")


class K8sObject(BaseModel):
    kind: str
    name: str
    namespace: str


class Job(BaseModel):
    id: str
    name: str
    user: str
    state: JobState
    spec: JobSpec
    created: dt.datetime
    started: dt.datetime | None = None
    finished: dt.datetime | None = None
    error: str | None = None
    image: str | None = None
    k8s_object: K8sObject | None = None
    outputs: JobOutputs = Field(default_factory=JobOutputs)
    parent_id: str | None = None
    events: list[JobEvent] = Field(default_factory=list)
    replicas: list[str] = Field(default_factory=list)


class JobPage(BaseModel):
    """A page of jobs, newest first; ``next`` fetches the following one."""

    jobs: list[Job]
    total: int = Field(description=(
        "Jobs matching the filter: exact when `total_exact`, otherwise a lower bound (matches "
        "are counted up to a cap, so a listing over any number of jobs stays fast)."))
    total_exact: bool = Field(description="Whether `total` is the exact number of matches.")
    limit: int
    offset: int = Field(description="Jobs skipped by `offset` paging (0 with a cursor).")
    next: str | None = Field(description=(
        "Opaque cursor of the next page (pass it as `cursor` with the same filter); null on "
        "the last page."))

    @property
    def total_text(self) -> str:
        """``1234``, or ``10000+`` when the count stopped at its cap."""
        return f"{self.total}" if self.total_exact else f"{self.total}+"


class LogChunk(BaseModel):
    text: str
    offset: int
    complete: bool


class RerunRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    parameters: Parameters | None = None
