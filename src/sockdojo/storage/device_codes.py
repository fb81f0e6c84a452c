"""Device authorizations (RFC 8628): how `sockdojo login URL` gets a token.

The CLI asks for a code pair; the learner types the short user code on the web dojo while
signed in and approves it; the CLI, polling with the long device code, then receives a new API
token, once. Only the device code's hash is stored, and no token is stored before it is handed
out: the token is made by the poll that finds the approval, in the same transaction that marks
the code used.
"""

from __future__ import annotations

import datetime as dt
import enum
import secrets
from dataclasses import dataclass

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from sockdojo.storage import tokens
from sockdojo.storage.models import DeviceCode

LIFETIME = dt.timedelta(minutes=10)
# The lifetime as the pages and the API's errors say it.
LIFETIME_WORDS = f"{int(LIFETIME.total_seconds()) // 60} minutes"
INTERVAL = 5  # seconds between polls, as RFC 8628 suggests
SLOW_DOWN_STEP = 5  # seconds added to the interval for each poll that came too soon
# RFC 8628 section 6.1: consonants only (no vowels, so no words; no 0/O, 1/I confusion),
# 8 characters shown as XXXX-XXXX: 20^8 = 2.6e10 codes, typed case-insensitively.
USER_CODE_ALPHABET = "BCDFGHJKLMNPQRSTVWXZ"
USER_CODE_LENGTH = 8
FIELD_LIMIT = 64


class Poll(enum.Enum):
    PENDING = "authorization_pending"
    SLOW_DOWN = "slow_down"
    EXPIRED = "expired_token"
    DENIED = "access_denied"
    INVALID = "invalid_grant"  # unknown, or already used
    GRANTED = "granted"


@dataclass(frozen=True)
class PollResult:
    outcome: Poll
    token: str | None = None
    account_id: int | None = None
    expires_at: dt.datetime | None = None


@dataclass(frozen=True)
class PendingDevice:
    user_code: str
    client_host: str
    client_platform: str
    created_at: dt.datetime
    expires_at: dt.datetime


def normalise_user_code(typed: str) -> str:
    """What the learner typed, as stored: upper case, dashes and spaces dropped."""
    return "".join(ch for ch in typed.upper() if ch.isalnum())[: USER_CODE_LENGTH * 2]


def shown_user_code(code: str) -> str:
    half = len(code) // 2
    return f"{code[:half]}-{code[half:]}"


def start(
    session: Session,
    *,
    client_host: str,
    client_platform: str,
    client_address: str,
    now: dt.datetime,
) -> tuple[str, str]:
    """A new device authorization: returns (device_code, user_code)."""
    session.execute(delete(DeviceCode).where(DeviceCode.expires_at < now - LIFETIME))
    device_code = secrets.token_urlsafe(32)
    user_code = "".join(secrets.choice(USER_CODE_ALPHABET) for _ in range(USER_CODE_LENGTH))
    session.add(
        DeviceCode(
            device_code_hash=tokens.token_hash(device_code),
            user_code=user_code,
            client_host=client_host[:FIELD_LIMIT],
            client_platform=client_platform[:FIELD_LIMIT],
            client_address=client_address[:FIELD_LIMIT],
            created_at=now,
            expires_at=now + LIFETIME,
            interval=INTERVAL,
            status="pending",
        )
    )
    return device_code, user_code


def started_since(session: Session, client_address: str, since: dt.datetime) -> int:
    return int(
        session.scalar(
            select(func.count()).where(
                DeviceCode.client_address == client_address[:FIELD_LIMIT],
                DeviceCode.created_at > since,
            )
        )
        or 0
    )


def pending(session: Session, typed_code: str, now: dt.datetime) -> PendingDevice | None:
    """The live, undecided authorization with this user code, if any."""
    row = session.scalar(
        select(DeviceCode).where(
            DeviceCode.user_code == normalise_user_code(typed_code),
            DeviceCode.status == "pending",
            DeviceCode.expires_at > now,
        )
    )
    if row is None:
        return None
    return PendingDevice(
        row.user_code, row.client_host, row.client_platform, row.created_at, row.expires_at
    )


def decide(
    session: Session, typed_code: str, account_id: int, approve: bool, now: dt.datetime
) -> bool:
    """Approve (for `account_id`) or deny a pending code. False when it is not pending."""
    result = session.execute(
        update(DeviceCode)
        .where(
            DeviceCode.user_code == normalise_user_code(typed_code),
            DeviceCode.status == "pending",
            DeviceCode.expires_at > now,
        )
        .values(status="approved" if approve else "denied", account_id=account_id)
    )
    return bool(getattr(result, "rowcount", 0))


def poll(
    session: Session, device_code: str, now: dt.datetime, token_lifetime: dt.timedelta
) -> PollResult:
    """One poll of the CLI (RFC 8628 section 3.5)."""
    row = session.get(DeviceCode, tokens.token_hash(device_code), with_for_update=True)
    if row is None or row.status == "used":
        return PollResult(Poll.INVALID)
    if row.expires_at <= now:
        return PollResult(Poll.EXPIRED)
    if row.status == "denied":
        return PollResult(Poll.DENIED)
    if row.status == "approved" and row.account_id is not None:
        # Only the poll that flips the status hands out the token: single use.
        flipped = session.execute(
            update(DeviceCode)
            .where(
                DeviceCode.device_code_hash == row.device_code_hash, DeviceCode.status == "approved"
            )
            .values(status="used")
        )
        if not getattr(flipped, "rowcount", 0):
            return PollResult(Poll.INVALID)
        name = f"sockdojo login from {row.client_host}"[: tokens.NAME_LIMIT]
        token, _ = tokens.create(session, row.account_id, name, now, token_lifetime)
        return PollResult(Poll.GRANTED, token, row.account_id, now + token_lifetime)
    too_soon = row.last_polled_at is not None and (now - row.last_polled_at) < dt.timedelta(
        seconds=row.interval
    )
    row.last_polled_at = now
    if too_soon:
        row.interval += SLOW_DOWN_STEP
        return PollResult(Poll.SLOW_DOWN)
    return PollResult(Poll.PENDING)
