"""`SqlScoreboard`: every question answered with fresh queries (`query`, `counted_solves`,
`badges`), the reference that a faster engine is checked against."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection

from sockdojo.scoreboard.badges import badges_for
from sockdojo.scoreboard.counted_solves import counted_solve_times, solve_counts
from sockdojo.scoreboard.model import (
    Badge,
    Board,
    BoardQuestion,
    HackerView,
    ModuleView,
    ScoreboardSource,
)
from sockdojo.scoreboard.query import board
from sockdojo.storage.admin import launch_date
from sockdojo.storage.database import Store


class SqlScoreboard(ScoreboardSource):
    """`ScoreboardSource` answering every question with a fresh query."""

    def __init__(self, store: Store, *, board_badges: bool = True) -> None:
        self.store = store
        # Off only for the benchmarks' baseline: boards without their badge queries.
        self.board_badges = board_badges

    def answer_board(self, question: BoardQuestion) -> Board:
        with self.store.session() as session:
            return board(session, question, with_badges=self.board_badges)

    def badges(self, module_id: str, account_id: int, now: dt.datetime) -> tuple[Badge, ...]:
        with self.store.session() as session:
            return badges_for(session, module_id, [account_id], now).get(account_id, ())

    def solve_counts(self, module_id: str, now: dt.datetime) -> dict[str, int]:
        with self.store.session() as session:
            return solve_counts(session, module_id, now)

    def solve_times(
        self, module_id: str, days: int, now: dt.datetime, account_ids: Collection[int]
    ) -> dict[int, list[dt.datetime]]:
        with self.store.session() as session:
            return counted_solve_times(session, module_id, account_ids, days, now)

    def module_view(self, question: BoardQuestion, chart: int = 5) -> ModuleView:
        module_id, days, now = question.module_id, question.days, question.now
        with self.store.session() as session:
            found = board(session, question)
            top = [row.account_id for row in found.rows[:chart]]
            return ModuleView(
                board=found,
                launched_at=launch_date(session, module_id),
                solve_counts=solve_counts(session, module_id, now),
                chart=counted_solve_times(session, module_id, top, days, now),
            )

    def hacker_view(
        self, module_id: str, account_id: int, now: dt.datetime, windows: Collection[int]
    ) -> HackerView:
        with self.store.session() as session:
            return HackerView(
                badges=badges_for(session, module_id, [account_id], now).get(account_id, ()),
                rows={
                    days: board(session, BoardQuestion(module_id, days, now, account_id, 0)).me
                    for days in windows
                },
            )
