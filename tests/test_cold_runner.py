"""With no warm runners, a job's runner starts its kernel itself, as a warm runner would (on
other ports when the ones picked were taken meanwhile), runs the notebook in it and stops it."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import psutil
import pytest

from .helpers import local_server_config, write_notebook


@pytest.fixture
def jp_server_config(mlplat_data_dir: Path) -> dict[str, Any]:
    return local_server_config(mlplat_data_dir, warm_runners=0)


def _kernels_in(folder: Path) -> list[psutil.Process]:
    """Kernel processes working in ``folder``."""
    found = []
    for proc in psutil.process_iter(["cmdline"]):
        try:
            if "ipykernel_launcher" in " ".join(proc.info["cmdline"] or []) \
                    and Path(proc.cwd()) == folder:
                found.append(proc)
        except psutil.Error:
            continue
    return found


async def test_a_cold_runner_runs_the_notebook_in_a_kernel_it_stops(
        api: Any, jp_root_dir: Path) -> None:
    write_notebook(jp_root_dir / "cold" / "hello.ipynb", "who = 'x'",
                   "import os\nprint('hello', who, os.getcwd())")
    status, job = await api("jobs", "POST", {"notebook": "cold/hello.ipynb",
                                             "parameters": {"who": "cold"}})
    assert status == 201, job
    folder, kernel_seen = jp_root_dir / "cold", False
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        job = (await api(f"jobs/{job['id']}"))[1]
        kernel_seen = kernel_seen or bool(_kernels_in(folder))
        if job["state"] in ("succeeded", "failed", "cancelled"):
            break
        await asyncio.sleep(0.1)
    assert job["state"] == "succeeded", job
    status, log = await api(f"jobs/{job['id']}/logs")
    text = log["text"] if isinstance(log, dict) else str(log)
    assert f"hello cold {jp_root_dir / 'cold'}" in text, text
    assert kernel_seen, "the job's kernel was never seen working in the notebook's folder"
    deadline = time.monotonic() + 30  # the runner stops its kernel on its way out
    while _kernels_in(folder) and time.monotonic() < deadline:
        await asyncio.sleep(0.2)
    assert not _kernels_in(folder)
