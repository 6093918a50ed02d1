"""Job images without a container daemon: a deterministic code layer appended onto a runtime.

The jobs service calls :func:`build_and_push` (and, for a config check on its own,
:func:`check_pull_address`); the rest is exposed for tests, the benchmark and the sandbox's
base-image seeding.
"""

from __future__ import annotations

from .addresses import PullCheck, check_pull_address
from .append import BuiltImage, append_layer, build_and_push, read_base
from .errors import (
    BadImageReference,
    BadInclude,
    BaseImageNotFound,
    CodeTooLarge,
    PullAddressMismatch,
    RegistryAuthError,
    RegistryError,
)
from .layer import DEFAULT_SIZE_LIMIT, CodeLayer, CodeSource, build_code_layer
from .progress import Progress, ProgressCallback
from .refs import ImageRef, parse_image_ref, pinned_reference, user_repository
from .registry import Registry, RegistryAccess, registry_access

__all__ = [
    "DEFAULT_SIZE_LIMIT",
    "BadImageReference",
    "BadInclude",
    "BaseImageNotFound",
    "BuiltImage",
    "CodeLayer",
    "CodeSource",
    "CodeTooLarge",
    "ImageRef",
    "Progress",
    "ProgressCallback",
    "PullAddressMismatch",
    "PullCheck",
    "Registry",
    "RegistryAccess",
    "RegistryAuthError",
    "RegistryError",
    "append_layer",
    "build_and_push",
    "build_code_layer",
    "check_pull_address",
    "parse_image_ref",
    "pinned_reference",
    "read_base",
    "registry_access",
    "user_repository",
]
