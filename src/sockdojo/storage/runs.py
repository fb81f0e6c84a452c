"""What the class server keeps of learners' CLI runs: the flags it minted and the reports.

Both are append-only. Mints are the input of the minting limit; reports feed the learner's
"your last runs" and the instructor view, and are dropped after the retention period.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass

from sqlalchemy import case, delete, func, insert, select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from sockdojo.storage.models import Account, FlagMint, RunReport

# The stored diagnoses: the codes joined by spaces, cut at this many characters (the column's
# size); the API takes at most `api_shapes.DIAGNOSES_LIMIT` codes.
DIAGNOSES_CHARS = 512


@dataclass(frozen=True)
class Report:
    """What a learner's CLI reports of one run (checked by the class API)."""

    challenge_id: str
    passed: bool
    diagnoses: tuple[str, ...]
    duration_ms: int
    version: str
    platform: str
    run_key: str | None = None


@dataclass(frozen=True, kw_only=True)
class Run(Report):
    """A report as kept: whose it is and when it came."""

    account_id: int
    created_at: dt.datetime


def lock_account(db: Connection, account_id: int) -> None:
    """Hold the account's row until commit (PostgreSQL): a burst of one account's mints then
    counts and records one after another, so the limit holds exactly. SQLite needs the store's
    write lock instead."""
    db.execute(select(Account.id).where(Account.id == account_id).with_for_update())


def mints_since(db: Connection, account_id: int, since: dt.datetime) -> list[dt.datetime]:
    return list(
        db.scalars(
            select(FlagMint.created_at)
            .where(FlagMint.account_id == account_id, FlagMint.created_at > since)
            .order_by(FlagMint.created_at)
        )
    )


@dataclass(frozen=True)
class Mint:
    """A flag the class server minted: for whom, through which token, for which run, when."""

    account_id: int
    token_id: int | None
    challenge_id: str
    run_key: str | None
    created_at: dt.datetime


def record_mint(db: Connection, mint: Mint) -> None:
    db.execute(insert(FlagMint).values(**asdict(mint)))


def record_run(session: Session, run: Run, kept: dt.timedelta) -> None:
    """Store a report, and drop every report older than `kept` (the retention setting)."""
    session.execute(delete(RunReport).where(RunReport.created_at < run.created_at - kept))
    session.add(
        RunReport(
            account_id=run.account_id,
            run_key=run.run_key,
            challenge_id=run.challenge_id,
            passed=run.passed,
            diagnoses=" ".join(run.diagnoses)[:DIAGNOSES_CHARS],
            duration_ms=run.duration_ms,
            version=run.version,
            platform=run.platform,
            created_at=run.created_at,
        )
    )


def runs_since(session: Session, account_id: int, since: dt.datetime) -> int:
    return int(
        session.scalar(
            select(func.count()).where(
                RunReport.account_id == account_id, RunReport.created_at > since
            )
        )
        or 0
    )


def _run(row: RunReport) -> Run:
    return Run(
        row.challenge_id,
        row.passed,
        tuple(row.diagnoses.split()),
        row.duration_ms,
        row.version,
        row.platform,
        row.run_key,
        account_id=row.account_id,
        created_at=row.created_at,
    )


def last_runs(session: Session, account_id: int, limit: int) -> list[Run]:
    return [
        _run(row)
        for row in session.scalars(
            select(RunReport)
            .where(RunReport.account_id == account_id)
            .order_by(RunReport.created_at.desc(), RunReport.id.desc())
            .limit(limit)
        )
    ]


def runs_between(session: Session, since: dt.datetime | None) -> list[Run]:
    """Every stored report since `since` (all when None), oldest first: the instructor view."""
    query = select(RunReport)
    if since is not None:
        query = query.where(RunReport.created_at >= since)
    return [
        _run(row) for row in session.scalars(query.order_by(RunReport.created_at, RunReport.id))
    ]


@dataclass(frozen=True)
class RunSummary:
    runs: int
    last_diagnosis: str | None  # the last code of the last run that showed one


def summaries(session: Session) -> dict[tuple[int, str], RunSummary]:
    """Per (account, challenge): how many runs are kept, and the last diagnosis code shown.

    Two small queries (a GROUP BY, then the reports it names) rather than every report: the
    instructor view stays cheap however many runs the retention keeps.
    """
    with_code = case((RunReport.diagnoses != "", RunReport.id), else_=None)
    grouped = session.execute(
        select(
            RunReport.account_id,
            RunReport.challenge_id,
            func.count(),
            func.max(with_code),
        ).group_by(RunReport.account_id, RunReport.challenge_id)
    ).all()
    wanted = [int(last) for *_, last in grouped if last is not None]
    codes = {
        int(report_id): diagnoses.split()[-1]
        for report_id, diagnoses in (
            session.execute(
                select(RunReport.id, RunReport.diagnoses).where(RunReport.id.in_(wanted))
            ).all()
            if wanted
            else []
        )
    }
    return {
        (int(account), str(challenge)): RunSummary(
            int(count), codes.get(int(last)) if last is not None else None
        )
        for account, challenge, count, last in grouped
    }
