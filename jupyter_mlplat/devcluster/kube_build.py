"""Build the Kubernetes control plane, kubelet, etcd and KWOK from source via the Go module proxy.

``go install k8s.io/kubernetes/cmd/kube-apiserver@vX`` does not work: the ``k8s.io/kubernetes``
module ``replace``s its ``k8s.io/*`` staging modules with folders of its own repository, and
``go install pkg@version`` refuses modules with replace directives. ``go.etcd.io/etcd/server/v3``
does the same with its sibling modules. So we write a small wrapper module that requires those
modules and replaces each locally-replaced module with its published version, then build every
binary with one ``go build`` (one compile of the shared dependencies, which matters on 2 cores).

The three projects are pinned together on purpose: Kubernetes 1.36.3 is tested against etcd
3.6.8, and KWOK 0.8.0 is built on the 0.36 client libraries, so the wrapper's module graph is the
one each of them was released with.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import time
from pathlib import Path

from .base import ComponentError, cache_dir, file_lock, run

log = logging.getLogger(__name__)

KUBERNETES_VERSION = "v1.36.3"
#: The staging modules (k8s.io/api, k8s.io/client-go, ...) are published as v0.<minor>.<patch>.
STAGING_VERSION = "v0" + KUBERNETES_VERSION[2:]
ETCD_VERSION = "v3.6.8"
KWOK_VERSION = "v0.8.0"

WRAPPER_MODULE = "mlplat.devcluster/kube"

#: binary name -> (module whose go.mod has local replaces, package path, version)
PACKAGES: dict[str, tuple[str, str, str]] = {
    "kube-apiserver": (
        "k8s.io/kubernetes", "k8s.io/kubernetes/cmd/kube-apiserver", KUBERNETES_VERSION),
    "kube-controller-manager": (
        "k8s.io/kubernetes", "k8s.io/kubernetes/cmd/kube-controller-manager", KUBERNETES_VERSION),
    "kube-scheduler": (
        "k8s.io/kubernetes", "k8s.io/kubernetes/cmd/kube-scheduler", KUBERNETES_VERSION),
    # The real node's kubelet: same module graph, same flags, same `go build` as the rest.
    "kubelet": ("k8s.io/kubernetes", "k8s.io/kubernetes/cmd/kubelet", KUBERNETES_VERSION),
    "etcd": ("go.etcd.io/etcd/server/v3", "go.etcd.io/etcd/server/v3", ETCD_VERSION),
    "kwok": ("sigs.k8s.io/kwok", "sigs.k8s.io/kwok/cmd/kwok", KWOK_VERSION),
}

#: What `go build -o DIR/` names a main package whose path ends in a major-version suffix.
GO_OUTPUT_NAMES = {"etcd": "server"}

_REPLACE_RE = re.compile(r"^\s*(?:replace\s+)?(\S+)\s+=>\s+(\.\.?/\S*)\s*$")


def stamp_text() -> str:
    """Names every pinned version and binary, so changing either triggers a rebuild."""
    return (f"kubernetes {KUBERNETES_VERSION} staging {STAGING_VERSION} etcd {ETCD_VERSION} "
            f"kwok {KWOK_VERSION} binaries {','.join(sorted(PACKAGES))}\n")


def bin_dir() -> Path:
    return cache_dir("kube", "bin")


def binary(name: str) -> Path:
    return bin_dir() / name


def is_built() -> bool:
    stamp = bin_dir() / "STAMP"
    return (stamp.exists() and stamp.read_text() == stamp_text()
            and all(binary(name).exists() for name in PACKAGES))


def go_env() -> dict[str, str]:
    """Module and build caches under our cache folder: a second cold build takes seconds.

    ``GOFLAGS=-mod=mod`` lets ``go build`` complete go.sum for packages that ``go get`` listed;
    ``GOTOOLCHAIN=local`` keeps the installed Go (the pinned releases accept it).
    """
    go_cache = cache_dir("go")
    return {
        "GOMODCACHE": str(go_cache / "mod"),
        "GOCACHE": str(go_cache / "build"),
        "GOFLAGS": "-mod=mod",
        "GOTOOLCHAIN": "local",
        "CGO_ENABLED": "0",
    }


def local_replaces(go_mod: str) -> list[str]:
    """Modules that a go.mod replaces with folders of its own repository (``./``, ``../``)."""
    found = []
    for line in go_mod.splitlines():
        match = _REPLACE_RE.match(line)
        if match and "FORBIDDEN" not in match.group(2):
            found.append(match.group(1))
    return found


def _go_mod_of(module: str, version: str, src: Path, env: dict[str, str]) -> str:
    out = run(["go", "mod", "download", "-json", f"{module}@{version}"], cwd=src, env=env,
              what=f"download {module}@{version}")
    return Path(json.loads(out)["GoMod"]).read_text()


def _replacements(src: Path, env: dict[str, str]) -> list[str]:
    """``-replace`` flags pinning each locally-replaced module to its published version."""
    flags = []
    for module, version in {(m, v) for m, _, v in PACKAGES.values()}:
        sibling_version = STAGING_VERSION if module == "k8s.io/kubernetes" else version
        for replaced in local_replaces(_go_mod_of(module, version, src, env)):
            flags.append(f"-replace={replaced}={replaced}@{sibling_version}")
    return sorted(set(flags))


def _version_ldflags() -> str:
    """What Kubernetes' own build stamps into its binaries; ``kubectl version`` shows it."""
    minor = KUBERNETES_VERSION.split(".")[1]
    pkg = "k8s.io/component-base/version"
    return " ".join([
        "-s", "-w",
        f"-X {pkg}.gitVersion={KUBERNETES_VERSION}",
        f"-X {pkg}.gitMajor=1",
        f"-X {pkg}.gitMinor={minor}",
        f"-X {pkg}.gitTreeState=clean",
    ])


def build(force: bool = False) -> float:
    """Build all binaries into ``bin_dir()``; return the seconds spent (0 when cached)."""
    with file_lock(cache_dir("kube") / "build.lock"):  # two sessions at once take turns
        if is_built() and not force:
            return 0.0
        started = time.monotonic()
        env = go_env()
        src = cache_dir("kube", "src")
        for leftover in ("go.mod", "go.sum"):
            (src / leftover).unlink(missing_ok=True)
        run(["go", "mod", "init", WRAPPER_MODULE], cwd=src, env=env)
        run(["go", "mod", "edit", *_replacements(src, env)], cwd=src, env=env)
        targets = [f"{pkg}@{version}" for _, pkg, version in PACKAGES.values()]
        run(["go", "get", *targets], cwd=src, env=env, what="go get", timeout=3600)
        out = src / "out"
        shutil.rmtree(out, ignore_errors=True)
        out.mkdir()
        packages = sorted({pkg for _, pkg, _ in PACKAGES.values()})
        run(["go", "build", "-p", "2", "-trimpath", "-ldflags", _version_ldflags(),
             "-o", f"{out}/", *packages], cwd=src, env=env, what="go build", timeout=7200)
        _install(out)
        seconds = time.monotonic() - started
        log.info("kubernetes binaries built in %.0fs", seconds)
        (bin_dir() / "BUILD_SECONDS").write_text(f"{seconds:.0f}\n")
        (bin_dir() / "STAMP").write_text(stamp_text())
        return seconds


def _install(out: Path) -> None:
    """Move the fresh binaries into place; the stamp is written only after all of them."""
    (bin_dir() / "STAMP").unlink(missing_ok=True)
    for name in PACKAGES:
        built = out / GO_OUTPUT_NAMES.get(name, name)
        if not built.exists():
            raise ComponentError(f"go build produced no {built.name} in {out}")
        os.replace(built, binary(name))
