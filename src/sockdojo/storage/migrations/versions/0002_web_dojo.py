"""The web dojo: admin-granted badges, signed-in browsers, login attempts.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from sockdojo.storage.models import UtcDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "badge_grants",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "account_id",
            sa.Integer,
            sa.ForeignKey("accounts.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("module_id", sa.String(64), nullable=False),
        sa.Column("emoji", sa.String(16), nullable=False),
        sa.Column("title", sa.String(100), nullable=False),
        sa.Column(
            "granted_by",
            sa.Integer,
            sa.ForeignKey("accounts.id", ondelete="SET NULL"),
            nullable=True,
        ),
        sa.Column("created_at", UtcDateTime(), nullable=False),
    )
    op.create_index("ix_badge_grants_module_account", "badge_grants", ["module_id", "account_id"])
    op.create_table(
        "web_sessions",
        sa.Column("token_hash", sa.String(64), primary_key=True),
        sa.Column(
            "account_id",
            sa.Integer,
            sa.ForeignKey("accounts.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("created_at", UtcDateTime(), nullable=False),
    )
    op.create_index("ix_web_sessions_account_id", "web_sessions", ["account_id"])
    op.create_table(
        "login_attempts",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("name_key", sa.String(64), nullable=False),
        sa.Column("client", sa.String(64), nullable=False),
        sa.Column("succeeded", sa.Boolean, nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
    )
    op.create_index(
        "ix_login_attempts_name_client", "login_attempts", ["name_key", "client", "created_at"]
    )
    op.create_index("ix_login_attempts_client", "login_attempts", ["client", "created_at"])


def downgrade() -> None:
    op.drop_table("login_attempts")
    op.drop_table("web_sessions")
    op.drop_table("badge_grants")
