"""Solves and submission attempts."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from sockdojo.storage.models import Solve, Submission, utcnow

SUBMISSION_TEXT_LIMIT = 256


def solved_challenges(session: Session, account_id: int, module_id: str) -> dict[str, dt.datetime]:
    rows = session.execute(
        select(Solve.challenge_id, Solve.solved_at).where(
            Solve.account_id == account_id, Solve.module_id == module_id
        )
    )
    return {str(challenge): when for challenge, when in rows}


def record_attempt(
    session: Session,
    *,
    account_id: int,
    module_id: str,
    challenge_id: str | None,
    submitted: str,
    verdict: str,
    source: str,
    when: dt.datetime | None = None,
) -> None:
    session.add(
        Submission(
            account_id=account_id,
            module_id=module_id,
            challenge_id=challenge_id,
            submitted=submitted[:SUBMISSION_TEXT_LIMIT],
            verdict=verdict,
            source=source,
            created_at=when or utcnow(),
        )
    )


def record_solve(
    session: Session,
    *,
    account_id: int,
    module_id: str,
    challenge_id: str,
    when: dt.datetime | None = None,
) -> bool:
    """Store a solve; False when the account had already solved it (the first solve stands)."""
    try:
        with session.begin_nested():
            session.add(
                Solve(
                    account_id=account_id,
                    module_id=module_id,
                    challenge_id=challenge_id,
                    solved_at=when or utcnow(),
                )
            )
    except IntegrityError:
        return False
    return True
