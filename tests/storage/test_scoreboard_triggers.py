"""Migration 0003: the triggers behind the live scoreboard, on SQLite and PostgreSQL.

`solve_totals` must always equal an aggregate over `solves`, and `scoreboard_version` must move
on every change that is not a new solve, whoever makes it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from sqlalchemy import delete, func, select, text, update

from sockdojo.scoreboard.live import to_us
from sockdojo.storage import accounts, badges
from sockdojo.storage.admin import set_hidden, set_launch_date
from sockdojo.storage.database import Store
from sockdojo.storage.models import Account, Module, Solve
from sockdojo.storage.solves import record_solve

T = dt.datetime(2026, 3, 1, 12, 0, 0, 123456, tzinfo=dt.UTC)


@pytest.fixture
def store(database_url: str) -> Iterator[Store]:
    store = Store(database_url)
    yield store
    store.dispose()


def version(store: Store) -> int:
    with store.session() as session:
        return int(session.execute(text("SELECT version FROM scoreboard_version")).scalar_one())


def totals(store: Store) -> set[tuple[str, int, int, int, int]]:
    with store.session() as session:
        rows = session.execute(
            text("SELECT module_id, account_id, solves, first_us, last_us FROM solve_totals")
        )
        return {tuple(row) for row in rows}


def expected(store: Store) -> set[tuple[str, int, int, int, int]]:
    with store.session() as session:
        rows = session.execute(
            select(
                Solve.module_id,
                Solve.account_id,
                func.count(),
                func.min(Solve.solved_at),
                func.max(Solve.solved_at),
            ).group_by(Solve.module_id, Solve.account_id)
        )
        return {(m, a, n, to_us(first), to_us(last)) for m, a, n, first, last in rows}


def test_totals_follow_inserts_deletes_and_edits(store: Store) -> None:
    alice = accounts.create(store, "alice").id
    bob = accounts.create(store, "bob").id
    with store.session() as session:
        for number, challenge in enumerate(["client", "server", "server-loop"]):
            record_solve(
                session,
                account_id=alice,
                module_id="sockets",
                challenge_id=challenge,
                when=T + dt.timedelta(hours=number, microseconds=number),
            )
        record_solve(session, account_id=bob, module_id="sockets", challenge_id="client", when=T)
        # A duplicate is refused and leaves the totals alone.
        assert not record_solve(
            session, account_id=bob, module_id="sockets", challenge_id="client", when=T
        )
    assert totals(store) == expected(store)
    assert (
        "sockets",
        alice,
        3,
        to_us(T),
        to_us(T + dt.timedelta(hours=2, microseconds=2)),
    ) in totals(store)

    before = version(store)
    with store.session() as session:
        session.execute(delete(Solve).where(Solve.challenge_id == "server-loop"))
    assert totals(store) == expected(store)
    assert version(store) > before

    with store.session() as session:
        session.add(Module(id="second", title="Second", launched_at=T))
    before = version(store)
    with store.session() as session:
        session.execute(
            update(Solve)
            .where(Solve.account_id == bob)
            .values(account_id=alice, module_id="second")
        )
    assert totals(store) == expected(store)
    assert version(store) > before

    with store.session() as session:
        session.execute(delete(Account).where(Account.id == alice))
    assert totals(store) == expected(store)


def test_totals_are_exact_late_in_a_second(store: Store) -> None:
    # SQLite's date functions round a time to the millisecond: the seconds must not come
    # from them (12:00:00.999600 was kept as 12:00:01.999600).
    alice = accounts.create(store, "alice").id
    late = T.replace(microsecond=999_600)
    with store.session() as session:
        record_solve(
            session, account_id=alice, module_id="sockets", challenge_id="client", when=late
        )
        record_solve(
            session, account_id=alice, module_id="sockets", challenge_id="server", when=late
        )
        session.execute(
            update(Solve)
            .where(Solve.challenge_id == "server")
            .values(solved_at=late + dt.timedelta(days=1))
        )
    assert totals(store) == expected(store)
    assert totals(store) == {("sockets", alice, 2, to_us(late), to_us(late) + 86_400_000_000)}


def test_new_solves_and_other_account_changes_leave_the_version_alone(store: Store) -> None:
    alice = accounts.create(store, "alice").id
    before = version(store)
    with store.session() as session:
        record_solve(session, account_id=alice, module_id="sockets", challenge_id="client", when=T)
        session.execute(update(Account).where(Account.id == alice).values(password_hash="x"))
        # Setting a flag to the value it has is no change either.
        set_hidden(session, alice, False)
    accounts.create(store, "bob")
    assert version(store) == before


@pytest.mark.parametrize(
    "change",
    ["hide", "admin", "rename", "delete_account", "launch", "grant", "revoke", "module"],
)
def test_every_change_that_moves_a_board_bumps_the_version(store: Store, change: str) -> None:
    alice = accounts.create(store, "alice").id
    with store.session() as session:
        grant = badges.grant(
            session, account_id=alice, module_id="sockets", emoji="⭐", title="t", granted_by=None
        ).id
    before = version(store)
    with store.session() as session:
        if change == "hide":
            set_hidden(session, alice, True)
        elif change == "admin":
            session.execute(update(Account).where(Account.id == alice).values(is_admin=True))
        elif change == "rename":
            session.execute(update(Account).where(Account.id == alice).values(name="Alice"))
        elif change == "delete_account":
            session.execute(delete(Account).where(Account.id == alice))
        elif change == "launch":
            set_launch_date(session, "sockets", T)
        elif change == "grant":
            badges.grant(
                session,
                account_id=alice,
                module_id="sockets",
                emoji="🎤",
                title="u",
                granted_by=None,
            )
        elif change == "revoke":
            assert badges.revoke(session, grant)
        else:
            session.add(Module(id="second", title="Second", launched_at=T))
    assert version(store) > before
