"""Class mode: API tokens, device authorizations, minted flags and run reports.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from sockdojo.storage.models import UtcDateTime

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def _account(nullable: bool = False) -> sa.Column[int]:
    return sa.Column(
        "account_id",
        sa.Integer,
        sa.ForeignKey("accounts.id", ondelete="CASCADE"),
        nullable=nullable,
    )


def upgrade() -> None:
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        _account(),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("last_used_at", UtcDateTime(), nullable=True),
        sa.Column("expires_at", UtcDateTime(), nullable=False),
        sa.Column("revoked_at", UtcDateTime(), nullable=True),
    )
    op.create_index("ix_api_tokens_account_id", "api_tokens", ["account_id"])
    op.create_table(
        "device_codes",
        sa.Column("device_code_hash", sa.String(64), primary_key=True),
        sa.Column("user_code", sa.String(16), nullable=False, unique=True),
        sa.Column("client_host", sa.String(64), nullable=False),
        sa.Column("client_platform", sa.String(64), nullable=False),
        sa.Column("client_address", sa.String(64), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("expires_at", UtcDateTime(), nullable=False),
        sa.Column("interval", sa.Integer, nullable=False),
        sa.Column("last_polled_at", UtcDateTime(), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        _account(nullable=True),
    )
    op.create_index("ix_device_codes_client_address", "device_codes", ["client_address"])
    op.create_table(
        "flag_mints",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        _account(),
        sa.Column(
            "token_id",
            sa.Integer,
            sa.ForeignKey("api_tokens.id", ondelete="SET NULL"),
            nullable=True,
        ),
        sa.Column("challenge_id", sa.String(64), nullable=False),
        sa.Column("run_key", sa.String(64), nullable=True),
        sa.Column("created_at", UtcDateTime(), nullable=False),
    )
    op.create_index("ix_flag_mints_account_time", "flag_mints", ["account_id", "created_at"])
    op.create_table(
        "run_reports",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        _account(),
        sa.Column("run_key", sa.String(64), nullable=True),
        sa.Column("challenge_id", sa.String(64), nullable=False),
        sa.Column("passed", sa.Boolean, nullable=False),
        sa.Column("diagnoses", sa.String(512), nullable=False),
        sa.Column("duration_ms", sa.Integer, nullable=False),
        sa.Column("version", sa.String(32), nullable=False),
        sa.Column("platform", sa.String(64), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
    )
    op.create_index("ix_run_reports_account_time", "run_reports", ["account_id", "created_at"])
    op.create_index("ix_run_reports_time", "run_reports", ["created_at"])


def downgrade() -> None:
    op.drop_table("run_reports")
    op.drop_table("flag_mints")
    op.drop_table("device_codes")
    op.drop_table("api_tokens")
