"""The store notices the machine's faults where they happen: its file deleted or replaced
under it, directories it must not take over, a schema it does not know.

The real CLI and server meet the same faults in tests/cli/test_machine_faults.py.
"""

from __future__ import annotations

import os
import sqlite3
import stat
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from sockdojo.config import make_private_directory
from sockdojo.errors import MachineProblem
from sockdojo.storage import accounts
from sockdojo.storage.database import Store
from sockdojo.storage.models import Account


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_no_write_is_acknowledged_into_a_deleted_file(tmp_path: Path) -> None:
    database = tmp_path / "dojo.db"
    store = Store(f"sqlite:///{database}")
    try:
        accounts.create(store, "ada")
        for path in tmp_path.glob("dojo.db*"):
            path.unlink()
        with pytest.raises(MachineProblem, match="deleted or replaced"):
            accounts.create(store, "grace")
        with pytest.raises(MachineProblem, match="deleted or replaced"), store.session() as s:
            s.scalar(select(func.count()).select_from(Account))
    finally:
        store.dispose()


def test_a_file_put_in_place_of_the_opened_one_is_not_written(tmp_path: Path) -> None:
    database = tmp_path / "dojo.db"
    store = Store(f"sqlite:///{database}")
    other = Store(f"sqlite:///{tmp_path / 'other.db'}")
    try:
        accounts.create(other, "someone-else")
        other.dispose()
        os.replace(tmp_path / "other.db", database)  # a backup restored under the server
        with pytest.raises(MachineProblem, match="deleted or replaced"):
            accounts.create(store, "ada")
    finally:
        store.dispose()
    # The file that was put there is as it was (read as it lies, without any -wal file).
    with sqlite3.connect(f"file:{database}?immutable=1", uri=True) as raw:
        assert raw.execute("SELECT name FROM accounts").fetchall() == [("someone-else",)]
    raw.close()


def test_the_check_fails_a_commit_after_the_file_went(tmp_path: Path) -> None:
    """Deleted between the statements and the commit: the commit is refused (the solve is
    not acknowledged), and the transaction is rolled back rather than written."""
    database = tmp_path / "dojo.db"
    kept = tmp_path / "kept.db"
    store = Store(f"sqlite:///{database}")

    def add_then_lose_the_file() -> None:
        with store.session() as session:
            session.add(Account(name="ada", name_key="ada"))
            session.flush()
            os.link(database, kept)  # the same file under another name, to put it back
            database.unlink()

    try:
        with pytest.raises(MachineProblem, match="deleted or replaced"):
            add_then_lose_the_file()
        # The very file put back is the one the store opened: it works again, without "ada".
        os.link(kept, database)
        with store.session() as session:
            assert session.scalar(select(func.count()).select_from(Account)) == 0
    finally:
        store.dispose()


def test_an_existing_sticky_or_foreign_directory_is_left_alone(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o1777)  # like /tmp
    make_private_directory(shared)
    assert mode(shared) == 0o1777

    mine = tmp_path / "mine"
    mine.mkdir()
    mine.chmod(0o755)
    make_private_directory(mine, tighten=False)
    assert mode(mine) == 0o755
    make_private_directory(mine)
    assert mode(mine) == 0o700

    made = tmp_path / "made" / "data"
    make_private_directory(made, tighten=False)
    assert mode(made) == 0o700


def test_a_database_outside_the_data_directory_leaves_its_directory_alone(
    tmp_path: Path, home: Path
) -> None:
    elsewhere = tmp_path / "projects"
    elsewhere.mkdir()
    elsewhere.chmod(0o755)
    Store(f"sqlite:///{elsewhere / 'dojo.db'}").dispose()
    assert mode(elsewhere) == 0o755
    assert mode(elsewhere / "dojo.db") == 0o600
    home.mkdir()
    home.chmod(0o755)
    Store(f"sqlite:///{home / 'sockdojo.db'}").dispose()
    assert mode(home) == 0o700


def test_an_unknown_revision_is_a_newer_database(database_url: str) -> None:
    store = Store(database_url)
    try:
        with store.engine.begin() as connection:
            connection.execute(text("UPDATE alembic_version SET version_num = 'abcdef123456'"))
    finally:
        store.dispose()
    with pytest.raises(MachineProblem, match="newer sockdojo") as raised:
        Store(database_url)
    assert raised.value.exit_code == 2
