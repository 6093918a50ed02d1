"""Submit latency: our append build vs. ``buildah bud`` + ``buildah push``, side by side.

Seeds bases of ~100 MB and ~1 GB in a sandbox registry (the devcluster ``Registries``
component), then for each base pushes 1 MB of code (a notebook and a random data file, new each
time so the registry is cold for the code layer):

* **ours**: :func:`jupyter_mlplat.images.build_and_push` — code layer, cross-repo mounts, push;
* **buildah**: ``FROM <base>`` + ``COPY`` built with ``--isolation chroot`` on vfs storage in a
  fresh (cold) root, then pushed — what a daemonless Dockerfile build costs.

Then a second submit of unchanged code, which must move no layer bytes. Goals (DESIGN.md): at
least 20x faster than buildah on the 1 GB base, and our latency within 20 % between the bases.

    python benchmarks/submit_vs_buildah.py [--repeat 3] [--sizes 100M,1G]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from jupyter_mlplat.config import RegistryConfig, Runtime
from jupyter_mlplat.devcluster.base_images import seed_base_image
from jupyter_mlplat.devcluster.registry import Registries
from jupyter_mlplat.images import BuiltImage, CodeSource, Progress, build_and_push

CODE_BYTES = 1024 * 1024
UNITS = {"M": 1024 * 1024, "G": 1024 * 1024 * 1024}


@dataclass
class Row:
    label: str
    base_bytes: int
    ours: list[float]
    buildah_bud: float
    buildah_push: float
    ours_moved: int
    resubmit_seconds: float
    resubmit_moved: int

    @property
    def ours_median(self) -> float:
        return statistics.median(self.ours)

    @property
    def buildah_total(self) -> float:
        return self.buildah_bud + self.buildah_push


def parse_size(text: str) -> int:
    return int(float(text[:-1]) * UNITS[text[-1].upper()]) if text[-1].upper() in UNITS \
        else int(text)


def make_project(folder: Path) -> Path:
    """A notebook plus a 1 MB incompressible data file, different on every call."""
    (folder / "data").mkdir(parents=True, exist_ok=True)
    marker = uuid.uuid4().hex
    notebook = folder / "train.ipynb"
    notebook.write_text('{"cells": [{"cell_type": "code", "execution_count": null, "id": "c",'
                        f' "metadata": {{}}, "outputs": [], "source": "print(\'{marker}\')"}}],'
                        ' "metadata": {}, "nbformat": 4, "nbformat_minor": 5}')
    (folder / "data" / "blob.bin").write_bytes(os.urandom(CODE_BYTES - notebook.stat().st_size))
    return notebook


def ours(config: RegistryConfig, runtime: Runtime, notebook: Path, work: Path, job_id: str
         ) -> tuple[float, BuiltImage, int]:
    moved = [0]

    def progress(event: Progress) -> None:
        if event.phase == "pushing":
            moved[0] = event.bytes_done

    start = time.perf_counter()
    built = build_and_push(config, runtime, CodeSource(notebook=notebook, include=["data"]),
                           user="bench", job_id=job_id, work_dir=work, progress=progress)
    return time.perf_counter() - start, built, moved[0]


def buildah(host: str, base: str, project: Path, scratch: Path, target: str
            ) -> tuple[float, float]:
    """Cold storage, bud then push; returns the two durations."""
    ctx = scratch / "ctx"
    shutil.copytree(project, ctx / "project")
    (ctx / "Dockerfile").write_text(f"FROM {host}/{base}\nCOPY project/ /workspace/\n")
    common = ["buildah", "--storage-driver", "vfs", "--root", str(scratch / "root"),
              "--runroot", str(scratch / "runroot")]
    ref = f"{host}/{target}"
    start = time.perf_counter()
    _run([*common, "bud", "--isolation", "chroot", "--tls-verify=false", "-t", ref, str(ctx)])
    built = time.perf_counter()
    _run([*common, "push", "--tls-verify=false", ref])
    return built - start, time.perf_counter() - built


def _run(cmd: list[str]) -> None:
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        sys.exit(f"{' '.join(cmd[:8])} ... failed:\n{proc.stderr[-2000:]}")


@dataclass
class Base:
    label: str
    size: int
    runtime: Runtime


def seed(host: str, label: str) -> Base:
    size = parse_size(label)
    repo = f"bases/b{label.lower()}"
    started = time.perf_counter()
    seed_base_image(host, repo, "1", size, seed=size % 1000)
    print(f"  seeded {host}/{repo}:1 ({label}) in {time.perf_counter() - started:.1f} s",
          flush=True)
    return Base(label, size, Runtime(name=f"b{label.lower()}", image=f"{repo}:1"))


def measure(host: str, bases: list[Base], repeat: int, tmp: Path) -> list[Row]:
    """Ours interleaved across the bases (so machine noise hits both alike), then buildah."""
    config = RegistryConfig(push=host, insecure=True, repository_prefix="bench")
    # Warm-up (imports, connections), not timed: a small project on the smallest base.
    ours(config, bases[0].runtime, make_project(tmp / "warm-up"), tmp / "warm-up-w", "warm-up")
    times: dict[str, list[float]] = {b.label: [] for b in bases}
    last: dict[str, tuple[Path, int]] = {}
    for i in range(repeat):
        for base in bases:
            notebook = make_project(tmp / f"{base.label}-ours-{i}")
            seconds, _, moved = ours(config, base.runtime, notebook,
                                     tmp / f"{base.label}-w{i}", f"{base.label}-{i}")
            times[base.label].append(seconds)
            last[base.label] = (notebook, moved)
    rows = []
    for base in bases:
        notebook, moved = last[base.label]
        again, _, again_moved = ours(config, base.runtime, notebook,
                                     tmp / f"{base.label}-again", f"{base.label}-again")
        scratch = Path(tempfile.mkdtemp(prefix=f"buildah-{base.label}-", dir=tmp))
        try:
            project = make_project(tmp / f"{base.label}-buildah").parent
            bud, push = buildah(host, base.runtime.image or "", project, scratch,
                                f"bench/buildah-{base.label.lower()}:1")
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        print(f"  buildah on {base.label}: {bud + push:.1f} s", flush=True)
        rows.append(Row(base.label, base.size, times[base.label], bud, push, moved, again,
                        again_moved))
    return rows


def report(rows: list[Row]) -> None:
    print()
    print(f"{'base':>6} | {'ours (median)':>13} | {'ours (min)':>10} | {'buildah bud':>11} | "
          f"{'buildah push':>12} | {'buildah total':>13} | {'speed-up':>8}")
    print("-" * 94)
    for r in rows:
        print(f"{r.label:>6} | {r.ours_median:>11.3f} s | {min(r.ours):>8.3f} s | "
              f"{r.buildah_bud:>9.2f} s | {r.buildah_push:>10.2f} s | {r.buildah_total:>11.2f} s | "
              f"{r.buildah_total / r.ours_median:>7.1f}x")
    for r in rows:
        print(f"{r.label} ours runs: {' '.join(f'{t:.3f}' for t in r.ours)}")
    print()
    for r in rows:
        print(f"{r.label}: first submit moved {r.ours_moved} layer bytes; unchanged resubmit "
              f"took {r.resubmit_seconds:.3f} s and moved {r.resubmit_moved} layer bytes")
    if len(rows) >= 2:
        small, big = rows[0], rows[-1]
        spread = big.ours_median / small.ours_median - 1
        print(f"ours {big.label} vs {small.label}: {spread:+.0%} (goal: within +-20 %)")
        print(f"speed-up on {big.label}: {big.buildah_total / big.ours_median:.1f}x "
              "(goal: >= 20x)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100M,1G")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    for tool in ("buildah", "docker-registry"):
        if shutil.which(tool) is None:
            sys.exit(f"{tool} is not installed")
    with tempfile.TemporaryDirectory(prefix="mlplat-bench-") as tmp_name:
        tmp = Path(tmp_name)
        registries = Registries(tmp / "sandbox")
        registries.build()
        registries.start()
        try:
            host = registries.open_address
            print(f"registry at {host}", flush=True)
            bases = [seed(host, label) for label in args.sizes.split(",")]
            os.sync()  # the seeded gigabyte's writeback must not land inside our timings
            rows = measure(host, bases, args.repeat, tmp)
        finally:
            registries.stop()
        report(rows)


if __name__ == "__main__":
    main()
