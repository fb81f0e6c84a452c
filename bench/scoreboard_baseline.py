"""The benchmarks' baseline: the straightforward SQL scoreboard, as pwn.college and CTFd do it.

One GROUP BY account over the window per request, ranked by count and time of the last solve,
on the same database; the page (top N) and the viewer's row. Badges are left out (the full
reference, `SqlScoreboard`, adds their queries and is slower still): this is the cheapest way
to be exact without keeping anything in memory.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import ColumnElement, false, func, or_, select

from sockdojo.scoreboard import SqlScoreboard
from sockdojo.scoreboard.model import DEFAULT_LIMIT, Board, Row
from sockdojo.scoreboard.query import counted_solve_conditions, launch_date
from sockdojo.storage.models import Account, Solve


class GroupByScoreboard(SqlScoreboard):
    """`ScoreboardSource`: a GROUP BY over the window's solves for every board (and the
    reference's queries for the rest of the pages)."""

    def board(
        self,
        module_id: str,
        days: int,
        now: dt.datetime,
        viewer_id: int | None,
        limit: int = DEFAULT_LIMIT,
    ) -> Board:
        with self.store.session() as session:
            launched_at = launch_date(session, module_id)
            if launched_at is None:
                return Board((), None)
            totals = (
                select(
                    Solve.account_id.label("account_id"),
                    func.count(Solve.id).label("score"),
                    func.max(Solve.solved_at).label("last_solve_at"),
                )
                .join(Account, Account.id == Solve.account_id)
                .where(*counted_solve_conditions(module_id, days, now, launched_at))
                .group_by(Solve.account_id)
                .subquery()
            )
            ranked = select(
                totals,
                func.row_number()
                .over(
                    order_by=(
                        totals.c.score.desc(),
                        totals.c.last_solve_at.asc(),
                        totals.c.account_id.asc(),
                    )
                )
                .label("rank"),
            ).subquery()
            is_viewer: ColumnElement[bool] = (
                ranked.c.account_id == viewer_id if viewer_id is not None else false()
            )
            found: list[Any] = list(
                session.execute(
                    select(
                        ranked.c.rank,
                        ranked.c.account_id,
                        Account.name,
                        ranked.c.score,
                        ranked.c.last_solve_at,
                    )
                    .join(Account, Account.id == ranked.c.account_id)
                    .where(or_(ranked.c.rank <= limit, is_viewer))
                    .order_by(ranked.c.rank)
                )
            )
        rows = [
            Row(int(r.rank), int(r.account_id), str(r.name), (), int(r.score), r.last_solve_at)
            for r in found
        ]
        me = next((row for row in rows if row.account_id == viewer_id), None)
        return Board(tuple(row for row in rows if row.rank <= limit), me)
