"""The append build: base image + one code layer = the job image, with no container daemon.

Steps, in this order (see DESIGN.md, "The fairing-style submit path"):

1. build the deterministic code layer (:mod:`.layer`);
2. read the base manifest (a manifest list / OCI index resolves to linux/amd64) and config;
3. cross-repo **mount** each base layer into ``<repository_prefix>/<user>`` — no bytes move; a
   registry that refuses the mount gets the layer copied instead (counted in progress);
4. upload the code layer unless the registry already has it (same code ⇒ same digest ⇒ skip);
5. upload the new config (diff_id appended, history, ``MLPLAT_*`` env, workdir, command, labels);
6. write the manifest, tagged with the job id — **last**.

Nothing is left behind on failure: until step 6 no tag or manifest refers to what was uploaded,
so a build that stops half-way leaves only unreferenced blobs, which the registry's garbage
collector removes (``registry garbage-collect``); a reader never sees a half-built image.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import envvars
from ..config import RegistryConfig, Runtime
from .addresses import PullCheck, check_pull_address
from .errors import BadImageReference, BaseImageNotFound
from .layer import DEFAULT_SIZE_LIMIT, CodeLayer, CodeSource, RunnerKind, build_code_layer
from .media import (
    EPOCH,
    IMAGE_MANIFESTS,
    MANIFEST_LISTS,
    MEDIA_TYPES,
    MediaKind,
    canonical_json,
    media_kind,
    sha256_digest,
)
from .progress import Progress, ProgressCallback, ignore
from .refs import ImageRef, base_image_ref, job_tag, pinned_reference, user_repository
from .registry import Registry, RegistryAccess, registry_access

LABEL_SOURCE_HASH = "org.mlplat.source-hash"
LABEL_USER = "org.mlplat.user"
LABEL_JOB_ID = "org.mlplat.job-id"


@dataclass(frozen=True)
class BaseImage:
    """The resolved base: its manifest (single platform), config and where it came from."""

    ref: ImageRef
    digest: str
    media_type: str  # of the manifest; OCI manifests may leave it out of the document
    manifest: dict[str, Any]
    config: dict[str, Any]

    @property
    def media(self) -> MediaKind:
        return media_kind(self.media_type)


@dataclass(frozen=True)
class BuiltImage:
    """What was pushed. ``pull_reference`` is what the pod spec must name."""

    repo: str
    tag: str
    digest: str
    media: MediaKind
    push_reference: str  # <push address>/<repo>@sha256:...
    pull_reference: str  # <pull address>/<repo>@sha256:...
    base_digest: str
    layer_digest: str
    source_hash: str
    bytes_uploaded: int  # layer bytes that moved (0 when the code layer was already there)
    layers_mounted: int
    layers_copied: int
    pull_check: PullCheck | None = None


def _platform_of(entry: Mapping[str, Any]) -> tuple[str, str]:
    platform = entry.get("platform") or {}
    return platform.get("os", ""), platform.get("architecture", "")


def read_base(registry: Registry, ref: ImageRef) -> BaseImage:
    """The base's image manifest and config; a list/index is resolved to linux/amd64."""
    found = registry.manifest(ref.repo, ref.reference)
    if found is None:
        raise BaseImageNotFound(f"the runtime's base image {ref} is not in the registry "
                                f"{registry.access.host}; push it there or fix the runtime's "
                                "`image`")
    body, media, digest = found
    document = json.loads(body)
    if media in MANIFEST_LISTS:
        entries = [m for m in document.get("manifests", []) if _platform_of(m) == ("linux",
                                                                                   "amd64")]
        if not entries:
            platforms = sorted("/".join(_platform_of(m)) for m in document.get("manifests", []))
            raise BaseImageNotFound(f"the base image {ref} has no linux/amd64 image (it has: "
                                    f"{', '.join(platforms) or 'none'})")
        digest = entries[0]["digest"]
        found = registry.manifest(ref.repo, digest)
        if found is None:
            raise BaseImageNotFound(f"the base image {ref} lists {digest}, which is missing")
        body, media, _ = found
        document = json.loads(body)
    if media not in IMAGE_MANIFESTS:
        raise BaseImageNotFound(f"the base image {ref} is a {media or 'schema 1'} manifest; "
                                "only Docker v2 schema 2 and OCI images can be appended to")
    config = json.loads(registry.blob(ref.repo, document["config"]["digest"]))
    return BaseImage(ref=ref, digest=digest or sha256_digest(body), media_type=media,
                     manifest=document, config=config)


def _merge_env(base_env: list[str], extra: Mapping[str, str]) -> list[str]:
    kept = [item for item in base_env if item.split("=", 1)[0] not in extra]
    return kept + [f"{key}={value}" for key, value in sorted(extra.items())]


def job_config(base: BaseImage, code: CodeLayer, *, labels: Mapping[str, str],
               env: Mapping[str, str]) -> dict[str, Any]:
    """The base config plus the code layer: diff_id, history, env, workdir, command, labels.

    The base's ``Entrypoint`` is cleared, otherwise our command would become its arguments.
    Timestamps stay at the epoch so the same inputs give the same config digest.
    """
    config = copy.deepcopy(base.config)
    run = dict(config.get("config") or {})
    run["Env"] = _merge_env(list(run.get("Env") or []), env)
    run["WorkingDir"] = code.workdir
    run["Cmd"] = list(code.command)
    run.pop("Entrypoint", None)
    run["Labels"] = {**(run.get("Labels") or {}), **labels}
    config["config"] = run
    config["created"] = EPOCH
    rootfs = config.setdefault("rootfs", {"type": "layers", "diff_ids": []})
    rootfs["diff_ids"] = [*rootfs.get("diff_ids", []), code.layer.diff_id]
    config["history"] = [*(config.get("history") or []),
                         {"created": EPOCH, "created_by": code.layer.created_by,
                          "comment": "mlplat code layer"}]
    return config


def job_manifest(base: BaseImage, config_blob: bytes, code: CodeLayer) -> dict[str, Any]:
    """The base manifest with the new config and one more layer, in the base's media family."""
    manifest = copy.deepcopy(base.manifest)
    manifest["mediaType"] = base.media_type
    _, config_type, layer_type = MEDIA_TYPES[base.media]
    manifest["config"] = {"mediaType": base.manifest["config"].get("mediaType", config_type),
                          "size": len(config_blob), "digest": sha256_digest(config_blob)}
    manifest["layers"] = [*base.manifest.get("layers", []),
                          {"mediaType": layer_type, "size": code.layer.size,
                           "digest": code.layer.digest}]
    if base.media == "oci":
        manifest["annotations"] = {**(manifest.get("annotations") or {}),
                                   "org.opencontainers.image.base.digest": base.digest,
                                   "org.opencontainers.image.base.name": str(base.ref)}
    return manifest


class _Pusher:
    """Counts moved bytes and turns them into progress reports."""

    def __init__(self, progress: ProgressCallback) -> None:
        self.progress = progress
        self.done = 0
        self.total = 0

    def report(self, message: str) -> None:
        self.progress(Progress("pushing", message, self.done, self.total))

    def on_bytes(self, what: str) -> Any:
        def callback(count: int) -> None:
            self.done += count
            self.report(what)
        return callback


def append_layer(registry: Registry, base_ref: ImageRef, repo: str, tag: str, code: CodeLayer,
                 *, labels: Mapping[str, str] | None = None,
                 env: Mapping[str, str] | None = None,
                 progress: ProgressCallback = ignore,
                 check_base: Callable[[BaseImage], None] | None = None,
                 ) -> tuple[str, BaseImage, int, int, int]:
    """Push ``base + code`` as ``repo:tag``; return (digest, base, bytes moved, mounted, copied).

    ``check_base`` sees the base (manifest and config) before anything is uploaded and may
    refuse it. The manifest is written last, so a failure before it leaves no tag (see the
    module doc).
    """
    pusher = _Pusher(progress)
    pusher.report(f"reading base image {base_ref}")
    base = read_base(registry, base_ref)
    if check_base is not None:
        check_base(base)
    mounted = copied = 0
    base_layers = base.manifest.get("layers", [])
    for index, layer in enumerate(base_layers, 1):
        if registry.mount(repo, base.ref.repo, layer["digest"]):
            mounted += 1
            pusher.report(f"mounted base layer {index}/{len(base_layers)}")
            continue
        pusher.total += int(layer.get("size", 0))
        pusher.report(f"the registry refused to mount base layer {index}; copying it")
        registry.copy_blob(repo, base.ref.repo, layer["digest"],
                           pusher.on_bytes(f"copying base layer {index}"))
        copied += 1
    if registry.has_blob(repo, code.layer.digest):
        pusher.report("code layer already in the registry")
    else:
        pusher.total += code.layer.size
        pusher.report("uploading code layer")
        registry.push_file(repo, code.layer.path, code.layer.digest,
                           pusher.on_bytes("uploading code layer"))
    config_blob = canonical_json(job_config(base, code, labels=labels or {}, env=env or {}))
    registry.push_bytes(repo, config_blob, sha256_digest(config_blob))
    manifest_blob = canonical_json(job_manifest(base, config_blob, code))
    registry.put_manifest(repo, tag, manifest_blob)
    digest = sha256_digest(manifest_blob)
    pusher.report(f"pushed {repo}@{digest}")
    return digest, base, pusher.done, mounted, copied


def build_and_push(config: RegistryConfig, runtime: Runtime, source: CodeSource, *, user: str,
                   job_id: str, work_dir: Path, progress: ProgressCallback = ignore,
                   ca_file: str | Path | None = None, size_limit: int = DEFAULT_SIZE_LIMIT,
                   output: str | None = None, runner: RunnerKind = "script",
                   check_pull: bool = True, access: RegistryAccess | None = None,
                   check_base: Callable[[BaseImage], None] | None = None) -> BuiltImage:
    """Build the job image for ``source`` on ``runtime`` and push it; the jobs service's entry.

    ``work_dir`` holds the code layer file (the caller may delete it afterwards). ``access``
    overrides how the push address is reached (default: from ``config``, with ``ca_file``).
    Raises the errors of :mod:`.errors`: ``InvalidRequest`` subclasses for what the user or the
    config must fix (size limit, includes, base image, push/pull mismatch), ``RegistryError``
    (and ``RegistryAuthError``) quoting the registry when it is down or refuses.
    """
    if not runtime.image:
        raise BadImageReference(f"runtime {runtime.name!r} has no `image`, so it cannot run "
                                "cluster jobs; pick a runtime with a base image")
    base_ref = base_image_ref(runtime.image, config)
    repo = user_repository(config.repository_prefix, user)
    tag = job_tag(job_id)
    progress(Progress("building", "building code layer"))
    code = build_code_layer(source, work_dir, workdir=runtime.workdir, python=runtime.python,
                            kernel=runtime.kernel, output=output, size_limit=size_limit,
                            runner=runner)
    progress(Progress("building", f"code layer {code.layer.digest} ({code.layer.size} bytes)"))
    labels = {LABEL_SOURCE_HASH: code.source_hash, LABEL_USER: user, LABEL_JOB_ID: job_id}
    env = {**code.env, envvars.USER: user, envvars.JOB_ID: job_id,
           envvars.RUNTIME: runtime.name}
    access = access or registry_access(config, ca_file=ca_file)
    with Registry(access) as registry:
        digest, base, moved, mounted, copied = append_layer(
            registry, base_ref, repo, tag, code, labels=labels, env=env, progress=progress,
            check_base=check_base)
    pull_check = (check_pull_address(config, repo, digest, ca_file=ca_file) if check_pull
                  else None)
    return BuiltImage(repo=repo, tag=tag, digest=digest, media=base.media,
                      push_reference=pinned_reference(config.push, repo, digest),
                      pull_reference=pinned_reference(config.pull_address, repo, digest),
                      base_digest=base.digest, layer_digest=code.layer.digest,
                      source_hash=code.source_hash, bytes_uploaded=moved,
                      layers_mounted=mounted, layers_copied=copied, pull_check=pull_check)
