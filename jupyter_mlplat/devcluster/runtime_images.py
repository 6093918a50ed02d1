"""Real runtime images for the sandbox: Debian packages plus papermill/ipykernel, no daemon.

A runtime image is what a job's code layer is appended onto, so it must really run notebooks:

1. **root file system** — ``mmdebstrap --variant=minbase`` installs the Debian packages (CPython
   3.11 from bookworm, ``python3-venv``, CA certificates) as root into a tar, with
   ``SOURCE_DATE_EPOCH`` pinned. A customize hook creates ``/opt/venv`` and installs the pinned
   Python requirements into it from wheels downloaded on the host beforehand (``pip download``,
   so the chroot needs no index access and no TLS set-up of its own);
2. **layers** — that tar is rewritten with the sandbox's deterministic tar writer: entries sorted,
   mtimes clamped to ``SOURCE_DATE_EPOCH``, device nodes dropped (runc mounts ``/dev``), split
   into the Debian layer and the ``/opt/venv`` layer. A third, small layer carries the
   ``jupyter_mlplat`` package itself (with its ``fsspec``/``papermill`` entry points), which is
   what ``hdfs://`` inside a job needs;
3. **config** — ``/opt/venv/bin`` first on the PATH, ``/workspace`` as the working folder and the
   ``org.mlplat.runtime.*`` labels that :mod:`jupyter_mlplat.images.contract` reads at submit.

The first two steps are cached under ``~/.cache/jupyter-mlplat/runtimes/<key>``, ``key`` being a
hash of every input (suite, packages, requirements, this module's recipe version): a second
``build`` takes no time and the same inputs give the same layer digests.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sys
import tarfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from ..images import contract
from ..images.media import canonical_json, image_config
from ..images.registry import RegistryAccess
from ..images.tarlayer import Layer, TarEntry, parent_dirs, tarinfo, write_layer
from .base import ComponentError, cache_dir, file_lock, run
from .base_images import SeededImage, push_image

#: Bump when the recipe below changes in a way the inputs do not show.
RECIPE_VERSION = "1"
SUITE = "bookworm"
#: Fixed build time: file mtimes are clamped to it and Python writes hash-checked .pyc files.
SOURCE_DATE_EPOCH = 1700000000
VENV = "/opt/venv"
PYTHON_MINOR = "3.11"  # bookworm's python3; the wheels are downloaded for this ABI

#: What papermill and the runner need, pinned; plus what ``hdfs://`` inside a job imports.
NOTEBOOK_REQUIREMENTS = ("papermill==2.7.0", "ipykernel==7.4.0", "nbformat==5.11.1")
STORAGE_REQUIREMENTS = ("fsspec==2026.9.0", "hdfs==2.7.3", "orjson==3.13.0", "pydantic==2.14.4",
                        "PyYAML==6.0.4", "requests==2.34.2")
#: What a small training notebook uses: pandas to read its data (``hdfs://`` through fsspec),
#: numpy for the model, tensorboardX to write TensorBoard scalars to ``MLPLAT_TENSORBOARD_DIR``
#: (tfevents files through fsspec; TensorFlow itself would weigh ~600 MB more).
TRAINING_REQUIREMENTS = ("pandas==3.1.1", "numpy==2.4.6", "tensorboardX==2.6.5",
                         "protobuf==7.36.2")


@dataclass(frozen=True)
class RuntimeSpec:
    """One runtime image: Debian packages, pip requirements, and how it is named."""

    name: str
    repo: str
    tag: str
    packages: tuple[str, ...]
    requirements: tuple[str, ...]
    #: The venv sees Debian's site-packages (for libraries taken from Debian, e.g. torch).
    system_site_packages: bool = False
    labels: dict[str, str] = field(default_factory=dict)

    def key(self) -> str:
        text = json.dumps({"recipe": RECIPE_VERSION, "suite": SUITE, "epoch": SOURCE_DATE_EPOCH,
                           "packages": sorted(self.packages),
                           "requirements": sorted(self.requirements),
                           "python": PYTHON_MINOR,
                           "system_site_packages": self.system_site_packages},
                          sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:16]


PYTHON = RuntimeSpec(
    name="python", repo="runtimes/python", tag=PYTHON_MINOR,
    packages=("python3", "python3-venv", "ca-certificates"),
    requirements=NOTEBOOK_REQUIREMENTS + STORAGE_REQUIREMENTS + TRAINING_REQUIREMENTS,
)
#: CPU PyTorch from Debian (PyPI's torch wheels pull several GB of CUDA libraries).
TORCH = RuntimeSpec(
    name="torch", repo="runtimes/torch", tag="cpu",
    packages=("python3", "python3-venv", "ca-certificates", "python3-torch"),
    requirements=NOTEBOOK_REQUIREMENTS + STORAGE_REQUIREMENTS,
    system_site_packages=True,
)
RUNTIMES = {spec.name: spec for spec in (PYTHON, TORCH)}


@dataclass(frozen=True)
class BuiltRuntime:
    """The cached layers of one runtime and what went into them."""

    spec: RuntimeSpec
    layers: tuple[Layer, ...]
    versions: dict[str, str]
    build_seconds: float


def check_tools() -> None:
    if shutil.which("mmdebstrap") is None:
        raise ComponentError("`mmdebstrap` not found on PATH; install it with "
                             "`apt-get install mmdebstrap` (runtime images are built from "
                             "Debian packages)")


def download_wheels(spec: RuntimeSpec, dest: Path) -> None:
    """Wheels of the requirements and all their dependencies, for bookworm's CPython.

    ``pip wheel`` on the host: binary wheels are downloaded, the few projects published only as
    sources (``hdfs``, ``docopt``) are built into wheels. The host's Python must have the same
    minor version and glibc family as the image's, which :func:`check_host_python` checks.
    """
    check_host_python()
    dest.mkdir(parents=True, exist_ok=True)
    run([sys.executable, "-m", "pip", "wheel", "--quiet", "--disable-pip-version-check",
         "--wheel-dir", str(dest), *spec.requirements],
        what=f"pip wheel (runtime {spec.name})", timeout=1800)


def check_host_python() -> None:
    host = f"{sys.version_info.major}.{sys.version_info.minor}"
    if host != PYTHON_MINOR:
        raise ComponentError(f"runtime images are built with wheels for Python {PYTHON_MINOR} "
                             f"(Debian {SUITE}'s python3); this Python is {host}")


def _hooks(spec: RuntimeSpec) -> list[str]:
    venv = "python3 -m venv " + ("--system-site-packages " if spec.system_site_packages else "")
    pip = (f"{VENV}/bin/python -m pip install --no-index --no-cache-dir "
           "--disable-pip-version-check --find-links /tmp/wheels " + " ".join(spec.requirements))
    versions = ("import importlib.metadata as m, json, platform; print(json.dumps(dict("
                "python=platform.python_version(), papermill=m.version('papermill'), "
                "ipykernel=m.version('ipykernel'))))")
    return [
        f'--customize-hook=chroot "$1" {venv}{VENV}',
        '--customize-hook=cp -r "$MLPLAT_WHEELS" "$1/tmp/wheels"',
        f'--customize-hook=chroot "$1" {pip}',
        f'--customize-hook=chroot "$1" {VENV}/bin/python -c "{versions}" '
        '> "$1/etc/mlplat-runtime-versions.json"',
        '--customize-hook=rm -rf "$1/tmp/wheels" "$1/var/cache/apt" "$1/var/lib/apt/lists" '
        '"$1/var/log/apt" "$1/var/log/dpkg.log" "$1/var/log/alternatives.log" '
        '"$1/var/cache/ldconfig/aux-cache"',
        '--customize-hook=mkdir -p "$1/workspace"',
    ]


def bootstrap(spec: RuntimeSpec, wheels: Path, out: Path) -> None:
    """``mmdebstrap`` the root file system (with the venv) into the tar ``out``."""
    check_tools()
    cmd = ["mmdebstrap", "--variant=minbase", "--mode=root", "--format=tar", "--quiet",
           f"--include={','.join(spec.packages)}", *_hooks(spec), SUITE, str(out)]
    env = {"SOURCE_DATE_EPOCH": str(SOURCE_DATE_EPOCH), "MLPLAT_WHEELS": str(wheels),
           "PYTHONDONTWRITEBYTECODE": "", "LC_ALL": "C.UTF-8"}
    run(cmd, env=env, what=f"mmdebstrap (runtime {spec.name})", timeout=3600)


def _normalized(member: tarfile.TarInfo) -> tarfile.TarInfo:
    info = tarinfo(member.name.removeprefix("./").rstrip("/"),
                   size=member.size if member.isreg() else 0,
                   directory=member.isdir(), mode=member.mode)
    info.type = member.type
    info.linkname = member.linkname.removeprefix("./") if member.islnk() else member.linkname
    info.uid, info.gid = member.uid, member.gid
    info.uname = info.gname = ""
    info.mtime = min(int(member.mtime), SOURCE_DATE_EPOCH)
    return info


def rootfs_layers(rootfs: Path, out_dir: Path) -> tuple[Layer, Layer]:
    """The Debian part and the ``/opt/venv`` part of ``rootfs`` as two deterministic layers.

    Entries are written in name order. A hard link whose name sorts before its target's becomes
    the regular file instead (and the target the link), so every link follows what it names.
    """
    venv_prefix = VENV.strip("/")
    with tarfile.open(rootfs) as tar:
        members = [m for m in tar.getmembers()
                   if not (m.ischr() or m.isblk() or m.isfifo())
                   and m.name.removeprefix("./").rstrip("/") not in ("", ".")]
        by_name = {m.name.removeprefix("./").rstrip("/"): m for m in members}

        def entries(in_venv: bool) -> Iterator[TarEntry]:
            names = sorted(n for n in by_name
                           if (n == venv_prefix or n.startswith(venv_prefix + "/")) == in_venv)
            if in_venv:  # the venv layer names its parent folders too
                names = sorted(set(names) | set(parent_dirs([venv_prefix + "/x"])))
            written: dict[str, str] = {}  # hard-link group (target name) -> first name written
            for name in names:
                member = by_name.get(name)
                if member is None:
                    yield tarinfo(name, directory=True), None
                    continue
                if member.islnk() or _link_targets.get(name):
                    group = member.linkname.removeprefix("./") if member.islnk() else name
                    first = written.get(group)
                    if first is not None:
                        info = _normalized(member)
                        info.type, info.linkname, info.size = tarfile.LNKTYPE, first, 0
                        yield info, None
                        continue
                    written[group] = name
                    source = by_name[group]
                    info = _normalized(source)
                    info.name = name
                    yield info, tar.extractfile(source)
                    continue
                info = _normalized(member)
                data: IO[bytes] | None = tar.extractfile(member) if member.isreg() else None
                yield info, data

        _link_targets = {m.linkname.removeprefix("./"): True for m in members if m.islnk()}
        debian = write_layer(out_dir / "debian.tar.gz", entries(False),
                             created_by=f"mmdebstrap --variant=minbase {SUITE}")
        venv = write_layer(out_dir / "venv.tar.gz", entries(True),
                           created_by=f"python3 -m venv {VENV} && pip install")
    return debian, venv


def _layer_json(layer: Layer) -> dict[str, Any]:
    return {"file": layer.path.name, "digest": layer.digest, "diff_id": layer.diff_id,
            "size": layer.size, "created_by": layer.created_by}


def build_runtime(spec: RuntimeSpec, *, force: bool = False) -> BuiltRuntime:
    """The cached layers of ``spec``; built (a minute or two) when its inputs are new."""
    folder = cache_dir("runtimes", f"{spec.name}-{spec.key()}")
    with file_lock(folder / "build.lock"):
        done = folder / "layers.json"
        if done.exists() and not force:
            saved = json.loads(done.read_text())
            layers = tuple(Layer(path=folder / item["file"], digest=item["digest"],
                                 diff_id=item["diff_id"], size=item["size"],
                                 created_by=item["created_by"]) for item in saved["layers"])
            if all(layer.path.exists() for layer in layers):
                return BuiltRuntime(spec, layers, saved["versions"], 0.0)
        started = time.monotonic()
        wheels = folder / "wheels"
        shutil.rmtree(wheels, ignore_errors=True)
        download_wheels(spec, wheels)
        rootfs = folder / "rootfs.tar"
        try:
            bootstrap(spec, wheels, rootfs)
            with tarfile.open(rootfs) as tar:
                handle = tar.extractfile("./etc/mlplat-runtime-versions.json")
                versions = json.loads(handle.read()) if handle else {}
            layers = rootfs_layers(rootfs, folder)
        finally:
            rootfs.unlink(missing_ok=True)
            shutil.rmtree(wheels, ignore_errors=True)
        seconds = round(time.monotonic() - started, 1)
        done.write_text(json.dumps({"layers": [_layer_json(x) for x in layers],
                                    "versions": versions, "build_seconds": seconds}, indent=2))
        return BuiltRuntime(spec, layers, versions, seconds)


# -- the platform's own package, for hdfs:// inside jobs -----------------------------------------
def _package_files() -> dict[str, bytes]:
    """``jupyter_mlplat``'s Python modules (not the frontend, not the sandbox)."""
    root = Path(__file__).resolve().parent.parent
    files = {}
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root.parent).as_posix()
        if "/devcluster/" in rel or "/__pycache__/" in rel:
            continue
        files[rel] = path.read_bytes()
    return files


def platform_layer(version: str) -> Layer:
    """``jupyter_mlplat`` in the venv's site-packages, with the entry points that make
    ``hdfs://`` resolve in fsspec/pandas and papermill (cached by content)."""
    site = f"{VENV.strip('/')}/lib/python{PYTHON_MINOR}/site-packages"
    dist = f"{site}/jupyter_mlplat-{version}.dist-info"
    files: dict[str, bytes | str] = {f"{site}/{rel}": data
                                     for rel, data in _package_files().items()}
    files[f"{dist}/METADATA"] = (f"Metadata-Version: 2.1\nName: jupyter_mlplat\n"
                                 f"Version: {version}\n")
    files[f"{dist}/entry_points.txt"] = (
        "[fsspec.specs]\nhdfs = jupyter_mlplat.storage.filesystem:ClusterFileSystem\n\n"
        # entry_points.txt is INI: the name is the text before " = ", unquoted (a quoted
        # name is the quotes too, and papermill would never match "hdfs://" paths to it)
        "[papermill.io]\nhdfs:// = jupyter_mlplat.storage.papermill_io:HDFSHandler\n")
    files[f"{dist}/INSTALLER"] = "mlplat-sandbox\n"
    # run at interpreter start: tensorboardX learns hdfs:// log dirs when a job imports it
    files[f"{site}/jupyter_mlplat-hooks.pth"] = "import jupyter_mlplat.site_hooks\n"
    key = hashlib.sha256(canonical_json({k: v if isinstance(v, str) else v.hex()
                                         for k, v in files.items()})).hexdigest()[:16]
    blob = cache_dir("runtimes", "platform") / f"jupyter_mlplat-{key}.tar.gz"
    meta = blob.with_suffix(".json")
    if blob.exists() and meta.exists():
        saved = json.loads(meta.read_text())
        return Layer(path=blob, digest=saved["digest"], diff_id=saved["diff_id"],
                     size=saved["size"], created_by=saved["created_by"])
    from ..images.tarlayer import files_layer

    layer = files_layer(files, blob, created_by=f"COPY jupyter_mlplat {version}")
    meta.write_text(json.dumps(_layer_json(layer)))
    return layer


def runtime_config(built: BuiltRuntime, layers: list[Layer], platform_version: str
                   ) -> dict[str, Any]:
    versions = built.versions
    python = ".".join(str(versions.get("python", PYTHON_MINOR)).split(".")[:2])
    labels = {
        contract.LABEL_PYTHON: python,
        contract.LABEL_PAPERMILL: str(versions.get("papermill", "")),
        contract.LABEL_KERNELS: "python3",
        contract.LABEL_HDFS: f"jupyter_mlplat {platform_version}",
        "org.mlplat.runtime": built.spec.name,
        "org.opencontainers.image.base.name": f"debian:{SUITE}",
        **built.spec.labels,
    }
    env = [f"PATH={VENV}/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
           f"VIRTUAL_ENV={VENV}", "LANG=C.UTF-8", "PYTHONUNBUFFERED=1"]
    return image_config(layers, env=env, workdir="/workspace", cmd=["python3"], labels=labels)


def seed_runtime(access: RegistryAccess, spec: RuntimeSpec = PYTHON) -> SeededImage:
    """Push ``spec`` (built or from the cache) plus the platform layer as ``repo:tag``."""
    from .. import __version__

    built = build_runtime(spec)
    layers = [*built.layers, platform_layer(__version__)]
    config = runtime_config(built, layers, __version__)
    return push_image(access, spec.repo, spec.tag, layers, config)


def main(argv: list[str]) -> int:
    """``python -m jupyter_mlplat.devcluster.runtime_images [NAME...] [--push HOST:PORT]``
    builds runtimes into the cache and pushes them to a plain-HTTP registry (the sandbox's
    open one) if asked."""
    push = None
    if "--push" in argv:
        at = argv.index("--push")
        push, argv = argv[at + 1], argv[:at] + argv[at + 2:]
    for name in argv or ["python"]:
        if name not in RUNTIMES:
            print(f"unknown runtime {name!r}; valid: {', '.join(RUNTIMES)}", file=sys.stderr)
            return 2
        spec = RUNTIMES[name]
        built = build_runtime(spec)
        sizes = ", ".join(f"{x.path.name} {x.size / 2**20:.0f} MiB" for x in built.layers)
        took = f"built in {built.build_seconds} s" if built.build_seconds else "cached"
        print(f"{name}: {took}; {sizes}; {built.versions}")
        if push:
            image = seed_runtime(RegistryAccess(push, True), spec)
            print(f"pushed {image.pinned_ref}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
