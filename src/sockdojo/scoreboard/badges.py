"""Badges: module completion and first blood are computed from solves; the rest are granted."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from sockdojo.challenges import registry
from sockdojo.scoreboard import modules
from sockdojo.scoreboard.counting import ranked_account
from sockdojo.scoreboard.model import Badge
from sockdojo.storage.admin import launch_date
from sockdojo.storage.models import Account, BadgeGrant, Solve

COMPLETION_EMOJI = "🏆"
FIRST_BLOOD_EMOJI = "🩸"


def _challenges(module_id: str) -> tuple[registry.Challenge, ...]:
    return modules.challenges(module_id)


def first_bloods(session: Session, module_id: str, now: dt.datetime) -> dict[str, int]:
    """For each challenge solved by an eligible account since launch, who solved it first."""
    launched_at = launch_date(session, module_id)
    challenges = _challenges(module_id)
    if launched_at is None or not challenges:
        return {}
    numbered = (
        select(
            Solve.challenge_id,
            Solve.account_id,
            func.row_number()
            .over(
                partition_by=Solve.challenge_id,
                order_by=(Solve.solved_at.asc(), Solve.account_id.asc()),
            )
            .label("place"),
        )
        .join(Account, Account.id == Solve.account_id)
        .where(
            Solve.module_id == module_id,
            Solve.challenge_id.in_([c.id for c in challenges]),
            Solve.solved_at >= launched_at,
            Solve.solved_at <= now,
            ranked_account(),
        )
        .subquery()
    )
    rows = session.execute(
        select(numbered.c.challenge_id, numbered.c.account_id).where(numbered.c.place == 1)
    )
    return {str(challenge): int(account) for challenge, account in rows}


def badges_for(
    session: Session, module_id: str, account_ids: Collection[int], now: dt.datetime
) -> dict[int, tuple[Badge, ...]]:
    """Each account's badges in display order; accounts without any are left out."""
    challenges = _challenges(module_id)
    if not account_ids or not challenges:
        return {}
    wanted = sorted(set(account_ids))
    earned: dict[int, list[Badge]] = {account: [] for account in wanted}

    completed = session.scalars(
        select(Solve.account_id)
        .where(
            Solve.module_id == module_id,
            Solve.challenge_id.in_([c.id for c in challenges]),
            Solve.account_id.in_(wanted),
            Solve.solved_at <= now,
        )
        .group_by(Solve.account_id)
        .having(func.count(func.distinct(Solve.challenge_id)) == len(challenges))
    )
    title = modules.title(module_id)
    for account in completed:
        earned[account].append(
            Badge(COMPLETION_EMOJI, f"Completed the {title} module", "completion")
        )

    firsts = first_bloods(session, module_id, now)
    for challenge in challenges:
        holder = firsts.get(challenge.id)
        if holder in earned:
            earned[holder].append(
                Badge(FIRST_BLOOD_EMOJI, f"First blood: {challenge.title}", "first_blood")
            )

    grants = session.execute(
        select(BadgeGrant.account_id, BadgeGrant.emoji, BadgeGrant.title)
        .where(BadgeGrant.module_id == module_id, BadgeGrant.account_id.in_(wanted))
        .order_by(BadgeGrant.created_at, BadgeGrant.id)
    )
    for account, emoji, badge_title in grants:
        earned[account].append(Badge(emoji, badge_title, "granted"))
    return {account: tuple(badges) for account, badges in earned.items() if badges}
