"""PostgreSQL from Debian's packages, private to the sandbox: own data dir, port and socket.

PostgreSQL refuses to run as root, so when the harness runs as root the server runs as the
``postgres`` OS user (created by the Debian package) through ``setpriv``, which ``exec``s: the
server is then the leader of the process group the harness started, and stopping the group
stops it. A root-owned workdir (``~/.cache`` under a ``0700`` home, pytest's ``0700`` temp root)
is often not reachable by that user; then the data lives in a private temporary folder owned by
it, linked from the workdir and removed on stop.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import secrets
import shutil
import signal
import tempfile
from pathlib import Path
from typing import Any

from .base import Component, ComponentError, free_port, run, stop_process_group, wait_until

DATABASE = "mlplat"
USER = "mlplat"
SUPERUSER = "postgres"
SERVICE_USER = "postgres"
START_TIMEOUT = 60.0
#: Throwaway data: skip fsync so that tests on a busy machine are not bound by the disk.
SERVER_SETTINGS = {
    "listen_addresses": "127.0.0.1",
    "fsync": "off",
    "full_page_writes": "off",
    "synchronous_commit": "off",
    "max_connections": "100",
    "shared_buffers": "32MB",
    "log_min_messages": "warning",
}
#: Longest unix socket path the kernel takes (sun_path is 108 bytes with the terminating NUL).
MAX_SOCKET_PATH = 107


def find_bindir() -> Path:
    """The newest ``/usr/lib/postgresql/<version>/bin`` with ``initdb`` and ``postgres``."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                   key=lambda p: int(Path(p).parent.parent.name.split(".")[0]))
    if not found:
        on_path = shutil.which("initdb")
        if on_path is None:
            raise ComponentError(
                "PostgreSQL server binaries (initdb, postgres) not found; install them with "
                "`apt-get install postgresql`"
            )
        return Path(on_path).parent
    return Path(found[-1]).parent


def fast_shutdown(pid: int, timeout: float = 20.0) -> None:
    """Stop a postmaster the quick way, then make sure its process group is gone.

    SIGTERM (what a plain stop sends) is PostgreSQL's *smart* shutdown, which waits for every
    client to disconnect: a Jupyter server holding a pool would keep it up until the SIGKILL.
    SIGINT is the *fast* shutdown: sessions are ended and the data is left consistent.
    """
    with contextlib.suppress(ProcessLookupError):
        os.killpg(os.getpgid(pid), signal.SIGINT)
    stop_process_group(pid, timeout=timeout)


class Postgres(Component):
    """A PostgreSQL server on ``127.0.0.1:<free port>`` with a ``mlplat`` database and user."""

    name = "postgres"
    #: How the sandbox stops this component's recorded processes from another process.
    stop_signal = "SIGINT"

    def __init__(self, workdir: Path) -> None:
        super().__init__(workdir)
        self.port = 0
        self.password = ""
        self.superuser_password = ""
        self.bindir: Path | None = None
        self.home: Path = self.workdir
        self.scratch: Path | None = None

    # -- build -----------------------------------------------------------------------------
    def build(self) -> None:
        """Nothing to compile: find the Debian binaries and, as root, the service user."""
        self.bindir = find_bindir()
        if os.geteuid() == 0:
            try:
                pwd.getpwnam(SERVICE_USER)
            except KeyError:
                raise ComponentError(
                    f"running as root, PostgreSQL needs the unprivileged user {SERVICE_USER!r} "
                    "(created by `apt-get install postgresql`)"
                ) from None
            if shutil.which("setpriv") is None:
                raise ComponentError("`setpriv` not found; install it with "
                                     "`apt-get install util-linux`")

    # -- start -----------------------------------------------------------------------------
    def start(self) -> None:
        """initdb a fresh cluster, start the server, create the database and its owner."""
        if self.bindir is None:
            self.build()
        try:
            self._start()
        except BaseException:
            self.stop()
            raise

    def _start(self) -> None:
        self.port = free_port()
        self.password = secrets.token_urlsafe(18)
        self.superuser_password = secrets.token_urlsafe(18)
        self.home = self._choose_home()
        self._initdb()
        self._serve()
        self._create_database()

    def _serve(self) -> None:
        """Start the postmaster on the existing data dir and port; return once it answers."""
        proc = self.spawn("postgres", [*self._as_service_user(), str(self._bin("postgres")),
                                       "-D", str(self.data_dir), "-p", str(self.port),
                                       "-k", str(self.socket_dir),
                                       *self._settings_args()], cwd=self.home)
        wait_until(self._accepts_connections, timeout=START_TIMEOUT, what="postgres",
                   alive=proc.died, interval=0.1)

    # -- outage ----------------------------------------------------------------------------
    def stop_server(self) -> None:
        """Stop the postmaster (fast shutdown), keeping its data, port and credentials."""
        for proc in self.processes:
            if proc.pid is not None:
                fast_shutdown(proc.pid)
        Component.stop(self)

    def start_server(self) -> None:
        """Start a stopped server again on the same data dir and port: the URL still holds."""
        if not self.port or not (self.data_dir / "PG_VERSION").exists():
            raise ComponentError("postgres: nothing to restart; start() it first")
        if self.processes:
            raise ComponentError("postgres: already running")
        # The port was free while the server ran on it; a stop frees it again at once.
        self._serve()

    def restart(self) -> None:
        """What an operator's `systemctl restart postgresql` does: same data, same address."""
        self.stop_server()
        self.start_server()

    def _choose_home(self) -> Path:
        """Where data and socket live: the workdir if the service user can use it."""
        if os.geteuid() != 0:
            return self.workdir
        user = pwd.getpwnam(SERVICE_USER)
        socket_path = self.workdir / "run" / f".s.PGSQL.{self.port}"
        if _reachable_by(self.workdir, user.pw_uid, user.pw_gid) and \
                len(str(socket_path)) <= MAX_SOCKET_PATH:
            _chown_tree(self.workdir, user.pw_uid, user.pw_gid)
            return self.workdir
        self.scratch = Path(tempfile.mkdtemp(prefix="mlplat-postgres-"))
        os.chown(self.scratch, user.pw_uid, user.pw_gid)
        link = self.workdir / "data-home"
        with contextlib.suppress(FileNotFoundError):
            link.unlink()
        link.symlink_to(self.scratch, target_is_directory=True)
        return self.scratch

    @property
    def data_dir(self) -> Path:
        return self.home / "data"

    @property
    def socket_dir(self) -> Path:
        return self.home / "run"

    def _bin(self, name: str) -> Path:
        assert self.bindir is not None
        return self.bindir / name

    def _as_service_user(self) -> list[str]:
        if os.geteuid() != 0:
            return []
        return ["setpriv", f"--reuid={SERVICE_USER}", f"--regid={SERVICE_USER}",
                "--init-groups", "--"]

    def _settings_args(self) -> list[str]:
        return [arg for key, value in SERVER_SETTINGS.items() for arg in ("-c", f"{key}={value}")]

    def _initdb(self) -> None:
        """A fresh cluster each start: the sandbox's database is throwaway by design."""
        shutil.rmtree(self.data_dir, ignore_errors=True)
        self.socket_dir.mkdir(parents=True, exist_ok=True)
        pwfile = self.home / "superuser.pw"
        pwfile.write_text(self.superuser_password + "\n")
        if os.geteuid() == 0:
            user = pwd.getpwnam(SERVICE_USER)
            for path in (self.socket_dir, pwfile):
                os.chown(path, user.pw_uid, user.pw_gid)
        pwfile.chmod(0o600)
        try:
            run([*self._as_service_user(), str(self._bin("initdb")), "-D", str(self.data_dir),
                 "-U", SUPERUSER, f"--pwfile={pwfile}", "--auth=scram-sha-256",
                 "-E", "UTF8", "--locale=C", "--no-sync"],
                cwd=self.home, what="initdb", timeout=120)
        finally:
            pwfile.unlink(missing_ok=True)

    def _connect(self, user: str, password: str, dbname: str) -> Any:
        import psycopg2  # optional dependency (the `postgres` extra)

        return psycopg2.connect(host="127.0.0.1", port=self.port, user=user, password=password,
                                dbname=dbname, connect_timeout=3)

    def _accepts_connections(self) -> bool:
        self._connect(SUPERUSER, self.superuser_password, "postgres").close()
        return True

    def _create_database(self) -> None:
        conn = self._connect(SUPERUSER, self.superuser_password, "postgres")
        try:
            conn.autocommit = True  # CREATE DATABASE cannot run inside a transaction
            with conn.cursor() as cur:
                cur.execute(f"CREATE ROLE {USER} LOGIN PASSWORD %s", (self.password,))
                cur.execute(f"CREATE DATABASE {DATABASE} OWNER {USER}")
        finally:
            conn.close()

    # -- info / stop -----------------------------------------------------------------------
    @property
    def url(self) -> str:
        return f"postgresql+psycopg2://{USER}:{self.password}@127.0.0.1:{self.port}/{DATABASE}"

    def info(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "host": "127.0.0.1",
            "port": self.port,
            "database": DATABASE,
            "user": USER,
            "password": self.password,
            "superuser": SUPERUSER,
            "superuser_password": self.superuser_password,
            "socket_dir": str(self.socket_dir),
            "data_dir": str(self.data_dir),
        }

    def stop(self) -> None:
        """Fast shutdown of the postmaster, then remove a scratch data folder if one was made."""
        for proc in self.processes:
            if proc.pid is not None:
                fast_shutdown(proc.pid)
        super().stop()
        if self.scratch is not None:
            shutil.rmtree(self.scratch, ignore_errors=True)
            with contextlib.suppress(FileNotFoundError):
                (self.workdir / "data-home").unlink()
            self.scratch = None

    def scratch_paths(self) -> list[str]:
        """Folders outside the workdir that a stop from another process must remove."""
        return [str(self.scratch)] if self.scratch is not None else []


def _reachable_by(path: Path, uid: int, gid: int) -> bool:
    """Whether ``uid``/``gid`` may traverse every ancestor of ``path`` (mode bits only)."""
    for folder in [path, *path.parents]:
        st = folder.stat()
        if st.st_uid == uid:
            bit = 0o100
        elif st.st_gid == gid:
            bit = 0o010
        else:
            bit = 0o001
        if folder != path and not st.st_mode & bit:
            return False
    return True


def _chown_tree(path: Path, uid: int, gid: int) -> None:
    for root, dirs, files in os.walk(path):
        for name in [*dirs, *files]:
            os.chown(os.path.join(root, name), uid, gid, follow_symlinks=False)
    os.chown(path, uid, gid)


def platform_config(info: dict[str, Any]) -> dict[str, Any]:
    """The platform-config fragment: the metadata database is this PostgreSQL."""
    return {"database_url": info["url"]}

