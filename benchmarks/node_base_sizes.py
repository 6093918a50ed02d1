"""Submit -> running -> succeeded on the real node with a small and a large base image already
on the node: only the job's code layer is pulled, so the base's size should barely matter.

Two runtimes are pushed to the sandbox registry: the sandbox's Python runtime as it is (Debian's
CPython, papermill, pandas/numpy: about 155 MB compressed) and the same with a 1 GiB layer of
random bytes on top (gzip cannot shrink it). One untimed job on each pulls its base onto the node;
then submits alternate between the two (``--jobs`` each), every one with other parameters, so
each builds, pushes and pulls a new code layer on a base the node already has. Times are the
job's recorded ``started``/``finished`` minus the moment ``submit`` was called.

Usage: ``python benchmarks/node_base_sizes.py [--jobs N] [--large-mib M]``; starts kube,
registry and the node in a temporary folder (built into ~/.cache/jupyter-mlplat the first time)
and stops them after.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from node_vs_local import ROOT, notebook
from timing import pct, timed_job


def push_runtime(registry: dict[str, Any], repo: str, payload_bytes: int) -> float:
    """The Python runtime (plus ``payload_bytes`` of random data) as ``repo:1``; its size."""
    from jupyter_mlplat import __version__
    from jupyter_mlplat.devcluster.base_images import payload_layer, push_image
    from jupyter_mlplat.devcluster.runtime_images import (
        PYTHON,
        build_runtime,
        platform_layer,
        runtime_config,
    )
    from jupyter_mlplat.images.registry import RegistryAccess

    built = build_runtime(PYTHON)
    layers = [*built.layers, platform_layer(__version__)]
    if payload_bytes:
        layers.append(payload_layer(payload_bytes, seed=7, path="opt/base/payload.bin"))
    push_image(RegistryAccess(registry["address"], True), repo, "1", layers,
               runtime_config(built, layers, __version__))
    return sum(layer.size for layer in layers) / 2**20


def one_job(platform: Any, runtime: str, n: int) -> tuple[float, float]:
    from jupyter_mlplat.jobs.schemas import JobSpec

    return timed_job(platform, JobSpec(notebook="bench.ipynb", target="kube-node",
                                       runtime=runtime, parameters={"n": n}), "alice",
                     timeout=600, poll=0.05)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=10)
    parser.add_argument("--large-mib", type=int, default=1024)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    from jupyter_mlplat.config import load_config
    from jupyter_mlplat.devcluster import node as devnode
    from jupyter_mlplat.devcluster import registry as devregistry
    from jupyter_mlplat.devcluster.sandbox import Sandbox
    from jupyter_mlplat.platform import Platform

    sides = {"small": 0, "large": args.large_mib * 2**20}
    with tempfile.TemporaryDirectory() as tmp:
        sandbox = Sandbox(Path(tmp) / "sandbox")
        state = sandbox.up(["kube", "registry", "node"], progress=lambda _m: None)
        infos = {name: entry["info"] for name, entry in state["components"].items()}
        try:
            sizes = {side: push_runtime(infos["registry"], f"runtimes/bench-{side}", payload)
                     for side, payload in sides.items()}
            root = Path(tmp) / "root"
            root.mkdir()
            notebook(root / "bench.ipynb")
            config = load_config({
                "user": "alice", "data_dir": str(Path(tmp) / "data"),
                "targets": devnode.platform_config(infos["node"])["targets"],
                **devregistry.platform_config(infos["registry"]),
                "runtimes": [{"name": side, "image": f"runtimes/bench-{side}:1",
                              "workdir": "/workspace"} for side in sides]})
            platform = Platform(config, root)
            times: dict[str, list[tuple[float, float]]] = {side: [] for side in sides}
            try:
                for side in sides:  # the base's layers onto the node, untimed
                    t0 = time.monotonic()
                    one_job(platform, side, 0)
                    print(f"{side}: first job (base pulled) in {time.monotonic() - t0:.1f} s",
                          flush=True)
                for i in range(1, args.jobs + 1):
                    for side in sides:
                        times[side].append(one_job(platform, side, i))
            finally:
                platform.close()
        finally:
            sandbox.down()
    print(f"jobs: {args.jobs} per base (alternating), bases already on the node")
    rows = {}
    for side, pairs in times.items():
        running = [r for r, _ in pairs]
        done = [d for _, d in pairs]
        rows[side] = (pct(running, .5), pct(running, .95), pct(done, .5), pct(done, .95))
        print(f"{side:6} base {sizes[side]:7.0f} MiB  submit->running p50 {rows[side][0]:.2f} s "
              f"p95 {rows[side][1]:.2f} s   submit->succeeded p50 {rows[side][2]:.2f} s "
              f"p95 {rows[side][3]:.2f} s")
    big, small = rows["large"], rows["small"]
    print(f"ratio large/small: running p50 {big[0] / small[0]:.2f} p95 {big[1] / small[1]:.2f}, "
          f"succeeded p50 {big[2] / small[2]:.2f} p95 {big[3] / small[3]:.2f} "
          "(goal: within 1.20)")


if __name__ == "__main__":
    main()
