"""Job output notebooks are read-only in Jupyter's own contents API.

An output notebook is the job's record. Jupyter's contents API reports it ``writable: false``
(so JupyterLab neither autosaves it nor saves it in place, it offers *Save As*) and refuses a
save of it with 403 and the reason — whoever the server runs as (file modes do not stop root).
"""

from __future__ import annotations

import functools
import inspect
from typing import Any

from tornado import web

from ..jobs.outputs import job_of_output
from ..jobs.store import JobStore


def refusal(path: str, job_id: str) -> str:
    return (f"{path} is the output notebook of job {job_id}, which keeps it as the job ran it: "
            "it is read-only. Save a copy under another name (File → Save Notebook As…).")


def install(contents_manager: Any, store: JobStore) -> None:
    def refuse_job_outputs(model: Any, path: str, contents_manager: Any, **_: Any) -> None:
        job = job_of_output(store, path)
        if job is not None:
            raise web.HTTPError(403, refusal(path, job.id))

    contents_manager.register_pre_save_hook(refuse_job_outputs)

    def mark(model: Any) -> Any:
        if isinstance(model, dict) and model.get("type") == "notebook" and \
                job_of_output(store, model.get("path") or "") is not None:
            model["writable"] = False
        return model

    original = contents_manager.get
    if inspect.iscoroutinefunction(original):
        @functools.wraps(original)
        async def get(*args: Any, **kwargs: Any) -> Any:
            return mark(await original(*args, **kwargs))
    else:
        @functools.wraps(original)
        def get(*args: Any, **kwargs: Any) -> Any:
            return mark(original(*args, **kwargs))
    contents_manager.get = get
