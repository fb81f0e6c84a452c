"""Solves and submission attempts.

The flag-submission path writes with Core statements on a plain connection: the ORM's unit of
work, a savepoint and a second session cost more than the writes themselves (two thirds of a
submission on SQLite: the README's performance notes). The functions also accept an ORM
session, for callers that already hold one.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from dataclasses import dataclass
from typing import cast

from sqlalchemy import Table, bindparam, insert, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from sockdojo.storage.models import Solve, Submission, utcnow
from sockdojo.verdict import Verdict

SUBMISSION_TEXT_LIMIT = 256

Database = Connection | Session

# "Insert unless this account already solved it": the unique constraint decides, in one
# statement, so two processes racing on the same solve cannot both count it.
_SOLVES = cast(Table, Solve.__table__)
# Only that constraint: any other conflict (an id sequence left behind by a hand copy) must fail
# loudly rather than pass for "already solved".
_SOLVE_ONCE = ["account_id", "module_id", "challenge_id"]
_INSERT_SOLVE = {
    "sqlite": sqlite.insert(_SOLVES)
    .on_conflict_do_nothing(index_elements=_SOLVE_ONCE)
    .returning(_SOLVES.c.id),
    "postgresql": postgresql.insert(_SOLVES)
    .on_conflict_do_nothing(index_elements=_SOLVE_ONCE)
    .returning(_SOLVES.c.id),
}
_INSERT_SUBMISSION = insert(cast(Table, Submission.__table__))


def storable(submitted: str) -> str:
    """What of a submission is kept: capped, and without NUL (PostgreSQL text refuses it)."""
    return submitted[:SUBMISSION_TEXT_LIMIT].replace("\x00", "\ufffd")


def _dialect(db: Database) -> str:
    return db.dialect.name if isinstance(db, Connection) else db.get_bind().dialect.name


# Built once: the module and challenge pages ask it for every signed-in viewer.
_SOLVED = select(Solve.challenge_id, Solve.solved_at).where(
    Solve.account_id == bindparam("account_id"), Solve.module_id == bindparam("module_id")
)


def solved_challenges(db: Database, account_id: int, module_id: str) -> dict[str, dt.datetime]:
    rows = db.execute(_SOLVED, {"account_id": account_id, "module_id": module_id})
    return {str(challenge): when for challenge, when in rows}


def recent_submissions(session: Session, account_id: int, limit: int) -> list[Submission]:
    """The account's last `limit` flag submissions, newest first."""
    return list(
        session.scalars(
            select(Submission)
            .where(Submission.account_id == account_id)
            .order_by(Submission.created_at.desc(), Submission.id.desc())
            .limit(limit)
        )
    )


def record_attempt(
    db: Database,
    *,
    account_id: int,
    module_id: str,
    challenge_id: str | None,
    submitted: str,
    verdict: Verdict,
    source: str,
    when: dt.datetime | None = None,
) -> None:
    db.execute(
        _INSERT_SUBMISSION,
        {
            "account_id": account_id,
            "module_id": module_id,
            "challenge_id": challenge_id,
            "submitted": storable(submitted),
            "verdict": verdict,
            "source": source,
            "created_at": when or utcnow(),
        },
    )


def record_solve(
    db: Database,
    *,
    account_id: int,
    module_id: str,
    challenge_id: str,
    when: dt.datetime | None = None,
) -> bool:
    """Store a solve; False when the account had already solved it (the first solve stands)."""
    result = db.execute(
        _INSERT_SOLVE[_dialect(db)],
        {
            "account_id": account_id,
            "module_id": module_id,
            "challenge_id": challenge_id,
            "solved_at": when or utcnow(),
        },
    )
    # A row comes back only when one was inserted (rowcount is -1 on PostgreSQL here).
    return result.first() is not None


# Built once: this runs on every flag submitted over the web.
_ATTEMPT_TIMES = select(Submission.created_at).where(
    Submission.account_id == bindparam("account_id"),
    Submission.created_at > bindparam("since", type_=Submission.created_at.type),
    Submission.verdict.in_(bindparam("verdicts", expanding=True)),
)


def rejected_attempt_times(
    db: Database, account_id: int, since: dt.datetime, verdicts: Collection[Verdict]
) -> list[dt.datetime]:
    """When the account's attempts with one of `verdicts` since `since` were made."""
    parameters = {"account_id": account_id, "since": since, "verdicts": list(verdicts)}
    return list(db.scalars(_ATTEMPT_TIMES, parameters))


# PostgreSQL: the whole submission in one statement, so in one round trip and one transaction
# of its own (five round trips otherwise: BEGIN, the limit, the solve, the attempt, COMMIT).
# Data-modifying WITH queries run together on one snapshot; ON CONFLICT still settles a race
# with a concurrent insert of the same solve. `:limit` NULL means no limit.
_SUBMIT_POSTGRES = text(
    """
WITH recent AS (
  SELECT created_at FROM submissions
  WHERE account_id = CAST(:account AS INTEGER) AND created_at > CAST(:since AS TIMESTAMPTZ)
    AND verdict = ANY(CAST(:wrong AS VARCHAR[]))
), allowed AS (
  SELECT (CAST(:limit AS INTEGER) IS NULL OR count(*) < CAST(:limit AS INTEGER)) AS ok
  FROM recent
), solve AS (
  INSERT INTO solves (account_id, module_id, challenge_id, solved_at)
  SELECT CAST(:account AS INTEGER), CAST(:module AS VARCHAR), CAST(:challenge AS VARCHAR),
    CAST(:now AS TIMESTAMPTZ)
  FROM allowed WHERE ok AND CAST(:challenge AS VARCHAR) IS NOT NULL
  ON CONFLICT (account_id, module_id, challenge_id) DO NOTHING RETURNING id
), attempt AS (
  INSERT INTO submissions
    (account_id, module_id, challenge_id, submitted, verdict, source, created_at)
  SELECT CAST(:account AS INTEGER), CAST(:module AS VARCHAR),
    CASE WHEN ok THEN CAST(:attempt_challenge AS VARCHAR) ELSE CAST(:expected AS VARCHAR) END,
    CAST(:submitted AS VARCHAR),
    CASE WHEN NOT ok THEN CAST(:refused AS VARCHAR)
      WHEN CAST(:challenge AS VARCHAR) IS NULL THEN CAST(:failed AS VARCHAR)
      WHEN EXISTS (SELECT 1 FROM solve) THEN 'solved' ELSE 'already_solved' END,
    CAST(:source AS VARCHAR), CAST(:now AS TIMESTAMPTZ)
  FROM allowed
  RETURNING verdict
)
SELECT (SELECT verdict FROM attempt), ARRAY(SELECT created_at FROM recent)
"""
)


@dataclass(frozen=True)
class Attempt:
    """A flag submission to record, judged except for the wrong-flag limit."""

    account_id: int
    module_id: str
    submitted: str
    source: str
    when: dt.datetime
    solve_challenge: str | None  # what a right flag solves; None when it is not right
    attempt_challenge: str | None  # stored with a checked attempt
    expected_challenge: str | None  # stored instead with a refused one
    failed_verdict: Verdict  # the verdict when the flag is not right
    refused_verdict: Verdict  # the verdict when the limit refuses it
    limit: int | None  # at most this many `wrong_verdicts` since `since`; None: no limit
    since: dt.datetime
    wrong_verdicts: Collection[Verdict]


def record_submission(db: Connection, attempt: Attempt) -> tuple[Verdict, list[dt.datetime]]:
    """Apply the limit, store the solve if it is a new one and the attempt; the verdict stored
    and the times of the account's wrong attempts since `attempt.since` (for the wait).

    On PostgreSQL one statement on an autocommit connection; on SQLite statement by statement
    in the caller's transaction, under the store's write lock, which makes the limit's read
    atomic with the writes. Either way the same rows and the same verdicts.
    """
    if db.dialect.name == "postgresql":
        return _record_on_postgres(db, attempt)
    limited = attempt.limit is not None
    wrong = (
        rejected_attempt_times(db, attempt.account_id, attempt.since, attempt.wrong_verdicts)
        if limited
        else []
    )
    challenge = attempt.attempt_challenge
    if attempt.limit is not None and len(wrong) >= attempt.limit:
        verdict, challenge = attempt.refused_verdict, attempt.expected_challenge
    elif attempt.solve_challenge is not None:
        fresh = record_solve(
            db,
            account_id=attempt.account_id,
            module_id=attempt.module_id,
            challenge_id=attempt.solve_challenge,
            when=attempt.when,
        )
        verdict = Verdict.SOLVED if fresh else Verdict.ALREADY_SOLVED
    else:
        verdict = attempt.failed_verdict
    record_attempt(
        db,
        account_id=attempt.account_id,
        module_id=attempt.module_id,
        challenge_id=challenge,
        submitted=attempt.submitted,
        verdict=verdict,
        source=attempt.source,
        when=attempt.when,
    )
    return verdict, wrong


def _record_on_postgres(db: Connection, attempt: Attempt) -> tuple[Verdict, list[dt.datetime]]:
    verdict, times = db.execute(
        _SUBMIT_POSTGRES,
        {
            "account": attempt.account_id,
            "module": attempt.module_id,
            "challenge": attempt.solve_challenge,
            "attempt_challenge": attempt.attempt_challenge,
            "expected": attempt.expected_challenge,
            "submitted": storable(attempt.submitted),
            "failed": attempt.failed_verdict,
            "refused": attempt.refused_verdict,
            "source": attempt.source,
            "now": attempt.when,
            "limit": attempt.limit,
            "since": attempt.since,
            "wrong": list(attempt.wrong_verdicts),
        },
    ).one()
    return Verdict(verdict), list(times)
