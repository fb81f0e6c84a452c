"""The scoreboard as plain SQL: the reference implementation of the rules in the package doc.

Kept free of caching and cleverness on purpose: a faster engine can be checked against it.
"""

from __future__ import annotations

import datetime as dt
from typing import NamedTuple

from sqlalchemy import ColumnElement, Subquery, false, func, or_, select
from sqlalchemy.orm import Session

from sockdojo.scoreboard.badges import badges_for
from sockdojo.scoreboard.counting import counted_solve_conditions, module_challenge_ids
from sockdojo.scoreboard.model import Board, BoardQuestion, Row
from sockdojo.storage.admin import launch_date
from sockdojo.storage.models import Account, Solve


def board(session: Session, question: BoardQuestion, *, with_badges: bool = True) -> Board:
    """Ranks 1..limit and the viewer's row: one GROUP BY over the window's counted solves,
    ranked in SQL, then the badges of the rows found (unless `with_badges` is off: the
    benchmarks' baseline)."""
    module_id, days, now = question.module_id, question.days, question.now
    viewer_id, limit = question.viewer_id, question.limit
    launched_at = launch_date(session, module_id)
    if launched_at is None or not module_challenge_ids(module_id):
        return Board((), None)
    ranked = _ranked(counted_solve_conditions(module_id, days, now, launched_at))
    is_viewer: ColumnElement[bool] = (
        ranked.c.account_id == viewer_id if viewer_id is not None else false()
    )
    rows = session.execute(
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
    found = [Ranked(int(r[0]), int(r[1]), str(r[2]), int(r[3]), r[4]) for r in rows]
    ids = [r.account_id for r in found]
    badges = badges_for(session, module_id, ids, now) if with_badges else {}
    rows_found = [
        Row(r.rank, r.account_id, r.name, badges.get(r.account_id, ()), r.score, r.last_solve_at)
        for r in found
    ]
    me = next((row for row in rows_found if row.account_id == viewer_id), None)
    return Board(tuple(row for row in rows_found if row.rank <= limit), me)


def _ranked(counted: list[ColumnElement[bool]]) -> Subquery:
    """Every account with counted solves: its score, its last solve and its rank (score
    first, then the earlier last solve, then the smaller id: no ties)."""
    totals = (
        select(
            Solve.account_id.label("account_id"),
            func.count(Solve.id).label("score"),
            func.max(Solve.solved_at).label("last_solve_at"),
        )
        .join(Account, Account.id == Solve.account_id)
        .where(*counted)
        .group_by(Solve.account_id)
        .subquery("totals")
    )
    return select(
        totals.c.account_id,
        totals.c.score,
        totals.c.last_solve_at,
        func.row_number()
        .over(
            order_by=(
                totals.c.score.desc(),
                totals.c.last_solve_at.asc(),
                totals.c.account_id.asc(),
            )
        )
        .label("rank"),
    ).subquery("ranked")


class Ranked(NamedTuple):
    rank: int
    account_id: int
    name: str
    score: int
    last_solve_at: dt.datetime
