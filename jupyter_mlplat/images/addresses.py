"""Push and pull addresses must name one registry: check it at submit, not at ImagePullBackOff.

The workbench pushes to ``registry.push``; kubelets pull from ``registry.pull``. When the two
differ (an in-cluster service name vs. an ingress, say) and the pull address is reachable from
the workbench, we ask it for the manifest by digest. If it does not serve exactly what was
pushed, the config is wrong, and the user gets a 400 that says so instead of a stuck pod.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Literal

import requests

from ..config import RegistryConfig
from .errors import PullAddressMismatch, RegistryAuthError
from .registry import Registry, registry_access

PullCheck = Literal["same-address", "verified", "unreachable", "unauthorized"]


def check_pull_address(config: RegistryConfig, repo: str, digest: str, *,
                       ca_file: str | Path | None = None, timeout: float = 5.0) -> PullCheck:
    """Confirm the pull address serves ``repo@digest``; raise :class:`PullAddressMismatch`.

    Returns how far the check went: ``same-address`` (nothing to check), ``verified``,
    ``unreachable`` (the pull address is only reachable from the cluster, so the kubelet will
    have the last word) or ``unauthorized`` (the workbench's credentials do not open the pull
    address; pods use the pull secret).
    """
    pull = config.pull_address
    if pull == config.push:
        return "same-address"
    access = replace(registry_access(config, address=pull, ca_file=ca_file), attempts=1,
                     timeout=timeout)
    try:
        requests.get(access.base_url, timeout=timeout, verify=access.ca_file or True)
    except requests.RequestException:
        return "unreachable"
    try:
        with Registry(access, role="pull") as registry:
            served = registry.head_manifest(repo, digest)
    except RegistryAuthError:
        return "unauthorized"
    if served == digest:
        return "verified"
    found = ("it has no such manifest (404 MANIFEST_UNKNOWN), so it is not the registry pushed to"
             if served is None else f"it answers with a different digest {served}")
    raise PullAddressMismatch(
        f"the job image was pushed to {config.push}/{repo}@{digest}, but the registry's pull "
        f"address {pull} (what the pods pull from) does not serve it: {found}. `registry.push` "
        "and `registry.pull` in the platform config must be two addresses of the same registry "
        "(push: as the workbench reaches it; pull: as the kubelets reach it). Fix one of them.")
