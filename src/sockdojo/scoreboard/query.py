"""The scoreboard as plain SQL: the reference implementation of the rules in the package doc.

Kept free of caching and cleverness on purpose: a faster engine can be checked against it.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import ColumnElement, false, func, or_, select
from sqlalchemy.orm import Session

from sockdojo.scoreboard import modules
from sockdojo.scoreboard.badges import badges_for
from sockdojo.scoreboard.model import DEFAULT_LIMIT, Board, Row
from sockdojo.storage.models import Account, Module, Solve


def module_challenge_ids(module_id: str) -> tuple[str, ...]:
    """The module's current challenges: Sockets' from the registry, others from `modules`."""
    return tuple(challenge.id for challenge in modules.challenges(module_id))


def window_start(days: int, now: dt.datetime) -> dt.datetime | None:
    """The exclusive lower bound of the window, or None for all time (`days == 0`)."""
    if days < 0:
        raise ValueError(f"days must be 0 (all time) or positive, got {days}")
    return None if days == 0 else now - dt.timedelta(days=days)


def launch_date(session: Session, module_id: str) -> dt.datetime | None:
    module = session.get(Module, module_id)
    return module.launched_at if module is not None else None


def eligible_account() -> ColumnElement[bool]:
    """Accounts that appear on boards and can take first blood (join Account first)."""
    return (Account.is_hidden.is_(False)) & (Account.is_admin.is_(False))


def counted_solve_conditions(
    module_id: str, days: int, now: dt.datetime, launched_at: dt.datetime
) -> list[ColumnElement[bool]]:
    """Which solves count for a window (needs Solve joined with Account)."""
    conditions: list[ColumnElement[bool]] = [
        Solve.module_id == module_id,
        Solve.challenge_id.in_(module_challenge_ids(module_id)),
        Solve.solved_at >= launched_at,
        Solve.solved_at <= now,
        eligible_account(),
    ]
    start = window_start(days, now)
    if start is not None:
        conditions.append(Solve.solved_at > start)
    return conditions


def board(
    session: Session,
    module_id: str,
    days: int,
    now: dt.datetime,
    viewer_id: int | None,
    limit: int = DEFAULT_LIMIT,
) -> Board:
    launched_at = launch_date(session, module_id)
    if launched_at is None or not module_challenge_ids(module_id):
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
        .subquery("totals")
    )
    ranked = select(
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
    badges = badges_for(session, module_id, [row.account_id for row in found], now)
    rows = [
        Row(
            rank=int(row.rank),
            account_id=int(row.account_id),
            hacker=str(row.name),
            badges=badges.get(row.account_id, ()),
            score=int(row.score),
            last_solve_at=row.last_solve_at,
        )
        for row in found
    ]
    me = next((row for row in rows if row.account_id == viewer_id), None)
    return Board(tuple(row for row in rows if row.rank <= limit), me)
