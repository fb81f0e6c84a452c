"""Opening the store: engine, SQLite pragmas, file modes, machine faults, and migrations.

A fault of the machine met by the database (a full disk, a read-only or damaged file, a newer
schema, the file deleted under us) becomes a `MachineProblem` here, where it is known, so
that every command and page says it in one sentence (see `sockdojo.machine_faults`).
"""

from __future__ import annotations

import datetime as dt
import os
import stat
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event, inspect, text
from sqlalchemy.engine import Connection, Engine, ExceptionContext
from sqlalchemy.orm import Session, sessionmaker

from sockdojo import machine_faults
from sockdojo.challenges.registry import MODULE_ID, MODULE_TITLE
from sockdojo.config import data_home, make_private_directory
from sockdojo.errors import MachineProblem
from sockdojo.storage.models import Module

# Kept in step with migrations/versions by a test, so that opening an up-to-date database never
# has to import Alembic (which would slow every command down).
HEAD_REVISION = "0006"
MIGRATIONS = Path(__file__).with_name("migrations")
# Key of the PostgreSQL advisory lock that migrations hold (any constant bigint of our own).
MIGRATION_LOCK_KEY = 0x736F636B646F6A6F  # "sockdojo"


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets the web dojo read while a CLI submits; a busy timeout instead of "database is
    # locked" errors when two writers meet.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def sqlite_file(url: str) -> Path | None:
    """The database file of a SQLite URL; None for an in-memory one or another database."""
    if not url.startswith("sqlite"):
        return None
    database = url.split("///", 1)[-1].split("?", 1)[0]
    if not database or database == ":memory:":
        return None
    return Path(database)


class DatabaseFile:
    """The SQLite file a store opened, and the check that it is still that file.

    A file deleted under a running server is still open, so SQLite goes on writing into it
    and every solve is acknowledged, then lost with the last descriptor. The identity (device
    and inode) the path had when the store opened it is compared with what the path holds at
    the start and at the commit of every transaction: one stat(2) each, a few microseconds.
    A deleted file (no links left) shows as a missing path; one put in its place, as another
    inode.
    """

    # The files beside the database: SQLite's write-ahead log and shared memory, our lock.
    COMPANIONS = ("-wal", "-shm", ".write-lock")

    def __init__(self, path: Path) -> None:
        self.path = path
        self.identity = self._prepare()

    def _prepare(self) -> tuple[int, int]:
        """Create the directory 0700 and the file 0600 (tightening old ones); its identity.

        SQLite creates a database 0644 under umask 022, and gives its -wal and -shm files
        the database's own mode: an empty file we create 0600 first (an empty file is an
        empty database to SQLite) makes all three owner-only.
        """
        # An existing directory is tightened when it is the data directory; a database put
        # elsewhere with SOCKDOJO_DATABASE_URL (say, in the user's home) leaves it as it is.
        directory = self.path.parent
        make_private_directory(directory, tighten=_same_directory(directory, data_home()))
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
            try:
                found = os.fstat(fd)
            finally:
                os.close(fd)
            if stat.S_IMODE(found.st_mode) & 0o077:
                os.chmod(self.path, stat.S_IMODE(found.st_mode) & 0o600)
            for suffix in self.COMPANIONS:
                companion = self.path.with_name(self.path.name + suffix)
                if companion.exists() and stat.S_IMODE(companion.stat().st_mode) & 0o077:
                    os.chmod(companion, 0o600)
        except OSError as error:
            problem = machine_faults.from_os_error(error, self.path.parent)
            if problem is None:
                raise
            raise problem from None
        return found.st_dev, found.st_ino

    def check(self, *_args: object) -> None:
        """Raise `MachineProblem` when the path no longer holds the file that was opened."""
        try:
            found = os.stat(self.path)
        except FileNotFoundError:
            raise machine_faults.database_gone(self.path) from None
        if (found.st_dev, found.st_ino) != self.identity:
            raise machine_faults.database_gone(self.path)


def _same_directory(one: Path, other: Path) -> bool:
    try:
        return one.resolve() == other.resolve()
    except OSError:
        return False


def _machine_fault(where: str) -> Callable[[ExceptionContext], BaseException | None]:
    """A `handle_error` listener: the driver's error becomes a `MachineProblem` if it is one."""

    def translate(context: ExceptionContext) -> BaseException | None:
        if isinstance(context.original_exception, MachineProblem):
            return None  # raised by one of our own listeners: it says it already
        return machine_faults.from_database_error(context.original_exception, where)

    return translate


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        path = sqlite_file(url)
        database = DatabaseFile(path) if path is not None else None
        engine = create_engine(url, connect_args={"timeout": 10})
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "handle_error", _machine_fault(str(path or ":memory:")))
        if database is not None:
            # Refuse to begin or commit (so: to acknowledge anything) into a deleted file.
            event.listen(engine, "begin", database.check)
            event.listen(engine, "commit", database.check)
        return engine
    # No pre-ping: it costs a round trip on every checkout, several per request. After a
    # server restart the first statement on a dead connection fails, SQLAlchemy throws the
    # whole pool away, and the next request reconnects. More pooled connections than the
    # default, for the web dojo's worker threads. A server that does not answer must not
    # hold a caller for long: connecting and waiting for a pooled connection are bounded (a
    # statement to a hung server is bounded by the web dojo's own deadline: the kernel still
    # acknowledges our packets, so no socket timeout would fire).
    engine = create_engine(
        url,
        pool_size=10,
        max_overflow=20,
        pool_timeout=POSTGRES_POOL_SECONDS,
        connect_args={"connect_timeout": POSTGRES_CONNECT_SECONDS},
    )
    shown = engine.url.render_as_string(hide_password=True)
    event.listen(engine, "handle_error", _machine_fault(shown))
    return engine


POSTGRES_CONNECT_SECONDS = 5
POSTGRES_POOL_SECONDS = 5


def describe(engine: Engine) -> str:
    """The database as a learner would name it: its file, or its URL without the password."""
    if engine.dialect.name == "sqlite":
        return engine.url.database or ":memory:"
    return engine.url.render_as_string(hide_password=True)


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        if not inspect(connection).has_table("alembic_version"):
            return None
        return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()


def migrate(engine: Engine) -> None:
    """Bring the schema to the latest revision (a no-op, without importing Alembic, when it is).

    Call it under `Store.schema_lock` when other processes may be opening the database for
    the first time too. Raises `MachineProblem` for a database of a newer sockdojo.
    """
    revision = current_revision(engine)
    if revision == HEAD_REVISION:
        return
    from alembic import command
    from alembic.config import Config
    from alembic.script import ScriptDirectory
    from alembic.util import CommandError

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if revision is not None:
        try:
            known = ScriptDirectory.from_config(config).get_revision(revision) is not None
        except CommandError:
            known = False
        if not known:
            raise machine_faults.newer_database(describe(engine), revision, HEAD_REVISION)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


@contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    """An exclusive lock on `path` across processes, waited for without polling.

    flock(2) where there is one (Linux, macOS, the BSDs): the waiter wakes as soon as the
    holder lets go, and the lock goes with the process if it dies. Windows has no fcntl: its
    msvcrt.locking waits up to 10 s a call, so it is asked again until a minute has passed.
    """
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as error:
        problem = machine_faults.from_os_error(error, path.parent)
        if problem is None:
            raise
        raise problem from None
    try:
        _lock(fd)
        try:
            yield
        finally:
            _unlock(fd)
    finally:
        os.close(fd)


if sys.platform == "win32":
    import msvcrt

    def _lock(fd: int) -> None:
        deadline = time.monotonic() + 60
        while True:
            try:
                msvcrt.locking(fd, msvcrt.LK_LOCK, 1)
                return
            except OSError:
                if time.monotonic() > deadline:
                    raise

    def _unlock(fd: int) -> None:
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)

else:
    import fcntl

    def _lock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_EX)

    def _unlock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_UN)


class Store:
    """The database behind the CLI and the web dojo."""

    def __init__(self, url: str, *, auto_migrate: bool = True) -> None:
        self.url = url
        self.engine = make_engine(url)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)
        # Python's sqlite3 begins a transaction only before a write, so a plain connection is
        # already outside one for reads; switching it to autocommit and back on every checkout
        # would double the cost of the session look-up (see the README's performance notes).
        self._autocommit = (
            self.engine
            if self.engine.dialect.name == "sqlite"
            else self.engine.execution_options(isolation_level="AUTOCOMMIT")
        )
        self._writing = threading.Lock()
        database = sqlite_file(url)
        self._lock_path = Path(f"{database}.write-lock") if database is not None else None
        if auto_migrate:
            self.prepare_schema()

    def prepare_schema(self) -> None:
        """Migrate to the latest schema and add the module, safely when many start at once.

        Twelve CLIs run for the first time together all found no tables and each began to
        make them ("table modules already exists" for the losers). The work is done under
        `schema_lock`, after looking again; the look before it keeps the usual start, on an
        up-to-date database, free of any lock.
        """
        if current_revision(self.engine) == HEAD_REVISION and self._has_module():
            return
        with self.schema_lock():
            migrate(self.engine)
            self.ensure_module()

    @contextmanager
    def schema_lock(self) -> Iterator[None]:
        """Held while the schema changes: the write lock's file on SQLite, a session-level
        advisory lock on PostgreSQL (released when its connection ends, should we die)."""
        if self.engine.dialect.name != "postgresql":
            with self.write_lock():
                yield
            return
        with self._autocommit.connect() as connection:
            connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
            try:
                yield
            finally:
                connection.execute(
                    text("SELECT pg_advisory_unlock(:key)"), {"key": MIGRATION_LOCK_KEY}
                )

    @contextmanager
    def session(self) -> Iterator[Session]:
        with self.sessions.begin() as session:
            yield session

    @contextmanager
    def outside_transaction(self) -> Iterator[Connection]:
        """A connection on which each statement is a transaction of its own (on SQLite: each
        read; writes there go through `engine.begin()`).

        For a single statement, on PostgreSQL, that saves the BEGIN and the COMMIT or ROLLBACK
        round trips around it, half the time of the session look-up of every signed-in request
        (figures in the README's performance notes).
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
        with self._writing, _file_lock(self._lock_path):
            yield

    def _has_module(self) -> bool:
        with self.session() as session:
            return session.get(Module, MODULE_ID) is not None

    def ensure_module(self) -> None:
        with self.session() as session:
            if session.get(Module, MODULE_ID) is None:
                # The launch date defaults to the install time; an admin may move it.
                session.add(
                    Module(id=MODULE_ID, title=MODULE_TITLE, launched_at=dt.datetime.now(dt.UTC))
                )

    def dispose(self) -> None:
        self.engine.dispose()
