"""Opening the store: engine, SQLite pragmas, and migrations to the latest schema."""

from __future__ import annotations

import datetime as dt
import fcntl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event, inspect, select, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session, sessionmaker

from sockdojo.challenges.registry import MODULE_ID, MODULE_TITLE
from sockdojo.storage.models import Module

# Kept in step with migrations/versions by a test, so that opening an up-to-date database never
# has to import Alembic (which would slow every command down).
HEAD_REVISION = "0004"
MIGRATIONS = Path(__file__).with_name("migrations")


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets the web dojo read while a CLI submits; a busy timeout instead of "database is
    # locked" errors when two writers meet.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        database = url.split("///", 1)[-1]
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 10})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    # No pre-ping: it costs a round trip on every checkout, several per request. After a
    # server restart the first statement on a dead connection fails, SQLAlchemy throws the
    # whole pool away, and the next request reconnects. More pooled connections than the
    # default, for the web dojo's worker threads. A server that does not answer must not
    # hold a caller for long: connecting and waiting for a pooled connection are bounded (a
    # statement to a hung server is bounded by the web dojo's own deadline: the kernel still
    # acknowledges our packets, so no socket timeout would fire).
    return create_engine(
        url,
        pool_size=10,
        max_overflow=20,
        pool_timeout=POSTGRES_POOL_SECONDS,
        connect_args={"connect_timeout": POSTGRES_CONNECT_SECONDS},
    )


POSTGRES_CONNECT_SECONDS = 5
POSTGRES_POOL_SECONDS = 5


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        if not inspect(connection).has_table("alembic_version"):
            return None
        return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()


def migrate(engine: Engine) -> None:
    """Bring the schema to the latest revision (a no-op, without importing Alembic, when it is)."""
    if current_revision(engine) == HEAD_REVISION:
        return
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


class Store:
    """The database behind the CLI and the web dojo."""

    def __init__(self, url: str, *, auto_migrate: bool = True) -> None:
        self.url = url
        self.engine = make_engine(url)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)
        # Python's sqlite3 begins a transaction only before a write, so a plain connection is
        # already outside one for reads; switching it to autocommit and back on every checkout
        # would double the cost of the session look-up (0.15 -> 0.34 ms).
        self._autocommit = (
            self.engine
            if self.engine.dialect.name == "sqlite"
            else self.engine.execution_options(isolation_level="AUTOCOMMIT")
        )
        self._writing = threading.Lock()
        self._lock_path: Path | None = None
        if self.engine.dialect.name == "sqlite":
            database = url.split("///", 1)[-1].split("?", 1)[0]
            if database and database != ":memory:":
                self._lock_path = Path(f"{database}.write-lock")
        if auto_migrate:
            migrate(self.engine)
            self.ensure_module()

    @contextmanager
    def session(self) -> Iterator[Session]:
        with self.sessions.begin() as session:
            yield session

    @contextmanager
    def outside_transaction(self) -> Iterator[Connection]:
        """A connection on which each statement is a transaction of its own (on SQLite: each
        read; writes there go through `engine.begin()`).

        For a single statement, on PostgreSQL, that saves the BEGIN and the COMMIT or ROLLBACK
        round trips around it: the session look-up of every signed-in request takes 0.36 ms
        this way instead of 0.72 ms.
        """
        with self._autocommit.connect() as connection:
            yield connection

    @contextmanager
    def write_lock(self) -> Iterator[None]:
        """Queue up writers of a hot path (flag submissions) on SQLite; nothing on PostgreSQL.

        SQLite has one writer at a time, and a writer that finds the database locked sleeps
        (1, 2, 5, 10 … 100 ms) before it tries again: under a burst most of them sleep while
        the lock is free. Waiting on a thread lock and an flock(2) on a file beside the
        database instead (one per process, one across processes) wakes the next writer as soon
        as the last one commits. Writers that do not take it still serialise on SQLite's own
        lock, but the flag submission needs it: Python's sqlite3 begins the transaction only at
        the first write, so the wrong-flag limit it reads first is atomic with its writes only
        under this lock.
        """
        if self._lock_path is None:
            yield
            return
        with self._writing, self._lock_path.open("a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def ensure_module(self) -> None:
        with self.session() as session:
            if session.get(Module, MODULE_ID) is None:
                # The launch date defaults to the install time; an admin may move it.
                session.add(
                    Module(id=MODULE_ID, title=MODULE_TITLE, launched_at=dt.datetime.now(dt.UTC))
                )

    def ping(self) -> bool:
        with self.engine.connect() as connection:
            return connection.execute(select(1)).scalar() == 1

    def dispose(self) -> None:
        self.engine.dispose()
