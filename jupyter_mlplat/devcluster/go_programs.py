"""Go programs that keep their own module graph: built once into the cache, by their inputs.

The Kubeflow training operator and CoreDNS are each built with the dependency versions they
were released with, not inside :mod:`.kube_build`'s wrapper module. Joining that module would
let Go's minimal version selection raise the libraries the control plane shares with them
(``k8s.io/client-go``, gRPC, OpenTelemetry, Prometheus), change what the kube binaries are
built from, and rebuild all of them (about 17 minutes cold on 2 cores) whenever either pin
moved. The training operator v1.8.1 is built on the 0.29 client libraries and
``controller-runtime`` 0.17; in one graph with the control plane it would run on client
libraries seven minor versions newer than any it was released or tested with.

Both builds share the Go module and build caches of :func:`.kube_build.go_env`, so a package
at the same version is downloaded and compiled once for all of them.

* a program without ``main_source`` is ``go install``-ed at its pinned version, in the exact
  graph of its own ``go.mod`` (the module has no local ``replace`` directives);
* a program with ``main_source`` is a small ``main`` package of ours in a wrapper module that
  requires the pinned module (CoreDNS's documented way to choose its plugins at compile time).

The binary is rebuilt only when its inputs change: module, version, package, main source,
flags and the Go version are all in its stamp.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from . import kube_build
from .base import ComponentError, cache_dir, file_lock, run

log = logging.getLogger(__name__)

LDFLAGS = "-s -w"


@dataclass(frozen=True)
class GoProgram:
    name: str
    module: str
    version: str
    package: str
    #: Source of a ``main`` package of ours (a wrapper module requiring ``module``), or None.
    main_source: str | None = None

    def folder(self) -> Path:
        return cache_dir("go-programs", self.name)

    def binary(self) -> Path:
        return self.folder() / "bin" / self.name

    def stamp_text(self) -> str:
        main = hashlib.sha256((self.main_source or "").encode()).hexdigest()[:16]
        return (f"{self.module}@{self.version} package {self.package} main {main} "
                f"ldflags {LDFLAGS!r} trimpath go {_go_version()}\n")

    def is_built(self) -> bool:
        stamp = self.folder() / "bin" / "STAMP"
        return (stamp.exists() and stamp.read_text() == self.stamp_text()
                and self.binary().exists())

    def build_seconds(self) -> float | None:
        """How long the last build that produced the cached binary took."""
        path = self.folder() / "bin" / "BUILD_SECONDS"
        with contextlib.suppress(OSError, ValueError):
            return float(path.read_text())
        return None


_GO_VERSION: str | None = None


def _go_version() -> str:
    global _GO_VERSION
    if _GO_VERSION is None:
        _GO_VERSION = run(["go", "env", "GOVERSION"], env=kube_build.go_env()).strip()
    return _GO_VERSION


def build(program: GoProgram, force: bool = False) -> float:
    """Build ``program`` into its cache folder; return the seconds spent (0 when cached)."""
    if shutil.which("go") is None:
        raise ComponentError(f"building {program.name} needs Go (apt-get install golang-go, "
                             "or a Go release on PATH)")
    with file_lock(program.folder() / "build.lock"):  # two sessions at once take turns
        if program.is_built() and not force:
            return 0.0
        started = time.monotonic()
        env = kube_build.go_env()
        out = program.folder() / "out"
        shutil.rmtree(out, ignore_errors=True)
        out.mkdir()
        flags = ["-p", "2", "-trimpath", "-ldflags", LDFLAGS]
        if program.main_source is None:
            run(["go", "install", *flags, f"{program.package}@{program.version}"],
                cwd=out, env={**env, "GOBIN": str(out)}, what=f"go install {program.name}",
                timeout=7200)
            built = out / program.package.rstrip("/").rsplit("/", 1)[-1]
        else:
            src = program.folder() / "src"
            shutil.rmtree(src, ignore_errors=True)
            src.mkdir()
            (src / "main.go").write_text(program.main_source)
            run(["go", "mod", "init", f"mlplat.devcluster/{program.name}"], cwd=src, env=env)
            run(["go", "get", f"{program.module}@{program.version}"], cwd=src, env=env,
                what=f"go get {program.module}", timeout=3600)
            run(["go", "mod", "tidy"], cwd=src, env=env, what="go mod tidy", timeout=3600)
            built = out / program.name
            run(["go", "build", *flags, "-o", str(built), "."], cwd=src, env=env,
                what=f"go build {program.name}", timeout=7200)
        if not built.exists():
            raise ComponentError(f"building {program.name} produced no {built.name} in {out}")
        bin_dir = program.folder() / "bin"
        bin_dir.mkdir(exist_ok=True)
        (bin_dir / "STAMP").unlink(missing_ok=True)
        os.replace(built, program.binary())
        seconds = time.monotonic() - started
        log.info("%s built in %.0fs", program.name, seconds)
        (bin_dir / "BUILD_SECONDS").write_text(f"{seconds:.0f}\n")
        (bin_dir / "STAMP").write_text(program.stamp_text())
        return seconds
