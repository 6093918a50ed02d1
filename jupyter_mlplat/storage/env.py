"""Which storage clusters a process sees, and how they travel to job processes as environment.

Kernels, the CLI and local job runners find the platform config through ``MLPLAT_CONFIG_FILE``
(set by the server). A process without that file (a Kubernetes pod) gets the clusters as
``MLPLAT_STORAGE`` (JSON) from :func:`cluster_env`: references to secrets travel, secret values
never do; the pod resolves a token reference from its own environment or mounted files.
"""

from __future__ import annotations

import getpass
import json
import os
from functools import lru_cache

from .. import envvars
from ..config import CONFIG_ENV, PlatformConfig, StorageCluster, UnknownName, load_config

STORAGE_ENV = envvars.STORAGE
USER_ENV = envvars.USER
ROOT_ENV = envvars.ROOT_DIR


def cluster_env(config: PlatformConfig) -> dict[str, str]:
    """Environment that lets ``hdfs://<cluster>/`` resolve in a process without the config file."""
    clusters = [c.model_dump(mode="json", exclude_none=True) for c in config.storage]
    return {STORAGE_ENV: json.dumps(clusters, separators=(",", ":")), USER_ENV: config.user}


#: The key of a Secret named by ``{k8s_secret: NAME}`` without ``/KEY``.
DEFAULT_SECRET_KEY = "token"


def pod_cluster_env(config: PlatformConfig) -> tuple[dict[str, str], dict[str, tuple[str, str]]]:
    """:func:`cluster_env` for a job pod, and the variables the kubelet fills from Secrets.

    A token given as ``{k8s_secret: NAME[/KEY]}`` becomes ``{env: MLPLAT_HDFS_TOKEN_<CLUSTER>}``
    in ``MLPLAT_STORAGE``, and that variable comes from the Secret (``secretKeyRef``): the
    manifest names the Secret, never its value.
    """
    clusters: list[dict[str, object]] = []
    secrets: dict[str, tuple[str, str]] = {}
    for cluster in config.storage:
        data = cluster.model_dump(mode="json", exclude_none=True)
        if cluster.token is not None and cluster.token.k8s_secret:
            name, _, key = cluster.token.k8s_secret.partition("/")
            var = envvars.TOKEN_PREFIX + cluster.name.upper().replace("-", "_")
            data["token"] = {"env": var}
            secrets[var] = (name, key or DEFAULT_SECRET_KEY)
        clusters.append(data)
    env = {STORAGE_ENV: json.dumps(clusters, separators=(",", ":")), USER_ENV: config.user}
    return env, secrets


@lru_cache(maxsize=16)
def _load(config_file: str | None, mtime_ns: int, storage: str | None, user: str | None
          ) -> tuple[tuple[StorageCluster, ...], str]:
    if config_file:
        config = load_config(path=config_file)
        return tuple(config.storage), config.user
    if storage:
        clusters = tuple(StorageCluster.model_validate(c) for c in json.loads(storage))
        return clusters, user or getpass.getuser()
    config = load_config()
    return tuple(config.storage), config.user


def clusters_from_env() -> tuple[tuple[StorageCluster, ...], str]:
    """The clusters and the workbench user this process sees (cached until the file changes)."""
    config_file = os.environ.get(CONFIG_ENV) or None
    mtime = 0
    if config_file:
        try:
            mtime = os.stat(config_file).st_mtime_ns
        except OSError:
            mtime = -1  # load_config raises the readable error
    return _load(config_file, mtime, os.environ.get(STORAGE_ENV), os.environ.get(USER_ENV))


def resolve_cluster(name: str) -> tuple[StorageCluster, str, str]:
    """(cluster config, workbench user, root folder for local clusters) of cluster ``name``."""
    clusters, user = clusters_from_env()
    for cluster in clusters:
        if cluster.name == name:
            return cluster, user, os.environ.get(ROOT_ENV) or os.getcwd()
    raise UnknownName("storage cluster", name, [c.name for c in clusters])
