"""Per-challenge solve counts for the module page, kept by triggers.

* `challenge_solves`: per module and challenge, how many solves exist (of anyone, at any time),
  kept by triggers on `solves`. The module page shows, per challenge, how many ranked accounts
  solved it since launch: this total minus the solves before launch, after now, and of hidden
  or admin accounts, which are small index ranges. The GROUP BY over every solve it replaces
  took 9.5 s at 2,000,000 solves on SQLite. The counts are split into 16 shards by account: on
  PostgreSQL one row per challenge would be locked by every solve of it until commit, queueing
  concurrent submissions behind each other's disk flush (155 instead of 230 solves/s).
* `ix_accounts_unranked`: a partial index of the hidden and admin accounts (a handful), so that
  their solves are found without reading every account. Its condition is written exactly as
  `sockdojo.scoreboard.counted_solves` queries it: both databases use a partial index only for a
  query whose condition implies the index's.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27
"""

# The SQL below is built from constants only (no input), hence:
# ruff: noqa: S608

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

SHARDS = 16

UNRANKED = {
    "sqlite": "is_hidden IS 1 OR is_admin IS 1",
    "postgresql": "is_hidden IS true OR is_admin IS true",
}

_SQLITE_ADD = (
    "INSERT INTO challenge_solves (module_id, challenge_id, shard, solves)"
    f" VALUES ({{row}}.module_id, {{row}}.challenge_id, {{row}}.account_id % {SHARDS}, 1)"
    " ON CONFLICT (module_id, challenge_id, shard) DO UPDATE SET solves = solves + 1;"
)
_SQLITE_REMOVE = (
    "UPDATE challenge_solves SET solves = solves - 1"
    " WHERE module_id = {row}.module_id AND challenge_id = {row}.challenge_id"
    f" AND shard = {{row}}.account_id % {SHARDS};"
)
SQLITE_TRIGGERS = (
    "CREATE TRIGGER challenge_solves_inserted AFTER INSERT ON solves BEGIN "
    + _SQLITE_ADD.format(row="NEW")
    + " END",
    "CREATE TRIGGER challenge_solves_deleted AFTER DELETE ON solves BEGIN "
    + _SQLITE_REMOVE.format(row="OLD")
    + " END",
    "CREATE TRIGGER challenge_solves_updated AFTER UPDATE ON solves"
    " WHEN OLD.module_id IS NOT NEW.module_id OR OLD.challenge_id IS NOT NEW.challenge_id"
    " OR OLD.account_id IS NOT NEW.account_id BEGIN "
    + _SQLITE_REMOVE.format(row="OLD")
    + " "
    + _SQLITE_ADD.format(row="NEW")
    + " END",
)

POSTGRES_TRIGGERS = (
    "CREATE FUNCTION challenge_solves_changed() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
    " IF TG_OP IN ('UPDATE', 'DELETE') THEN"
    " UPDATE challenge_solves SET solves = solves - 1"
    " WHERE module_id = OLD.module_id AND challenge_id = OLD.challenge_id"
    f" AND shard = OLD.account_id % {SHARDS}; END IF;"
    " IF TG_OP IN ('UPDATE', 'INSERT') THEN"
    " INSERT INTO challenge_solves AS t (module_id, challenge_id, shard, solves)"
    f" VALUES (NEW.module_id, NEW.challenge_id, NEW.account_id % {SHARDS}, 1)"
    " ON CONFLICT (module_id, challenge_id, shard) DO UPDATE SET solves = t.solves + 1;"
    " END IF;"
    " RETURN NULL; END $$",
    "CREATE TRIGGER challenge_solves_inserted AFTER INSERT OR DELETE ON solves"
    " FOR EACH ROW EXECUTE FUNCTION challenge_solves_changed()",
    "CREATE TRIGGER challenge_solves_moved AFTER UPDATE ON solves FOR EACH ROW"
    " WHEN (OLD.module_id IS DISTINCT FROM NEW.module_id"
    " OR OLD.challenge_id IS DISTINCT FROM NEW.challenge_id"
    " OR OLD.account_id IS DISTINCT FROM NEW.account_id)"
    " EXECUTE FUNCTION challenge_solves_changed()",
)


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    op.create_table(
        "challenge_solves",
        sa.Column("module_id", sa.String(64), primary_key=True),
        sa.Column("challenge_id", sa.String(64), primary_key=True),
        sa.Column("shard", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("solves", sa.Integer, nullable=False),
    )
    if dialect == "postgresql":
        # Another process may be taking solves while this one migrates: hold them off until the
        # triggers exist, or a solve committed between the copy and the triggers would be
        # counted by neither (SQLite's one writer is this migration already).
        op.execute("LOCK TABLE solves IN SHARE ROW EXCLUSIVE MODE")
    op.execute(
        "INSERT INTO challenge_solves (module_id, challenge_id, shard, solves)"
        f" SELECT module_id, challenge_id, account_id % {SHARDS}, count(*) FROM solves"
        f" GROUP BY module_id, challenge_id, account_id % {SHARDS}"
    )
    op.create_index(
        "ix_accounts_unranked",
        "accounts",
        ["id"],
        sqlite_where=sa.text(UNRANKED["sqlite"]),
        postgresql_where=sa.text(UNRANKED["postgresql"]),
    )
    for statement in POSTGRES_TRIGGERS if dialect == "postgresql" else SQLITE_TRIGGERS:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER challenge_solves_inserted ON solves")
        op.execute("DROP TRIGGER challenge_solves_moved ON solves")
        op.execute("DROP FUNCTION challenge_solves_changed()")
    else:
        for trigger in ("inserted", "deleted", "updated"):
            op.execute(f"DROP TRIGGER challenge_solves_{trigger}")
    op.drop_index("ix_accounts_unranked", table_name="accounts")
    op.drop_table("challenge_solves")
