"""Names that would pass for someone else's are refused (issue 11, item 8)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from sockdojo.storage import accounts
from sockdojo.storage.database import Store
from support import burst

if TYPE_CHECKING:
    from web.conftest import Harness


@pytest.mark.parametrize(
    ("taken", "lookalike"),
    [
        ("alice", "aIice"),
        ("alice", "a1ice"),
        ("bob0", "bobO"),
        ("modern", "modem"),
        ("willow", "wiIIow"),
        ("vvolf", "wolf"),
    ],
)
def test_a_lookalike_of_a_taken_name_is_refused(
    database_url: str, taken: str, lookalike: str
) -> None:
    store = Store(database_url)
    try:
        accounts.create(store, taken)
        with pytest.raises(accounts.NameTaken) as refused:
            accounts.create(store, lookalike)
        assert refused.value.lookalike
        with pytest.raises(accounts.NameTaken) as same:
            accounts.create(store, taken.upper())
        assert not same.value.lookalike
        # Different names are still welcome, and the learner's own machine allows any.
        accounts.create(store, taken + "z")
        assert accounts.get_or_create(store, lookalike).name == lookalike
    finally:
        store.dispose()


def test_two_lookalikes_registered_at_once_cannot_both_get_in(database_url: str) -> None:
    store = Store(database_url)
    names = ["alice", "aIice", "a1ice", "AIice", "aLice"] * 4

    def make(number: int) -> str | None:
        try:
            return accounts.create(store, names[number]).name
        except accounts.NameTaken:
            return None

    try:
        made = [name for name in burst(len(names), make) if name is not None]
    finally:
        store.dispose()
    assert len(made) == 1


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("admin", "reserved"),
        ("Root", "reserved"),
        ("r00t", "reserved"),
        ("staff_", "reserved"),
        ("alice.", "end with a dot"),
        ("a" * 33, "1 to 32"),
        ("al\x00ice", "1 to 32"),
    ],
)
def test_reserved_and_odd_names_cannot_be_registered(
    dojo: Harness, name: str, problem: str
) -> None:
    assert problem in (accounts.new_name_problem(name) or "")
    answer = dojo.register(dojo.client(), name)
    assert answer.status_code == 400
    assert "name" in answer.text


def test_registering_a_lookalike_says_why(dojo: Harness) -> None:
    assert dojo.register(dojo.client(), "alice").status_code == 303
    answer = dojo.register(dojo.client(), "aIice")
    assert answer.status_code == 400
    assert "looks too much like one already taken" in answer.text


def test_the_register_form_and_the_cli_say_the_one_name_rule(dojo: Harness, home: Path) -> None:
    from markupsafe import escape

    from sockdojo.config import ACCOUNT_NAME_RULE
    from support import in_process

    assert f'title="{escape(ACCOUNT_NAME_RULE)}"' in dojo.client().get("/register").text
    refused = in_process("--account", "bad name!", "list")
    assert refused.exit_code == 2 and ACCOUNT_NAME_RULE in refused.stderr
