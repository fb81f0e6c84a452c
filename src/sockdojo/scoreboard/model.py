"""What a scoreboard is made of, independent of how it is computed."""

from __future__ import annotations

import datetime as dt
from abc import ABC, abstractmethod
from collections.abc import Collection
from dataclasses import dataclass
from typing import Literal

# The windows the module page offers, in days; 0 means all time.
WINDOWS: tuple[int, ...] = (30, 7, 0)
DEFAULT_DAYS = 30
DEFAULT_LIMIT = 20
# What earned a badge (`api_shapes.Award.kind` sends it, as a string the document enumerates).
BadgeKind = Literal["completion", "first_blood", "granted"]


@dataclass(frozen=True)
class Badge:
    emoji: str
    title: str
    kind: BadgeKind


@dataclass(frozen=True)
class Row:
    """One hacker's line on a board: place, name, badges, score, and the last solve that
    counted (the tie-break: who got there first)."""

    rank: int
    account_id: int
    hacker: str
    badges: tuple[Badge, ...]
    score: int
    last_solve_at: dt.datetime


@dataclass(frozen=True)
class Board:
    rows: tuple[Row, ...]
    me: Row | None


@dataclass(frozen=True)
class ModuleView:
    """What the module page shows of the scoreboard, as of one moment."""

    board: Board
    launched_at: dt.datetime | None  # None: the module has no launch date (no row)
    solve_counts: dict[str, int]  # per challenge, as `ScoreboardSource.solve_counts`
    # The solves making up the score of each of the board's first rows (as many as asked).
    chart: dict[int, list[dt.datetime]]


@dataclass(frozen=True)
class HackerView:
    """What a hacker's page shows of the scoreboard, as of one moment."""

    badges: tuple[Badge, ...]
    rows: dict[int, Row | None]  # per window asked for: the hacker's row, None when not on it


def check_days(days: int) -> int:
    """A window's length: 0 (all time) or a positive number of days."""
    if days < 0:
        raise ValueError(f"days must be 0 (all time) or positive, got {days}")
    return days


@dataclass(frozen=True)
class BoardQuestion:
    """Which board is asked for: a module's, over the last `days` (0: all time) as of `now`,
    its first `limit` rows, and the row of `viewer_id` (None: nobody signed in)."""

    module_id: str
    days: int
    now: dt.datetime
    viewer_id: int | None
    limit: int = DEFAULT_LIMIT

    def __post_init__(self) -> None:
        check_days(self.days)


class ScoreboardSource(ABC):
    """Anything that can answer for a module's board at a moment (see the package's rules),
    and for what the module's pages show beside it.

    Boards are asked for as a `BoardQuestion` (checked once, when it is made); `board` takes
    its fields as plain arguments, for the many callers that ask for one board.
    """

    def board(
        self,
        module_id: str,
        days: int,
        now: dt.datetime,
        viewer_id: int | None,
        limit: int = DEFAULT_LIMIT,
    ) -> Board:
        return self.answer_board(BoardQuestion(module_id, days, now, viewer_id, limit))

    @abstractmethod
    def answer_board(self, question: BoardQuestion) -> Board: ...

    @abstractmethod
    def module_view(self, question: BoardQuestion, chart: int = 5) -> ModuleView:
        """The board, the launch date, the per-challenge counts and the solve times of the
        board's first `chart` rows, all as of one look at the database."""

    @abstractmethod
    def badges(self, module_id: str, account_id: int, now: dt.datetime) -> tuple[Badge, ...]:
        """One account's badges (whether or not it is on the board), in display order."""

    @abstractmethod
    def solve_counts(self, module_id: str, now: dt.datetime) -> dict[str, int]:
        """How many ranked accounts solved each challenge since launch (up to `now`)."""

    @abstractmethod
    def solve_times(
        self, module_id: str, days: int, now: dt.datetime, account_ids: Collection[int]
    ) -> dict[int, list[dt.datetime]]:
        """The solves that make up each account's score in the window, oldest first (every
        account asked for, with an empty list if need be; nothing before the launch date)."""

    @abstractmethod
    def hacker_view(
        self, module_id: str, account_id: int, now: dt.datetime, windows: Collection[int]
    ) -> HackerView:
        """The account's badges and its row on each of these windows' boards, all as of one
        look at the database."""
