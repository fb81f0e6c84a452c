"""A store to build scoreboard situations in, solve by solve, at chosen moments."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from sqlalchemy import delete, update
from sqlalchemy.orm import Session

from sockdojo.scoreboard.model import Board
from sockdojo.scoreboard.reference import SqlScoreboard
from sockdojo.storage import accounts, badges
from sockdojo.storage.admin import set_hidden, set_launch_date
from sockdojo.storage.database import Store
from sockdojo.storage.models import Account, BadgeGrant, Module, Solve
from sockdojo.storage.solves import record_solve

NOW = dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.UTC)


class Scenario:
    def __init__(self, store: Store) -> None:
        self.store = store
        self.now = NOW
        self.launch(NOW - dt.timedelta(days=365))

    def reset(self) -> None:
        with self.store.session() as session:
            session.execute(delete(Solve))
            session.execute(delete(BadgeGrant))
            session.execute(delete(Account))
        self.launch(NOW - dt.timedelta(days=365))

    def account(self, name: str, *, hidden: bool = False, admin: bool = False) -> int:
        return accounts.create(self.store, name, hidden=hidden, admin=admin).id

    def solve(
        self, account_id: int, challenge: str, when: dt.datetime, module: str = "sockets"
    ) -> None:
        with self.store.session() as session:
            assert record_solve(
                session, account_id=account_id, module_id=module, challenge_id=challenge, when=when
            )

    def populate(
        self,
        launch: dt.datetime,
        people: list[tuple[str, bool, bool]],
        solves: list[tuple[int, str, str, dt.datetime]],
        grants: list[tuple[int, str, str]],
    ) -> list[int]:
        """Start over with these accounts (name, hidden, admin), solves (account index, module,
        challenge, when) and grants (account index, emoji, title), in one transaction."""
        with self.store.session() as session:
            session.execute(delete(Solve))
            session.execute(delete(BadgeGrant))
            session.execute(delete(Account))
            set_launch_date(session, "sockets", launch)
            made = [
                Account(name=name, name_key=name.lower(), is_hidden=hidden, is_admin=admin)
                for name, hidden, admin in people
            ]
            session.add_all(made)
            session.flush()
            ids = [account.id for account in made]
            session.add_all(
                Solve(
                    account_id=ids[index], module_id=module, challenge_id=challenge, solved_at=when
                )
                for index, module, challenge, when in solves
            )
            session.add_all(
                BadgeGrant(account_id=ids[index], module_id="sockets", emoji=emoji, title=title)
                for index, emoji, title in grants
            )
        return ids

    def ago(self, **delta: float) -> dt.datetime:
        return self.now - dt.timedelta(**delta)

    def launch(self, when: dt.datetime) -> None:
        with self.store.session() as session:
            set_launch_date(session, "sockets", when)

    def grant(self, account_id: int, emoji: str, title: str) -> None:
        with self.store.session() as session:
            badges.grant(
                session,
                account_id=account_id,
                module_id="sockets",
                emoji=emoji,
                title=title,
                granted_by=None,
            )

    def board(self, days: int = 30, viewer: int | None = None, limit: int = 20) -> Board:
        return SqlScoreboard(self.store).board("sockets", days, self.now, viewer, limit)

    def table(
        self, days: int = 30, viewer: int | None = None, limit: int = 20
    ) -> list[tuple[int, str, int]]:
        """(rank, hacker, score) of each row on the page."""
        return [(r.rank, r.hacker, r.score) for r in self.board(days, viewer, limit).rows]


# A step of a random history: its kind, then what it needs (each test adds kinds of its own).
Step = tuple[object, ...]


def apply_step(session: Session, ids: list[int], step: Step) -> bool:
    """Apply one step of a random history that every history shares: ("solve", (account
    index, module, challenge, offset from NOW)), ("hide" | "admin", account index, flag),
    ("launch", offset). False when the step is of another kind, for the test to apply."""
    match step:
        case ("solve", (int(index), str(module), str(challenge), dt.timedelta() as offset)):
            record_solve(
                session,
                account_id=ids[index],
                module_id=module,
                challenge_id=challenge,
                when=NOW + offset,
            )
        case ("hide", int(index), bool(hidden)):
            set_hidden(session, ids[index], hidden)
        case ("admin", int(index), bool(admin)):
            session.execute(update(Account).where(Account.id == ids[index]).values(is_admin=admin))
        case ("launch", dt.timedelta() as offset):
            set_launch_date(session, "sockets", NOW + offset)
        case ("solve" | "hide" | "admin" | "launch", *_):
            raise AssertionError(f"a step that is not of its kind's shape: {step!r}")
        case _:
            return False
    return True


@pytest.fixture
def scenario(database_url: str) -> Iterator[Scenario]:
    """On SQLite and on PostgreSQL (the root conftest's `database_url`)."""
    store = Store(database_url)
    with store.session() as session:
        # A second module, so that its solves can be shown not to count for this one.
        session.add(Module(id="other", title="Other", launched_at=NOW - dt.timedelta(days=400)))
    yield Scenario(store)
    store.dispose()
