"""Remote errors as builtin exceptions, and the one place where secrets are cut from messages.

fsspec's convention is that a filesystem raises ``FileNotFoundError``, ``PermissionError``,
``FileExistsError`` …, so pandas, papermill and our contents service handle HDFS like a local
disk. The HDFS message (``Permission denied: user=bob, access=WRITE, inode=…``) is kept: it is
what tells the user what to fix.
"""

from __future__ import annotations

import errno
from collections.abc import Iterable


class NameNodesUnavailable(ConnectionError):
    """No name node of a cluster answered; ``addresses`` are the ones tried, in order."""

    def __init__(self, cluster: str, addresses: list[str], cause: str) -> None:
        super().__init__(
            f"storage cluster {cluster!r} is unavailable: no name node answered "
            f"(tried {', '.join(addresses)}): {cause}"
        )
        self.cluster = cluster
        self.addresses = addresses


class DirectoryNotEmpty(OSError):
    def __init__(self, message: str) -> None:
        super().__init__(errno.ENOTEMPTY, message)

    def __str__(self) -> str:
        return str(self.strerror)


#: Java exception class (``RemoteException.exception``) -> builtin exception.
REMOTE_ERRORS: dict[str, type[OSError]] = {
    "FileNotFoundException": FileNotFoundError,
    "AccessControlException": PermissionError,
    "AuthorizationException": PermissionError,
    "SecurityException": PermissionError,
    "FileAlreadyExistsException": FileExistsError,
    "ParentNotDirectoryException": NotADirectoryError,
    "PathIsNotEmptyDirectoryException": DirectoryNotEmpty,
    "PathIsNotDirectoryException": NotADirectoryError,
}


def remote_error(exception: str | None, message: str) -> OSError:
    cls = REMOTE_ERRORS.get(exception or "")
    if cls is DirectoryNotEmpty:
        return DirectoryNotEmpty(message)
    if cls is not None:
        return cls(message)
    if "Permission denied" in message:
        return PermissionError(message)
    return OSError(f"{exception}: {message}" if exception else message)


def redact(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every secret value replaced; used on every message built from a remote."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text
