"""Build small base images from files and push them to a registry, without a container daemon.

The sandbox needs runtime base images in its registry (the fairing-style submit appends a code
layer onto them) and the submit benchmark needs bases of a chosen size (~100 MB, ~1 GB). There
is no Docker engine here, so images are assembled directly: deterministic tar layers (sorted
entries, mtime 0, root owner), gzip with ``mtime=0``, an image config whose ``rootfs.diff_ids``
are the sha256 of the uncompressed tars, and a Docker v2 schema 2 or OCI manifest, pushed with
python-dxf. Same inputs give the same digests, so re-seeding uploads nothing, and the large
random-payload layers are cached on disk so the benchmark does not re-compress a gigabyte.
"""

from __future__ import annotations

import hashlib
import io
import json
import random
import tarfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from ..images.media import (
    DEFAULT_ENV,
    DOCKER_CONFIG,
    DOCKER_LAYER,
    DOCKER_MANIFEST,
    EPOCH,
    MEDIA_TYPES,
    OCI_CONFIG,
    OCI_LAYER,
    OCI_MANIFEST,
    MediaKind,
    build_manifest,
    canonical_json,
    image_config,
)
from ..images.registry import RegistryAccess
from ..images.tarlayer import Layer, files_layer, parent_dirs, tarinfo, write_layer
from .base import cache_dir

# Shared with the append builder (jupyter_mlplat.images); re-exported for existing callers.
__all__ = [
    "DEFAULT_ENV", "DOCKER_CONFIG", "DOCKER_LAYER", "DOCKER_MANIFEST", "EPOCH", "MEDIA_TYPES",
    "OCI_CONFIG", "OCI_LAYER", "OCI_MANIFEST", "Layer", "MediaKind", "RegistryAccess",
    "SeededImage", "build_manifest", "cached_files_layer", "canonical_json", "files_layer",
    "image_config", "payload_layer", "push_image", "seed_base_image", "seed_python_runtime",
    "write_layer",
]

PAYLOAD_GZIP_LEVEL = 0


@dataclass(frozen=True)
class SeededImage:
    """What :func:`push_image` put in the registry."""

    host: str
    repo: str
    tag: str
    digest: str  # of the manifest, so ``host/repo@digest`` pins exactly this image
    media: MediaKind
    manifest: dict[str, Any]
    config: dict[str, Any]
    layers: tuple[Layer, ...] = field(default=())

    @property
    def ref(self) -> str:
        return f"{self.host}/{self.repo}:{self.tag}"

    @property
    def pinned_ref(self) -> str:
        return f"{self.host}/{self.repo}@{self.digest}"


class _SeededBytes(io.RawIOBase):
    """``size`` pseudo-random bytes from ``seed``: incompressible like real binaries, reproducible.

    Random rather than zeros because zeros would gzip to almost nothing and a "1 GB" base would
    then move only kilobytes, which would make the size benchmark meaningless.
    """

    def __init__(self, size: int, seed: int) -> None:
        super().__init__()
        self.remaining = size
        self.rng = random.Random(seed)

    def readable(self) -> bool:
        return True

    def read(self, n: int | None = -1) -> bytes:
        want = self.remaining if n is None or n < 0 else min(n, self.remaining)
        self.remaining -= want
        return self.rng.randbytes(want)


def _cached(blob: Path) -> Layer | None:
    meta = blob.with_suffix(".json")
    if not (blob.exists() and meta.exists()):
        return None
    saved = json.loads(meta.read_text())
    if blob.stat().st_size != saved["size"]:
        return None
    return Layer(path=blob, digest=saved["digest"], diff_id=saved["diff_id"],
                 size=saved["size"], created_by=saved["created_by"])


def _remember(layer: Layer) -> Layer:
    layer.path.with_suffix(".json").write_text(json.dumps(
        {"digest": layer.digest, "diff_id": layer.diff_id, "size": layer.size,
         "created_by": layer.created_by}))
    return layer


def cached_files_layer(files: Mapping[str, bytes | str], *,
                       modes: Mapping[str, int] | None = None) -> Layer:
    """:func:`files_layer` kept in the cache folder under a name derived from the content."""
    key = hashlib.sha256(canonical_json(
        {"files": {k: v if isinstance(v, str) else v.hex() for k, v in files.items()},
         "modes": dict(modes or {})})).hexdigest()[:16]
    blob = cache_dir("base-layers") / f"files-{key}.tar.gz"
    return _cached(blob) or _remember(files_layer(files, blob, modes=modes))


def payload_layer(size_bytes: int, *, seed: int = 0, path: str = "opt/base/payload.bin"
                  ) -> Layer:
    """A layer with one file of ``size_bytes`` seeded random bytes, cached across runs.

    The gzip stream uses stored blocks (level 0): random data does not shrink, and deflating a
    gigabyte of it costs about a minute of CPU for nothing. It is still an ordinary gzip layer.
    """
    key = hashlib.sha256(f"{size_bytes}:{seed}:{path}:{PAYLOAD_GZIP_LEVEL}".encode()
                         ).hexdigest()[:16]
    blob = cache_dir("base-layers") / f"payload-{size_bytes}-{key}.tar.gz"
    cached = _cached(blob)
    if cached is not None:
        return cached
    entries: list[tuple[tarfile.TarInfo, IO[bytes] | None]] = [
        (tarinfo(d, directory=True), None) for d in parent_dirs([path])
    ]
    payload: IO[bytes] = _SeededBytes(size_bytes, seed)  # type: ignore[assignment]
    entries.append((tarinfo(path, size=size_bytes), payload))
    return _remember(write_layer(blob, entries, compresslevel=PAYLOAD_GZIP_LEVEL,
                                 created_by=f"ADD payload {size_bytes} bytes (seed {seed})"))


def _file_chunks(path: Path, size: int = 1 << 20) -> Iterator[bytes]:
    with open(path, "rb") as handle:
        while chunk := handle.read(size):
            yield chunk


def push_image(access: RegistryAccess, repo: str, tag: str, layers: Sequence[Layer],
               config: dict[str, Any], *, media: MediaKind = "docker") -> SeededImage:
    """Upload layers (skipped when the registry has them), the config and the manifest."""
    config_blob = canonical_json(config)
    manifest = build_manifest(config_blob, layers, media)
    manifest_blob = canonical_json(manifest)
    with access.client(repo) as client:
        for layer in layers:
            # The digest is known: python-dxf would otherwise re-read a whole gigabyte layer
            # just to hash it before asking whether the registry already has it.
            client.push_blob(data=_file_chunks(layer.path), digest=layer.digest)
        client.push_blob(data=iter([config_blob]), digest=manifest["config"]["digest"])
        client.set_manifest(tag, manifest_blob.decode())
    return SeededImage(host=access.host, repo=repo, tag=tag,
                       digest="sha256:" + hashlib.sha256(manifest_blob).hexdigest(),
                       media=media, manifest=manifest, config=config, layers=tuple(layers))


BASE_FILES: dict[str, str] = {
    "etc/os-release": 'NAME="mlplat-base"\nID=mlplat\nVERSION_ID="1"\n',
    "etc/passwd": "root:x:0:0:root:/root:/bin/sh\n",
    "etc/group": "root:x:0:\n",
    "tmp/": "",
    "workspace/": "",
}

PYTHON_RUNTIME_FILES: dict[str, str] = {
    **BASE_FILES,
    "usr/local/bin/python3": "#!/bin/sh\n# placeholder interpreter of the sandbox runtime\n"
                             'echo "python3 placeholder: $*"\n',
    "usr/local/lib/python3.11/site-packages/mlplat_runtime.txt": "mlplat sandbox runtime\n",
    "etc/mlplat/runtime.json": '{"name": "python", "python": "python3", "version": "3.11"}\n',
}


def seed_base_image(host: str, repo: str, tag: str, size_bytes: int = 0, *, seed: int = 0,
                    insecure: bool = True, media: MediaKind = "docker",
                    username: str | None = None, password: str | None = None,
                    ca_file: str | None = None, workdir: str = "/workspace") -> SeededImage:
    """Push ``repo:tag``: a small root layer plus, if ``size_bytes``, a seeded payload layer.

    The payload layer holds ``size_bytes`` of random bytes (gzip barely shrinks them), so the
    image moves about that many bytes when pushed the naive way; it is cached by size and seed.
    """
    layers = [cached_files_layer(BASE_FILES)]
    if size_bytes > 0:
        layers.append(payload_layer(size_bytes, seed=seed))
    config = image_config(layers, workdir=workdir,
                          labels={"org.mlplat.seed": str(seed), "org.mlplat.size": str(size_bytes)})
    access = RegistryAccess(host, insecure, username, password, ca_file)
    return push_image(access, repo, tag, layers, config, media=media)


def seed_python_runtime(host: str, repo: str = "runtimes/python", tag: str = "3.11", *,
                        insecure: bool = True, media: MediaKind = "docker",
                        username: str | None = None, password: str | None = None,
                        ca_file: str | None = None) -> SeededImage:
    """Push the tiny "python" runtime image the sandbox config names (a few files, no CPython).

    Jobs in the sandbox run on simulated nodes, so the image only has to be a valid, pullable
    image with the runtime's layout (``/workspace``, ``python3`` on the PATH).
    """
    layers = [cached_files_layer(PYTHON_RUNTIME_FILES, modes={"usr/local/bin/python3": 0o755})]
    config = image_config(layers, env=[*DEFAULT_ENV, "PYTHONUNBUFFERED=1"],
                          workdir="/workspace", cmd=["python3"],
                          labels={"org.mlplat.runtime": "python"})
    access = RegistryAccess(host, insecure, username, password, ca_file)
    return push_image(access, repo, tag, layers, config, media=media)
