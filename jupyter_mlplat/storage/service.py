"""The storage service the REST handlers (and anything else in the server) call.

It owns one filesystem per configured cluster and turns the builtin exceptions of the storage
layer into the platform's domain errors, in this one place: a path outside the root is a 400,
permission denied a 403 with the HDFS message, a missing file or unknown cluster a 404, an
existing target a 409, and a cluster none of whose name nodes answers a 503 naming them.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from ..config import PlatformConfig, UnknownName
from ..errors import Conflict, Forbidden, InvalidRequest, NotFound, Unavailable
from .contents import BadContent, ClusterContents
from .errors import NameNodesUnavailable, redact
from .filesystem import ClusterFileSystem
from .paths import PathOutsideRoot
from .schemas import ClusterStatus, StorageList

log = logging.getLogger(__name__)

HEALTH_TIMEOUT = 3.0


class StorageService:
    def __init__(self, config: PlatformConfig, root_dir: Path) -> None:
        self.config = config
        self.root_dir = root_dir
        self._contents: dict[str, ClusterContents] = {}

    def filesystem(self, cluster: str) -> ClusterFileSystem:
        return self.contents(cluster).fs

    def contents(self, cluster: str) -> ClusterContents:
        found = self._contents.get(cluster)
        if found is None:
            with self.errors():
                spec = self.config.cluster(cluster)
                fs = ClusterFileSystem(cluster, spec=spec, user=self.config.user,
                                       root_dir=str(self.root_dir), skip_instance_cache=True)
            found = self._contents[cluster] = ClusterContents(fs)
        return found

    # -- clusters and health -------------------------------------------------------------------
    def clusters(self) -> StorageList:
        """Every cluster with a quick GETFILESTATUS of its base path (in parallel)."""
        with ThreadPoolExecutor(max_workers=max(1, min(8, len(self.config.storage)))) as pool:
            return StorageList(clusters=list(pool.map(self._health, self.config.storage)))

    def _health(self, spec: Any) -> ClusterStatus:
        status, message = "ok", None
        try:
            self.filesystem(spec.name).health(timeout=HEALTH_TIMEOUT)
        except Exception as exc:
            status, message = "down", self._message(exc)
        base = spec.base_path if spec.base_path.startswith("/") else "/" + spec.base_path
        return ClusterStatus(name=spec.name, kind=spec.kind, namenodes=spec.namenodes,
                             base_path=base, url=f"hdfs://{spec.name}{base}",
                             status=status, message=message)

    def _message(self, exc: BaseException) -> str:
        secrets = [s for c in self._contents.values() for s in c.transport.secrets]
        text = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        return redact(str(text), secrets)

    # -- errors --------------------------------------------------------------------------------
    @contextlib.contextmanager
    def errors(self) -> Iterator[None]:
        """Builtin exceptions of the storage layer -> the platform's domain errors."""
        try:
            yield
        except UnknownName as exc:
            raise NotFound(str(exc), reason="unknown cluster") from None
        except (PathOutsideRoot, BadContent) as exc:
            raise InvalidRequest(self._message(exc)) from None
        except PermissionError as exc:
            raise Forbidden(self._message(exc), reason="permission denied") from None
        except FileNotFoundError as exc:
            raise NotFound(self._message(exc)) from None
        except FileExistsError as exc:
            raise Conflict(self._message(exc), reason="exists") from None
        except (NotADirectoryError, IsADirectoryError) as exc:
            raise InvalidRequest(self._message(exc)) from None
        except NameNodesUnavailable as exc:
            raise Unavailable(self._message(exc)) from None
        except OSError as exc:
            raise InvalidRequest(self._message(exc), reason="storage error") from None

    def call(self, cluster: str, method: str, *args: Any, **kwargs: Any) -> Any:
        """``ClusterContents.<method>(*args)`` of ``cluster`` with errors mapped."""
        contents = self.contents(cluster)
        with self.errors():
            return getattr(contents, method)(*args, **kwargs)
