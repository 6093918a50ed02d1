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

import gzip
import hashlib
import io
import json
import os
import random
import tarfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Literal

import requests
from dxf import DXF, DXFBase

from .base import cache_dir

MediaKind = Literal["docker", "oci"]

DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"

MEDIA_TYPES: dict[str, tuple[str, str, str]] = {
    "docker": (DOCKER_MANIFEST, DOCKER_CONFIG, DOCKER_LAYER),
    "oci": (OCI_MANIFEST, OCI_CONFIG, OCI_LAYER),
}

#: Every timestamp in seeded images; a fixed value keeps digests reproducible.
EPOCH = "1970-01-01T00:00:00Z"
DEFAULT_ENV = ("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",)
PAYLOAD_GZIP_LEVEL = 0


@dataclass(frozen=True)
class Layer:
    """A gzip layer blob on disk with the two digests an image needs."""

    path: Path
    digest: str  # sha256 of the gzip blob: what the manifest and the registry use
    diff_id: str  # sha256 of the uncompressed tar: what the image config lists
    size: int  # bytes of the gzip blob
    created_by: str = "mlplat devcluster"


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


class _HashingWriter(io.RawIOBase):
    """Pass writes through to ``target`` while counting bytes and hashing them."""

    def __init__(self, target: IO[bytes]) -> None:
        super().__init__()
        self.target = target
        self.sha256 = hashlib.sha256()
        self.count = 0

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        view = memoryview(data)
        self.sha256.update(view)
        self.count += len(view)
        self.target.write(view)
        return len(view)

    def flush(self) -> None:
        self.target.flush()


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


def _tarinfo(name: str, *, size: int = 0, directory: bool = False, mode: int | None = None
             ) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = tarfile.DIRTYPE if directory else tarfile.REGTYPE
    info.mode = mode if mode is not None else (0o755 if directory else 0o644)
    info.size = 0 if directory else size
    info.mtime = 0
    info.uid = info.gid = 0
    info.uname = info.gname = "root"
    return info


def _parent_dirs(paths: Iterable[str]) -> list[str]:
    dirs: set[str] = set()
    for path in paths:
        parts = path.split("/")[:-1]
        for i in range(1, len(parts) + 1):
            dirs.add("/".join(parts[:i]))
    return sorted(dirs)


def write_layer(out: Path, entries: Sequence[tuple[tarfile.TarInfo, IO[bytes] | None]], *,
                compresslevel: int = 6, created_by: str = "mlplat devcluster") -> Layer:
    """Stream ``entries`` (already in order) into a gzip tar at ``out``, hashing on the way.

    Streaming matters for gigabyte layers: the tar and the gzip are hashed as they are written,
    never held in memory nor read back.
    """
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".partial")
    with open(tmp, "wb") as raw:
        gz_hash = _HashingWriter(raw)
        with gzip.GzipFile(filename="", mode="wb", fileobj=gz_hash, mtime=0,
                           compresslevel=compresslevel) as gz:
            tar_hash = _HashingWriter(gz)  # type: ignore[arg-type]
            with tarfile.open(fileobj=tar_hash, mode="w|", format=tarfile.PAX_FORMAT) as tar:
                for info, data in entries:
                    tar.addfile(info, data)
    os.replace(tmp, out)
    return Layer(path=out, digest="sha256:" + gz_hash.sha256.hexdigest(),
                 diff_id="sha256:" + tar_hash.sha256.hexdigest(), size=gz_hash.count,
                 created_by=created_by)


def files_layer(files: Mapping[str, bytes | str], out: Path, *,
                modes: Mapping[str, int] | None = None) -> Layer:
    """A layer holding ``files`` (``path -> content``, relative paths; ``dir/`` is a directory).

    Parent directories get explicit entries so that every extractor creates them with the same
    owner and mode.
    """
    modes = modes or {}
    contents = {name.strip("/"): data for name, data in files.items() if not name.endswith("/")}
    dirs = set(_parent_dirs(contents)) | {n.strip("/") for n in files if n.endswith("/")}
    dirs |= set(_parent_dirs(dirs))
    entries: list[tuple[tarfile.TarInfo, IO[bytes] | None]] = []
    for name in sorted(dirs | set(contents)):
        if name in dirs:
            entries.append((_tarinfo(name, directory=True, mode=modes.get(name)), None))
            continue
        content = contents[name]
        data = content.encode() if isinstance(content, str) else content
        entries.append((_tarinfo(name, size=len(data), mode=modes.get(name)), io.BytesIO(data)))
    return write_layer(out, entries, created_by=f"COPY {len(contents)} files")


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
        (_tarinfo(d, directory=True), None) for d in _parent_dirs([path])
    ]
    payload: IO[bytes] = _SeededBytes(size_bytes, seed)  # type: ignore[assignment]
    entries.append((_tarinfo(path, size=size_bytes), payload))
    return _remember(write_layer(blob, entries, compresslevel=PAYLOAD_GZIP_LEVEL,
                                 created_by=f"ADD payload {size_bytes} bytes (seed {seed})"))


def image_config(layers: Sequence[Layer], *, env: Sequence[str] = DEFAULT_ENV,
                 workdir: str = "/", cmd: Sequence[str] | None = None,
                 labels: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The image config JSON (same shape for Docker and OCI) with fixed timestamps."""
    config: dict[str, Any] = {"Env": list(env), "WorkingDir": workdir}
    if cmd:
        config["Cmd"] = list(cmd)
    if labels:
        config["Labels"] = dict(labels)
    return {
        "architecture": "amd64",
        "os": "linux",
        "created": EPOCH,
        "config": config,
        "rootfs": {"type": "layers", "diff_ids": [layer.diff_id for layer in layers]},
        "history": [{"created": EPOCH, "created_by": layer.created_by} for layer in layers],
    }


def canonical_json(obj: Any) -> bytes:
    """Compact, key-sorted JSON: the bytes (and so the digest) depend only on the content."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()


def build_manifest(config_blob: bytes, layers: Sequence[Layer], media: MediaKind = "docker"
                   ) -> dict[str, Any]:
    """A Docker v2 schema 2 or OCI image manifest for ``config_blob`` and ``layers``."""
    manifest_type, config_type, layer_type = MEDIA_TYPES[media]
    return {
        "schemaVersion": 2,
        "mediaType": manifest_type,
        "config": {"mediaType": config_type, "size": len(config_blob),
                   "digest": "sha256:" + hashlib.sha256(config_blob).hexdigest()},
        "layers": [{"mediaType": layer_type, "size": layer.size, "digest": layer.digest}
                   for layer in layers],
    }


@dataclass(frozen=True)
class RegistryAccess:
    """How to reach one registry: address, plain HTTP or TLS (with a CA file), credentials."""

    host: str
    insecure: bool = False
    username: str | None = None
    password: str | None = None
    ca_file: str | None = None

    def client(self, repo: str, *, timeout: float = 300.0) -> DXF:
        """A python-dxf client that answers the registry's 401 with basic-auth credentials.

        python-dxf refuses to send credentials over plain HTTP (``insecure``), which is why the
        sandbox's authenticated registry speaks TLS with its own CA (``ca_file``).
        """
        username, password = self.username, self.password

        def auth(dxf: DXFBase, response: requests.Response) -> None:
            dxf.authenticate(username, password, response=response)

        return DXF(self.host, repo, auth=auth if username is not None else None,
                   insecure=self.insecure, tlsverify=self.ca_file or True, timeout=timeout)


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
