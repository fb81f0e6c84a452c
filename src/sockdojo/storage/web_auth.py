"""Signed-in browsers, login attempts and recent flag attempts, for the web dojo.

They live in the database rather than in a process's memory so that a logout, and the limits on
password and flag guessing, hold across several server processes and restarts.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from typing import NamedTuple

from sqlalchemy import bindparam, delete, func, select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from sockdojo.storage.models import Account, LoginAttempt, Submission, WebSession

NAME_KEY_LIMIT = 64
CLIENT_LIMIT = 64


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def open_session(session: Session, account_id: int, now: dt.datetime) -> str:
    """Start a web session and return its token (the only copy: we keep just its hash)."""
    token = secrets.token_urlsafe(32)
    session.add(WebSession(token_hash=_token_hash(token), account_id=account_id, created_at=now))
    return token


class SignedIn(NamedTuple):
    account_id: int
    name: str
    is_admin: bool
    is_hidden: bool


# Core rather than the ORM: this runs on every signed-in request, and loading an Account
# object cost four times the query itself.
_SIGNED_IN = (
    select(Account.id, Account.name, Account.is_admin, Account.is_hidden)
    .join(WebSession, WebSession.account_id == Account.id)
    .where(
        WebSession.token_hash == bindparam("token_hash"),
        WebSession.created_at > bindparam("since", type_=WebSession.created_at.type),
    )
)


def signed_in_account(
    db: Connection | Session, token: str, now: dt.datetime, lifetime: dt.timedelta
) -> SignedIn | None:
    """The account a token signs in, or None when it is unknown, logged out or too old."""
    row = db.execute(
        _SIGNED_IN, {"token_hash": _token_hash(token), "since": now - lifetime}
    ).first()
    return SignedIn(*row) if row is not None else None


def close_session(session: Session, token: str) -> None:
    session.execute(delete(WebSession).where(WebSession.token_hash == _token_hash(token)))


def close_expired(session: Session, now: dt.datetime, lifetime: dt.timedelta) -> None:
    session.execute(delete(WebSession).where(WebSession.created_at <= now - lifetime))


def record_attempt(
    session: Session, *, kind: str, name: str, client: str, succeeded: bool, now: dt.datetime
) -> None:
    session.add(
        LoginAttempt(
            kind=kind,
            name_key=name.lower()[:NAME_KEY_LIMIT],
            client=client[:CLIENT_LIMIT],
            succeeded=succeeded,
            created_at=now,
        )
    )


def forget_attempts(session: Session, before: dt.datetime) -> None:
    """Drop login and registration attempts older than `before`: limits no longer need them."""
    session.execute(delete(LoginAttempt).where(LoginAttempt.created_at < before))


def failures_since(
    session: Session, *, kind: str, since: dt.datetime, client: str, name: str | None = None
) -> list[dt.datetime]:
    """When the failed attempts from `client` (for `name`, if given) since `since` happened."""
    query = select(LoginAttempt.created_at).where(
        LoginAttempt.kind == kind,
        LoginAttempt.client == client[:CLIENT_LIMIT],
        LoginAttempt.succeeded.is_(False),
        LoginAttempt.created_at > since,
    )
    if name is not None:
        query = query.where(LoginAttempt.name_key == name.lower()[:NAME_KEY_LIMIT])
    return list(session.scalars(query.order_by(LoginAttempt.created_at)))


def attempts_since(session: Session, *, kind: str, since: dt.datetime, client: str) -> int:
    """How many attempts of `kind` (failed or not) came from `client` since `since`."""
    return int(
        session.scalar(
            select(func.count()).where(
                LoginAttempt.kind == kind,
                LoginAttempt.client == client[:CLIENT_LIMIT],
                LoginAttempt.created_at > since,
            )
        )
        or 0
    )


def recent_submissions(session: Session, account_id: int, limit: int) -> list[Submission]:
    return list(
        session.scalars(
            select(Submission)
            .where(Submission.account_id == account_id)
            .order_by(Submission.created_at.desc(), Submission.id.desc())
            .limit(limit)
        )
    )
