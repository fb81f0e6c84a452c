"""What the machine's refusals mean: a full disk, read-only or damaged data, a newer database.

Each becomes a `MachineProblem` (exit 2) with one sentence that says what happened and what to
do, and the machine's own words as the detail. The storage layer and the secret files raise
them where the fault is met, so that no command ends in a traceback because a disk is full.

Standard library only: the secret files use it too, and no database driver needs importing to
recognise an error of SQLite's (its `sqlite_errorname`) or of PostgreSQL's (its `sqlstate`).
"""

from __future__ import annotations

import enum
import errno
import os
from pathlib import Path

from sockdojo.errors import MachineProblem

_FULL = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}
_NOT_WRITABLE = {errno.EROFS, errno.EACCES, errno.EPERM}

# SQLite's result codes (`sqlite3.Error.sqlite_errorname`, Python 3.11) by the fault they mean;
# extended codes (SQLITE_READONLY_DBMOVED, SQLITE_IOERR_WRITE, …) start with these.
_SQLITE_FULL = ("SQLITE_FULL",)
_SQLITE_NOT_WRITABLE = ("SQLITE_READONLY", "SQLITE_CANTOPEN", "SQLITE_PERM", "SQLITE_AUTH")
_SQLITE_DAMAGED = ("SQLITE_NOTADB", "SQLITE_CORRUPT")
# An I/O error is often a full disk in disguise: growing the -shm file of the write-ahead log
# on a full disk is SQLITE_IOERR_SHMSIZE, "disk I/O error".
_SQLITE_IO = ("SQLITE_IOERR",)
# Older Pythons and other drivers give only the message.
_SQLITE_MESSAGES = {
    "database or disk is full": _SQLITE_FULL[0],
    "attempt to write a readonly database": _SQLITE_NOT_WRITABLE[0],
    "unable to open database file": _SQLITE_NOT_WRITABLE[1],
    "file is not a database": _SQLITE_DAMAGED[0],
    "database disk image is malformed": _SQLITE_DAMAGED[1],
    "disk I/O error": _SQLITE_IO[0],
}
# PostgreSQL's SQLSTATE for "could not extend file …: No space left on device".
_POSTGRES_DISK_FULL = "53100"


class Fault(enum.Enum):
    """A refusal of the machine's that a learner can act on, and the sentence that says how
    (`{where}`: the directory or database it happened to)."""

    DISK_FULL = (
        "The disk that holds {where} is full: free some space (or point SOCKDOJO_HOME at a "
        "disk with room), then run the command again."
    )
    NOT_WRITABLE = (
        "sockdojo cannot write to {where} (it is read-only, or not yours): make it writable "
        "for your user, or point SOCKDOJO_HOME at a directory you can write to."
    )
    DAMAGED = (
        "The database {where} is damaged, so sockdojo cannot read it: move it aside, with "
        "its -wal and -shm files if any (and restore it from a backup if you have one); "
        "sockdojo then starts a new, empty one."
    )
    DISK_FAILED = (
        "The disk that holds {where} failed to read or write the database: check the disk "
        "(and its free space), then run the command again."
    )
    POSTGRES_FULL = (
        "The PostgreSQL server of {where} has run out of disk space: free some space on "
        "it, then try again."
    )


def problem(fault: Fault, where: Path | str, detail: str) -> MachineProblem:
    return MachineProblem(fault.value.format(where=where), detail=detail)


def newer_database(where: str, revision: str, known: str) -> MachineProblem:
    elsewhere = (
        "SOCKDOJO_DATABASE_URL at another database"
        if "://" in where
        else "SOCKDOJO_HOME at another directory"
    )
    return MachineProblem(
        f"The database {where} was made by a newer sockdojo (schema {revision}; this one "
        f"knows up to {known}): upgrade sockdojo (pip install -U sockdojo), or point "
        f"{elsewhere}.",
        detail=f"unknown schema revision {revision!r}",
    )


def database_gone(where: Path) -> MachineProblem:
    return MachineProblem(
        f"The database file {where} was deleted or replaced while sockdojo was using it, so "
        "nothing more is saved: put the file back (from a backup) and restart sockdojo.",
        detail="the database file is no longer the one that was opened",
    )


def from_os_error(error: OSError, where: Path | str) -> MachineProblem | None:
    """The machine problem an `OSError` met while writing `where` means, if it is one."""
    detail = f"{error.strerror or error}" + (f": {error.filename}" if error.filename else "")
    if error.errno in _FULL:
        return problem(Fault.DISK_FULL, where, detail)
    if error.errno in _NOT_WRITABLE:
        return problem(Fault.NOT_WRITABLE, where, detail)
    return None


def from_database_error(error: BaseException, where: str) -> MachineProblem | None:
    """The machine problem a database driver's error means, if it is one.

    `where` names the database for the learner: its file on SQLite, its URL without the
    password on PostgreSQL.
    """
    name = getattr(error, "sqlite_errorname", None)
    if not isinstance(name, str):
        name = _SQLITE_MESSAGES.get(str(error).strip())
    detail = f"{type(error).__name__}: {error}"
    if name is not None:
        # A full or read-only disk is the directory's problem; damage is the file's.
        directory = str(Path(where).parent) if where else where
        if name.startswith(_SQLITE_FULL):
            return problem(Fault.DISK_FULL, directory, detail)
        if name.startswith(_SQLITE_NOT_WRITABLE):
            return problem(Fault.NOT_WRITABLE, directory, detail)
        if name.startswith(_SQLITE_DAMAGED):
            return problem(Fault.DAMAGED, where, detail)
        if name.startswith(_SQLITE_IO):
            fault = Fault.DISK_FULL if _no_room(directory) else Fault.DISK_FAILED
            return problem(fault, directory, detail)
        return None
    if getattr(error, "sqlstate", None) == _POSTGRES_DISK_FULL:
        return problem(Fault.POSTGRES_FULL, where, detail)
    return None


def _no_room(directory: str) -> bool:
    """Whether the file system of `directory` has no block left for us (false if unknown)."""
    try:
        found = os.statvfs(directory)
    except (OSError, AttributeError):  # Windows has no statvfs
        return False
    return found.f_bavail == 0
