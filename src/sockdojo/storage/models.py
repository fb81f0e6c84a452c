"""The tables. Every change to them goes through an Alembic migration in `migrations/`."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class UtcDateTime(TypeDecorator[dt.datetime]):
    """Aware UTC datetimes in, aware UTC datetimes out, on SQLite and PostgreSQL alike."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store; use UTC-aware datetimes")
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(
        self, value: dt.datetime | None, dialect: Dialect
    ) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Base(DeclarativeBase):
    pass


class AccountRecord:
    """What a row of an account's history has: its own id, and the account, whose deletion takes
    the row with it."""

    # A mixin's columns would come last; the migrations put these two first.
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True, sort_order=-2)
    account_id: Mapped[int] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), sort_order=-1
    )


class Module(Base):
    __tablename__ = "modules"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    launched_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())


class Account(Base):
    __tablename__ = "accounts"
    # The few accounts the scoreboard leaves out (hidden, admins), found without a scan
    # (migration 0004). The condition is written per dialect, as the migration writes it.
    __table_args__ = (
        Index(
            "ix_accounts_unranked",
            "id",
            sqlite_where=text("is_hidden IS 1 OR is_admin IS 1"),
            postgresql_where=text("is_hidden IS true OR is_admin IS true"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(32))
    # Names are unique regardless of case, so "Alice" cannot impersonate "alice".
    name_key: Mapped[str] = mapped_column(String(32), unique=True)
    password_hash: Mapped[str | None] = mapped_column(String(255), nullable=True)
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    is_hidden: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime(), default=utcnow)


class Solve(AccountRecord, Base):
    __tablename__ = "solves"
    __table_args__ = (
        UniqueConstraint("account_id", "module_id", "challenge_id", name="uq_solve_once"),
        Index("ix_solves_module_time", "module_id", "solved_at"),
        # First blood per challenge by an index seek (migration 0003).
        Index("ix_solves_module_challenge_time", "module_id", "challenge_id", "solved_at"),
    )

    module_id: Mapped[str] = mapped_column(ForeignKey("modules.id"))
    challenge_id: Mapped[str] = mapped_column(String(64))
    solved_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())


class Submission(AccountRecord, Base):
    """Every flag attempt, right or wrong: the audit trail and the input of rate limits."""

    __tablename__ = "submissions"
    __table_args__ = (Index("ix_submissions_account_time", "account_id", "created_at"),)

    module_id: Mapped[str] = mapped_column(String(64))
    challenge_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    submitted: Mapped[str] = mapped_column(String(256))
    verdict: Mapped[str] = mapped_column(String(32))
    source: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime(), default=utcnow)


class BadgeGrant(AccountRecord, Base):
    """A badge an admin awarded by hand; completion and first-blood badges are computed."""

    __tablename__ = "badge_grants"
    __table_args__ = (Index("ix_badge_grants_module_account", "module_id", "account_id"),)

    module_id: Mapped[str] = mapped_column(String(64))
    emoji: Mapped[str] = mapped_column(String(16))
    title: Mapped[str] = mapped_column(String(100))
    granted_by: Mapped[int | None] = mapped_column(
        ForeignKey("accounts.id", ondelete="SET NULL"), nullable=True
    )
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime(), default=utcnow)


class WebSession(Base):
    """A signed-in browser. The cookie holds a random token; only its SHA-256 is stored.

    A row per login lets the server forget a session at logout (a stolen cookie dies with it)
    and gives every login a fresh token, so a session id planted before login is worthless.
    """

    __tablename__ = "web_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    account_id: Mapped[int] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime(), default=utcnow)


class LoginAttempt(Base):
    """Logins and registrations, kept in the database so their limits hold across processes."""

    __tablename__ = "login_attempts"
    __table_args__ = (
        Index("ix_login_attempts_name_client", "name_key", "client", "created_at"),
        Index("ix_login_attempts_client", "client", "created_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(16))  # "login" or "register"
    name_key: Mapped[str] = mapped_column(String(64))
    client: Mapped[str] = mapped_column(String(64))
    succeeded: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime(), default=utcnow)


class ApiToken(Base):
    """A token the CLI (or a script) sends as `Authorization: Bearer`. Only its SHA-256 is
    stored: the token is 256 random bits, so a plain hash is as good as a slow one."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    account_id: Mapped[int] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(64))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime(), default=utcnow)
    last_used_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    expires_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime(), nullable=True)


class DeviceCode(Base):
    """A pending device authorization (RFC 8628): the CLI polls with the device code (only its
    hash is kept), the learner types the user code on the web dojo and approves it."""

    __tablename__ = "device_codes"

    device_code_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_code: Mapped[str] = mapped_column(String(16), unique=True)
    client_host: Mapped[str] = mapped_column(String(64))
    client_platform: Mapped[str] = mapped_column(String(64))
    client_address: Mapped[str] = mapped_column(String(64), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    expires_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    interval: Mapped[int] = mapped_column(Integer)
    last_polled_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    # "pending", "approved", "denied" or "used" (the token was handed out: single use)
    status: Mapped[str] = mapped_column(String(16))
    account_id: Mapped[int | None] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), nullable=True
    )


class FlagMint(AccountRecord, Base):
    """A flag the class server minted for a CLI run: the audit trail and the minting limit."""

    __tablename__ = "flag_mints"
    __table_args__ = (Index("ix_flag_mints_account_time", "account_id", "created_at"),)

    token_id: Mapped[int | None] = mapped_column(
        ForeignKey("api_tokens.id", ondelete="SET NULL"), nullable=True
    )
    challenge_id: Mapped[str] = mapped_column(String(64))
    run_key: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())


class RunReport(AccountRecord, Base):
    """The outcome of one `sockdojo run` on a learner's laptop. Append-only; old ones are
    dropped after the retention period."""

    __tablename__ = "run_reports"
    __table_args__ = (
        Index("ix_run_reports_account_time", "account_id", "created_at"),
        Index("ix_run_reports_time", "created_at"),
    )

    run_key: Mapped[str | None] = mapped_column(String(64), nullable=True)
    challenge_id: Mapped[str] = mapped_column(String(64))
    passed: Mapped[bool] = mapped_column(Boolean)
    # The diagnosis codes the run showed, space-separated (codes are identifiers).
    diagnoses: Mapped[str] = mapped_column(String(512))
    duration_ms: Mapped[int] = mapped_column(Integer)
    version: Mapped[str] = mapped_column(String(32))
    platform: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
