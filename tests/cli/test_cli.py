"""The `sockdojo` command: names, exit codes, JSON, NO_COLOR.

Run in this process (`in_process`, Click's CliRunner) where nothing needs a process of its own;
the entry point and the colour rules are tried on the real command."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from sockdojo.challenges import registry
from support import in_process

Cli = Callable[..., subprocess.CompletedProcess[str]]


def test_help_lists_the_commands(cli: Cli) -> None:
    # What the command imports at start-up: tests/cli/test_web_commands.py.
    result = cli("--help")
    assert result.returncode == 0
    for command in ("list", "show", "run", "submit"):
        assert command in result.stdout


def test_bare_command_lists_the_module(home: Path) -> None:
    result = in_process()
    assert result.exit_code == 0
    for challenge in registry.CHALLENGES:
        assert challenge.id in result.stdout
    assert "0 of 5 solved" in result.stdout
    assert "sockdojo show client" in result.stdout
    assert "\x1b[" not in result.stdout  # NO_COLOR (and not a terminal)


def test_list_json(home: Path) -> None:
    document = json.loads(in_process("list", "--json").stdout)
    assert [c["id"] for c in document["challenges"]] == [c.id for c in registry.CHALLENGES]
    assert document["next"] == "client"
    assert not any(c["solved"] for c in document["challenges"])


@pytest.mark.parametrize("challenge", [c.id for c in registry.CHALLENGES])
def test_show_each_challenge(home: Path, challenge: str) -> None:
    result = in_process("show", challenge)
    assert result.exit_code == 0
    assert "127.0.0.1" in result.stdout or challenge == "reuse-address"
    document = json.loads(in_process("show", challenge, "--json").stdout)
    assert document["id"] == challenge
    assert len(document["description"]) > 300


def test_unknown_challenge_is_a_usage_error(home: Path) -> None:
    for args in (("show", "nope"), ("run", "nope")):
        result = in_process(*args)
        assert result.exit_code == 2
        assert "client" in result.stderr


def test_usage_errors_exit_2(home: Path) -> None:
    assert in_process("run", "client", "--port", "0").exit_code == 2
    assert in_process("run", "client", "extra-file.py").exit_code == 2
    assert in_process("run", "reuse-address").exit_code == 2
    assert in_process("--account", "bad name!", "list").exit_code == 2


def test_submit_exit_codes_and_json(home: Path) -> None:
    from sockdojo.flags import HmacFlagAuthority, load_or_create_secret

    in_process("list")  # creates the data directory, the secret and the default account
    # The default account is the first one created, so its id is 1.
    authority = HmacFlagAuthority(load_or_create_secret(home))
    flag = authority.mint(1, registry.BY_ID["server"].number)

    first = in_process("submit", flag)
    assert first.exit_code == 0, first.stdout
    # The CLI says what the web dojo says, once.
    assert first.stdout == "Correct! You solved Your first server.\n"

    repeat = in_process("submit", flag).stdout
    assert repeat == "Correct, and you had already solved Your first server: nothing changes.\n"

    printed = in_process("submit", f" {flag}\n", "--json").stdout
    again = json.loads(printed)
    assert again["verdict"] == "already_solved"
    assert again["correct"] is True
    # The API's `Judged`, in its order, indented as every --json document.
    judged = {"correct": True, "verdict": "already_solved", "challenge": "server"}
    assert printed == json.dumps({**judged, "message": again["message"]}, indent=2) + "\n"

    other = in_process("--account", "bob", "submit", flag, "--json")
    assert other.exit_code == 1
    assert json.loads(other.stdout)["verdict"] == "not_yours"

    assert in_process("submit", flag[:15]).exit_code == 1
    assert "cut short" in in_process("submit", flag[:15]).stdout
    assert "not a flag" in in_process("submit", "sockdojo{guess}").stdout

    listed = json.loads(in_process("list", "--json").stdout)
    assert [c["id"] for c in listed["challenges"] if c["solved"]] == ["server"]


def test_account_from_environment(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOCKDOJO_ACCOUNT", "carol")
    assert json.loads(in_process("list", "--json").stdout)["account"] == "carol"


def test_data_directory_layout(home: Path) -> None:
    in_process("submit", "sockdojo{x}")  # the secret is made when a flag is first needed
    assert (home / "sockdojo.db").exists()
    assert oct((home / "flag-secret").stat().st_mode & 0o777) == "0o600"


def test_colour_only_on_request(home: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
    plain = subprocess.run(
        [sys.executable, "-m", "sockdojo", "list"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    # Not a terminal: no escape codes even without NO_COLOR.
    assert "\x1b[" not in plain.stdout
