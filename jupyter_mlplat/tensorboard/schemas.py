"""Request and response models of the TensorBoard API (the OpenAPI file is generated from them)."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ..pathtext import PathText


class TensorBoardRequest(BaseModel):
    """Open TensorBoard on a log dir, or on a job's log dir."""

    model_config = ConfigDict(extra="forbid")

    logdir: PathText | None = Field(
        None, min_length=1,
        description="A folder under the Jupyter root (relative path) or `hdfs://<cluster>/path`.")
    job_id: str | None = Field(None, min_length=1, description="Use this job's TensorBoard dir.")

    @model_validator(mode="after")
    def _one_source(self) -> TensorBoardRequest:
        if (self.logdir is None) == (self.job_id is None):
            raise ValueError("give exactly one of `logdir` or `job_id`")
        return self


class SyncStats(BaseModel):
    """How an HDFS log dir is mirrored: only bytes appended since the last poll move."""

    bytes_fetched: int = Field(description="Bytes read from HDFS since the instance started.")
    files: int = Field(description="Event files mirrored.")
    polls: int = Field(description="Completed polls of the remote folder.")
    last_sync: dt.datetime | None = None
    error: str | None = Field(None, description="The last poll's error, if it failed.")


class TensorBoard(BaseModel):
    id: str = Field(description="Stable per log dir: reopening the same dir gives the same id.")
    logdir: str = Field(description="The log dir as the platform names it.")
    url: str = Field(description="Where the UI is served (absolute path on this server).")
    state: Literal["starting", "running", "failed", "exited"] = Field(
        description="`starting` until TensorBoard answers (poll GET); `failed`: it did not start "
                    "(see `error`); `exited`: it ended on its own. POST the log dir again to "
                    "restart a failed or exited one.")
    error: str | None = Field(None, description="Why it failed, ending with its stderr tail.")
    started: dt.datetime
    last_activity: dt.datetime
    job_id: str | None = None
    sync: SyncStats | None = Field(None, description="Set for HDFS log dirs.")


class TensorBoardList(BaseModel):
    tensorboards: list[TensorBoard]
    idle_timeout: float = Field(description="Seconds without a request before one is stopped.")
