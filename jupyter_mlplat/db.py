"""The one store of truth: SQLAlchemy tables, sessions, and alembic migrations.

SQLite (the embedded default) is shared by the server, kernels, the CLI and job runners, so it
runs in WAL mode with a busy timeout; PostgreSQL is used by URL at scale with the same tables.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import enum
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import (
    JSON,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    create_engine,
    event,
    make_url,
)
from sqlalchemy import (
    text as sql_text,
)
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker

from .errors import MissingExtra

MIGRATIONS = Path(__file__).parent / "migrations"
#: Seconds a PostgreSQL connection attempt may take before the database counts as unreachable.
CONNECT_TIMEOUT = 10
LIBPQ_DRIVERS = ("postgresql", "postgresql+psycopg2", "postgresql+psycopg")

log = logging.getLogger(__name__)
T = TypeVar("T")


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


class EnumText(TypeDecorator[Any]):
    """A ``str`` enum stored as its value in a plain text column (no database enum type, so
    the column and the values already stored stay as they are); read back as the enum."""

    impl = String
    cache_ok = True

    def __init__(self, enum_class: type[enum.Enum], length: int) -> None:
        super().__init__(length)
        self.enum_class = enum_class

    def process_bind_param(self, value: Any, dialect: Any) -> str | None:
        if value is None:
            return None
        return str(self.enum_class(value).value)  # an unknown value is refused here

    def process_result_value(self, value: str | None, dialect: Any) -> enum.Enum | None:
        return None if value is None else self.enum_class(value)


class UTCDateTime(TypeDecorator[dt.datetime]):
    """A time stored in UTC and read back aware, on every database.

    SQLite keeps no zone (it hands back the stored text as a naive time); PostgreSQL's
    ``timestamptz`` does. Reading and writing through this one type is why no caller ever
    patches a naive time. A naive time given to it is refused: it would be ambiguous.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"a naive time cannot be stored: {value!r} (give it a zone)")
        return value.astimezone(dt.timezone.utc)

    def process_result_value(self, value: dt.datetime | None, dialect: Any
                             ) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.timezone.utc)
        return value.astimezone(dt.timezone.utc)


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON}


class JobRow(Base):
    __tablename__ = "jobs"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    user: Mapped[str] = mapped_column(String(100), index=True)
    state: Mapped[str] = mapped_column(String(20), index=True)
    target: Mapped[str] = mapped_column(String(100), index=True)
    notebook: Mapped[str | None] = mapped_column(String(1000), index=True)
    spec: Mapped[dict[str, Any]] = mapped_column(JSON)
    created: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    started: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    finished: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    error: Mapped[str | None] = mapped_column(Text)
    image: Mapped[str | None] = mapped_column(String(500))
    k8s_object: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    outputs: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    backend_ref: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    parent_id: Mapped[str | None] = mapped_column(String(32))
    client_request_id: Mapped[str | None] = mapped_column(String(100))

    __table_args__ = (
        UniqueConstraint("user", "client_request_id", name="uq_jobs_user_request"),
        # the listing's sort key after each filter (migration 0004_jobs_indexes)
        Index("ix_jobs_created_id", "created", "id"),
        Index("ix_jobs_state_created", "state", "created", "id"),
        Index("ix_jobs_user_created", "user", "created", "id"),
        Index("ix_jobs_notebook_state_created", "notebook", "state", "created", "id"),
        # the user first: every listing of the API filters by it (0005_jobs_user_indexes)
        Index("ix_jobs_user_state_created", "user", "state", "created", "id"),
        Index("ix_jobs_user_notebook_state_created", "user", "notebook", "state", "created", "id"),
        Index("ix_jobs_user_target_created", "user", "target", "created", "id"),
    )


class JobEventRow(Base):
    __tablename__ = "job_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), index=True)
    time: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    state: Mapped[str | None] = mapped_column(String(20))
    message: Mapped[str] = mapped_column(Text, default="")


def is_disconnect(exc: BaseException) -> bool:
    """Whether ``exc`` means the database is unreachable (down, restarting, connection cut).

    A request failing so may succeed a moment later: the pool replaces dead connections
    (``pool_pre_ping``) once the database answers again.
    """
    if not isinstance(exc, DBAPIError):
        return False
    if exc.connection_invalidated:
        return True
    if not isinstance(exc, OperationalError):
        return False
    if type(exc.orig).__module__.startswith("sqlite3"):
        # SQLite raises OperationalError for schema errors too; only these pass by themselves
        text = str(exc.orig)
        return "database is locked" in text or "unable to open database" in text
    return True


def retry_disconnects(fn: Callable[[], T], *, timeout: float, what: str,
                      delay: float = 0.5, max_delay: float = 5.0) -> T:
    """``fn()``, called again with backoff while the database is unreachable, for ``timeout`` s.

    For writes that must not be lost to a database restart (a job runner recording how its
    notebook ended); ``fn`` must be safe to repeat (one transaction, conditional on the state).
    """
    deadline = time.monotonic() + timeout
    while True:
        try:
            return fn()
        except Exception as exc:
            if not is_disconnect(exc) or time.monotonic() + delay > deadline:
                raise
            log.warning("%s: database unreachable, retrying in %.1f s: %s", what, delay,
                        str(getattr(exc, "orig", exc)).strip())
            time.sleep(delay)
            delay = min(max_delay, delay * 2)


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


def _owner_only_sqlite(url: str) -> None:
    """The SQLite file readable by its owner only (its -wal and -shm files take the main
    file's mode): jobs, parameters and runs are the user's."""
    path = make_url(url).database
    if not path or path == ":memory:" or path.startswith("file:"):
        return
    file = Path(path)
    if file.exists():
        file.chmod(0o600)
        return
    file.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(FileExistsError):
        os.close(os.open(file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


#: The PostgreSQL channel every process that records a job event notifies (at its commit).
JOB_EVENTS_CHANNEL = "mlplat_job_events"
#: Seconds between checks of a LISTEN connection (it also wakes at once on a notification).
LISTEN_TICK = 1.0
#: Seconds before a lost LISTEN connection is opened again.
LISTEN_RETRY = 2.0


def notify(session: Session, channel: str) -> None:
    """Tell the listeners of ``channel`` that this transaction wrote (PostgreSQL delivers it at
    commit, once per channel and transaction; other databases have no such thing)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(sql_text("SELECT pg_notify(:channel, '')"), {"channel": channel})


class Listener:
    """``LISTEN channel`` on a PostgreSQL connection of its own, in a thread: ``take()`` says
    whether a notification came (or the connection was opened again: what was written while
    it was down is unknown) since the last call. ``up`` is False while it has no connection;
    readers then poll as without it. Only for psycopg2 (the ``postgres`` extra's driver)."""

    def __init__(self, db: Database, channel: str) -> None:
        self.db = db
        self.channel = channel
        self.up = False
        self._pending = threading.Event()
        self._closed = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True,
                                        name=f"mlplat-listen-{channel}")
        db.listeners.append(self)  # closed with the database

    @staticmethod
    def supported(db: Database) -> bool:
        return db.engine.dialect.name == "postgresql" and db.engine.dialect.driver == "psycopg2"

    def start(self) -> Listener:
        self._thread.start()
        return self

    @property
    def pending(self) -> bool:
        return self._pending.is_set()

    def take(self) -> bool:
        was = self._pending.is_set()
        self._pending.clear()
        return was

    def close(self) -> None:
        self._closed.set()

    def _run(self) -> None:
        import select

        failed = False
        while not self._closed.is_set():
            conn: Any = None
            try:
                pooled = self.db.engine.raw_connection()
                conn = pooled.dbapi_connection
                pooled.detach()  # its own connection, out of the pool, for as long as it lives
                conn.autocommit = True
                with conn.cursor() as cur:
                    cur.execute(f'LISTEN "{self.channel}"')
                self.up = True
                self._pending.set()  # read once: what was written before the LISTEN
                if failed:
                    log.info("mlplat: listening to %s again", self.channel)
                failed = False
                while not self._closed.is_set():
                    select.select([conn], [], [], LISTEN_TICK)
                    conn.poll()  # raises when the connection is gone
                    if conn.notifies:
                        conn.notifies.clear()
                        self._pending.set()
            except Exception as exc:
                if not failed:
                    log.warning("mlplat: listening to %s failed (reading by polling until it "
                                "is back): %s", self.channel, exc)
                failed = True
            finally:
                self.up = False
                self._pending.set()  # while down, readers poll
                if conn is not None:
                    with contextlib.suppress(Exception):
                        conn.close()
            self._closed.wait(LISTEN_RETRY)


class Database:
    """Engine + session factory for one URL; ``migrate()`` brings the schema to the newest."""

    _migrate_lock = threading.Lock()

    def __init__(self, url: str) -> None:
        self.url = url
        self.listeners: list[Listener] = []
        kwargs: dict[str, Any] = {"future": True}
        if url.startswith("sqlite"):
            kwargs["connect_args"] = {"timeout": 30, "check_same_thread": False}
            _owner_only_sqlite(url)
        else:
            # pre-ping: a connection that died with a database restart is replaced at checkout,
            # so the first request after the restart succeeds instead of failing once
            kwargs.update(pool_pre_ping=True, pool_size=10, max_overflow=20)
            if make_url(url).drivername in LIBPQ_DRIVERS:
                kwargs["connect_args"] = {"connect_timeout": CONNECT_TIMEOUT}
        try:
            self.engine: Engine = create_engine(url, **kwargs)
        except ModuleNotFoundError:  # the driver of the URL's dialect is not installed
            if make_url(url).get_backend_name() == "postgresql":
                raise MissingExtra("database_url on PostgreSQL", "postgres") from None
            raise
        if url.startswith("sqlite"):
            event.listen(self.engine, "connect", _sqlite_pragmas)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    @contextlib.contextmanager
    def session(self) -> Iterator[Session]:
        """A transaction: committed when the block ends, rolled back on error."""
        with self._sessions() as session, session.begin():
            yield session

    def migrate(self) -> None:
        from alembic import command
        from alembic.config import Config

        cfg = Config()
        cfg.set_main_option("script_location", str(MIGRATIONS))
        cfg.set_main_option("sqlalchemy.url", self.url.replace("%", "%%"))
        with self._migrate_lock, self.engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "heads")

    def dispose(self) -> None:
        for listener in self.listeners:
            listener.close()
        self.engine.dispose()
