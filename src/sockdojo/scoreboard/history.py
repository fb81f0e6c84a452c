"""Solves over time and per challenge: what the module page's chart and counts are drawn from."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from sockdojo.scoreboard.query import (
    counted_solve_conditions,
    launch_date,
    module_challenge_ids,
)
from sockdojo.storage.models import Account, Solve


def counted_solve_times(
    session: Session,
    module_id: str,
    account_ids: Collection[int],
    days: int,
    now: dt.datetime,
) -> dict[int, list[dt.datetime]]:
    """The solves that make up each account's score in the window, oldest first."""
    launched_at = launch_date(session, module_id)
    if launched_at is None or not account_ids:
        return {}
    times: dict[int, list[dt.datetime]] = {account: [] for account in account_ids}
    rows = session.execute(
        select(Solve.account_id, Solve.solved_at)
        .join(Account, Account.id == Solve.account_id)
        .where(
            *counted_solve_conditions(module_id, days, now, launched_at),
            Solve.account_id.in_(list(account_ids)),
        )
        .order_by(Solve.solved_at, Solve.id)
    )
    for account, when in rows:
        times[int(account)].append(when)
    return times


def solve_counts(session: Session, module_id: str, now: dt.datetime) -> dict[str, int]:
    """How many ranked accounts solved each challenge since launch (the all-time population)."""
    launched_at = launch_date(session, module_id)
    counts = dict.fromkeys(module_challenge_ids(module_id), 0)
    if launched_at is None:
        return counts
    rows = session.execute(
        select(Solve.challenge_id, func.count(Solve.id))
        .join(Account, Account.id == Solve.account_id)
        .where(*counted_solve_conditions(module_id, 0, now, launched_at))
        .group_by(Solve.challenge_id)
    )
    for challenge, count in rows:
        counts[str(challenge)] = int(count)
    return counts
