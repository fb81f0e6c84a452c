"""Which solves count on the board: the one definition, as SQL and as a pure predicate.

A solve counts for a window when it is of one of the module's current challenges, its account
is ranked (neither hidden nor an admin), it is at or after the module's launch date, not after
`now`, and newer than the window's start (`window_start`; none for all time). The SQL readers
(`query`, `counted_solves`, `badges`), the live board and the reference model all ask these.
"""

from __future__ import annotations

import datetime as dt
from typing import TypeVar

from sqlalchemy import ColumnElement, or_

from sockdojo.scoreboard import modules
from sockdojo.scoreboard.model import check_days
from sockdojo.storage.models import Account, Solve

# A moment: an aware datetime, or microseconds since 1970 (the live board's integers).
Moment = TypeVar("Moment", dt.datetime, int)


def module_challenge_ids(module_id: str) -> tuple[str, ...]:
    """The module's current challenges: Sockets' from the registry, others from `modules`."""
    return tuple(challenge.id for challenge in modules.challenges(module_id))


def window_start(days: int, now: dt.datetime) -> dt.datetime | None:
    """The exclusive lower bound of the window, or None for all time (`days == 0`)."""
    return None if check_days(days) == 0 else now - dt.timedelta(days=days)


# The pure predicate


def ranked(*, hidden: bool, admin: bool) -> bool:
    """Whether an account's solves count on boards (and can take first blood)."""
    return not (hidden or admin)


def counts(when: Moment, *, launched_at: Moment, now: Moment, start: Moment | None) -> bool:
    """Whether a ranked account's solve of a current challenge, at `when`, counts for the window
    that starts (exclusively) at `start` (None: all time) and ends at `now`."""
    return launched_at <= when <= now and (start is None or when > start)


# The same, as SQL


def ranked_account() -> ColumnElement[bool]:
    """Accounts that appear on boards and can take first blood (join Account first)."""
    return Account.is_hidden.is_(False) & Account.is_admin.is_(False)


def unranked_account() -> ColumnElement[bool]:
    """The other accounts, written as migration 0004's partial index is, so that it is used."""
    return or_(Account.is_hidden.is_(True), Account.is_admin.is_(True))


def counted_solve_conditions(
    module_id: str, days: int, now: dt.datetime, launched_at: dt.datetime
) -> list[ColumnElement[bool]]:
    """Which solves count for a window (needs Solve joined with Account)."""
    conditions: list[ColumnElement[bool]] = [
        Solve.module_id == module_id,
        Solve.challenge_id.in_(module_challenge_ids(module_id)),
        Solve.solved_at >= launched_at,
        Solve.solved_at <= now,
        ranked_account(),
    ]
    start = window_start(days, now)
    if start is not None:
        conditions.append(Solve.solved_at > start)
    return conditions
