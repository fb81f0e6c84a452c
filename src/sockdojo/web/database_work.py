"""Store work off the event loop: in a bounded pool of threads, within a time limit, and a
database that does not answer or refuses us as `DatabaseUnavailable` (the request's 503)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar, TypeVarTuple

import anyio
import anyio.to_thread
from anyio.lowlevel import RunVar
from sqlalchemy import exc as database_errors

from sockdojo.errors import MachineProblem
from sockdojo.web.passwords import WAIT_SECONDS

Ts = TypeVarTuple("Ts")
T = TypeVar("T")

# How long a request waits for its database work (pool checkout, connecting, statements).
DATABASE_SECONDS = 5.0
# Threads for database work, apart from the ones static files and the rest use: a database that
# stops answering holds at most these, and static files still find threads of their own.
DATABASE_THREADS = 32
# Database work around a password hash: the database's share, the hasher's wait, the hash.
PASSWORD_WORK_SECONDS = DATABASE_SECONDS + WAIT_SECONDS + 5.0


class DatabaseUnavailable(MachineProblem):
    """The database did not answer in time, or refused us: the request gets a 503."""


# One limiter per event loop, as anyio keeps its default one (a limiter's waiters belong to
# the loop they wait in; tests run several loops in one process).
_database_threads: RunVar[anyio.CapacityLimiter] = RunVar("sockdojo_database_threads")


def _threads() -> anyio.CapacityLimiter:
    try:
        return _database_threads.get()
    except LookupError:
        limiter = anyio.CapacityLimiter(DATABASE_THREADS)
        _database_threads.set(limiter)
        return limiter


async def in_database(work: Callable[[*Ts], T], *args: *Ts, seconds: float = DATABASE_SECONDS) -> T:
    """`work(*args)` in a database thread, within `seconds`, or DatabaseUnavailable.

    Work that also hashes a password (login, registration) is given PASSWORD_WORK_SECONDS: its
    turn for the hasher is bounded on its own (`Passwords.wait`), and must not pass for a
    database that does not answer.

    A database that hangs (a stopped server: the kernel still acknowledges our packets, so no
    socket timeout fires) keeps the thread; the request is not kept waiting on it. The thread
    returns to the pool when the database answers again.
    """
    try:
        with anyio.fail_after(seconds):
            return await anyio.to_thread.run_sync(
                work, *args, limiter=_threads(), abandon_on_cancel=True
            )
    except TimeoutError:
        raise DatabaseUnavailable(f"the database did not answer within {seconds:.0f} s") from None
    except (
        database_errors.OperationalError,
        database_errors.InterfaceError,
        database_errors.TimeoutError,
    ) as error:
        raise DatabaseUnavailable(
            "the database refused us", detail=type(getattr(error, "orig", None) or error).__name__
        ) from error
