"""Settings from the environment: data directory, database, flag prefix, account names."""

from __future__ import annotations

import getpass
from pathlib import Path

import pytest

from sockdojo import config


def test_the_environment_moves_the_data_and_the_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOCKDOJO_HOME", str(tmp_path / "data"))
    monkeypatch.delenv("SOCKDOJO_DATABASE_URL", raising=False)
    monkeypatch.delenv("SOCKDOJO_FLAG_PREFIX", raising=False)
    settings = config.Settings.from_environment()
    assert settings.home == tmp_path / "data"
    assert settings.database_url == f"sqlite:///{tmp_path / 'data' / 'sockdojo.db'}"
    assert settings.flag_prefix == "sockdojo"
    monkeypatch.setenv("SOCKDOJO_DATABASE_URL", "postgresql+psycopg://u@h/db")
    assert config.Settings.from_environment().database_url == "postgresql+psycopg://u@h/db"


@pytest.mark.parametrize("prefix", ["", "1abc", "a b", "x" * 40, "flag{"])
def test_a_flag_prefix_a_flag_cannot_carry_is_refused(
    monkeypatch: pytest.MonkeyPatch, prefix: str
) -> None:
    monkeypatch.setenv("SOCKDOJO_FLAG_PREFIX", prefix)
    with pytest.raises(ValueError, match="SOCKDOJO_FLAG_PREFIX"):
        config.flag_prefix()


def test_account_names() -> None:
    assert config.valid_account_name("alice")
    assert config.valid_account_name("a.b-c_d1")
    for bad in ("", ".alice", "-x", "a" * 33, "al ice", "ælice"):
        assert not config.valid_account_name(bad), bad


def test_the_default_account_is_a_valid_name_made_from_the_user(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("SOCKDOJO_ACCOUNT", raising=False)
    monkeypatch.setattr(getpass, "getuser", lambda: "Jane Doe (admin)")
    name = config.default_account_name()
    assert config.valid_account_name(name) and name.startswith("Jane_Doe")
    monkeypatch.setattr(getpass, "getuser", lambda: "")
    assert config.default_account_name() == "learner"
    monkeypatch.setenv("SOCKDOJO_ACCOUNT", "bob")
    assert config.default_account_name() == "bob"
