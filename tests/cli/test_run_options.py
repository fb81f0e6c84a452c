"""`sockdojo run` dispatches on how each challenge runs and refuses options that do not apply.

No process is needed for a usage error: Click's CliRunner calls the command in this process.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from sockdojo.challenges import registry
from sockdojo.cli.main import cli


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["run", "client", "--no-run"],
            "client does not take --no-run; it takes --port, --host, --once",
        ),
        (["run", "server", "--once"], "server does not take --once; it takes --port, --host"),
        (["run", "server-loop", "x.py"], "server-loop does not take FILE"),
        (["run", "eight-ball", "--json"], "eight-ball does not take --json"),
        (["run", "reuse-address", "x.py", "--host", "::1"], "reuse-address does not take --host"),
        (["run", "reuse-address"], "reuse-address needs your program"),
        (["run", "nope"], "no challenge 'nope'"),
    ],
)
def test_options_that_do_not_apply_are_usage_errors(
    home: Path, args: list[str], message: str
) -> None:
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 2, result.output
    assert message in result.output


def test_every_challenge_says_how_it_runs() -> None:
    kinds = {c.id: c.runs for c in registry.CHALLENGES}
    assert kinds == {
        "client": registry.Runs.OUR_SERVER,
        "server": registry.Runs.YOUR_SERVER,
        "server-loop": registry.Runs.YOUR_SERVER,
        "eight-ball": registry.Runs.OUR_SERVER,
        "reuse-address": registry.Runs.YOUR_PROGRAM,
    }
