from __future__ import annotations

import datetime as dt
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from sockdojo.challenges import registry
from sockdojo.storage import accounts, solves
from sockdojo.storage.database import HEAD_REVISION, MIGRATIONS, Store, current_revision
from sockdojo.storage.models import Module, Solve, Submission
from sockdojo.verdict import Verdict


@pytest.fixture
def store(database_url: str) -> Iterator[Store]:
    store = Store(database_url)
    yield store
    store.dispose()


def test_head_revision_constant_matches_the_migrations() -> None:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    assert ScriptDirectory.from_config(config).get_current_head() == HEAD_REVISION


def test_new_store_is_migrated(store: Store) -> None:
    assert current_revision(store.engine) == HEAD_REVISION


def test_sqlite_store_is_in_wal_mode(tmp_path: Path) -> None:
    Store(f"sqlite:///{tmp_path / 'dojo.db'}").dispose()
    with sqlite3.connect(tmp_path / "dojo.db") as raw:
        assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_module_exists_with_a_launch_date(store: Store) -> None:
    with store.session() as session:
        module = session.get(Module, registry.MODULE_ID)
        assert module is not None and module.launched_at.tzinfo is not None


def test_account_names_are_unique_regardless_of_case(store: Store) -> None:
    accounts.create(store, "Alice")
    with pytest.raises(ValueError, match="taken"):
        accounts.create(store, "alice")
    assert accounts.get_or_create(store, "ALICE").name == "Alice"


def test_get_or_create_is_safe_under_concurrency(store: Store) -> None:
    ids: list[int] = []
    threads = [
        threading.Thread(target=lambda: ids.append(accounts.get_or_create(store, "bob").id))
        for _ in range(8)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert len(set(ids)) == 1 and len(ids) == 8


def test_a_challenge_is_solved_once_and_the_first_time_stands(store: Store) -> None:
    alice = accounts.create(store, "alice")
    first = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    with store.session() as session:
        assert solves.record_solve(
            session, account_id=alice.id, module_id="sockets", challenge_id="client", when=first
        )
        assert not solves.record_solve(
            session, account_id=alice.id, module_id="sockets", challenge_id="client"
        )
    with store.session() as session:
        assert solves.solved_challenges(session, alice.id, "sockets") == {"client": first}
        assert session.scalar(select(func.count()).select_from(Solve)) == 1


def test_attempts_are_stored_and_capped(store: Store) -> None:
    alice = accounts.create(store, "alice")
    with store.session() as session:
        solves.record_attempt(
            session,
            account_id=alice.id,
            module_id="sockets",
            challenge_id=None,
            submitted="x" * 10_000,
            verdict=Verdict.NOT_A_FLAG,
            source="cli",
        )
    with store.session() as session:
        attempt = session.scalars(select(Submission)).one()
        assert len(attempt.submitted) == solves.SUBMISSION_TEXT_LIMIT


def test_naive_datetimes_are_refused(store: Store) -> None:
    alice = accounts.create(store, "alice")
    with pytest.raises(Exception, match="naive"), store.session() as session:
        solves.record_solve(
            session,
            account_id=alice.id,
            module_id="sockets",
            challenge_id="client",
            when=dt.datetime(2026, 1, 1),
        )


def test_only_a_repeated_solve_passes_for_already_solved(database_url: str, store: Store) -> None:
    """Another conflict (here an id sequence set back, as a hand copy without setval leaves it)
    must fail loudly, not be swallowed as "already solved"."""
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite picks ids past the largest one: no sequence to set back")
    from sqlalchemy import text
    from sqlalchemy.exc import IntegrityError

    first, second = accounts.create(store, "first").id, accounts.create(store, "second").id
    with store.session() as session:
        assert solves.record_solve(
            session, account_id=first, module_id="sockets", challenge_id="client"
        )
        session.execute(text("SELECT setval(pg_get_serial_sequence('solves', 'id'), 1, false)"))
    with pytest.raises(IntegrityError), store.session() as session:
        solves.record_solve(session, account_id=second, module_id="sockets", challenge_id="client")
