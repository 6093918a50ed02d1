"""20 parameterized reruns of a small notebook: our runs service (local target) vs papermill.

All sides run the same notebook with the same parameters, alternating run by run: papermill as
its CLI started by a shell, as a loop would; ours through ``RunService.create`` + ``wait`` on a
target with warm runners (the default pool: a runner with papermill imported and a kernel
started takes the run; the pool refills in the background, forking runners from a process that
has papermill imported) and on one without (a runner process started per run, the cold path).
The warm runner of run i+1 is started while run i and the others' runs execute, as it would be
between a user's reruns. Then it times N warm reruns in a row with nothing between them, where
the pool must refill as fast as runs end, and N papermill runs in a row.
Prints wall times, p50/p95 per run, ratios (goal: papermill / warm >= 3x, in both) and whether
the outputs are the same.
Usage: ``python benchmarks/reruns_vs_papermill.py [--runs N] [--warm-runners K]``.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import nbformat
from timing import pct

ROOT = Path(__file__).resolve().parents[1]


def small_notebook(path: Path) -> None:
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell("alpha = 0.1\nsteps = 10")
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, nbformat.v4.new_code_cell(
        "total = sum(alpha * i for i in range(steps))\nprint(round(total, 6))")]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nbformat.write(nb, str(path))


def parameters(i: int) -> dict[str, float | int]:
    return {"alpha": round(0.1 * (i + 1), 3), "steps": 10 + i}


def papermill_once(root: Path, out: Path, i: int) -> float:
    """One ``papermill`` CLI run, as a line of a shell loop would start it."""
    args = " ".join(f"-p {k} {v}" for k, v in parameters(i).items())
    line = (f"papermill -k python3 --no-progress-bar bench.ipynb "
            f"{shlex.quote(str(out))} {args} >/dev/null 2>&1")
    start = time.perf_counter()
    subprocess.run(["bash", "-c", line], cwd=root, check=True)
    return time.perf_counter() - start


def ours_once(platform: Any, root: Path, i: int, target: str = "local") -> tuple[float, str]:
    """One run through the runs service, from the request until ``wait`` sees it finished."""
    from jupyter_mlplat.runs.schemas import RunRequest

    start = time.perf_counter()
    run = platform.runs.create(RunRequest(notebook="bench.ipynb", parameters=parameters(i),
                                          target=target), "bench")
    run = platform.runs.wait(run.id, poll=0.05)
    took = time.perf_counter() - start
    assert run.state.value == "succeeded", run.error
    return took, str(root / (run.output or ""))


Sides = dict[str, tuple[list[float], list[str]]]


def side_by_side(root: Path, runs: int) -> Sides:
    """Alternate the sides run by run, so that a busy machine's load, which comes and goes,
    weighs on all alike (one whole side after the other measures the load as much as us)."""
    from jupyter_mlplat.platform import Platform

    out = root / "papermill-out"
    out.mkdir()
    platform = Platform.from_env()
    platform.jobs.backend("local").warm()  # type: ignore[attr-defined]  # as the server does
    sides: Sides = {"papermill": ([], []), "warm": ([], []), "cold": ([], [])}
    try:
        for i in range(runs):
            path = str(out / f"{i}.ipynb")
            sides["papermill"][0].append(papermill_once(root, Path(path), i))
            sides["papermill"][1].append(path)
            for side, target in (("warm", "local"), ("cold", "cold")):
                took, path = ours_once(platform, root, i, target)
                sides[side][0].append(took)
                sides[side][1].append(path)
    finally:
        platform.close()
    return sides


def back_to_back(root: Path, runs: int) -> tuple[list[float], list[float], int]:
    """``runs`` warm reruns in a row, then ``runs`` papermill runs in a row; how many of ours
    found a warm runner ready."""
    from jupyter_mlplat.platform import Platform

    out = root / "papermill-row"
    out.mkdir()
    platform = Platform.from_env()
    pool = platform.jobs.backend("local").warm()  # type: ignore[attr-defined]
    assert pool.wait_ready(timeout=120)
    ours, warm = [], 0
    try:
        for i in range(runs):
            took, _ = ours_once(platform, root, i)
            ours.append(took)
        for job in platform.jobs.page(limit=runs).jobs:
            warm += any("warm runner" in e.message for e in job.events)
    finally:
        platform.close()
    theirs = [papermill_once(root, out / f"{i}.ipynb", i) for i in range(runs)]
    return ours, theirs, warm


def printed(path: str) -> str:
    nb = nbformat.read(path, as_version=4)
    return json.dumps([o.get("text", "") for c in nb.cells if c.cell_type == "code"
                       for o in c.get("outputs", [])])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--warm-runners", type=int, default=None,
                        help="the warm target's pool size (default: the configuration's)")
    args = parser.parse_args()
    warm: dict[str, object] = {"name": "local", "kind": "local"}
    if args.warm_runners is not None:
        warm["warm_runners"] = args.warm_runners
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "root"
        root.mkdir()
        small_notebook(root / "bench.ipynb")
        config = Path(tmp) / "config.json"
        config.write_text(json.dumps({"data_dir": str(Path(tmp) / "data"), "targets": [
            warm,
            {"name": "cold", "kind": "local", "warm_runners": 0}]}))
        os.environ.update({"MLPLAT_CONFIG_FILE": str(config), "MLPLAT_ROOT_DIR": str(root),
                           "PYTHONPATH": os.pathsep.join(
                               p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)})
        sys.path.insert(0, str(ROOT))
        sides = side_by_side(root, args.runs)
        same = {side: all(printed(a) == printed(b) for a, b in
                          zip(sides[side][1], sides["papermill"][1], strict=True))
                for side in ("warm", "cold")}
        row = back_to_back(root, args.runs)
    from jupyter_mlplat.config import LocalTarget

    pool = LocalTarget(name="local", **{k: v for k, v in warm.items() if k != "name"})
    print(f"runs:            {args.runs} per side (alternating papermill, warm, cold); "
          f"warm runners: {pool.warm_runners}; load average {os.getloadavg()[0]:.2f}")
    total = {side: sum(times) for side, (times, _) in sides.items()}
    for side, (times, _) in sides.items():
        print(f"{side:15}  {total[side]:7.2f} s ({total[side] / args.runs:.2f} s/run, "
              f"p50 {statistics.median(times):.2f} s, p95 {pct(times, 0.95):.2f} s)")
    pm = total["papermill"]
    print(f"speed-up papermill/warm: {pm / total['warm']:.2f}x (goal >= 3x); "
          f"papermill/cold: {pm / total['cold']:.2f}x; cold/warm: "
          f"{total['cold'] / total['warm']:.2f}x")
    print(f"cell outputs identical to papermill's: warm {same['warm']}, cold {same['cold']}")
    ours, theirs, taken = row
    print(f"back to back: {args.runs} warm reruns {sum(ours):.2f} s (p50 "
          f"{statistics.median(ours):.2f} s, p95 {pct(ours, 0.95):.2f} s; {taken} taken by a "
          f"warm runner, ready or starting), {args.runs} papermill runs {sum(theirs):.2f} s "
          f"(p50 {statistics.median(theirs):.2f} s, p95 {pct(theirs, 0.95):.2f} s)")
    print(f"speed-up papermill/warm: alternating {pm / total['warm']:.2f}x, back to back "
          f"{sum(theirs) / sum(ours):.2f}x (goal >= 3x)")


if __name__ == "__main__":
    main()
