"""Submit -> running -> succeeded of one notebook on the sandbox's real node vs as a local job.

The same small notebook is submitted through the jobs service (``JobService.submit``) to the
``kube-node`` target — code layer appended and pushed, a ``batch/v1`` Job, the kubelet pulling
the image into containerd and runc starting papermill in the container — and to a ``local``
target (papermill in a subprocess; cold runner, no warm pool, so both sides start a Python and a
kernel). Submits alternate between the sides so the machine's load weighs on both alike; every
kube submit has other parameters, so each one builds, pushes and pulls a new code layer.
Times are the job's recorded ``started``/``finished`` minus the moment ``submit`` was called
(``running`` on the node is when the watcher saw the container running).

Usage: ``python benchmarks/node_vs_local.py [--jobs N]``; starts kube, registry and the node in
a temporary folder (built into ~/.cache/jupyter-mlplat the first time) and stops them after.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import nbformat
from timing import pct, timed_job

ROOT = Path(__file__).resolve().parents[1]


def notebook(path: Path) -> None:
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell("n = 1")
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, nbformat.v4.new_code_cell("print(sum(range(n * 1000)))")]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nbformat.write(nb, str(path))


def one_job(platform: Any, target: str, n: int) -> tuple[float, float]:
    from jupyter_mlplat.jobs.schemas import JobSpec

    return timed_job(platform, JobSpec(notebook="bench.ipynb", target=target,
                                       parameters={"n": n}), "alice", timeout=300, poll=0.05)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=12)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    from jupyter_mlplat.config import load_config
    from jupyter_mlplat.devcluster import node as devnode
    from jupyter_mlplat.devcluster import registry as devregistry
    from jupyter_mlplat.devcluster.sandbox import Sandbox
    from jupyter_mlplat.platform import Platform

    with tempfile.TemporaryDirectory() as tmp:
        sandbox = Sandbox(Path(tmp) / "sandbox")
        t0 = time.monotonic()
        state = sandbox.up(["kube", "registry", "node"], progress=lambda _m: None)
        up_seconds = time.monotonic() - t0
        infos = {name: entry["info"] for name, entry in state["components"].items()}
        try:
            root = Path(tmp) / "root"
            root.mkdir()
            notebook(root / "bench.ipynb")
            config = load_config({
                "user": "alice", "data_dir": str(Path(tmp) / "data"),
                "targets": [{"name": "local", "kind": "local", "warm_runners": 0},
                            *devnode.platform_config(infos["node"])["targets"]],
                **devregistry.platform_config(infos["registry"])})
            platform = Platform(config, root)
            times: dict[str, list[tuple[float, float]]] = {"kube-node": [], "local": []}
            try:
                one_job(platform, "kube-node", 0)  # first pull of the runtime's layers
                for i in range(1, args.jobs + 1):
                    times["kube-node"].append(one_job(platform, "kube-node", i))
                    times["local"].append(one_job(platform, "local", i))
            finally:
                platform.close()
            rss = {**sandbox.components["node"].rss_mb()}  # type: ignore[attr-defined]
        finally:
            sandbox.down()
    print(f"sandbox (kube, registry, node) up in {up_seconds:.1f} s; node memory {rss} MiB")
    print(f"jobs: {args.jobs} per side (alternating), after one untimed pull of the runtime")
    rows = {}
    for side, pairs in times.items():
        running = [r for r, _ in pairs]
        done = [d for _, d in pairs]
        rows[side] = (pct(running, .5), pct(running, .95), pct(done, .5), pct(done, .95))
        print(f"{side:9}  submit->running p50 {rows[side][0]:.2f} s  p95 {rows[side][1]:.2f} s"
              f"   submit->succeeded p50 {rows[side][2]:.2f} s  p95 {rows[side][3]:.2f} s")
    k, loc = rows["kube-node"], rows["local"]
    print(f"ratio node/local: running p50 {k[0] / loc[0]:.1f}x p95 {k[1] / loc[1]:.1f}x, "
          f"succeeded p50 {k[2] / loc[2]:.1f}x p95 {k[3] / loc[3]:.1f}x")


if __name__ == "__main__":
    main()
