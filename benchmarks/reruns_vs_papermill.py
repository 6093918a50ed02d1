"""20 parameterized reruns of a small notebook: our runs service (local target) vs papermill.

Both sides run the same notebook with the same parameters, alternating run by run: ours through
``RunService.create`` + ``wait`` (a detached runner process per run, executing papermill and
recording state in the database), papermill as its CLI started by a shell, as a loop would.
Prints both wall times and the ratio (goal: <= 1.05x).
Usage: ``python benchmarks/reruns_vs_papermill.py [--runs N]``.
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


def ours_once(platform: Any, root: Path, i: int) -> tuple[float, str]:
    """One run through the runs service, from the request until ``wait`` sees it finished."""
    from jupyter_mlplat.runs.models import RunRequest

    start = time.perf_counter()
    run = platform.runs.create(RunRequest(notebook="bench.ipynb", parameters=parameters(i)),
                               "bench")
    run = platform.runs.wait(run.id, poll=0.05)
    took = time.perf_counter() - start
    assert run.state.value == "succeeded", run.error
    return took, str(root / (run.output or ""))


def side_by_side(root: Path, runs: int) -> tuple[list[float], list[float], list[str], list[str]]:
    """Alternate the two sides run by run, so that a busy machine's load, which comes and goes,
    weighs on both alike (one whole side after the other measures the load as much as us)."""
    from jupyter_mlplat.platform import Platform

    out = root / "papermill-out"
    out.mkdir()
    platform = Platform.from_env()
    pm_times: list[float] = []
    our_times: list[float] = []
    pm_out: list[str] = []
    our_out: list[str] = []
    try:
        for i in range(runs):
            pm_out.append(str(out / f"{i}.ipynb"))
            pm_times.append(papermill_once(root, Path(pm_out[-1]), i))
            took, path = ours_once(platform, root, i)
            our_times.append(took)
            our_out.append(path)
    finally:
        platform.close()
    return pm_times, our_times, pm_out, our_out


def printed(path: str) -> str:
    nb = nbformat.read(path, as_version=4)
    return json.dumps([o.get("text", "") for c in nb.cells if c.cell_type == "code"
                       for o in c.get("outputs", [])])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "root"
        root.mkdir()
        small_notebook(root / "bench.ipynb")
        config = Path(tmp) / "config.json"
        config.write_text(json.dumps({"data_dir": str(Path(tmp) / "data")}))
        os.environ.update({"MLPLAT_CONFIG_FILE": str(config), "MLPLAT_ROOT_DIR": str(root),
                           "PYTHONPATH": os.pathsep.join(
                               p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)})
        sys.path.insert(0, str(ROOT))
        pm_times, our_times, pm_out, our_out = side_by_side(root, args.runs)
        same = all(printed(a) == printed(b) for a, b in zip(our_out, pm_out, strict=True))
    pm_time, our_time = sum(pm_times), sum(our_times)
    print(f"runs:            {args.runs} (alternating papermill and ours)")
    print(f"papermill CLI:   {pm_time:7.2f} s ({pm_time / args.runs:.2f} s/run, "
          f"median {statistics.median(pm_times):.2f} s)")
    print(f"runs service:    {our_time:7.2f} s ({our_time / args.runs:.2f} s/run, "
          f"median {statistics.median(our_times):.2f} s)")
    print(f"ratio ours/papermill: {our_time / pm_time:.3f}x (goal <= 1.05x); "
          f"ratio of medians {statistics.median(our_times) / statistics.median(pm_times):.3f}x")
    print(f"cell outputs identical: {same}")


if __name__ == "__main__":
    main()
