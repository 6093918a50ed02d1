"""An attacker with a valid token, against a live server on the embedded defaults.

Every case is one row of a table: what to send, which 4xx must come back and a fragment of its
message. For every refused request the answer must carry a message without an absolute path of
the server, the folder beside the Jupyter root must be byte-for-byte as before, and nothing
may be left behind (no job, no schedule). Add a case by adding a row.
"""

from __future__ import annotations

import asyncio
import json
import os
import stat
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from .helpers import server_config, write_notebook

OUT = "../outside"
ESCAPES = {  # spellings of "the folder beside the root"
    "dotdot": OUT,
    "encoded": "%2e%2e/outside",
    "double-encoded": "%252e%252e/outside",
    "backslash": "..\\outside",
    "dot-then-dotdot": "./sub/../../outside",
}


@dataclass
class Case:
    id: str
    method: str
    path: str
    body: Any = None
    params: dict[str, str] = field(default_factory=dict)
    status: int | tuple[int, ...] = 400
    says: str = ""  # a fragment of the message


def _cases() -> list[Case]:
    cases: list[Case] = []
    for how, out in ESCAPES.items():
        nb = f"{out}/secret.ipynb"
        cases += [
            Case(f"job-notebook-{how}", "POST", "jobs", {"notebook": nb}, says="notebook"),
            Case(f"job-output-{how}", "POST", "jobs", {"notebook": "nb.ipynb", "output": out},
                 says="output"),
            Case(f"job-files-{how}", "POST", "jobs", {"notebook": "nb.ipynb", "files": [nb]},
                 says="files"),
            Case(f"parameters-{how}", "GET", "parameters", params={"path": nb},
                 says="notebook"),
            Case(f"run-notebook-{how}", "POST", "runs", {"notebook": nb}, says="notebook"),
            Case(f"run-output-{how}", "POST", "runs", {"notebook": "nb.ipynb", "output": out},
                 says="output"),
            Case(f"schedule-notebook-{how}", "POST", "schedules",
                 {"notebook": nb, "cron": "0 3 * * *"}, says="notebook"),
            Case(f"schedule-output-{how}", "POST", "schedules",
                 {"notebook": "nb.ipynb", "cron": "0 3 * * *", "output": out}, says="output"),
            Case(f"tensorboard-{how}", "POST", "tensorboards", {"logdir": out},
                 says="logdir"),
            Case(f"model-source-{how}", "POST", "models", {"path": nb, "name": "m"},
                 says="path"),
        ]
    cases += [
        # absolute paths outside the root ({outside} is filled in by the test)
        Case("job-notebook-absolute", "POST", "jobs", {"notebook": "{outside}/secret.ipynb"},
             says="outside the Jupyter root"),
        Case("job-output-absolute", "POST", "jobs",
             {"notebook": "nb.ipynb", "output": "{outside}"}, says="output"),
        Case("parameters-absolute", "GET", "parameters",
             params={"path": "{outside}/secret.ipynb"}, says="outside the Jupyter root"),
        # symlinks inside the root that lead outside
        Case("job-notebook-symlink", "POST", "jobs", {"notebook": "link.ipynb"},
             says="through a symlink"),
        Case("job-output-symlink", "POST", "jobs",
             {"notebook": "nb.ipynb", "output": "link-out"}, says="through a symlink"),
        Case("job-output-under-symlink", "POST", "jobs",
             {"notebook": "nb.ipynb", "output": "link-out/new/deeper"},
             says="through a symlink"),
        Case("job-files-symlink", "POST", "jobs",
             {"notebook": "nb.ipynb", "files": ["link-out/*"]}, says="files"),
        Case("parameters-symlink", "GET", "parameters", params={"path": "link.ipynb"},
             says="through a symlink"),
        Case("run-output-symlink", "POST", "runs",
             {"notebook": "nb.ipynb", "output": "link-out"}, says="through a symlink"),
        Case("schedule-output-symlink", "POST", "schedules",
             {"notebook": "nb.ipynb", "cron": "0 3 * * *", "output": "link-out"},
             says="through a symlink"),
        Case("tensorboard-symlink", "POST", "tensorboards", {"logdir": "link-out"},
             says="through a symlink"),
        Case("model-source-symlink", "POST", "models", {"path": "link-out", "name": "m"},
             says="through a symlink"),
        # names are one line
        Case("job-name-newline", "POST", "jobs", {"notebook": "nb.ipynb", "name": "a\nb"},
             says="name"),
        Case("run-name-newline", "POST", "runs", {"notebook": "nb.ipynb", "name": "a\rb"},
             says="name"),
        Case("schedule-name-newline", "POST", "schedules",
             {"notebook": "nb.ipynb", "cron": "0 3 * * *", "name": "x\n../../y"},
             says="name"),
        # parameter names are identifiers, declared or not
        Case("param-name-code", "POST", "jobs",
             {"notebook": "plain.ipynb",
              "parameters": {"x = 1\nimport os\nos.system('touch PWNED')\ny": 1}},
             says="identifier"),
        Case("param-name-code-cell", "POST", "jobs",
             {"code": "print(1)", "parameters": {"a;b": 1}}, says="identifier"),
        Case("param-name-keyword", "POST", "jobs",
             {"notebook": "plain.ipynb", "parameters": {"class": 1}}, says="keyword"),
        Case("param-name-trailing-newline", "POST", "jobs",
             {"notebook": "plain.ipynb", "parameters": {"n\n": 1}}, says="identifier"),
        Case("run-param-name-code", "POST", "runs",
             {"notebook": "plain.ipynb", "parameters": {"__import__('os')": 1}},
             says="identifier"),
        Case("schedule-param-name-code", "POST", "schedules",
             {"notebook": "plain.ipynb", "cron": "0 3 * * *", "parameters": {"a.b": 1}},
             says="identifier"),
        # sizes
        Case("param-too-large", "POST", "jobs",
             {"notebook": "plain.ipynb", "parameters": {"blob": "x" * 70_000}},
             says="limits.max_parameters_bytes"),
        Case("run-param-too-large", "POST", "runs",
             {"notebook": "plain.ipynb", "parameters": {"blob": "x" * 70_000}},
             says="limits.max_parameters_bytes"),
        Case("body-too-large", "POST", "jobs",
             {"notebook": "plain.ipynb", "parameters": {"blob": "x" * (2 * 2**20)}},
             status=413, says="limits.max_body_bytes"),
        Case("schedule-body-too-large", "POST", "schedules",
             {"notebook": "plain.ipynb", "cron": "0 3 * * *", "name": "y" * (2 * 2**20)},
             status=413, says="limits.max_body_bytes"),
        # schedules that fire too often, or not at all
        Case("cron-every-2s", "POST", "schedules",
             {"notebook": "nb.ipynb", "cron": "*/2 * * * * *", "concurrency_policy": "allow"},
             says="limits.min_schedule_interval"),
        Case("cron-six-stars", "POST", "schedules",
             {"notebook": "nb.ipynb", "cron": "* * * * * *"},
             says="limits.min_schedule_interval"),
        Case("cron-two-a-minute", "POST", "schedules",
             {"notebook": "nb.ipynb", "cron": "0,30 * * * * *"},
             says="limits.min_schedule_interval"),
        Case("timezone-trailing-newline", "POST", "schedules",
             {"notebook": "nb.ipynb", "cron": "0 3 * * *", "timezone": "UTC\n"},
             says="timezone"),
        # what is not a notebook
        Case("notebook-not-json", "POST", "jobs", {"notebook": "broken.ipynb"},
             says="not JSON"),
        Case("parameters-not-json", "GET", "parameters", params={"path": "broken.ipynb"},
             says="not JSON"),
        Case("run-not-json", "POST", "runs", {"notebook": "broken.ipynb"}, says="not JSON"),
        # names with a trailing newline
        Case("model-name-trailing-newline", "POST", "models",
             {"path": "nb.ipynb", "name": "churn\n"}, says="model name"),
        Case("target-trailing-newline", "POST", "jobs",
             {"notebook": "nb.ipynb", "target": "local\n"}, says="target"),
    ]
    return cases


CASES = _cases()


@pytest.fixture
def world(jp_root_dir: Path, tmp_path: Path) -> dict[str, Path]:
    """The root with good and bad notebooks, a folder beside it, symlinks leading there."""
    root = jp_root_dir
    outside = tmp_path / "outside"
    write_notebook(outside / "secret.ipynb")
    (outside / "keep.txt").write_text("untouched")
    write_notebook(root / "nb.ipynb")
    write_notebook(root / "plain.ipynb", None, "print('no parameters cell')")
    (root / "broken.ipynb").write_text("this is not JSON")
    (root / "sub").mkdir()
    os.symlink(outside / "secret.ipynb", root / "link.ipynb")
    os.symlink(outside, root / "link-out")
    return {"root": root, "outside": outside, "tmp": tmp_path}


def snapshot(folder: Path) -> dict[str, tuple[int, float]]:
    return {str(p.relative_to(folder)): (p.lstat().st_size, p.lstat().st_mtime)
            for p in sorted(folder.rglob("*"))}


def fill(value: Any, outside: Path) -> Any:
    return json.loads(json.dumps(value).replace("{outside}", str(outside)))


async def counts(api: Any) -> tuple[int, int]:
    _, jobs = await api("jobs")
    _, schedules = await api("schedules")
    return jobs["total"], schedules["total"]


def assert_clean_message(body: Any, world: dict[str, Path]) -> str:
    assert isinstance(body, dict) and body.get("message"), body
    message = str(body["message"])
    for secret in {str(world["tmp"]), str(world["tmp"].resolve()), str(world["root"])}:
        assert secret not in message, f"absolute server path in {message!r}"
    return message


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
async def test_refused(api: Any, world: dict[str, Path], case: Case) -> None:
    before = snapshot(world["outside"])
    beside = sorted(p.name for p in world["tmp"].iterdir())
    status, body = await api(case.path, case.method, fill(case.body, world["outside"]),
                             params=fill(case.params, world["outside"]))
    expected = case.status if isinstance(case.status, tuple) else (case.status,)
    assert status in expected, (status, body)
    message = assert_clean_message(body, world)
    assert case.says.lower() in message.lower(), message
    assert snapshot(world["outside"]) == before
    assert sorted(p.name for p in world["tmp"].iterdir()) == beside
    assert await counts(api) == (0, 0)  # nothing refused leaves a job or a schedule
    assert not (world["root"] / "PWNED").exists()


async def wait_final(api: Any, job_id: str, timeout: float = 120) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        _, job = await api(f"jobs/{job_id}")
        if job["state"] in ("succeeded", "failed", "cancelled"):
            return job  # type: ignore[no-any-return]
        await asyncio.sleep(0.3)
    raise AssertionError(f"job {job_id} did not finish")


async def test_a_name_is_not_a_path(api: Any, world: dict[str, Path],
                                    mlplat_data_dir: Path) -> None:
    """The issue's first finding: the name is kept for display, the file name is reduced,
    the output stays in the root, and what the workbench writes is the owner's alone."""
    before = snapshot(world["outside"])
    status, job = await api("jobs", "POST", {"notebook": "nb.ipynb",
                                             "name": "../../outside/pwned"})
    assert status == 201, job
    assert job["name"] == "../../outside/pwned"
    output = job["outputs"]["notebook"]
    # mlplat-outputs/<safe name>-<id>/<safe name>.ipynb: the name never adds a level
    assert output.startswith("mlplat-outputs/") and output.count("/") == 2, output
    assert ".." not in output.split("/"), output
    job = await wait_final(api, job["id"])
    assert job["state"] == "succeeded", job["error"]
    assert snapshot(world["outside"]) == before
    produced = world["root"] / output
    assert produced.is_file()
    status, run = await api("runs", "POST", {"notebook": "nb.ipynb", "name": "../../x/../y"})
    assert status == 201, run
    # owner-only: the database, the job's log, the output notebook and its folder
    modes = {
        "database": mlplat_data_dir / "mlplat.db",
        "job log": mlplat_data_dir / "jobs" / job["id"] / "job.log",
        "output": produced,
        "output folder": produced.parent,
    }
    for what, path in modes.items():
        mode = stat.S_IMODE(path.stat().st_mode)
        assert mode & 0o077 == 0, f"{what} is {oct(mode)}"


async def test_stored_parameters_are_checked_on_rerun(api: Any, world: dict[str, Path]) -> None:
    status, job = await api("jobs", "POST", {"notebook": "nb.ipynb", "parameters": {"n": 1}})
    assert status == 201, job
    status, body = await api(f"jobs/{job['id']}/rerun", "POST",
                             {"parameters": {"n = 2\nimport os\nx": 1}})
    assert status == 400 and "identifier" in body["message"], body
    _, page = await api("jobs")
    assert page["total"] == 1


async def test_listing_hides_what_a_symlink_out_points_to(api: Any,
                                                          world: dict[str, Path]) -> None:
    big = world["outside"] / "big.bin"
    big.write_bytes(b"x" * 123_457)
    os.symlink(big, world["root"] / "big-link")
    status, listing = await api("storage/local/contents/")
    assert status == 200
    entry = next(e for e in listing["content"] if e["name"] == "big-link")
    assert entry["size"] != 123_457


class TestCountLimits:
    """Counts with a configured limit: 429 naming it, and nothing stored or started."""

    @pytest.fixture
    def jp_server_config(self, mlplat_data_dir: Path) -> dict[str, Any]:
        return server_config(mlplat_data_dir, limits={"max_queued_jobs_per_user": 0,
                                                      "max_schedules_per_user": 1,
                                                      "max_tensorboards_per_user": 0})

    async def test_queued_jobs(self, api: Any, world: dict[str, Path]) -> None:
        status, body = await api("jobs", "POST", {"notebook": "nb.ipynb"})
        assert status == 429, body
        assert "limits.max_queued_jobs_per_user" in assert_clean_message(body, world)
        status, body = await api("runs", "POST", {"notebook": "nb.ipynb"})
        assert status == 429, body
        _, runs = await api("runs")
        assert await counts(api) == (0, 0) and runs["total"] == 0
        assert not (world["root"] / "mlplat-outputs").exists()

    async def test_schedules(self, api: Any, world: dict[str, Path]) -> None:
        request = {"notebook": "nb.ipynb", "cron": "0 3 * * *"}
        status, first = await api("schedules", "POST", request)
        assert status == 201, first
        status, body = await api("schedules", "POST", request)
        assert status == 429, body
        assert "limits.max_schedules_per_user" in assert_clean_message(body, world)
        assert (await counts(api))[1] == 1

    async def test_tensorboards(self, api: Any, world: dict[str, Path]) -> None:
        (world["root"] / "logs").mkdir()
        status, body = await api("tensorboards", "POST", {"logdir": "logs"})
        assert status == 429, body
        assert "limits.max_tensorboards_per_user" in assert_clean_message(body, world)
        _, boards = await api("tensorboards")
        assert boards["tensorboards"] == []


def test_validators_refuse_a_trailing_newline() -> None:
    """Every validator of names and references anchors at the end of the text."""
    from pydantic import ValidationError

    from jupyter_mlplat import config as cfg
    from jupyter_mlplat.containment import safe_name
    from jupyter_mlplat.images.errors import BadImageReference
    from jupyter_mlplat.images.refs import DIGEST_RE, REPO_RE, TAG_RE, parse_image_ref
    from jupyter_mlplat.parameters import check_name

    for bad in ({"name": "prod\n"}, {"name": "prod\n", "kind": "local"}):
        with pytest.raises(ValidationError):
            cfg.StorageCluster.model_validate(bad)
    with pytest.raises(ValidationError):
        cfg.Resources.model_validate({"cpu": "2\n"})
    with pytest.raises(ValidationError):
        cfg.Runtime.model_validate({"name": "torch\n"})
    for pattern, text in ((REPO_RE, "runtimes/torch\n"), (TAG_RE, "2.4\n"),
                          (DIGEST_RE, "sha256:" + "a" * 64 + "\n")):
        assert pattern.fullmatch(text.rstrip("\n")) and not pattern.fullmatch(text)
    with pytest.raises(BadImageReference):
        parse_image_ref("runtimes/torch:2.4\nx")
    with pytest.raises(ValueError):
        check_name("lr\n")
    assert safe_name("../../outside/pwned") == "outside-pwned"
    assert safe_name("..") == "job" and safe_name("a\nb") == "a-b"
