"""`SqlScoreboard`: every question answered with fresh queries (`query`, `counted_solves`,
`badges`), the reference that a faster engine is checked against."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection

from sockdojo.scoreboard.badges import badges_for
from sockdojo.scoreboard.counted_solves import counted_solve_times, solve_counts
from sockdojo.scoreboard.model import DEFAULT_LIMIT, Badge, Board, HackerView, ModuleView
from sockdojo.scoreboard.query import board
from sockdojo.storage.admin import launch_date
from sockdojo.storage.database import Store


class SqlScoreboard:
    """`ScoreboardSource` answering every question with a fresh query."""

    def __init__(self, store: Store, *, board_badges: bool = True) -> None:
        self.store = store
        # Off only for the benchmarks' baseline: boards without their badge queries.
        self.board_badges = board_badges

    def board(
        self,
        module_id: str,
        days: int,
        now: dt.datetime,
        viewer_id: int | None,
        limit: int = DEFAULT_LIMIT,
    ) -> Board:
        with self.store.session() as session:
            return board(
                session, module_id, days, now, viewer_id, limit, with_badges=self.board_badges
            )

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

    def module_view(
        self,
        module_id: str,
        days: int,
        now: dt.datetime,
        viewer_id: int | None,
        *,
        limit: int = DEFAULT_LIMIT,
        chart: int = 5,
    ) -> ModuleView:
        with self.store.session() as session:
            found = board(session, module_id, days, now, viewer_id, limit)
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
                    days: board(session, module_id, days, now, account_id, 0).me for days in windows
                },
            )
