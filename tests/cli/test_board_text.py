"""The scoreboard as text: one printer for the local dojo's board and the class server's."""

from __future__ import annotations

import pytest

from sockdojo.api_shapes import Award, Row, Scoreboard
from sockdojo.cli.web_commands import print_board

WHEN = "2026-12-01T12:00:00+00:00"


def _row(rank: int, hacker: str, score: int, *emoji: str) -> Row:
    awards = [Award(emoji=e, title="a badge", kind="granted") for e in emoji]
    return Row(
        rank=rank,
        hacker=hacker,
        badges=list(emoji),
        score=score,
        last_solve_at=WHEN,
        awards=awards,
    )


@pytest.fixture(autouse=True)
def _plain(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")


def _lines(capsys: pytest.CaptureFixture[str], board: Scoreboard) -> list[str]:
    print_board(board)
    return capsys.readouterr().out.splitlines()


def test_the_viewers_row_below_the_shown_ones_comes_last_with_its_badges(
    capsys: pytest.CaptureFixture[str],
) -> None:
    me = _row(7, "cyd", 1, "🩸")
    board = Scoreboard(days=30, rows=[_row(1, "ada", 5, "🏆"), _row(2, "bob", 3)], me=me)
    lines = _lines(capsys, board)
    assert lines[0] == "Sockets: 30-day scoreboard"
    assert [line.split() for line in lines[2:]] == [
        ["1", "ada", "5", "🏆"],
        ["2", "bob", "3"],
        ["7", "cyd", "1", "🩸"],
    ]


def test_the_viewers_row_among_the_shown_ones_is_not_printed_twice(
    capsys: pytest.CaptureFixture[str],
) -> None:
    ada = _row(1, "ada", 5, "🏆")
    lines = _lines(capsys, Scoreboard(days=0, rows=[ada, _row(2, "bob", 3)], me=ada))
    assert lines[0] == "Sockets: All-time scoreboard"
    assert sum("ada" in line for line in lines) == 1


def test_an_empty_window(capsys: pytest.CaptureFixture[str]) -> None:
    assert _lines(capsys, Scoreboard(days=7, rows=[], me=None))[1:] == [
        "No solves in this window yet."
    ]
