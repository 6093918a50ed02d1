"""The route table (relative to the server's base URL)."""

from __future__ import annotations

from typing import Any

from .config import ConfigHandler
from .jobs import (
    JobCancelHandler,
    JobHandler,
    JobLogsHandler,
    JobRerunHandler,
    JobsHandler,
    ParametersHandler,
)
from .models import (
    ModelDeployHandler,
    ModelDeploymentHandler,
    ModelsHandler,
    ModelStageHandler,
    ModelVersionHandler,
    ModelVersionsHandler,
)
from .runs import (
    RunDiffHandler,
    RunHandler,
    RunRerunHandler,
    RunsHandler,
    ScheduleHandler,
    SchedulePreviewHandler,
    SchedulesHandler,
)
from .storage import ContentsHandler, StorageHandler
from .tensorboards import TensorBoardHandler, TensorBoardProxyHandler, TensorBoardsHandler

API = "/jupyter-mlplat/api"
JOB_ID = r"(?P<job_id>[^/]+)"
CLUSTER = r"(?P<cluster>[^/]+)"
RUN_ID = r"(?P<run_id>[^/]+)"
SCHEDULE_ID = r"(?P<schedule_id>[^/]+)"
TB_ID = r"(?P<tb_id>[^/]+)"
# One segment (`/` percent-encoded) or `<user>/<name>` unencoded.
MODEL = r"(?P<name>[^/]+(?:/[^/]+)?)"
VERSION = r"(?P<version>[^/]+)"

ROUTES: list[tuple[str, Any]] = [
    (rf"{API}/config", ConfigHandler),
    (rf"{API}/jobs", JobsHandler),
    (rf"{API}/jobs/{JOB_ID}", JobHandler),
    (rf"{API}/jobs/{JOB_ID}/logs", JobLogsHandler),
    (rf"{API}/jobs/{JOB_ID}/cancel", JobCancelHandler),
    (rf"{API}/jobs/{JOB_ID}/rerun", JobRerunHandler),
    (rf"{API}/parameters", ParametersHandler),
    (rf"{API}/runs", RunsHandler),
    (rf"{API}/runs/diff", RunDiffHandler),
    (rf"{API}/runs/{RUN_ID}", RunHandler),
    (rf"{API}/runs/{RUN_ID}/rerun", RunRerunHandler),
    (rf"{API}/schedules", SchedulesHandler),
    (rf"{API}/schedules/preview", SchedulePreviewHandler),
    (rf"{API}/schedules/{SCHEDULE_ID}", ScheduleHandler),
    (rf"{API}/storage", StorageHandler),
    (rf"{API}/storage/{CLUSTER}/contents(?:/(?P<path>.*))?", ContentsHandler),
    (rf"{API}/tensorboards", TensorBoardsHandler),
    (rf"{API}/tensorboards/{TB_ID}", TensorBoardHandler),
    (rf"/jupyter-mlplat/tensorboard/{TB_ID}(?P<proxied_path>/.*)?", TensorBoardProxyHandler),
    (rf"{API}/models", ModelsHandler),
    (rf"{API}/models/{MODEL}/versions", ModelVersionsHandler),
    (rf"{API}/models/{MODEL}/versions/{VERSION}", ModelVersionHandler),
    (rf"{API}/models/{MODEL}/versions/{VERSION}/stage", ModelStageHandler),
    (rf"{API}/models/{MODEL}/versions/{VERSION}/deploy", ModelDeployHandler),
    (rf"{API}/models/{MODEL}/deployment", ModelDeploymentHandler),
]
