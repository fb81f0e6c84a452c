"""What the live scoreboard needs from the database (`sockdojo.scoreboard.live`).

* `scoreboard_version`: one counter that triggers bump on every change that is not a new solve
  and changes a board: an account hidden, unhidden, made admin or renamed, an account or a solve
  deleted or edited, a module added or its launch date moved, a badge granted or revoked. Every
  web process reads it with each catch-up and reloads when it moved, whoever made the change
  (the web dojo, the CLI, or SQL typed by hand).
* `solve_totals`: per module and account, how many solves and the first and last solve time in
  microseconds since 1970, kept by triggers on `solves`. A process starting up reads these
  500,000 rows instead of aggregating millions of solves.
* `ix_solves_module_challenge_time`: first blood per challenge by an index seek, and the list of
  a module's solved challenges by a loose index scan.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27
"""

# The SQL below is built from constants only (no input), hence:
# ruff: noqa: S608

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

# Microseconds since 1970 of a UtcDateTime column, as each database stores it.
SQLITE_US = "(CAST(strftime('%s', {0}) AS INTEGER) * 1000000 + CAST(substr({0}, 21, 6) AS INTEGER))"
POSTGRES_US = "CAST(EXTRACT(EPOCH FROM {0}) * 1000000 AS BIGINT)"

EVENTS = (("INSERT", "inserted"), ("UPDATE", "updated"), ("DELETE", "deleted"))
BUMP = "UPDATE scoreboard_version SET version = version + 1;"


def _sqlite_refresh(row: str) -> str:
    """Statements recomputing one (module, account) total from `solves` (row: OLD or NEW)."""
    us = SQLITE_US.format("solved_at")
    return (
        f"DELETE FROM solve_totals WHERE module_id = {row}.module_id"
        f" AND account_id = {row}.account_id;"
        " INSERT INTO solve_totals (module_id, account_id, solves, first_us, last_us)"
        f" SELECT module_id, account_id, count(*), min({us}), max({us}) FROM solves"
        f" WHERE module_id = {row}.module_id AND account_id = {row}.account_id"
        f" AND EXISTS (SELECT 1 FROM accounts WHERE id = {row}.account_id)"
        " GROUP BY module_id, account_id;"
    )


def _sqlite_upgrade() -> list[str]:
    us = SQLITE_US.format("NEW.solved_at")
    return [
        "CREATE TRIGGER scoreboard_solve_inserted AFTER INSERT ON solves BEGIN"
        " INSERT INTO solve_totals (module_id, account_id, solves, first_us, last_us)"
        f" VALUES (NEW.module_id, NEW.account_id, 1, {us}, {us})"
        " ON CONFLICT (module_id, account_id) DO UPDATE SET solves = solves + 1,"
        " first_us = min(first_us, excluded.first_us),"
        " last_us = max(last_us, excluded.last_us); END",
        f"CREATE TRIGGER scoreboard_solve_deleted AFTER DELETE ON solves BEGIN {BUMP}"
        f" {_sqlite_refresh('OLD')} END",
        f"CREATE TRIGGER scoreboard_solve_updated AFTER UPDATE ON solves BEGIN {BUMP}"
        f" {_sqlite_refresh('OLD')} {_sqlite_refresh('NEW')} END",
        "CREATE TRIGGER scoreboard_account_changed AFTER UPDATE ON accounts"
        " WHEN OLD.is_hidden IS NOT NEW.is_hidden OR OLD.is_admin IS NOT NEW.is_admin"
        f" OR OLD.name IS NOT NEW.name OR OLD.id IS NOT NEW.id BEGIN {BUMP} END",
        f"CREATE TRIGGER scoreboard_account_deleted AFTER DELETE ON accounts BEGIN {BUMP}"
        " DELETE FROM solve_totals WHERE account_id = OLD.id; END",
        *(
            f"CREATE TRIGGER scoreboard_{table}_{done} AFTER {event} ON {table} BEGIN {BUMP} END"
            for table in ("modules", "badge_grants")
            for event, done in EVENTS
        ),
    ]


def _postgres_upgrade() -> list[str]:
    us = POSTGRES_US.format("NEW.solved_at")
    total_us = POSTGRES_US.format("solved_at")
    return [
        "CREATE FUNCTION scoreboard_bump() RETURNS trigger LANGUAGE plpgsql AS $$"
        f" BEGIN {BUMP} RETURN NULL; END $$",
        "CREATE FUNCTION scoreboard_refresh(module VARCHAR, account INTEGER) RETURNS void"
        " LANGUAGE plpgsql AS $$ BEGIN"
        " DELETE FROM solve_totals WHERE module_id = module AND account_id = account;"
        " INSERT INTO solve_totals (module_id, account_id, solves, first_us, last_us)"
        f" SELECT module_id, account_id, count(*), min({total_us}), max({total_us})"
        " FROM solves WHERE module_id = module AND account_id = account"
        " AND EXISTS (SELECT 1 FROM accounts WHERE id = account)"
        " GROUP BY module_id, account_id; END $$",
        "CREATE FUNCTION scoreboard_solve_inserted() RETURNS trigger LANGUAGE plpgsql AS $$"
        " BEGIN INSERT INTO solve_totals AS t (module_id, account_id, solves, first_us, last_us)"
        f" VALUES (NEW.module_id, NEW.account_id, 1, {us}, {us})"
        " ON CONFLICT (module_id, account_id) DO UPDATE SET solves = t.solves + 1,"
        " first_us = LEAST(t.first_us, EXCLUDED.first_us),"
        " last_us = GREATEST(t.last_us, EXCLUDED.last_us); RETURN NULL; END $$",
        "CREATE FUNCTION scoreboard_solve_changed() RETURNS trigger LANGUAGE plpgsql AS $$"
        f" BEGIN {BUMP} PERFORM scoreboard_refresh(OLD.module_id, OLD.account_id);"
        " IF TG_OP = 'UPDATE' THEN PERFORM scoreboard_refresh(NEW.module_id, NEW.account_id);"
        " END IF; RETURN NULL; END $$",
        "CREATE FUNCTION scoreboard_account_deleted() RETURNS trigger LANGUAGE plpgsql AS $$"
        f" BEGIN {BUMP} DELETE FROM solve_totals WHERE account_id = OLD.id; RETURN NULL; END $$",
        "CREATE TRIGGER scoreboard_solve_inserted AFTER INSERT ON solves"
        " FOR EACH ROW EXECUTE FUNCTION scoreboard_solve_inserted()",
        "CREATE TRIGGER scoreboard_solve_changed AFTER UPDATE OR DELETE ON solves"
        " FOR EACH ROW EXECUTE FUNCTION scoreboard_solve_changed()",
        "CREATE TRIGGER scoreboard_account_changed AFTER UPDATE ON accounts FOR EACH ROW"
        " WHEN (OLD.is_hidden IS DISTINCT FROM NEW.is_hidden"
        " OR OLD.is_admin IS DISTINCT FROM NEW.is_admin OR OLD.name IS DISTINCT FROM NEW.name"
        " OR OLD.id IS DISTINCT FROM NEW.id) EXECUTE FUNCTION scoreboard_bump()",
        "CREATE TRIGGER scoreboard_account_deleted AFTER DELETE ON accounts"
        " FOR EACH ROW EXECUTE FUNCTION scoreboard_account_deleted()",
        *(
            f"CREATE TRIGGER scoreboard_{table}_changed AFTER INSERT OR UPDATE OR DELETE"
            f" ON {table} FOR EACH ROW EXECUTE FUNCTION scoreboard_bump()"
            for table in ("modules", "badge_grants")
        ),
    ]


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    op.create_table(
        "scoreboard_version",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("version", sa.BigInteger, nullable=False),
        sa.CheckConstraint("id = 1", name="ck_scoreboard_version_one_row"),
    )
    op.execute("INSERT INTO scoreboard_version (id, version) VALUES (1, 0)")
    op.create_table(
        "solve_totals",
        sa.Column("module_id", sa.String(64), primary_key=True),
        sa.Column("account_id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("solves", sa.Integer, nullable=False),
        sa.Column("first_us", sa.BigInteger, nullable=False),
        sa.Column("last_us", sa.BigInteger, nullable=False),
    )
    us = (POSTGRES_US if postgres else SQLITE_US).format("solved_at")
    op.execute(
        "INSERT INTO solve_totals (module_id, account_id, solves, first_us, last_us)"
        f" SELECT module_id, account_id, count(*), min({us}), max({us}) FROM solves"
        " GROUP BY module_id, account_id"
    )
    op.create_index(
        "ix_solves_module_challenge_time", "solves", ["module_id", "challenge_id", "solved_at"]
    )
    for statement in _postgres_upgrade() if postgres else _sqlite_upgrade():
        op.execute(statement)


def downgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    if postgres:
        for trigger, table in (
            ("scoreboard_solve_inserted", "solves"),
            ("scoreboard_solve_changed", "solves"),
            ("scoreboard_account_changed", "accounts"),
            ("scoreboard_account_deleted", "accounts"),
            ("scoreboard_modules_changed", "modules"),
            ("scoreboard_badge_grants_changed", "badge_grants"),
        ):
            op.execute(f"DROP TRIGGER {trigger} ON {table}")
        for function in (
            "scoreboard_bump()",
            "scoreboard_refresh(VARCHAR, INTEGER)",
            "scoreboard_solve_inserted()",
            "scoreboard_solve_changed()",
            "scoreboard_account_deleted()",
        ):
            op.execute(f"DROP FUNCTION {function}")
    else:
        for trigger in (
            "scoreboard_solve_inserted",
            "scoreboard_solve_deleted",
            "scoreboard_solve_updated",
            "scoreboard_account_changed",
            "scoreboard_account_deleted",
            *(
                f"scoreboard_{table}_{done}"
                for table in ("modules", "badge_grants")
                for _, done in EVENTS
            ),
        ):
            op.execute(f"DROP TRIGGER {trigger}")
    op.drop_index("ix_solves_module_challenge_time", table_name="solves")
    op.drop_table("solve_totals")
    op.drop_table("scoreboard_version")
