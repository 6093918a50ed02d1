"""WebHDFS transport on HdfsCLI: HA name node lists, simple/Kerberos/token auth, ``doas``.

HdfsCLI (PyPI ``hdfs``) is the transport because it already does what a multi-cluster workbench
needs from WebHDFS: a ``;``-joined HA list of name node URLs with failover on connection errors,
timeouts, ``StandbyException`` and ``RetriableException`` (``hdfs/client.py``, ``api_handler``:
the live name node is rotated to the front and kept there), streaming reads and writes through the
data node redirects, and ``doas``. What it does not do is added here: builtin exceptions instead of
``HdfsError``, an error that lists every name node tried when none answers, rename with
``OVERWRITE`` (WebHDFS ``rename2``: the atomic swap of a finished temporary file), and SPNEGO
through requests-gssapi rather than the unmaintained requests-kerberos of its extension.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterable, Iterator
from typing import Any

import hdfs
import orjson
import requests

from ..config import StorageCluster
from ..errors import require_extra
from .errors import NameNodesUnavailable, redact, remote_error
from .listing import Statuses
from .transport import Entry

log = logging.getLogger(__name__)

def kerberos_auth() -> Any:
    """SPNEGO auth for requests, imported only when a cluster asks for Kerberos."""
    require_extra("requests_gssapi", "auth: kerberos", "kerberos",
                  " (and a Kerberos ticket, e.g. from kinit)")
    from requests_gssapi import OPTIONAL, HTTPSPNEGOAuth
    # Name nodes do not always sign their replies; the request itself is authenticated.
    return HTTPSPNEGOAuth(mutual_authentication=OPTIONAL)


class _Redacting(logging.Filter):
    """Cuts secret values (delegation tokens travel as a query parameter) from log records."""

    def __init__(self) -> None:
        super().__init__()
        self.secrets: set[str] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        if self.secrets:
            text = record.getMessage()
            clean = redact(text, self.secrets)
            if clean != text:
                record.msg, record.args = clean, None
        return True


_REDACTING = _Redacting()
for _name in ("urllib3.connectionpool", "hdfs.client", "hdfs.util", "requests"):
    logging.getLogger(_name).addFilter(_REDACTING)


def build_client(spec: StorageCluster, user: str, timeout: float | None = None
                 ) -> tuple[hdfs.Client, list[str]]:
    """The HdfsCLI client of ``spec`` and the secret values it carries (for redaction)."""
    url = ";".join(spec.namenodes)
    proxy = user if spec.proxy_user else None
    kwargs: dict[str, Any] = {"proxy": proxy, "timeout": timeout or spec.timeout,
                              "session": requests.Session()}
    secrets: list[str] = []
    if spec.auth == "kerberos":
        kwargs["session"].auth = kerberos_auth()
        client: hdfs.Client = hdfs.Client(url, **kwargs)
    elif spec.auth == "token":
        assert spec.token is not None  # the config validator guarantees it
        token = spec.token.resolve()
        if not token:
            raise PermissionError(
                f"storage cluster {spec.name!r}: its delegation token is not available here "
                "(check the token reference in the platform config)"
            )
        secrets.append(token)
        _REDACTING.secrets.add(token)
        client = hdfs.TokenClient(url, token, **kwargs)
    else:
        client = hdfs.InsecureClient(url, user=spec.user or user, **kwargs)
    return client, secrets


class WebHDFSTransport:
    """Raw operations on absolute HDFS paths; every remote error leaves as a builtin exception."""

    def __init__(self, spec: StorageCluster, user: str, timeout: float | None = None) -> None:
        self.spec = spec
        self.user = user
        self.client, self.secrets = build_client(spec, user, timeout)
        self.addresses = list(spec.namenodes)
        self.effective_user = (user if spec.proxy_user else spec.user or user) \
            if spec.auth == "simple" else None

    @contextlib.contextmanager
    def _errors(self) -> Iterator[None]:
        try:
            yield
        except hdfs.HdfsError as exc:
            message = redact(str(exc.message), self.secrets)
            raise remote_error(getattr(exc, "exception", None), message) from None
        except (requests.ConnectionError, requests.Timeout) as exc:
            cause = "timed out" if isinstance(exc, requests.Timeout) else "connection failed"
            raise NameNodesUnavailable(self.spec.name, self.addresses, cause) from None

    # -- metadata ------------------------------------------------------------------------------
    def status(self, path: str) -> Entry:
        with self._errors():
            return to_entry(path, self.client.status(path))

    def listing(self, path: str) -> Statuses:
        """One LISTSTATUS, parsed with orjson: 10,000 entries are 2.9 MB of JSON, which the
        stdlib parser alone would take as long as the name node to answer."""
        with self._errors():
            reply = orjson.loads(self.client._list_status(path).content)
        statuses: Statuses = reply["FileStatuses"]["FileStatus"]
        return statuses

    def list(self, path: str) -> list[Entry]:
        """One LISTSTATUS for the whole directory (a file lists as itself)."""
        statuses = self.listing(path)
        if len(statuses) == 1 and statuses[0]["pathSuffix"] == "" \
                and statuses[0]["type"] == "FILE":
            return [to_entry(path, statuses[0])]
        prefix = path.rstrip("/") + "/"
        return [to_entry(prefix + s["pathSuffix"], s) for s in statuses]

    # -- data ----------------------------------------------------------------------------------
    def read(self, path: str, offset: int = 0, length: int | None = None) -> bytes:
        with self._errors(), self.client.read(path, offset=offset, length=length) as reader:
            return bytes(reader.read())

    @contextlib.contextmanager
    def stream(self, path: str, chunk_size: int) -> Iterator[Iterator[bytes]]:
        """The file's bytes in chunks, over one OPEN request."""
        with self._errors(), self.client.read(path, chunk_size=chunk_size) as chunks:
            yield chunks

    def create(self, path: str, data: bytes | Iterable[bytes]) -> None:
        """Write (overwrite) ``path`` in one streaming request to the data node."""
        with self._errors():
            self.client.write(path, data=data, overwrite=True)

    def append(self, path: str, data: bytes) -> None:
        with self._errors():
            self.client.write(path, data=data, append=True)

    # -- namespace -----------------------------------------------------------------------------
    def makedirs(self, path: str) -> None:
        with self._errors():
            self.client.makedirs(path)

    def delete(self, path: str, recursive: bool) -> None:
        with self._errors():
            if not self.client.delete(path, recursive=recursive):
                raise FileNotFoundError(f"{path}: no such file or directory")

    def rename(self, src: str, dst: str, overwrite: bool) -> None:
        """WebHDFS ``rename2``: atomic, replaces a file when ``overwrite``, real error messages."""
        with self._errors():
            self.client._rename(src, destination=dst,
                                renameoptions="OVERWRITE" if overwrite else "NONE")


def to_entry(path: str, status: Any) -> Entry:
    return {
        "name": path,
        "size": int(status.get("length", 0)),
        "type": "directory" if status.get("type") == "DIRECTORY" else "file",
        "mtime": status.get("modificationTime", 0) / 1000.0,
        "permission": status.get("permission"),
        "owner": status.get("owner"),
        "group": status.get("group"),
    }
