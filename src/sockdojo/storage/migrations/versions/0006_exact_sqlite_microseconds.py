"""SQLite: `solve_totals` in exact microseconds.

Migration 0003's SQLite triggers turned a solve time into microseconds with strftime('%s') of
the whole stored text. SQLite's date functions round a time to the millisecond first, so a
solve in the last half millisecond of a second ('12:00:00.999600') was kept a second late
('12:00:01.999600'): on the all-time board a hacker could lose a tie to one who was later. The
triggers now take the seconds from the first 19 characters only, and every total is computed
again. PostgreSQL's EXTRACT(EPOCH ...) was exact: nothing changes there.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01
"""

# The SQL below is built from constants only (no input), hence:
# ruff: noqa: S608

from __future__ import annotations

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

# Microseconds since 1970 of a UtcDateTime column as SQLite stores it ('YYYY-MM-DD
# HH:MM:SS.ffffff'): exact from here on, and as 0003 had it (for the downgrade).
EXACT_US = (
    "(CAST(strftime('%s', substr({0}, 1, 19)) AS INTEGER) * 1000000"
    " + CAST(substr({0}, 21, 6) AS INTEGER))"
)
ROUNDED_US = (
    "(CAST(strftime('%s', {0}) AS INTEGER) * 1000000 + CAST(substr({0}, 21, 6) AS INTEGER))"
)

BUMP = "UPDATE scoreboard_version SET version = version + 1;"
SOLVE_TRIGGERS = (
    "scoreboard_solve_inserted",
    "scoreboard_solve_deleted",
    "scoreboard_solve_updated",
)


def _refresh(row: str, us: str) -> str:
    """Statements recomputing one (module, account) total from `solves` (row: OLD or NEW)."""
    return (
        f"DELETE FROM solve_totals WHERE module_id = {row}.module_id"
        f" AND account_id = {row}.account_id;"
        " INSERT INTO solve_totals (module_id, account_id, solves, first_us, last_us)"
        f" SELECT module_id, account_id, count(*), min({us}), max({us}) FROM solves"
        f" WHERE module_id = {row}.module_id AND account_id = {row}.account_id"
        f" AND EXISTS (SELECT 1 FROM accounts WHERE id = {row}.account_id)"
        " GROUP BY module_id, account_id;"
    )


def _solve_triggers(template: str) -> list[str]:
    """0003's three triggers on `solves`, with `template` turning a time into microseconds."""
    new, total = template.format("NEW.solved_at"), template.format("solved_at")
    return [
        "CREATE TRIGGER scoreboard_solve_inserted AFTER INSERT ON solves BEGIN"
        " INSERT INTO solve_totals (module_id, account_id, solves, first_us, last_us)"
        f" VALUES (NEW.module_id, NEW.account_id, 1, {new}, {new})"
        " ON CONFLICT (module_id, account_id) DO UPDATE SET solves = solves + 1,"
        " first_us = min(first_us, excluded.first_us),"
        " last_us = max(last_us, excluded.last_us); END",
        f"CREATE TRIGGER scoreboard_solve_deleted AFTER DELETE ON solves BEGIN {BUMP}"
        f" {_refresh('OLD', total)} END",
        f"CREATE TRIGGER scoreboard_solve_updated AFTER UPDATE ON solves BEGIN {BUMP}"
        f" {_refresh('OLD', total)} {_refresh('NEW', total)} END",
    ]


def _rebuild(template: str) -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    for trigger in SOLVE_TRIGGERS:
        op.execute(f"DROP TRIGGER {trigger}")
    for statement in _solve_triggers(template):
        op.execute(statement)
    total = template.format("solved_at")
    op.execute("DELETE FROM solve_totals")
    op.execute(
        "INSERT INTO solve_totals (module_id, account_id, solves, first_us, last_us)"
        f" SELECT module_id, account_id, count(*), min({total}), max({total}) FROM solves"
        " WHERE account_id IN (SELECT id FROM accounts) GROUP BY module_id, account_id"
    )


def upgrade() -> None:
    _rebuild(EXACT_US)


def downgrade() -> None:
    _rebuild(ROUNDED_US)
