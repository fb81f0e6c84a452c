"""The counted solves the module page draws: each account's solve times (the chart) and the
number per challenge (the counts beside each challenge)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection

from sqlalchemy import (
    ColumnElement,
    Integer,
    Select,
    String,
    column,
    func,
    literal,
    select,
    table,
    union_all,
)
from sqlalchemy.orm import Session

from sockdojo.scoreboard.counting import (
    counted_solve_conditions,
    module_challenge_ids,
    unranked_account,
)
from sockdojo.storage.admin import launch_date
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


# Kept by triggers (migration 0004): how many solves each challenge has, of anyone, any time,
# in shards (by account) that are summed here.
CHALLENGE_SOLVES = table(
    "challenge_solves",
    column("module_id", String),
    column("challenge_id", String),
    column("shard", Integer),
    column("solves", Integer),
)


def solve_counts(session: Session, module_id: str, now: dt.datetime) -> dict[str, int]:
    """How many ranked accounts solved each challenge since launch (the all-time population).

    The trigger-kept total, less the solves before launch or after `now`, less the solves of
    hidden or admin accounts, plus those of theirs already taken away as outside the period.
    Each part reads an index only (the solves outside the period are few); one statement,
    so one snapshot: exact even while solves land.
    """
    launched_at = launch_date(session, module_id)
    counts = dict.fromkeys(module_challenge_ids(module_id), 0)
    if launched_at is None or now < launched_at:
        return counts  # nothing counts yet (and the two outer ranges would overlap)
    # Naming the challenges makes each range an index seek per challenge (module, challenge,
    # time) rather than a walk through the whole module's solves.
    in_module = (Solve.module_id == module_id) & Solve.challenge_id.in_(list(counts))
    # All of their solves: a seek per hidden or admin account, on an index that covers it.
    unranked = Solve.account_id.in_(select(Account.id).where(unranked_account()))
    # Those outside the period: found from the (small) time ranges, each checked for its
    # account, rather than by reading every solve of those accounts.
    unranked_here = (
        select(Account.id)
        .where(Account.id == Solve.account_id, unranked_account())
        .correlate(Solve)
        .exists()
    )

    def part(sign: int, *conditions: ColumnElement[bool]) -> Select[int, str, int]:
        return (
            select(literal(sign), Solve.challenge_id, func.count())
            .where(in_module, *conditions)
            .group_by(Solve.challenge_id)
        )

    parts = union_all(
        select(literal(1), CHALLENGE_SOLVES.c.challenge_id, func.sum(CHALLENGE_SOLVES.c.solves))
        .where(CHALLENGE_SOLVES.c.module_id == module_id)
        .group_by(CHALLENGE_SOLVES.c.challenge_id),
        part(-1, Solve.solved_at < launched_at),
        part(-1, Solve.solved_at > now),
        part(-1, unranked),
        part(1, unranked_here, Solve.solved_at < launched_at),
        part(1, unranked_here, Solve.solved_at > now),
    )
    for sign, challenge, count in session.execute(parts):
        if challenge in counts:
            counts[challenge] += int(sign) * int(count)
    return counts
