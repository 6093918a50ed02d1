"""Registry access from the platform config, through python-dxf, with retries and clear errors.

python-dxf speaks the distribution API (blobs, cross-repo mounts, manifests) well; what it does
not do is read docker config files, retry, or say *why* a registry refused. This module adds
those: credentials come from the docker config JSON that ``RegistryConfig.credentials`` refers
to (the same file skopeo, buildah and kubelets read), plain HTTP only when ``insecure`` is set,
transient answers (5xx, 429, connection resets) are retried with exponential backoff, and every
failure becomes a :class:`RegistryError` that quotes the registry's own error message.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import requests
from dxf import DXF, DXFBase
from dxf.exceptions import DXFAuthInsecureError, DXFMountFailed, DXFUnauthorizedError

from ..config import RegistryConfig
from .errors import RegistryAuthError, RegistryError

T = TypeVar("T")
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
CHUNK = 1 << 20
BytesCallback = Callable[[int], None]


@dataclass(frozen=True)
class RegistryAccess:
    """How to reach one registry: address, plain HTTP or TLS (with a CA file), credentials."""

    host: str
    insecure: bool = False
    username: str | None = None
    password: str | None = None
    ca_file: str | None = None
    attempts: int = 4
    backoff: float = 0.5
    timeout: float = 300.0
    credentials_note: str = ""  # where the credentials came from, for error messages

    @property
    def base_url(self) -> str:
        return f"{'http' if self.insecure else 'https'}://{self.host}/v2/"

    def client(self, repo: str, *, timeout: float | None = None) -> DXF:
        """A python-dxf client that answers the registry's 401 with basic-auth credentials.

        python-dxf refuses to send credentials over plain HTTP (``insecure``), which is why an
        authenticated registry has to speak TLS (with ``ca_file`` for a private CA).
        """
        username, password = self.username, self.password

        def auth(dxf: DXFBase, response: requests.Response) -> None:
            dxf.authenticate(username, password, response=response)

        return DXF(self.host, repo, auth=auth if username is not None else None,
                   insecure=self.insecure, tlsverify=self.ca_file or True,
                   timeout=timeout or self.timeout)


def _normalize_host(key: str) -> str:
    for scheme in ("https://", "http://"):
        if key.startswith(scheme):
            key = key[len(scheme):]
    return key.split("/", 1)[0]


def docker_config_auth(config_json: str, host: str) -> tuple[str, str] | None:
    """``(user, password)`` for ``host`` from a docker config JSON, or None if it has none.

    Understands ``auths`` entries with ``auth`` (base64 ``user:password``) or
    ``username``/``password``, keyed by ``host``, ``https://host`` or ``https://host/v1/``.
    Credential helpers (``credsStore``/``credHelpers``) need a docker CLI and are not used.
    """
    try:
        data = json.loads(config_json)
    except json.JSONDecodeError as exc:
        raise RegistryAuthError(f"the registry credentials are not a docker config JSON: {exc}"
                                ) from exc
    auths = data.get("auths") if isinstance(data, dict) else None
    for key, entry in (auths or {}).items():
        if _normalize_host(key) != host or not isinstance(entry, dict):
            continue
        if entry.get("auth"):
            try:
                user, _, password = base64.b64decode(entry["auth"]).decode().partition(":")
            except (binascii.Error, UnicodeDecodeError) as exc:
                raise RegistryAuthError(f"docker config entry for {host}: `auth` is not "
                                        "base64 of user:password") from exc
            return user, password
        if entry.get("username") is not None:
            return entry["username"], entry.get("password") or ""
    return None


def registry_access(config: RegistryConfig, *, address: str | None = None,
                    ca_file: str | Path | None = None) -> RegistryAccess:
    """Access to ``address`` (default: the push address) as the platform config describes it.

    ``ca_file`` is the certificate bundle that signs the registry's TLS certificate when it is
    not in the system trust store.
    """
    host = address or config.push
    user = password = None
    note = "no credentials configured"
    if config.credentials is not None:
        ref = config.credentials
        where = (f"docker config file {ref.file}" if ref.file else
                 f"docker config in ${ref.env}" if ref.env else
                 f"Kubernetes secret {ref.k8s_secret}")
        try:
            text = ref.resolve()
        except OSError as exc:
            raise RegistryAuthError(f"cannot read the registry credentials ({where}): "
                                    f"{exc.strerror or exc}") from exc
        if text is None:
            note = f"credentials are in {where}, which only pods can read"
        else:
            found = docker_config_auth(text, host)
            if found is None:
                note = f"no entry for {host} in the {where}"
            else:
                user, password = found
                note = f"user {user!r} from the {where}"
    return RegistryAccess(host, insecure=config.insecure, username=user, password=password,
                          ca_file=None if ca_file is None else str(ca_file),
                          timeout=config.timeout, credentials_note=note)


def registry_message(response: requests.Response | None) -> str:
    """The registry's own words: ``CODE: message`` from a distribution error body, or the text."""
    if response is None:
        return ""
    try:
        errors = response.json().get("errors") or []
        parts = [f"{e.get('code', '')}: {e.get('message', '')}".strip(": ") for e in errors]
        if parts:
            return "; ".join(parts)
    except (ValueError, AttributeError):
        pass
    text = (response.text or "").strip()
    return text[:300] if text else f"{response.status_code} {response.reason}"


class Registry:
    """Operations on one registry, each retried on transient failures and errors translated.

    Use as a context manager: python-dxf then keeps one HTTP session (connection reuse) per
    repository for the duration of a build.
    """

    def __init__(self, access: RegistryAccess, *, role: str = "push") -> None:
        self.access = access
        self.role = role
        self._stack = contextlib.ExitStack()
        self._clients: dict[str, DXF] = {}

    def __enter__(self) -> Registry:
        return self

    def __exit__(self, *exc: object) -> None:
        self._stack.close()
        self._clients.clear()

    def _client(self, repo: str) -> DXF:
        if repo not in self._clients:
            self._clients[repo] = self._stack.enter_context(self.access.client(repo))
        return self._clients[repo]

    # -- retries and error translation -----------------------------------------------------
    def call(self, what: str, op: Callable[[], T]) -> T:
        """Run ``op`` (which must be safe to repeat), retrying 5xx/429/connection failures."""
        delay = self.access.backoff
        for attempt in range(1, self.access.attempts + 1):
            try:
                return op()
            except requests.exceptions.SSLError as exc:
                raise RegistryError(
                    f"TLS failed talking to the registry {self.access.host} ({self.role} "
                    f"address) while {what}: {exc}. Trust its CA, or set `insecure` only if it "
                    "is plain HTTP.") from exc
            except (requests.ConnectionError, requests.Timeout) as exc:
                if attempt == self.access.attempts:
                    raise RegistryError(
                        f"cannot reach the registry {self.access.host} ({self.role} address) "
                        f"while {what}: {_reason(exc)} (tried {attempt} times)") from exc
            except requests.HTTPError as exc:
                status = exc.response.status_code if exc.response is not None else None
                if status not in RETRY_STATUSES or attempt == self.access.attempts:
                    raise self._http_error(what, exc) from exc
                delay = max(delay, _retry_after(exc.response))
            except DXFUnauthorizedError as exc:
                raise self._auth_error(what) from exc
            except DXFAuthInsecureError as exc:
                raise RegistryAuthError(
                    f"the registry {self.access.host} asks for credentials, but it is configured "
                    "`insecure` (plain HTTP) and credentials are never sent in clear text; serve "
                    "it over TLS") from exc
            time.sleep(delay)
            delay *= 2
        raise AssertionError("unreachable")

    def _http_error(self, what: str, exc: requests.HTTPError) -> RegistryError:
        response = exc.response
        message = registry_message(response)
        status = response.status_code if response is not None else None
        cls = RegistryAuthError if status in (401, 403) else RegistryError
        return cls(f"the registry {self.access.host} ({self.role} address) answered {status} "
                   f"while {what}: {message}", status_code=status, registry_message=message)

    def _auth_error(self, what: str) -> RegistryAuthError:
        """401 after python-dxf tried the credentials; ask again to quote the registry."""
        message = ""
        with contextlib.suppress(requests.RequestException):
            auth = (None if self.access.username is None
                    else (self.access.username, self.access.password or ""))
            response = requests.get(self.access.base_url, auth=auth, timeout=10,
                                    verify=self.access.ca_file or True)
            message = registry_message(response)
        return RegistryAuthError(
            f"the registry {self.access.host} ({self.role} address) refused access while "
            f"{what} ({self.access.credentials_note}): {message or '401 Unauthorized'}",
            status_code=401, registry_message=message)

    # -- operations --------------------------------------------------------------------------
    def manifest(self, repo: str, reference: str) -> tuple[bytes, str, str] | None:
        """``(bytes, media type, digest)`` of a manifest, or None when there is none."""
        def op() -> tuple[bytes, str, str] | None:
            try:
                _, response = self._client(repo).get_manifest_and_response(reference)
            except requests.HTTPError as exc:
                if _status(exc) == 404:
                    return None
                raise
            body = response.content
            media = response.headers.get("Content-Type", "").split(";")[0].strip()
            media = json.loads(body).get("mediaType") or media
            digest = response.headers.get("Docker-Content-Digest") or ""
            return body, media, digest
        return self.call(f"reading manifest {repo}:{reference}", op)

    def head_manifest(self, repo: str, reference: str) -> str | None:
        """The digest the registry serves for ``repo@reference``, or None (404)."""
        def op() -> str | None:
            try:
                digest, _ = self._client(repo).head_manifest_and_response(reference)
            except requests.HTTPError as exc:
                if _status(exc) == 404:
                    return None
                raise
            return digest or reference
        return self.call(f"checking manifest {repo}@{reference}", op)

    def blob(self, repo: str, digest: str) -> bytes:
        return self.call(f"reading blob {digest} of {repo}",
                         lambda: b"".join(self._client(repo).pull_blob(digest)))  # type: ignore[arg-type]

    def has_blob(self, repo: str, digest: str) -> bool:
        def op() -> bool:
            try:
                self._client(repo).blob_size(digest)
            except requests.HTTPError as exc:
                if _status(exc) == 404:
                    return False
                raise
            return True
        return self.call(f"checking blob {digest} in {repo}", op)

    def mount(self, repo: str, from_repo: str, digest: str) -> bool:
        """Cross-repo mount (no bytes move); False when the registry declines."""
        def op() -> bool:
            try:
                self._client(repo).mount_blob(from_repo, digest)
            except DXFMountFailed:
                return False
            return True
        return self.call(f"mounting {digest} from {from_repo} into {repo}", op)

    def push_file(self, repo: str, path: Path, digest: str, on_bytes: BytesCallback) -> None:
        """Upload a blob from a file, reporting bytes as they go (restarted on a retry)."""
        counter = _AttemptCounter(on_bytes)
        self.call(f"uploading {digest} to {repo}", lambda: self._client(repo).push_blob(
            data=counter.chunks(_file_chunks(path)), digest=digest, check_exists=False))

    def push_bytes(self, repo: str, data: bytes, digest: str) -> None:
        self.call(f"uploading {digest} to {repo}", lambda: self._client(repo).push_blob(
            data=iter([data]), digest=digest, check_exists=True))

    def copy_blob(self, repo: str, from_repo: str, digest: str, on_bytes: BytesCallback
                  ) -> None:
        """Stream a blob from another repository of this registry (when mounting is refused)."""
        counter = _AttemptCounter(on_bytes)

        def op() -> None:
            chunks = self._client(from_repo).pull_blob(digest, chunk_size=CHUNK)
            self._client(repo).push_blob(data=counter.chunks(chunks), digest=digest,
                                         check_exists=False)
        self.call(f"copying {digest} from {from_repo} to {repo}", op)

    def put_manifest(self, repo: str, reference: str, body: bytes) -> None:
        self.call(f"writing manifest {repo}:{reference}",
                  lambda: self._client(repo).set_manifest(reference, body.decode()))


class _AttemptCounter:
    """Report bytes as they stream; a retried upload first takes back the previous attempt's."""

    def __init__(self, on_bytes: BytesCallback) -> None:
        self.on_bytes = on_bytes
        self.sent = 0

    def chunks(self, chunks: Any) -> Iterator[bytes]:
        if self.sent:
            self.on_bytes(-self.sent)
            self.sent = 0
        for chunk in chunks:
            self.sent += len(chunk)
            self.on_bytes(len(chunk))
            yield chunk


def _file_chunks(path: Path) -> Iterator[bytes]:
    with open(path, "rb") as handle:
        while chunk := handle.read(CHUNK):
            yield chunk


def _status(exc: requests.HTTPError) -> int | None:
    return exc.response.status_code if exc.response is not None else None


def _retry_after(response: requests.Response | None) -> float:
    value = response.headers.get("Retry-After") if response is not None else None
    try:
        return min(float(value), 10.0) if value else 0.0
    except ValueError:
        return 0.0


def _reason(exc: Exception) -> str:
    text = str(exc)
    for marker in ("Connection refused", "Name or service not known", "timed out",
                   "Connection reset"):
        if marker in text:
            return marker
    return text[:300]
