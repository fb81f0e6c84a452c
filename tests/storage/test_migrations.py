"""Migrations on a database that already holds solves: what triggers keep is filled in, and
every step can be undone and redone (SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, func, inspect, select, text
from sqlalchemy.engine import Engine

from sockdojo.storage import accounts
from sockdojo.storage.database import HEAD_REVISION, MIGRATIONS, Store, current_revision
from sockdojo.storage.models import Base, Solve
from sockdojo.storage.solves import record_solve

T = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)


def migrate_to(engine: Engine, revision: str, *, down: bool = False) -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        (command.downgrade if down else command.upgrade)(config, revision)


def challenge_totals(engine: Engine) -> dict[tuple[str, str], int]:
    with engine.connect() as connection:
        kept = connection.execute(
            text(
                "SELECT module_id, challenge_id, sum(solves) FROM challenge_solves"
                " GROUP BY module_id, challenge_id HAVING sum(solves) > 0"
            )
        )
        return {(module, challenge): count for module, challenge, count in kept}


def grouped(engine: Engine) -> dict[tuple[str, str], int]:
    with engine.connect() as connection:
        rows = connection.execute(
            select(Solve.module_id, Solve.challenge_id, func.count()).group_by(
                Solve.module_id, Solve.challenge_id
            )
        )
        return {(module, challenge): count for module, challenge, count in rows}


def test_challenge_counts_are_filled_in_and_kept_across_down_and_up(database_url: str) -> None:
    store = Store(database_url)
    try:
        migrate_to(store.engine, "0003", down=True)
        ids = [accounts.create(store, f"h{n}").id for n in range(3)]
        with store.session() as session:
            for n, account in enumerate(ids):
                for challenge in ("client", "server")[: n + 1]:
                    record_solve(
                        session,
                        account_id=account,
                        module_id="sockets",
                        challenge_id=challenge,
                        when=T,
                    )
        migrate_to(store.engine, "head")
        assert current_revision(store.engine) == HEAD_REVISION
        assert challenge_totals(store.engine) == grouped(store.engine)
        assert grouped(store.engine) == {("sockets", "client"): 3, ("sockets", "server"): 2}
        with store.session() as session:
            record_solve(
                session, account_id=ids[0], module_id="sockets", challenge_id="server", when=T
            )
        assert challenge_totals(store.engine) == grouped(store.engine)
        # All the way down and up again: every downgrade undoes its upgrade exactly.
        migrate_to(store.engine, "base", down=True)
        migrate_to(store.engine, "head")
        assert current_revision(store.engine) == HEAD_REVISION
    finally:
        store.dispose()


def test_totals_kept_a_second_late_are_made_exact_by_0006(database_url: str) -> None:
    # Before 0006, SQLite's triggers kept a solve in the last half millisecond of a second a
    # second late; the upgrade computes every total again, and the downgrade restores 0005.
    store = Store(database_url)
    late = T.replace(microsecond=999_600)
    late_us = int(late.timestamp()) * 1_000_000 + late.microsecond
    sqlite = store.engine.dialect.name == "sqlite"

    def kept() -> set[tuple[int, int, int]]:
        with store.engine.connect() as connection:
            rows = connection.execute(text("SELECT solves, first_us, last_us FROM solve_totals"))
            return {(solves, first, last) for solves, first, last in rows}

    try:
        migrate_to(store.engine, "0005", down=True)
        alice = accounts.create(store, "alice").id
        with store.session() as session:
            record_solve(
                session, account_id=alice, module_id="sockets", challenge_id="client", when=late
            )
        before = late_us + (1_000_000 if sqlite else 0)
        assert kept() == {(1, before, before)}
        migrate_to(store.engine, "head")
        assert kept() == {(1, late_us, late_us)}
        with store.session() as session:
            record_solve(
                session, account_id=alice, module_id="sockets", challenge_id="server", when=late
            )
        assert kept() == {(2, late_us, late_us)}
        migrate_to(store.engine, "0005", down=True)
        assert kept() == {(2, before, before)}
        migrate_to(store.engine, "head")
        assert kept() == {(2, late_us, late_us)}
    finally:
        store.dispose()


def test_a_fresh_engine_sees_the_partial_index_of_unranked_accounts(database_url: str) -> None:
    Store(database_url).dispose()
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            names = {index["name"] for index in inspect(connection).get_indexes("accounts")}
        assert "ix_accounts_unranked" in names
    finally:
        engine.dispose()


# Tables only the migrations' SQL and triggers know: the code reads them with text() queries.
SQL_ONLY_TABLES = {"scoreboard_version", "solve_totals", "challenge_solves"}


def test_the_migrated_schema_is_the_one_the_models_describe(database_url: str) -> None:
    # The code reads and writes through the models, the database is made by the migrations: a
    # column, type, key or index in one and not the other is a bug that shows in production, or
    # in the next `alembic revision --autogenerate`, which would drop what the models lack.
    store = Store(database_url)
    try:
        with store.engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            differences = compare_metadata(context, Base.metadata)
    finally:
        store.dispose()
    assert [
        d for d in differences if not (d[0] == "remove_table" and d[1].name in SQL_ONLY_TABLES)
    ] == []
