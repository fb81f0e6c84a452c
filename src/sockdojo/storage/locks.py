"""Transactions that run one at a time for a key, across threads and processes."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import text
from sqlalchemy.engine import Connection

from sockdojo.storage.database import Store


def _advisory_key(key: str) -> int:
    """A PostgreSQL advisory-lock key for `key` (64 bits, signed)."""
    return int.from_bytes(
        hashlib.sha256(f"sockdojo {key}".encode()).digest()[:8], "big", signed=True
    )


@contextmanager
def one_at_a_time(store: Store, key: str) -> Iterator[Connection]:
    """A transaction that no other one for the same `key` overlaps, in any process.

    For a read that decides a write (count the attempts, then add one; look for a lookalike
    name, then insert): READ COMMITTED alone lets 40 concurrent transactions each miss the
    others' uncommitted rows. PostgreSQL: an advisory lock on the key, held to the commit.
    SQLite: the store's write lock (a thread lock and an flock beside the database), the same
    for every key, as SQLite has one writer at a time anyway.
    """
    if store.engine.dialect.name == "postgresql":
        with store.engine.begin() as db:
            db.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _advisory_key(key)})
            yield db
    else:
        with store.write_lock(), store.engine.begin() as db:
            yield db
