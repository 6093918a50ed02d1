"""The ``%mlp_*`` magics in a real kernel started from the ML Platform kernel spec.

The kernel loads the magics itself (no ``%load_ext``), submits real jobs whose runners are real
processes, and every job lands in the same database ``Platform.from_env()`` reads.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from IPython.core.interactiveshell import InteractiveShell
from jupyter_client.blocking.client import BlockingKernelClient
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import KernelManager

from jupyter_mlplat.jobs.schemas import Job
from jupyter_mlplat.platform import Platform
from tests.helpers import (
    REPO_ROOT,
    all_gone,
    platform_env,
    tree_pids,
    wait_for,
    write_notebook,
    write_sleeping_notebook,
)

JOB_ID = re.compile(r"\bj[0-9a-f]{12}\b")


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    root = tmp_path_factory.mktemp("root")
    write_notebook(root / "work" / "train.ipynb")
    write_sleeping_notebook(root / "work" / "sleep.ipynb")
    with pytest.MonkeyPatch.context() as mp:
        for key, value in platform_env(root).items():
            mp.setenv(key, value)
        yield root


@pytest.fixture(scope="module")
def platform(root: Path) -> Iterator[Platform]:
    platform = Platform.from_env()
    yield platform
    platform.close()


def kernel_specs() -> KernelSpecManager:
    return KernelSpecManager(kernel_dirs=[str(REPO_ROOT / "kernels")])


@pytest.fixture(scope="module")
def kernel(root: Path) -> Iterator[BlockingKernelClient]:
    """An ML Platform kernel in ``work/``, opened for ``work/train.ipynb`` like Jupyter does."""
    km = KernelManager(kernel_name="mlplat-python3", kernel_spec_manager=kernel_specs())
    env = {**os.environ, "JPY_SESSION_NAME": str(root / "work" / "train.ipynb")}
    km.start_kernel(env=env, cwd=str(root / "work"))
    kc = km.client()
    kc.start_channels()
    try:
        kc.wait_for_ready(timeout=120)
        yield kc
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


class Ran:
    """What one execution produced: the reply and every IOPub message, by kind."""

    def __init__(self, reply: dict[str, Any], messages: list[dict[str, Any]]) -> None:
        self.reply = reply["content"]
        self.messages = messages

    def of(self, msg_type: str) -> list[dict[str, Any]]:
        return [m["content"] for m in self.messages if m["msg_type"] == msg_type]

    @property
    def stdout(self) -> str:
        return "".join(c["text"] for c in self.of("stream") if c["name"] == "stdout")

    @property
    def stderr(self) -> str:
        return "".join(c["text"] for c in self.of("stream") if c["name"] == "stderr")

    def data(self, mime: str) -> list[Any]:
        return [c["data"][mime] for c in self.of("display_data") + self.of("execute_result")
                if mime in c["data"]]


def run(kc: BlockingKernelClient, code: str, timeout: float = 180) -> Ran:
    messages: list[dict[str, Any]] = []
    reply = kc.execute_interactive(code, output_hook=messages.append, timeout=timeout)
    return Ran(reply, messages)


@pytest.fixture(scope="module")
def notebook_job(kernel: BlockingKernelClient, platform: Platform) -> tuple[Job, Ran]:
    ran = run(kernel, "job = %mlp_submit train.ipynb -p n 5 --wait\njob")
    assert ran.reply["status"] == "ok", ran.stderr
    (result,) = ran.data("text/plain")[-1:]
    job_id = JOB_ID.search(result).group(0)  # type: ignore[union-attr]
    return platform.jobs.get(job_id), ran


@pytest.fixture(scope="module")
def cell_job(root: Path, platform: Platform) -> Job:
    """A ``%%mlp_submit`` cell run in a terminal IPython: the text fallback of the monitor."""
    shell = InteractiveShell.instance()
    shell.run_line_magic("load_ext", "jupyter_mlplat")
    result = shell.run_cell('%%mlp_submit --wait --name from-a-cell\nprint("from a cell", 6 * 7)')
    assert result.success, result.error_in_exec
    assert isinstance(result.result, Job)
    return platform.jobs.get(result.result.id)


def test_kernel_spec_names_the_platform() -> None:
    spec = kernel_specs().get_kernel_spec("mlplat-python3")
    assert spec.display_name == "Python 3 (ML Platform)"
    assert spec.language == "python"


def test_submit_notebook_and_wait(notebook_job: tuple[Job, Ran], platform: Platform) -> None:
    job, ran = notebook_job
    assert job.state.value == "succeeded"
    assert job.spec.notebook == "work/train.ipynb"  # named from the kernel's cwd, stored by root
    assert job.spec.parameters == {"n": 5}
    assert job.id in [j.id for j in platform.jobs.page().jobs]
    assert "n is 5, lr is 0.5" in platform.jobs.logs(job.id).text
    # the monitor: a widget whose text fallback names the job, updated until the job ended
    (view,) = ran.data("application/vnd.jupyter.widget-view+json")
    assert view["model_id"]
    assert any(job.id in text for text in ran.data("text/plain"))
    updates = str(ran.of("comm_msg"))
    assert "mlplat-state-running" in updates and "mlplat-state-succeeded" in updates
    assert "n is 5, lr is 0.5" in updates  # the log tail


def test_cell_magic_runs_the_cell(cell_job: Job, platform: Platform) -> None:
    assert cell_job.state.value == "succeeded"
    assert cell_job.spec.code is not None and cell_job.spec.notebook is None
    assert "from a cell 42" in platform.jobs.logs(cell_job.id).text


def test_jobs_lists_both(kernel: BlockingKernelClient, notebook_job: tuple[Job, Ran],
                         cell_job: Job) -> None:
    ran = run(kernel, "%mlp_jobs")
    (table,) = ran.data("text/html")
    for job in (notebook_job[0], cell_job):
        assert job.id in table
    assert "mlplat-state-succeeded" in table
    (text,) = ran.data("text/plain")
    assert "from-a-cell" in text and "train" in text
    failed = run(kernel, "%mlp_jobs --state failed")
    assert "No jobs yet" in failed.data("text/plain")[0]


def test_logs(kernel: BlockingKernelClient, notebook_job: tuple[Job, Ran]) -> None:
    job = notebook_job[0]
    assert "n is 5, lr is 0.5" in run(kernel, f"%mlp_logs {job.id}").stdout
    followed = run(kernel, f"%mlp_logs {job.id} --follow").stdout
    assert "n is 5, lr is 0.5" in followed and f"job {job.id} succeeded" in followed


def test_cancel_stops_the_job_and_its_processes(kernel: BlockingKernelClient,
                                                platform: Platform) -> None:
    ran = run(kernel, "%mlp_submit sleep.ipynb")
    assert ran.reply["status"] == "ok", ran.stderr
    job_id = JOB_ID.search(" ".join(ran.data("text/plain"))).group(0)  # type: ignore[union-attr]
    wait_for(lambda: "sleeping" in platform.jobs.logs(job_id).text, timeout=90,
             what="the notebook to start sleeping")
    pids = tree_pids(platform.jobs.store.backend_ref(job_id)["pid"])
    assert len(pids) >= 2
    cancelled = run(kernel, f"%mlp_cancel {job_id}")
    assert f"cancelled job {job_id}" in cancelled.stdout
    assert all_gone(pids)
    assert platform.jobs.get(job_id).state.value == "cancelled"


def test_submit_without_a_name_takes_this_notebook(kernel: BlockingKernelClient,
                                                    platform: Platform) -> None:
    ran = run(kernel, "%mlp_submit -p n 6 --name current")
    assert ran.reply["status"] == "ok", ran.stderr
    job_id = JOB_ID.search(" ".join(ran.data("text/plain"))).group(0)  # type: ignore[union-attr]
    job = platform.jobs.get(job_id)
    assert (job.spec.notebook, job.spec.parameters) == ("work/train.ipynb", {"n": 6})
    # the monitor's Cancel button stops it; the ended job's monitor has no Cancel button
    clicked = run(kernel, "\n".join([
        f"m = get_ipython().magics_manager.registry['MLPlatMagics'].monitors['{job_id}']",
        "shown = m._view.cancel_button in m._view.actions.children",
        "m._view.cancel_button.click()",
        "m.wait()",
        "m._view.update(m)",
        "print(m.job.state.value, shown, m._view.cancel_button in m._view.actions.children)",
    ]))
    assert clicked.stdout.strip() == "cancelled True False", clicked.stderr
    assert platform.jobs.get(job_id).state.value == "cancelled"


@pytest.mark.parametrize(("code", "message"), [
    ("%mlp_submit train.ipynb -p epochs 3", "unknown parameter epochs; the notebook declares"),
    ("%mlp_submit train.ipynb --target gpu-farm", "valid: local"),
    ("%mlp_submit train.ipynb -p n five", "parameter 'n' must be int"),
    ("%mlp_submit missing.ipynb", "not found"),
    ("%mlp_submit train.ipynb --kind mpi", "invalid choice: 'mpi'"),
    ("%mlp_logs jnope", "no job 'jnope'"),
    ("%mlp_cancel jnope", "no job 'jnope'"),
])
def test_errors_are_one_clear_line(kernel: BlockingKernelClient, platform: Platform, code: str,
                                   message: str) -> None:
    before = platform.jobs.page().total
    ran = run(kernel, code)
    shown = ran.stderr + str(ran.reply.get("evalue", ""))
    assert message in shown
    assert "Traceback" not in shown
    assert platform.jobs.page().total == before


def test_help(kernel: BlockingKernelClient) -> None:
    out = run(kernel, "%mlp_submit --help").stdout
    assert "%mlp_submit" in out and "--wait" in out and "-p NAME VALUE" in out
