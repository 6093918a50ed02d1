"""Request and response models of the models API (the OpenAPI file is generated from them)."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from ..config import Resources
from ..pathtext import PathText


class Stage(str, enum.Enum):
    none = "none"
    staging = "staging"
    production = "production"
    archived = "archived"


class PublishRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    path: PathText = Field(min_length=1, description="File or folder to publish: a path under the "
                      "Jupyter root or `hdfs://<cluster>/path`.")
    name: str = Field(min_length=1, max_length=200, description="Model name (`a-z A-Z 0-9 . _ -`;"
                      " under the `namespace` policy it is stored as `<user>/<name>`).")
    metrics: dict[str, float] = Field(default_factory=dict)
    parameters: dict[str, Any] = Field(default_factory=dict)
    job_id: str | None = Field(None, description="The finished job that produced the artifact: "
                               "its notebook, image digest and parameters become the lineage.")
    notebook: PathText | None = Field(
        None, description="Source notebook (path under the root), when not published from a job.")
    description: str | None = Field(None, max_length=2000)


class Lineage(BaseModel):
    source: str = Field(description="Where the artifact was copied from.")
    notebook: str | None = None
    notebook_sha256: str | None = None
    job_id: str | None = None
    image: str | None = Field(None, description="The job's image, pinned by digest.")
    parameters: dict[str, Any] = Field(default_factory=dict)


class StageChange(BaseModel):
    time: dt.datetime
    user: str
    from_stage: Stage | None
    to_stage: Stage


class ModelVersion(BaseModel):
    name: str
    version: int
    uri: str = Field(description="The version folder in the model store.")
    stage: Stage
    user: str
    created: dt.datetime
    metrics: dict[str, float]
    lineage: Lineage
    files: int
    size: int
    manifest: dict[str, str] = Field(description="sha256 per file, relative to the version.")
    description: str | None = None
    stage_history: list[StageChange] = Field(default_factory=list)


class ModelSummary(BaseModel):
    name: str
    owner: str
    created: dt.datetime
    latest_version: int | None
    versions: int
    stages: dict[str, int] = Field(description="Stage -> the version in it (staging, production).")
    deployed: bool


class ModelList(BaseModel):
    models: list[ModelSummary]
    store: str = Field(description="The model store URL.")
    name_policy: str


class VersionList(BaseModel):
    name: str
    versions: list[ModelVersion] = Field(description="Newest first.")


class StageRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    stage: Stage


class DeployRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    target: str = Field(min_length=1, description="A kubernetes compute target.")
    namespace: str | None = Field(None, description="Default: the target's namespace template.")
    replicas: int = Field(1, ge=1, le=20)
    image: str = Field("tensorflow/serving:2.14.1", min_length=1,
                       description="TF Serving image.")
    resources: Resources = Field(default_factory=Resources, description=(
        "CPU and memory requests and GPUs of each serving replica (unset: none asked)."))


class Deployment(BaseModel):
    name: str
    target: str
    namespace: str
    deployment: str = Field(description="Kubernetes Deployment name.")
    service: str = Field(description="Kubernetes Service name (REST 8501, gRPC 8500).")
    base_path: str = Field(description="The model's folder in the store that TF Serving watches.")
    deployed_version: int = Field(description="Latest version when it was deployed.")
    serving_version: int | None = Field(
        description="Latest version in the base path now: what TF Serving serves.")
    image: str
    user: str
    created: dt.datetime
    ready_replicas: int | None = Field(None, description="From Kubernetes, when readable.")
