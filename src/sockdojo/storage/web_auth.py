"""Signed-in browsers, login attempts and recent flag attempts, for the web dojo.

They live in the database rather than in a process's memory so that a logout, and the limits on
password and flag guessing, hold across several server processes and restarts.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Sequence
from typing import Literal, NamedTuple

from sqlalchemy import bindparam, delete, insert, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from sockdojo.rate_limits import retry_after
from sockdojo.storage.database import Store
from sockdojo.storage.locks import one_at_a_time
from sockdojo.storage.models import Account, LoginAttempt, WebSession
from sockdojo.storage.tokens import token_hash

NAME_KEY_LIMIT = 64
CLIENT_LIMIT = 64


def open_session(session: Session, account_id: int, now: dt.datetime) -> str:
    """Start a web session and return its token (the only copy: we keep just its hash)."""
    token = secrets.token_urlsafe(32)
    session.add(WebSession(token_hash=token_hash(token), account_id=account_id, created_at=now))
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
    row = db.execute(_SIGNED_IN, {"token_hash": token_hash(token), "since": now - lifetime}).first()
    return SignedIn(*row) if row is not None else None


def close_session(session: Session, token: str) -> None:
    session.execute(delete(WebSession).where(WebSession.token_hash == token_hash(token)))


def close_expired(session: Session, now: dt.datetime, lifetime: dt.timedelta) -> None:
    session.execute(delete(WebSession).where(WebSession.created_at <= now - lifetime))


class AttemptRule(NamedTuple):
    """At most `limit` attempts of a kind from one client (and for one name, if `per_name`)
    in `period`; only the failed ones count if `failures_only`."""

    limit: int
    period: dt.timedelta
    per_name: bool = False
    failures_only: bool = False


class TooManyAttempts(Exception):
    def __init__(self, retry_after: int) -> None:
        super().__init__(f"too many attempts: retry after {retry_after} s")
        self.retry_after = retry_after


def _name_key(name: str) -> str:
    # NUL is not text to PostgreSQL: a name carrying one must still be counted, not a 500.
    return name.lower()[:NAME_KEY_LIMIT].replace("\x00", "\ufffd")


def _client_key(client: str) -> str:
    return client[:CLIENT_LIMIT].replace("\x00", "\ufffd")


# What a login attempt row is for (`LoginAttempt.kind`): each has its own limits.
AttemptKind = Literal["login", "register"]


def reserve_attempt(
    store: Store,
    *,
    kind: AttemptKind,
    name: str,
    client: str,
    now: dt.datetime,
    rules: Sequence[AttemptRule],
) -> int:
    """Record an attempt as failed before its slow check (a password hash), if the rules allow
    one more; returns its id, for `settle_attempt`. Raises TooManyAttempts otherwise.

    Counting and recording happen atomically across threads and processes (`one_at_a_time`
    per client and kind), so a burst of 40
    parallel attempts gets exactly as many checks as the limit allows; an attempt still being
    checked counts as a failure until it is settled.
    """
    client = _client_key(client)
    name_key = _name_key(name)
    with one_at_a_time(store, f"attempts {kind} {client}") as db:
        wait = 0
        for rule in rules:
            query = select(LoginAttempt.created_at).where(
                LoginAttempt.kind == kind,
                LoginAttempt.client == client,
                LoginAttempt.created_at > now - rule.period,
            )
            if rule.per_name:
                query = query.where(LoginAttempt.name_key == name_key)
            if rule.failures_only:
                query = query.where(LoginAttempt.succeeded.is_(False))
            times = list(db.scalars(query))
            wait = max(wait, retry_after(times, rule.limit, rule.period, now) or 0)
        if wait:
            raise TooManyAttempts(wait)
        return int(
            db.execute(
                insert(LoginAttempt).returning(LoginAttempt.id),
                {
                    "kind": kind,
                    "name_key": name_key,
                    "client": client,
                    "succeeded": False,
                    "created_at": now,
                },
            ).scalar_one()
        )


def settle_attempt(store: Store, attempt_id: int, *, succeeded: bool) -> None:
    if succeeded:
        with store.engine.begin() as db:
            db.execute(
                update(LoginAttempt).where(LoginAttempt.id == attempt_id).values(succeeded=True)
            )


def cancel_attempt(store: Store, attempt_id: int) -> None:
    """Forget a reserved attempt that was never checked (the server was too busy)."""
    with store.engine.begin() as db:
        db.execute(delete(LoginAttempt).where(LoginAttempt.id == attempt_id))


def forget_attempts(session: Session, before: dt.datetime) -> None:
    """Drop login and registration attempts older than `before`: limits no longer need them."""
    session.execute(delete(LoginAttempt).where(LoginAttempt.created_at < before))
