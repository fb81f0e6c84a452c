"""Modules, accounts, solves and every submission attempt.

Revision ID: 0001
Revises:
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from sockdojo.storage.models import UtcDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "modules",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("launched_at", UtcDateTime(), nullable=False),
    )
    op.create_table(
        "accounts",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(32), nullable=False),
        sa.Column("name_key", sa.String(32), nullable=False, unique=True),
        sa.Column("password_hash", sa.String(255), nullable=True),
        sa.Column("is_admin", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("is_hidden", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("created_at", UtcDateTime(), nullable=False),
    )
    op.create_table(
        "solves",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "account_id",
            sa.Integer,
            sa.ForeignKey("accounts.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("module_id", sa.String(64), sa.ForeignKey("modules.id"), nullable=False),
        sa.Column("challenge_id", sa.String(64), nullable=False),
        sa.Column("solved_at", UtcDateTime(), nullable=False),
        sa.UniqueConstraint("account_id", "module_id", "challenge_id", name="uq_solve_once"),
    )
    op.create_index("ix_solves_module_time", "solves", ["module_id", "solved_at"])
    op.create_table(
        "submissions",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "account_id",
            sa.Integer,
            sa.ForeignKey("accounts.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("module_id", sa.String(64), nullable=False),
        sa.Column("challenge_id", sa.String(64), nullable=True),
        sa.Column("submitted", sa.String(256), nullable=False),
        sa.Column("verdict", sa.String(32), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
    )
    op.create_index("ix_submissions_account_time", "submissions", ["account_id", "created_at"])


def downgrade() -> None:
    op.drop_table("submissions")
    op.drop_table("solves")
    op.drop_table("accounts")
    op.drop_table("modules")
