"""Request and response models of the runs and schedules API (pydantic; the OpenAPI source)."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ..config import Resources
from ..parameters import Parameters
from ..pathtext import DisplayName, PathText


class RunState(str, enum.Enum):
    """A run's state: its job's, or what happened before a job could be made."""

    claimed = "claimed"
    skipped = "skipped"
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
        return self in (RunState.skipped, RunState.succeeded, RunState.failed,
                        RunState.cancelled)


class RunStatus(str, enum.Enum):
    """What a run's row records: before a job exists, whether it was claimed (about to be
    started), skipped (misfire or concurrency policy) or failed (refused); then ``submitted``,
    and its state is its job's."""

    claimed = "claimed"
    skipped = "skipped"
    failed = "failed"
    submitted = "submitted"


Trigger = Literal["manual", "rerun", "schedule", "cronjob"]
MisfirePolicy = Literal["skip", "run_once"]
ConcurrencyPolicy = Literal["forbid", "allow", "replace"]
Executor = Literal["local", "kubernetes"]


class RunRequest(BaseModel):
    """Run a notebook with parameters (papermill) on a compute target."""

    model_config = ConfigDict(extra="forbid")

    notebook: PathText = Field(..., min_length=1,
                          description="Notebook path relative to the Jupyter root.")
    parameters: Parameters = Field(default_factory=dict)
    target: str = Field("local", description="Compute target name from the platform config.")
    runtime: str | None = Field(
        None, description="Runtime name from the platform config (default: the first one).")
    name: DisplayName | None = Field(None, max_length=200, description="Display name.")
    output: PathText | None = Field(
        None, description="Output folder (default: <notebook folder>/mlplat-outputs/runs).")
    timeout: int | None = Field(None, gt=0, description="Seconds before the run is stopped.")
    resources: Resources = Field(default_factory=Resources, description=(
        "CPU, memory and GPUs of the run's job (unset: the runtime's)."))


class Run(BaseModel):
    id: str
    job_id: str | None = Field(None, description="The job executing this run (jobs API).")
    notebook: str
    parameters: dict[str, Any]
    state: RunState
    user: str
    trigger: Trigger
    target: str
    created: dt.datetime
    started: dt.datetime | None = None
    finished: dt.datetime | None = None
    duration: float | None = Field(None, description="Seconds run so far / in all.")
    output: str | None = Field(None, description="Output notebook, relative to the Jupyter root.")
    error: str | None = None
    warnings: list[str] = Field(default_factory=list)
    schedule_id: str | None = None
    due_time: dt.datetime | None = Field(None, description="The schedule's firing time (UTC).")
    parent_id: str | None = Field(None, description="The run this one reran.")


class RunPage(BaseModel):
    runs: list[Run]
    total: int
    limit: int
    offset: int


class ParameterChange(BaseModel):
    a: Any = None
    b: Any = None


class RunDiff(BaseModel):
    """Parameters of run ``b`` against run ``a``."""

    a: str
    b: str
    added: dict[str, Any] = Field(default_factory=dict, description="In b only.")
    removed: dict[str, Any] = Field(default_factory=dict, description="In a only.")
    changed: dict[str, ParameterChange] = Field(default_factory=dict)
    unchanged: dict[str, Any] = Field(default_factory=dict)
    used_a: dict[str, Any] = Field(default_factory=dict, description=(
        "The values run a ran with: its parameters, and the notebook's defaults for those not "
        "given (when the notebook can still be read)."))
    used_b: dict[str, Any] = Field(default_factory=dict, description="The same for run b.")
    defaulted_a: list[str] = Field(default_factory=list, description=(
        "Names in `used_a` that took the notebook's default."))
    defaulted_b: list[str] = Field(default_factory=list)
    metrics_a: dict[str, float] = Field(default_factory=dict, description=(
        "What run a's job wrote to `metrics.json` in its output folder (MLPLAT_OUTPUT_DIR)."))
    metrics_b: dict[str, float] = Field(default_factory=dict)


class RunRerunRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    parameters: Parameters | None = Field(
        None, description="Changed parameters (the rest are the run's own).")


class ScheduleRequest(BaseModel):
    """A notebook run on a cron schedule."""

    model_config = ConfigDict(extra="forbid")

    notebook: PathText = Field(..., min_length=1)
    cron: str = Field(..., min_length=1, max_length=200, description=(
        "Cron expression: 5 fields (minute hour day month weekday), or 6 with seconds first "
        "(local executor only)."))
    timezone: str = Field("UTC", min_length=1, max_length=100, description="IANA time zone.")
    name: DisplayName | None = Field(None, max_length=200)
    parameters: Parameters = Field(default_factory=dict)
    target: str = "local"
    runtime: str | None = Field(
        None, description="Runtime name from the platform config (default: the first one).")
    output: PathText | None = None
    timeout: int | None = Field(None, gt=0)
    resources: Resources = Field(default_factory=Resources, description=(
        "CPU, memory and GPUs of each run's job (unset: the runtime's)."))
    executor: Executor = Field("local", description=(
        "`local`: the Jupyter server's scheduler loop; `kubernetes`: a CronJob that keeps "
        "firing without the server."))
    misfire_policy: MisfirePolicy = Field("run_once", description=(
        "After downtime: `run_once` fires one run for the missed due times, `skip` none."))
    concurrency_policy: ConcurrencyPolicy = Field("forbid", description=(
        "When the previous run is still active: `forbid` skips, `allow` runs both, `replace` "
        "cancels the previous run."))
    paused: bool = False


class ScheduleUpdate(BaseModel):
    """Edit a schedule (it is a job definition: what runs, where, with what, and when);
    `paused` pauses and resumes it. Absent fields are kept."""

    model_config = ConfigDict(extra="forbid")

    notebook: PathText | None = Field(None, min_length=1, description=(
        "Another notebook (its parameters are checked against the schedule's)."))
    output: PathText | None = None
    resources: Resources | None = None
    cron: str | None = Field(None, min_length=1, max_length=200)
    timezone: str | None = Field(None, min_length=1, max_length=100)
    name: DisplayName | None = Field(None, max_length=200)
    parameters: Parameters | None = None
    target: str | None = None
    runtime: str | None = None
    timeout: int | None = Field(None, gt=0)
    misfire_policy: MisfirePolicy | None = None
    concurrency_policy: ConcurrencyPolicy | None = None
    paused: bool | None = None


class K8sCronJob(BaseModel):
    kind: str = "CronJob"
    name: str
    namespace: str


class Schedule(BaseModel):
    id: str
    name: str
    user: str
    notebook: str
    parameters: dict[str, Any]
    target: str
    runtime: str
    output: str | None = None
    timeout: int | None = None
    resources: Resources = Field(default_factory=Resources)
    cron: str
    timezone: str
    description: str = Field(..., description="The cron expression in words.")
    executor: Executor
    misfire_policy: MisfirePolicy
    concurrency_policy: ConcurrencyPolicy
    paused: bool
    next_fire: dt.datetime | None = Field(None, description="Next due time (UTC); null paused.")
    next_fire_times: list[dt.datetime] = Field(
        default_factory=list, description="The next few due times, in the schedule's zone.")
    last_fire: dt.datetime | None = None
    k8s_object: K8sCronJob | None = None
    created: dt.datetime
    updated: dt.datetime


class SchedulePage(BaseModel):
    schedules: list[Schedule]
    total: int
    limit: int
    offset: int


class SchedulePreview(BaseModel):
    cron: str
    timezone: str
    description: str
    next_fire_times: list[dt.datetime] = Field(
        ..., description="The next due times, in the schedule's zone (ISO 8601 with offset).")
