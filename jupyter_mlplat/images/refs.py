"""Image references: parse ``[host/]repo[:tag][@digest]``, name repositories, pin pull addresses.

Runtimes name their base as ``repo[:tag]`` *in the platform registry*: the builder mounts base
layers across repositories, which only works inside one registry, so a base elsewhere is a
config error rather than a silent cross-registry copy. What pods run is always pinned by digest
at the pull address (:func:`pinned_reference`), so the bytes pulled are the bytes pushed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..config import RegistryConfig, Runtime
from .errors import BadImageReference

_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
REPO_RE = re.compile(rf"{_COMPONENT}(?:/{_COMPONENT})*")  # fullmatch: no trailing newline
TAG_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")
DIGEST_RE = re.compile(r"sha256:[a-f0-9]{64}")


@dataclass(frozen=True)
class ImageRef:
    """One image in one repository; ``host`` is None when it means "the platform registry"."""

    repo: str
    tag: str | None = None
    digest: str | None = None
    host: str | None = None

    @property
    def reference(self) -> str:
        """What goes after ``/manifests/``: the digest if pinned, else the tag (or ``latest``)."""
        return self.digest or self.tag or "latest"

    def __str__(self) -> str:
        text = f"{self.host}/{self.repo}" if self.host else self.repo
        if self.tag:
            text += f":{self.tag}"
        if self.digest:
            text += f"@{self.digest}"
        return text


def _looks_like_host(part: str) -> bool:
    return "." in part or ":" in part or part == "localhost"


def parse_image_ref(text: str) -> ImageRef:
    """Parse ``[host[:port]/]repo[:tag][@sha256:...]``; raise :class:`BadImageReference`."""
    rest, digest = text.strip(), None
    if "@" in rest:
        rest, digest = rest.split("@", 1)
        if not DIGEST_RE.fullmatch(digest):
            raise BadImageReference(f"image {text!r}: {digest!r} is not a sha256 digest")
    host = None
    first, _, remainder = rest.partition("/")
    if remainder and _looks_like_host(first):
        host, rest = first, remainder
    tag = None
    name, colon, maybe_tag = rest.rpartition(":")
    if colon and "/" not in maybe_tag:
        rest, tag = name, maybe_tag
        if not TAG_RE.fullmatch(tag):
            raise BadImageReference(f"image {text!r}: {tag!r} is not a valid tag")
    if not REPO_RE.fullmatch(rest):
        raise BadImageReference(
            f"image {text!r}: {rest!r} is not a repository name (lowercase letters, digits, "
            "and . _ - / separators)")
    return ImageRef(repo=rest, tag=tag, digest=digest, host=host)


def base_image_ref(image: str, registry: RegistryConfig) -> ImageRef:
    """The runtime's base image as a reference in the push registry.

    A host part is accepted only when it is the registry's push or pull address (both name the
    same registry); any other host cannot be mounted from and is reported as a config error.
    """
    ref = parse_image_ref(image)
    if ref.host is not None and ref.host not in (registry.push, registry.pull_address):
        raise BadImageReference(
            f"runtime image {image!r} is in registry {ref.host}, but jobs are built in the "
            f"platform registry (push {registry.push}, pull {registry.pull_address}); copy the "
            "base image there and name it as repo[:tag]")
    return ImageRef(repo=ref.repo, tag=ref.tag, digest=ref.digest)


def runtime_image_address(runtime: Runtime, registry: RegistryConfig | None) -> str | None:
    """The runtime's base image as a pod names it (``<pull address>/<repo>[:tag]``); None for a
    runtime without an image (local only)."""
    if runtime.image is None:
        return None
    if registry is None:
        return runtime.image
    return f"{registry.pull_address}/{base_image_ref(runtime.image, registry)}"


def user_repository(prefix: str, user: str) -> str:
    """``<prefix>/<user>`` with the user name folded into a valid repository component."""
    component = re.sub(r"[^a-z0-9]+", "-", user.lower()).strip("-") or "user"
    repo = f"{prefix.strip('/')}/{component}" if prefix.strip("/") else component
    if not REPO_RE.fullmatch(repo):
        raise BadImageReference(f"repository_prefix {prefix!r} does not give a valid "
                                f"repository name ({repo!r})")
    return repo


def job_tag(job_id: str) -> str:
    """The job id as a tag (tags allow ``[A-Za-z0-9_.-]``, up to 128, not starting with . or -)."""
    tag = re.sub(r"[^A-Za-z0-9_.-]", "-", job_id)[:128]
    if not TAG_RE.fullmatch(tag):
        tag = ("j" + tag)[:128]
    return tag


def pinned_reference(address: str, repo: str, digest: str) -> str:
    """``<address>/<repo>@sha256:...``: what a pod spec names, so the pull is exactly the push."""
    if not DIGEST_RE.fullmatch(digest):
        raise BadImageReference(f"{digest!r} is not a sha256 digest")
    return f"{address}/{repo}@{digest}"
