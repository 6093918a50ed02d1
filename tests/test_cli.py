"""``mlp jobs``: real runner processes and a real database in a temporary root."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import nbformat
import pytest
from click.testing import CliRunner, Result

from jupyter_mlplat.cli import cli
from jupyter_mlplat.platform import Platform
from tests.helpers import (
    all_gone,
    platform_env,
    tree_pids,
    wait_for,
    write_notebook,
    write_sleeping_notebook,
)


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A Jupyter root with notebooks; the environment points the CLI at it, cwd is its sub."""
    root = tmp_path_factory.mktemp("root")
    write_notebook(root / "work" / "train.ipynb")
    write_sleeping_notebook(root / "work" / "sleep.ipynb")
    (root / "work" / "boom.py").write_text("print('about to fail')\nraise ValueError('boom')\n")
    with pytest.MonkeyPatch.context() as mp:
        for key, value in platform_env(root).items():
            mp.setenv(key, value)
        mp.chdir(root / "work")
        yield root


def mlp(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), prog_name="mlp", catch_exceptions=False)


def job_count() -> int:
    platform = Platform.from_env()
    try:
        return platform.jobs.page().total
    finally:
        platform.close()


@pytest.fixture(scope="module")
def finished(root: Path) -> dict:
    """One job submitted with a parameter and waited for: what the later tests look at."""
    result = mlp("jobs", "submit", "train.ipynb", "-p", "n", "5", "-p", "msg", "7", "-q",
                 "--wait")
    assert result.exit_code == 0, result.output
    job_id = result.stdout.strip()
    assert f"job {job_id} succeeded" in result.stderr
    return json.loads(mlp("jobs", "show", job_id, "--json").stdout)


def test_submit_wait_runs_the_notebook_with_coerced_parameters(root: Path, finished: dict) -> None:
    assert finished["state"] == "succeeded"
    assert finished["spec"]["notebook"] == "work/train.ipynb"  # relative to the root, not cwd
    assert finished["spec"]["parameters"] == {"n": 5, "msg": "7"}  # int as declared; str kept
    output = nbformat.read(root / finished["outputs"]["notebook"], as_version=4)
    text = "".join(o.get("text", "") for c in output.cells for o in c.get("outputs", []))
    assert "n is 5, lr is 0.5, msg is 7" in text


def test_list_show_and_logs(finished: dict) -> None:
    job_id = finished["id"]
    listed = mlp("jobs", "list")
    assert listed.exit_code == 0
    assert job_id in listed.stdout and "succeeded" in listed.stdout
    page = json.loads(mlp("jobs", "list", "--json", "--state", "succeeded").stdout)
    assert job_id in [j["id"] for j in page["jobs"]]
    assert json.loads(mlp("jobs", "list", "--json", "--state", "failed").stdout)["jobs"] == []

    shown = mlp("jobs", "show", job_id)
    assert shown.exit_code == 0
    timeline = shown.stdout.split("timeline", 1)[1]
    for state in ("queued", "running", "succeeded"):
        assert state in timeline
    assert [e["state"] for e in finished["events"]] == ["queued", "running", "succeeded"]

    logs = mlp("jobs", "logs", job_id)
    assert "n is 5, lr is 0.5, msg is 7" in logs.stdout


def test_rerun_with_a_changed_parameter_then_follow(finished: dict) -> None:
    rerun = mlp("jobs", "rerun", finished["id"], "-p", "lr", "2")
    assert rerun.exit_code == 0, rerun.output
    new_id = rerun.stdout.split()[2]
    followed = mlp("jobs", "logs", new_id, "--follow")
    assert followed.exit_code == 0, followed.output
    assert "n is 5, lr is 2.0, msg is 7" in followed.stdout  # lr declared float: 2 -> 2.0
    job = json.loads(mlp("jobs", "show", new_id, "--json").stdout)
    assert job["parent_id"] == finished["id"]
    assert job["spec"]["parameters"] == {"n": 5, "msg": "7", "lr": 2.0}


def test_failed_job_exits_1_with_its_error(root: Path) -> None:
    result = mlp("jobs", "submit", "--code-file", "boom.py", "--name", "boom", "--wait")
    assert result.exit_code == 1
    assert "failed" in result.stderr and "ValueError: boom" in result.stderr


def test_cancel_ends_the_whole_process_tree(root: Path) -> None:
    job_id = mlp("jobs", "submit", "sleep.ipynb", "-q").stdout.strip()
    platform = Platform.from_env()
    try:
        wait_for(lambda: "sleeping" in platform.jobs.logs(job_id).text, timeout=90,
                 what="the notebook to start sleeping")
        pids = tree_pids(platform.jobs.store.backend_ref(job_id)["pid"])
        assert len(pids) >= 2  # the runner and the kernel it started
        result = mlp("jobs", "cancel", job_id)
        assert result.exit_code == 0
        assert f"cancelled job {job_id}" in result.stdout
        assert all_gone(pids)
        assert platform.jobs.get(job_id).state.value == "cancelled"
    finally:
        platform.close()
    again = mlp("jobs", "cancel", job_id)
    assert again.exit_code == 1
    assert "already cancelled" in again.stderr


@pytest.mark.parametrize(("args", "code", "message"), [
    (["jobs", "submit", "train.ipynb", "-p", "epochs", "3"], 2,
     "unknown parameter epochs; the notebook declares: n, lr, msg"),
    (["jobs", "submit", "train.ipynb", "--target", "gpu-farm"], 2,
     "unknown compute target 'gpu-farm'; valid: local"),
    (["jobs", "submit", "train.ipynb", "--runtime", "nope"], 2, "unknown runtime 'nope'"),
    (["jobs", "submit", "train.ipynb", "-p", "n", "five"], 2, "parameter 'n' must be int"),
    (["jobs", "submit", "train.ipynb", "--memory", "4 GB"], 2, "not a Kubernetes quantity"),
    (["jobs", "submit", "missing.ipynb"], 1, "not found"),
    (["jobs", "submit", "../../outside.ipynb"], 2, "outside the Jupyter root"),
    (["jobs", "submit"], 2, "give a NOTEBOOK or --code-file"),
    (["jobs", "list", "--state", "done"], 2, "'done' is not one of"),
    (["jobs", "show", "jnope"], 1, "no job 'jnope'"),
    (["jobs", "rerun", "jnope", "-p", "n", "1"], 1, "no job 'jnope'"),
])
def test_bad_input_exits_non_zero_with_a_message_and_leaves_nothing(
        root: Path, args: list[str], code: int, message: str) -> None:
    (root.parent / "outside.ipynb").write_text("{}")
    before = job_count()
    result = mlp(*args)
    assert result.exit_code == code, result.output
    assert message in result.stderr
    assert "Traceback" not in result.output
    assert job_count() == before


def test_console_script_reports_errors_without_a_traceback(root: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "jupyter_mlplat.cli", "jobs", "submit",
                           "train.ipynb", "-p", "nope", "1"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert "Error: unknown parameter nope" in proc.stderr
    assert "Traceback" not in proc.stderr
    help_text = subprocess.run([sys.executable, "-m", "jupyter_mlplat.cli", "--help"],
                               capture_output=True, text=True, timeout=120).stdout
    assert "jobs" in help_text and "devcluster" in help_text
