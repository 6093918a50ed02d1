"""Image formats: media types, canonical JSON, and the config/manifest documents.

Pure functions, no I/O: the append builder and the sandbox's base-image seeding both produce
Docker v2 schema 2 or OCI documents from them, so both agree byte for byte on what "the same
image" is. Every timestamp is :data:`EPOCH` and JSON is written key-sorted and compact, because
the manifest digest is the identity of an image: any wall-clock time or key order that leaks in
would make the same inputs give a different digest and defeat "same code, nothing re-uploaded".
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import Any, Literal, Protocol

MediaKind = Literal["docker", "oci"]

DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_MANIFEST_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"

MEDIA_TYPES: dict[str, tuple[str, str, str]] = {
    "docker": (DOCKER_MANIFEST, DOCKER_CONFIG, DOCKER_LAYER),
    "oci": (OCI_MANIFEST, OCI_CONFIG, OCI_LAYER),
}
IMAGE_MANIFESTS = frozenset({DOCKER_MANIFEST, OCI_MANIFEST})
MANIFEST_LISTS = frozenset({DOCKER_MANIFEST_LIST, OCI_INDEX})

#: Every timestamp we write; a fixed value keeps digests reproducible.
EPOCH = "1970-01-01T00:00:00Z"
DEFAULT_ENV = ("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",)


class LayerLike(Protocol):
    """What a manifest and a config need to know about a layer."""

    @property
    def digest(self) -> str: ...
    @property
    def diff_id(self) -> str: ...
    @property
    def size(self) -> int: ...
    @property
    def created_by(self) -> str: ...


def canonical_json(obj: Any) -> bytes:
    """Compact, key-sorted JSON: the bytes (and so the digest) depend only on the content."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()


def sha256_digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def media_kind(manifest_media_type: str) -> MediaKind:
    """``docker`` or ``oci``: the family a manifest (or list/index) belongs to."""
    return "oci" if manifest_media_type.startswith("application/vnd.oci.") else "docker"


def image_config(layers: Sequence[LayerLike], *, env: Sequence[str] = DEFAULT_ENV,
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


def build_manifest(config_blob: bytes, layers: Sequence[LayerLike], media: MediaKind = "docker"
                   ) -> dict[str, Any]:
    """A Docker v2 schema 2 or OCI image manifest for ``config_blob`` and ``layers``."""
    manifest_type, config_type, layer_type = MEDIA_TYPES[media]
    return {
        "schemaVersion": 2,
        "mediaType": manifest_type,
        "config": {"mediaType": config_type, "size": len(config_blob),
                   "digest": sha256_digest(config_blob)},
        "layers": [{"mediaType": layer_type, "size": layer.size, "digest": layer.digest}
                   for layer in layers],
    }
