"""The OpenAPI document of the REST API, generated from the pydantic models.

``python -m jupyter_mlplat.api.openapi`` rewrites ``schemas/openapi.yaml``; a test fails when the
committed file and the models drift apart, and schemathesis holds the file against the server.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from ..config import PublicConfig
from ..jobs.schemas import Job, JobPage, JobSpec, JobState, LogChunk, RerunRequest
from ..models.schemas import (
    Deployment,
    DeployRequest,
    ModelList,
    ModelVersion,
    PublishRequest,
    StageRequest,
    VersionList,
)
from ..parameters import NotebookParameters
from ..runs.schemas import (
    Run,
    RunDiff,
    RunPage,
    RunRequest,
    RunRerunRequest,
    Schedule,
    SchedulePage,
    SchedulePreview,
    ScheduleRequest,
    ScheduleUpdate,
)
from ..storage.schemas import (
    ContentsModel,
    CreateRequest,
    RenameRequest,
    SaveRequest,
    StorageList,
)
from ..tensorboard.schemas import TensorBoard, TensorBoardList, TensorBoardRequest

SCHEMA_FILE = Path(__file__).resolve().parents[2] / "schemas" / "openapi.yaml"
API = "/jupyter-mlplat/api"


class Error(BaseModel):
    message: str
    reason: str | None = None


MODELS: list[type[BaseModel]] = [
    Error, PublicConfig, Job, JobPage, JobSpec, LogChunk, RerunRequest, NotebookParameters,
    StorageList, ContentsModel, SaveRequest, RenameRequest, CreateRequest,
]


MODELS += [Run, RunPage, RunRequest, RunDiff, RunRerunRequest, Schedule, SchedulePage,
           SchedulePreview, ScheduleRequest, ScheduleUpdate]
MODELS += [TensorBoard, TensorBoardList, TensorBoardRequest, ModelList, ModelVersion, VersionList,
           PublishRequest, StageRequest, DeployRequest, Deployment]


def ref(model: type[BaseModel]) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{model.__name__}"}


def reply(model: type[BaseModel], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": ref(model)}}}


def errors(*codes: int) -> dict[str, Any]:
    texts = {400: "Bad input; the message says what to fix", 403: "Not authenticated",
             404: "Not found", 409: "Conflict with the current state",
             503: "A service the platform needs does not answer: the database, the registry, a "
                  "cluster's API server or a storage cluster's name nodes (the message names it)"}
    # Every route reads the database, so every route may answer 503 while it is unreachable.
    return {str(c): reply(Error, texts[c]) for c in sorted({403, *codes, 503})}


def body(model: type[BaseModel]) -> dict[str, Any]:
    return {"required": True, "content": {"application/json": {"schema": ref(model)}}}


def query(name: str, schema: dict[str, Any], description: str, required: bool = False
          ) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": required, "schema": schema,
            "description": description}


FLAG = {"type": "string", "enum": ["true", "false", "1", "0"], "default": "false"}
OUTPUTS = query("outputs", FLAG, "true: delete the job's output folder too (its output "
                "notebook and what it wrote to MLPLAT_OUTPUT_DIR)")
JOB_ID = {"name": "job_id", "in": "path", "required": True,
          "schema": {"type": "string"}}
CLUSTER = {"name": "cluster", "in": "path", "required": True, "schema": {"type": "string"},
           "example": "local", "description": "Storage cluster name from the platform config"}
CONTENT_PATH = {"name": "path", "in": "path", "required": True, "schema": {"type": "string"},
                "description": "Path relative to the cluster root (its base_path)"}


def contents_operations(with_path: bool) -> dict[str, Any]:
    """Jupyter contents-API verbs on a cluster (``with_path``: below its root)."""
    params = [CLUSTER, CONTENT_PATH] if with_path else [CLUSTER]
    at = "Path" if with_path else "Root"
    model = reply(ContentsModel, "A contents model")
    ops: dict[str, Any] = {
        "get": {
            "summary": "Contents model of a folder, notebook or file (Jupyter semantics)",
            "operationId": f"getStorageContents{at}",
            "parameters": [*params,
                           query("content", {"type": "string", "enum": ["0", "1"]},
                                 "1 (default): include the content"),
                           query("type", {"type": "string",
                                          "enum": ["directory", "file", "notebook"]},
                                 "Expected type"),
                           query("format", {"type": "string", "enum": ["json", "text", "base64"]},
                                 "File content format"),
                           query("compact", {"type": "string", "enum": ["0", "1"]},
                                 "1: a folder's content as rows `[name, type, size, "
                                 "last_modified, writable]` (large folders)")],
            "responses": {"200": model, **errors(400, 404, 503)}},
        "post": {
            "summary": "In this folder: copy `copy_from`, or create an untitled item",
            "operationId": f"createStorageContents{at}", "parameters": params,
            "requestBody": body(CreateRequest),
            "responses": {"201": reply(ContentsModel, "The new item"),
                          **errors(400, 404, 409, 503)}},
    }
    if with_path:
        ops["put"] = {
            "summary": "Save a file, notebook or folder atomically; chunked upload",
            "operationId": "saveStorageContents", "parameters": params,
            "requestBody": body(SaveRequest),
            "responses": {"200": reply(ContentsModel, "Saved over an existing item"),
                          "201": reply(ContentsModel, "Created"),
                          **errors(400, 404, 409, 503)}}
        ops["patch"] = {
            "summary": "Rename or move (never over an existing item)",
            "operationId": "renameStorageContents", "parameters": params,
            "requestBody": body(RenameRequest),
            "responses": {"200": reply(ContentsModel, "The renamed item"),
                          **errors(400, 404, 409, 503)}}
        ops["delete"] = {
            "summary": "Delete a file or a folder with its contents",
            "operationId": "deleteStorageContents", "parameters": params,
            "responses": {"204": {"description": "Deleted"}, **errors(400, 404, 409, 503)}}
    return ops


def runs_operations() -> dict[str, Any]:
    """Parameterized runs and cron schedules."""
    run_id = {"name": "run_id", "in": "path", "required": True, "schema": {"type": "string"}}
    schedule_id = {"name": "schedule_id", "in": "path", "required": True,
                   "schema": {"type": "string"}}
    paging = [query("limit", {"type": "integer", "minimum": 1, "maximum": 500, "default": 50},
                    "Page size"),
              query("offset", {"type": "integer", "minimum": 0, "default": 0}, "Items to skip")]
    return {
        f"{API}/runs": {
            "get": {
                "summary": "Run history, newest first (by notebook or schedule)",
                "operationId": "listRuns",
                "parameters": [query("notebook", {"type": "string"}, "Only runs of this notebook"),
                               query("schedule_id", {"type": "string"},
                                     "Only runs of this schedule"), *paging],
                "responses": {"200": reply(RunPage, "A page of runs"), **errors(400)}},
            "post": {
                "summary": "Run a notebook with parameters (papermill)", "operationId": "createRun",
                "requestBody": body(RunRequest),
                "responses": {"201": reply(Run, "The new run"), **errors(400, 404)}},
        },
        f"{API}/runs/diff": {"get": {
            "summary": "Parameters of run b against run a", "operationId": "diffRuns",
            "parameters": [query("a", {"type": "string", "minLength": 1}, "Run id", required=True),
                           query("b", {"type": "string", "minLength": 1}, "Run id",
                                 required=True)],
            "responses": {"200": reply(RunDiff, "Added, removed, changed parameters"),
                          **errors(400, 404)}}},
        f"{API}/runs/{{run_id}}": {
            "get": {"summary": "One run", "operationId": "getRun", "parameters": [run_id],
                    "responses": {"200": reply(Run, "The run"), **errors(404)}},
            "delete": {"summary": "Delete a finished run with its job (409 while it runs: "
                                  "cancel it first)",
                       "operationId": "deleteRun", "parameters": [run_id, OUTPUTS],
                       "responses": {"204": {"description": "Deleted"},
                                     **errors(400, 404, 409)}}},
        f"{API}/runs/{{run_id}}/rerun": {"post": {
            "summary": "Run again with these parameters (changed ones given)",
            "operationId": "rerunRun", "parameters": [run_id],
            "requestBody": body(RunRerunRequest),
            "responses": {"201": reply(Run, "The new run"), **errors(400, 404)}}},
        f"{API}/schedules": {
            "get": {
                "summary": "Schedules, newest first", "operationId": "listSchedules",
                "parameters": [query("notebook", {"type": "string"},
                                     "Only schedules of this notebook"), *paging],
                "responses": {"200": reply(SchedulePage, "A page of schedules"),
                              **errors(400)}},
            "post": {
                "summary": "Schedule a notebook (cron + time zone)",
                "operationId": "createSchedule", "requestBody": body(ScheduleRequest),
                "responses": {"201": reply(Schedule, "The new schedule"), **errors(400, 404)}},
        },
        f"{API}/schedules/preview": {"get": {
            "summary": "The next due times of a cron expression, and the expression in words",
            "operationId": "previewSchedule",
            "parameters": [query("cron", {"type": "string", "minLength": 1}, "Cron expression",
                                 required=True),
                           query("timezone", {"type": "string", "default": "UTC"},
                                 "IANA time zone"),
                           query("count", {"type": "integer", "minimum": 1, "maximum": 100,
                                           "default": 5}, "How many due times")],
            "responses": {"200": reply(SchedulePreview, "Next due times"), **errors(400)}}},
        f"{API}/schedules/{{schedule_id}}": {
            "get": {"summary": "One schedule", "operationId": "getSchedule",
                    "parameters": [schedule_id],
                    "responses": {"200": reply(Schedule, "The schedule"), **errors(404)}},
            "patch": {"summary": "Edit, pause or resume a schedule",
                      "operationId": "updateSchedule", "parameters": [schedule_id],
                      "requestBody": body(ScheduleUpdate),
                      "responses": {"200": reply(Schedule, "The schedule"),
                                    **errors(400, 404)}},
            "delete": {"summary": "Delete a schedule (its runs stay in the history unless "
                                  "`runs`)",
                       "operationId": "deleteSchedule",
                       "parameters": [schedule_id,
                                      query("runs", FLAG, "true: delete its runs and their "
                                            "jobs too (409 if one has not finished)"),
                                      OUTPUTS],
                       "responses": {"204": {"description": "Deleted"},
                                     **errors(400, 404, 409)}},
        },
    }


TB_ID = {"name": "tb_id", "in": "path", "required": True, "schema": {"type": "string"}}
MODEL_NAME = {"name": "name", "in": "path", "required": True, "schema": {"type": "string"},
              "description": "Model name; `<user>/<name>` (namespace policy) is sent with the "
                             "slash percent-encoded (`alice%2Fresnet`)"}
VERSION = {"name": "version", "in": "path", "required": True,
           "schema": {"type": "integer", "minimum": 1}}


def tensorboard_operations() -> dict[str, Any]:
    """TensorBoard instances; each UI is proxied at `/jupyter-mlplat/tensorboard/{id}/`."""
    return {
        f"{API}/tensorboards": {
            "get": {"summary": "Running TensorBoards, newest first",
                    "operationId": "listTensorBoards",
                    "responses": {"200": reply(TensorBoardList, "Instances"), **errors()}},
            "post": {"summary": "Open TensorBoard on a log dir or a job's log dir (reused); "
                             "it is `starting` until it answers: poll GET",
                     "operationId": "startTensorBoard", "requestBody": body(TensorBoardRequest),
                     "responses": {"200": reply(TensorBoard, "The running instance, reused"),
                                   "201": reply(TensorBoard, "A new instance"),
                                   **errors(400, 404, 503)}}},
        f"{API}/tensorboards/{{tb_id}}": {
            "get": {"summary": "One TensorBoard", "operationId": "getTensorBoard",
                    "parameters": [TB_ID],
                    "responses": {"200": reply(TensorBoard, "The instance"), **errors(404)}},
            "delete": {"summary": "Stop a TensorBoard", "operationId": "stopTensorBoard",
                       "parameters": [TB_ID],
                       "responses": {"204": {"description": "Stopped"}, **errors(404)}}},
    }


def model_operations() -> dict[str, Any]:
    """Model registry: publish, versions, stages, TF Serving deployment."""
    versioned = [MODEL_NAME, VERSION]
    return {
        f"{API}/models": {
            "get": {"summary": "Models with their latest version, stages and deployment flag",
                    "operationId": "listModels",
                    "responses": {"200": reply(ModelList, "Models"), **errors()}},
            "post": {"summary": "Publish a file or folder as the next immutable version",
                     "operationId": "publishModel", "requestBody": body(PublishRequest),
                     "responses": {"201": reply(ModelVersion, "The new version"),
                                   **errors(400, 404, 409, 503)}}},
        f"{API}/models/{{name}}/versions": {"get": {
            "summary": "Versions of a model, newest first (metrics, lineage, stage history)",
            "operationId": "listModelVersions", "parameters": [MODEL_NAME],
            "responses": {"200": reply(VersionList, "Versions"), **errors(404)}}},
        f"{API}/models/{{name}}/versions/{{version}}": {"get": {
            "summary": "One version", "operationId": "getModelVersion", "parameters": versioned,
            "responses": {"200": reply(ModelVersion, "The version"), **errors(400, 404)}}},
        f"{API}/models/{{name}}/versions/{{version}}/stage": {"post": {
            "summary": "Move a version to a stage (staging/production hold one version each)",
            "operationId": "setModelStage", "parameters": versioned,
            "requestBody": body(StageRequest),
            "responses": {"200": reply(ModelVersion, "The version"), **errors(400, 404)}}},
        f"{API}/models/{{name}}/versions/{{version}}/deploy": {"post": {
            "summary": "Deploy the model to TF Serving on a Kubernetes target; new versions "
                       "are then served without a redeploy",
            "operationId": "deployModel", "parameters": versioned,
            "requestBody": body(DeployRequest),
            "responses": {"201": reply(Deployment, "The deployment"),
                          **errors(400, 404, 409, 503)}}},
        f"{API}/models/{{name}}/deployment": {"get": {
            "summary": "The model's deployment and the version it serves now",
            "operationId": "getModelDeployment", "parameters": [MODEL_NAME],
            "responses": {"200": reply(Deployment, "The deployment"), **errors(404)}}},
    }


def paths() -> dict[str, Any]:
    states = {"type": "string", "enum": [s.value for s in JobState]}
    return {
        f"{API}/config": {"get": {
            "summary": "Storage clusters, targets, runtimes, registry addresses (no secrets)",
            "operationId": "getConfig",
            "responses": {"200": reply(PublicConfig, "The platform config"), **errors()}}},
        f"{API}/jobs": {
            "get": {
                "summary": "Jobs, newest first, paginated and filtered", "operationId": "listJobs",
                "parameters": [
                    query("state", states, "Only jobs in this state"),
                    query("user", {"type": "string"},
                          "Only jobs of this user: the workbench user (others: 403)"),
                    query("notebook", {"type": "string"}, "Only jobs of this notebook"),
                    query("target", {"type": "string"}, "Only jobs on this target"),
                    query("limit", {"type": "integer", "minimum": 1, "maximum": 500,
                                    "default": 50}, "Page size"),
                    query("cursor", {"type": "string"},
                          "The `next` of the previous page: the jobs after it (keyset paging, "
                          "as fast deep as on the first page)"),
                    query("offset", {"type": "integer", "minimum": 0, "default": 0},
                          "Jobs to skip (instead of `cursor`; a deep offset costs more)"),
                ],
                "responses": {"200": reply(JobPage, "A page of the user's jobs"),
                              **errors(400)}},
            "post": {
                "summary": "Submit a job", "operationId": "submitJob", "requestBody": body(JobSpec),
                "responses": {"201": reply(Job, "The new job"), **errors(400, 404)}},
        },
        f"{API}/jobs/{{job_id}}": {
            "get": {"summary": "One job with its timeline", "operationId": "getJob",
                    "parameters": [JOB_ID],
                    "responses": {"200": reply(Job, "The job"), **errors(404)}},
            "delete": {"summary": "Delete a finished job: its record, log, Kubernetes objects, "
                                  "its run (if it was one) and, with `outputs`, its output "
                                  "folder (409 while it runs: cancel it first)",
                       "operationId": "deleteJob", "parameters": [JOB_ID, OUTPUTS],
                       "responses": {"204": {"description": "Deleted"},
                                     **errors(400, 404, 409)}}},
        f"{API}/jobs/{{job_id}}/logs": {"get": {
            "summary": "Log text from a byte offset (poll with the returned offset to follow)",
            "operationId": "getJobLogs",
            "parameters": [JOB_ID,
                           query("offset", {"type": "integer", "minimum": 0}, "Byte offset"),
                           query("replica", {"type": "string"}, "Replica name")],
            "responses": {"200": reply(LogChunk, "Log text"), **errors(400, 404)}}},
        f"{API}/jobs/{{job_id}}/cancel": {"post": {
            "summary": "Cancel a job that has not finished", "operationId": "cancelJob",
            "parameters": [JOB_ID],
            "responses": {"200": reply(Job, "The cancelled job"), **errors(404, 409)}}},
        f"{API}/jobs/{{job_id}}/rerun": {"post": {
            "summary": "Run the job again, with the same or changed parameters",
            "operationId": "rerunJob", "parameters": [JOB_ID], "requestBody": body(RerunRequest),
            "responses": {"201": reply(Job, "The new job"), **errors(400, 404)}}},
        f"{API}/parameters": {"get": {
            "summary": "The parameters a notebook declares (papermill's inspection)",
            "operationId": "getNotebookParameters",
            "parameters": [query("path", {"type": "string", "minLength": 1},
                                 "Notebook path relative to the Jupyter root", required=True)],
            "responses": {"200": reply(NotebookParameters, "Declared parameters"),
                          **errors(400, 404)}}},
        **runs_operations(),
        **tensorboard_operations(),
        **model_operations(),
        f"{API}/storage": {"get": {
            "summary": "Storage clusters and their health (no secrets)",
            "operationId": "listStorage",
            "responses": {"200": reply(StorageList, "Clusters with `ok`/`down`"), **errors()}}},
        f"{API}/storage/{{cluster}}/contents": contents_operations(with_path=False),
        f"{API}/storage/{{cluster}}/contents/{{path}}": contents_operations(with_path=True),
    }


#: Operations refused with 429 when a count limit is reached (``limits`` in the config).
COUNTED = {"submitJob": "queued jobs", "rerunJob": "queued jobs", "createRun": "queued jobs",
           "rerunRun": "queued jobs", "createSchedule": "schedules",
           "startTensorBoard": "TensorBoards"}


def with_limits(spec_paths: dict[str, Any]) -> dict[str, Any]:
    """413 on every operation that takes a body; 429 on those a count limit bounds."""
    for operations in spec_paths.values():
        for op in operations.values():
            if not isinstance(op, dict) or "responses" not in op:
                continue
            if "requestBody" in op:
                op["responses"]["413"] = reply(Error, "The request body is over its limit "
                                                      "(`limits.max_body_bytes`, or "
                                                      "`max_upload_bytes` for storage)")
            what = COUNTED.get(op.get("operationId", ""))
            if what:
                op["responses"]["429"] = reply(Error, f"Too many {what} of this user (the "
                                                      "message names the limit)")
            op["responses"] = dict(sorted(op["responses"].items()))
    return spec_paths


def document() -> dict[str, Any]:
    _, schemas = models_json_schema([(m, "serialization") for m in MODELS],
                                    ref_template="#/components/schemas/{model}")
    return {
        "openapi": "3.1.0",
        "info": {"title": "jupyter-mlplat", "version": "1",
                 "description": "REST API of the jupyter-mlplat server extension. Paths are "
                                "relative to the Jupyter server's base URL."},
        "security": [{"token": []}],
        "paths": with_limits(paths()),
        "components": {
            "schemas": schemas["$defs"],
            "securitySchemes": {"token": {"type": "apiKey", "in": "header",
                                          "name": "Authorization",
                                          "description": "`token <jupyter token>`"}},
        },
    }


def render() -> str:
    return yaml.safe_dump(document(), sort_keys=False, width=100)


if __name__ == "__main__":
    SCHEMA_FILE.write_text(render())
    sys.stdout.write(f"wrote {SCHEMA_FILE}\n")
