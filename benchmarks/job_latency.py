"""Submit -> running and submit -> succeeded of a trivial local job: warm runners vs cold starts.

Both sides submit the same trivial notebook through the jobs service (``JobService.submit``),
alternating job by job so that the machine's load weighs on both alike: ``warm`` takes a runner
of the local target's pool (papermill imported, kernel started; the benchmark lets the pool
refill between jobs, as the seconds between a user's submits do), ``cold`` starts a runner
process as a target without warm runners does. Times are the job's own recorded ``started`` and
``finished`` minus the moment ``submit`` was called.
Usage: ``python benchmarks/job_latency.py [--jobs N]``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

import nbformat
from timing import pct, timed_job

ROOT = Path(__file__).resolve().parents[1]


def trivial_notebook(path: Path) -> None:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("x = 1\nprint(x + 1)")]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nbformat.write(nb, str(path))


def one_job(platform: Any, target: str) -> tuple[float, float]:
    from jupyter_mlplat.jobs.schemas import JobSpec

    return timed_job(platform, JobSpec(notebook="trivial.ipynb", target=target), "bench")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "root"
        root.mkdir()
        trivial_notebook(root / "trivial.ipynb")
        config = Path(tmp) / "config.json"
        config.write_text(json.dumps({"data_dir": str(Path(tmp) / "data"), "targets": [
            {"name": "warm", "kind": "local", "warm_runners": 1},
            {"name": "cold", "kind": "local", "warm_runners": 0}]}))
        os.environ.update({"MLPLAT_CONFIG_FILE": str(config), "MLPLAT_ROOT_DIR": str(root),
                           "PYTHONPATH": os.pathsep.join(
                               p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)})
        sys.path.insert(0, str(ROOT))
        from jupyter_mlplat.platform import Platform

        platform = Platform.from_env()
        pool = platform.jobs.backend("warm").warm()  # type: ignore[attr-defined]
        times: dict[str, list[tuple[float, float]]] = {"warm": [], "cold": []}
        try:
            for _ in range(args.jobs):
                assert pool.wait_ready(timeout=120), "the warm runner never got ready"
                times["warm"].append(one_job(platform, "warm"))
                times["cold"].append(one_job(platform, "cold"))
        finally:
            platform.close()
    print(f"jobs: {args.jobs} per side (alternating warm and cold)")
    rows = {}
    for side, pairs in times.items():
        running = [r for r, _ in pairs]
        done = [d for _, d in pairs]
        rows[side] = (pct(running, .5), pct(running, .95), pct(done, .5), pct(done, .95))
        print(f"{side:5}  submit->running p50 {rows[side][0]:.3f} s  p95 {rows[side][1]:.3f} s"
              f"   submit->succeeded p50 {rows[side][2]:.3f} s  p95 {rows[side][3]:.3f} s")
    w, c = rows["warm"], rows["cold"]
    print(f"ratio cold/warm: running p50 {c[0] / w[0]:.1f}x p95 {c[1] / w[1]:.1f}x, "
          f"succeeded p50 {c[2] / w[2]:.1f}x p95 {c[3] / w[3]:.1f}x")
    print(f"goals (warm p95): running <= 0.3 s: {w[1] <= 0.3}; succeeded <= 1.0 s: {w[3] <= 1.0}")


if __name__ == "__main__":
    main()
