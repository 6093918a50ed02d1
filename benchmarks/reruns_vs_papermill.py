"""20 parameterized reruns of a small notebook: our runs service (local target) vs papermill.

Both sides run the same notebook with the same parameters one after another: ours through
``RunService.create`` + ``wait`` (a detached runner process per run, executing papermill and
recording state in the database), papermill as a shell loop of its CLI. Prints both wall times
and the ratio (goal: <= 1.05x). Usage: ``python benchmarks/reruns_vs_papermill.py [--runs N]``.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

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


def ours(root: Path, runs: int) -> tuple[float, list[str]]:
    from jupyter_mlplat.platform import Platform
    from jupyter_mlplat.runs.models import RunRequest

    platform = Platform.from_env()
    outputs = []
    try:
        start = time.perf_counter()
        for i in range(runs):
            run = platform.runs.create(RunRequest(notebook="bench.ipynb",
                                                  parameters=parameters(i)), "bench")
            run = platform.runs.wait(run.id, poll=0.05)
            assert run.state.value == "succeeded", run.error
            outputs.append(str(root / (run.output or "")))
        return time.perf_counter() - start, outputs
    finally:
        platform.close()


def papermill_loop(root: Path, runs: int) -> tuple[float, list[str]]:
    out = root / "papermill-out"
    out.mkdir()
    lines = []
    for i in range(runs):
        args = " ".join(f"-p {k} {v}" for k, v in parameters(i).items())
        lines.append(f"papermill -k python3 --no-progress-bar bench.ipynb "
                     f"{shlex.quote(str(out / f'{i}.ipynb'))} {args} >/dev/null 2>&1")
    script = "set -e\n" + "\n".join(lines) + "\n"
    start = time.perf_counter()
    subprocess.run(["bash", "-c", script], cwd=root, check=True)
    return time.perf_counter() - start, [str(out / f"{i}.ipynb") for i in range(runs)]


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
        pm_time, pm_out = papermill_loop(root, args.runs)
        our_time, our_out = ours(root, args.runs)
        same = all(printed(a) == printed(b) for a, b in zip(our_out, pm_out, strict=True))
    print(f"runs:            {args.runs}")
    print(f"papermill loop:  {pm_time:7.2f} s ({pm_time / args.runs:.2f} s/run)")
    print(f"runs service:    {our_time:7.2f} s ({our_time / args.runs:.2f} s/run)")
    print(f"ratio ours/papermill: {our_time / pm_time:.3f}x (goal <= 1.05x)")
    print(f"cell outputs identical: {same}")


if __name__ == "__main__":
    main()
