from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import select

from sockdojo.flags import HmacFlagAuthority
from sockdojo.storage import accounts
from sockdojo.storage.database import Store
from sockdojo.storage.models import Submission
from sockdojo.submissions import submit_flag


@pytest.fixture
def store(database_url: str) -> Iterator[Store]:
    store = Store(database_url)
    yield store
    store.dispose()


AUTHORITY = HmacFlagAuthority(b"k" * 32)


def test_outcomes_and_audit_trail(store: Store) -> None:
    alice = accounts.create(store, "alice")
    bob = accounts.create(store, "bob")
    mine = AUTHORITY.mint(alice.id, 1)

    def submit(text: str, who: int = alice.id, expected: str | None = None) -> str:
        return submit_flag(
            store,
            AUTHORITY,
            account_id=who,
            submitted=text,
            source="cli",
            expected_challenge=expected,
        ).verdict

    assert submit(mine) == "solved"
    assert submit(f"  '{mine}'\n") == "already_solved"
    assert submit(mine, who=bob.id) == "not_yours"
    assert submit(mine[:20]) == "truncated"
    assert submit("sockdojo{made_up}") == "not_a_flag"
    assert submit(mine, expected="server") == "wrong_challenge"
    with store.session() as session:
        verdicts = [s.verdict for s in session.scalars(select(Submission).order_by(Submission.id))]
    assert verdicts == [
        "solved",
        "already_solved",
        "not_yours",
        "truncated",
        "not_a_flag",
        "wrong_challenge",
    ]


def test_not_yours_never_names_the_owner(store: Store) -> None:
    accounts.create(store, "alice")
    bob = accounts.create(store, "bob")
    outcome = submit_flag(
        store, AUTHORITY, account_id=bob.id, submitted=AUTHORITY.mint(1, 1), source="web"
    )
    assert outcome.verdict == "not_yours"
    assert "alice" not in outcome.message and outcome.challenge_id is None
