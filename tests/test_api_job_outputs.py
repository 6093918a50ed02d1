"""A folder per job (``MLPLAT_OUTPUT_DIR``) and read-only output notebooks, through the live
REST API and Jupyter's own contents API."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tornado.httpclient import HTTPClientError

from .helpers import write_notebook
from .test_api_jobs import wait_final

BODY = """import os, pathlib
rows = open("data.csv").read().split()          # an input beside the notebook
out = pathlib.Path(os.environ["MLPLAT_OUTPUT_DIR"])
(out / "model.txt").write_text(f"rows={len(rows)} lr={lr}")
print("output dir", out)
print("tensorboard dir", os.environ["MLPLAT_TENSORBOARD_DIR"])
print("cwd", os.getcwd())"""


async def contents(jp_fetch: Any, path: str, method: str = "GET",
                   body: Any = None) -> tuple[int, Any]:
    kwargs: dict[str, Any] = {"method": method}
    if body is not None:
        kwargs["body"] = json.dumps(body)
    try:
        resp = await jp_fetch("api", "contents", *path.split("/"), **kwargs)
    except HTTPClientError as exc:
        assert exc.response is not None
        return exc.code, json.loads(exc.response.body or b"null")
    return resp.code, json.loads(resp.body)


async def test_each_job_has_its_own_folder_and_inputs_resolve_beside_the_notebook(
        api: Any, jp_root_dir: Path) -> None:
    write_notebook(jp_root_dir / "proj" / "fit.ipynb", "lr = 0.1", BODY)
    (jp_root_dir / "proj" / "data.csv").write_text("a\nb\nc\n")
    jobs = []
    for lr in (0.1, 0.2):
        status, job = await api("jobs", "POST", {"notebook": "proj/fit.ipynb",
                                                 "parameters": {"lr": lr}})
        assert status == 201, job
        jobs.append(job)
    folders = set()
    for job in jobs:
        folder = f"proj/mlplat-outputs/fit-{job['id']}"
        assert job["outputs"]["folder"] == folder
        assert job["outputs"]["notebook"] == f"{folder}/fit.ipynb"
        assert job["outputs"]["tensorboard"] == f"{folder}/tensorboard"
        done = await wait_final(api, job["id"])
        assert done["state"] == "succeeded", done["error"]
        logs = (await api(f"jobs/{job['id']}/logs"))[1]["text"]
        assert f"output dir {jp_root_dir / folder}" in logs
        assert f"tensorboard dir {jp_root_dir / folder / 'tensorboard'}" in logs
        assert f"cwd {jp_root_dir / 'proj'}" in logs  # the working directory is the notebook's
        lr = done["spec"]["parameters"]["lr"]
        assert (jp_root_dir / folder / "model.txt").read_text() == f"rows=3 lr={lr}"
        assert (jp_root_dir / folder / "fit.ipynb").is_file()
        folders.add(folder)
    assert len(folders) == 2  # two jobs of one notebook never share a folder
    assert not (jp_root_dir / "proj" / "model.txt").exists()


async def test_output_notebook_is_read_only_in_the_contents_api(
        api: Any, jp_fetch: Any, jp_root_dir: Path) -> None:
    write_notebook(jp_root_dir / "nb.ipynb", "n = 2", "print('n is', n)")
    _status, job = await api("jobs", "POST", {"notebook": "nb.ipynb", "parameters": {"n": 5}})
    job = await wait_final(api, job["id"])
    assert job["state"] == "succeeded", job["error"]
    output = job["outputs"]["notebook"]
    before = (jp_root_dir / output).read_bytes()

    status, model = await contents(jp_fetch, output)
    assert status == 200 and model["writable"] is False
    assert model["content"]["metadata"]["papermill"]["parameters"] == {"n": 5}
    status, source = await contents(jp_fetch, "nb.ipynb")
    assert status == 200 and source["writable"] is True  # other notebooks stay writable

    # Saving over it is refused with the reason; the file does not change.
    edited = model["content"]
    edited["cells"][0]["source"] = "n = 999"
    status, err = await contents(jp_fetch, output, "PUT",
                                 {"type": "notebook", "format": "json", "content": edited})
    assert status == 403, err
    assert f"output notebook of job {job['id']}" in err["message"]
    assert "read-only" in err["message"]
    assert (jp_root_dir / output).read_bytes() == before

    # A copy under another name is the user's to change.
    copy = output.replace(".ipynb", "-mine.ipynb")
    status, saved = await contents(jp_fetch, copy, "PUT",
                                   {"type": "notebook", "format": "json", "content": edited})
    assert status == 201, saved
    assert saved["writable"] is True
    status, again = await contents(jp_fetch, copy, "PUT",
                                   {"type": "notebook", "format": "json", "content": edited})
    assert status == 200, again
