"""API tokens: what a logged-in CLI sends as `Authorization: Bearer`.

A token is 256 random bits, shown once to its owner; the store keeps only its SHA-256 (a slow
password hash buys nothing for a value nobody can guess), so a copy of the database opens no
account. Tokens expire, and their owner or an admin can revoke them.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import bindparam, or_, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from sockdojo.storage.models import Account, ApiToken

# A recognisable prefix lets secret scanners (and people) tell a sockdojo token in a paste.
TOKEN_PREFIX = "sdj_"  # noqa: S105 (a prefix, not a secret)
DEFAULT_LIFETIME = dt.timedelta(days=90)
NAME_LIMIT = 64
# `last_used_at` is written at most this often per token: not a write per API request.
LAST_USED_RESOLUTION = dt.timedelta(minutes=1)


def token_hash(token: str) -> str:
    """What is stored of a bearer secret (an API token, a browser session, a device code): its
    SHA-256, so that a copy of the database opens nothing. The secrets are 256-bit random
    strings, so no salt or slow hash is needed."""
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


@dataclass(frozen=True)
class TokenInfo:
    id: int
    account_id: int
    owner: str
    name: str
    created_at: dt.datetime
    last_used_at: dt.datetime | None
    expires_at: dt.datetime
    revoked_at: dt.datetime | None

    def active(self, now: dt.datetime) -> bool:
        return self.revoked_at is None and self.expires_at > now


@dataclass(frozen=True)
class TokenHolder:
    """The account a valid token signs in, and which token it was."""

    token_id: int
    account_id: int
    name: str
    is_admin: bool
    is_hidden: bool
    last_used_at: dt.datetime | None


def create(
    session: Session,
    account_id: int,
    name: str,
    now: dt.datetime,
    lifetime: dt.timedelta = DEFAULT_LIFETIME,
) -> tuple[str, int]:
    """A new token for `account_id`: returns the token (the only copy) and its id."""
    token = new_token()
    row = ApiToken(
        account_id=account_id,
        name=name.strip()[:NAME_LIMIT] or "token",
        token_hash=token_hash(token),
        created_at=now,
        expires_at=now + lifetime,
    )
    session.add(row)
    session.flush()
    return token, row.id


_HOLDER = (
    select(
        ApiToken.id,
        Account.id,
        Account.name,
        Account.is_admin,
        Account.is_hidden,
        ApiToken.last_used_at,
    )
    .join(Account, Account.id == ApiToken.account_id)
    .where(
        ApiToken.token_hash == bindparam("token_hash"),
        ApiToken.revoked_at.is_(None),
        ApiToken.expires_at > bindparam("now", type_=ApiToken.expires_at.type),
    )
)


def holder(db: Connection | Session, token: str, now: dt.datetime) -> TokenHolder | None:
    """Who `token` signs in, or None when it is unknown, revoked or expired."""
    row = db.execute(_HOLDER, {"token_hash": token_hash(token), "now": now}).first()
    return TokenHolder(*row) if row is not None else None


def touch(session: Session, token_id: int, now: dt.datetime) -> None:
    """Note that the token was used (at most once per LAST_USED_RESOLUTION)."""
    session.execute(
        update(ApiToken)
        .where(
            ApiToken.id == token_id,
            or_(
                ApiToken.last_used_at.is_(None),
                ApiToken.last_used_at < now - LAST_USED_RESOLUTION,
            ),
        )
        .values(last_used_at=now)
    )


def listed(session: Session, account_id: int | None = None) -> list[TokenInfo]:
    """The tokens of `account_id` (every account's when None), newest first."""
    query = select(ApiToken, Account.name).join(Account, Account.id == ApiToken.account_id)
    if account_id is not None:
        query = query.where(ApiToken.account_id == account_id)
    return [
        TokenInfo(
            row.id,
            row.account_id,
            owner,
            row.name,
            row.created_at,
            row.last_used_at,
            row.expires_at,
            row.revoked_at,
        )
        for row, owner in session.execute(
            query.order_by(ApiToken.created_at.desc(), ApiToken.id.desc())
        )
    ]


def revoke(session: Session, token_id: int, now: dt.datetime, account_id: int | None) -> bool:
    """Revoke a token (only one of `account_id`'s unless None, for admins). False when there
    was no such live token."""
    query = update(ApiToken).where(ApiToken.id == token_id, ApiToken.revoked_at.is_(None))
    if account_id is not None:
        query = query.where(ApiToken.account_id == account_id)
    result = session.execute(query.values(revoked_at=now))
    return bool(getattr(result, "rowcount", 0))
