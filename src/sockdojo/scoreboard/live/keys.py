"""Time as integers and the ranking key: the one place where a board position is encoded.

The live scoreboard keeps times as microseconds since 1970 (ints compare and subtract fast, and
fit `array('q')`), and ranks accounts by one int each that sorts like
`(-score, last counted solve, account id)`: the board's order is the keys' natural order.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
MICROSECOND = dt.timedelta(microseconds=1)
DAY_US = 86_400_000_000

# Layout of a key, from the high bits down: (score limit - score), last solve + bias, account.
ACCOUNT_BITS = 32
TIME_BITS = 53
TIME_BIAS = 1 << 52
SCORE_SHIFT = ACCOUNT_BITS + TIME_BITS
SCORE_LIMIT = (1 << 16) - 1
ACCOUNT_MASK = (1 << ACCOUNT_BITS) - 1
TIME_MASK = (1 << TIME_BITS) - 1


def to_us(when: dt.datetime) -> int:
    if when.tzinfo is None:
        raise ValueError("naive datetime given to the scoreboard; use UTC-aware datetimes")
    return (when - EPOCH) // MICROSECOND


def from_us(us: int) -> dt.datetime:
    return EPOCH + dt.timedelta(microseconds=us)


def encode(score: int, last: int, account: int) -> int:
    if not 0 <= account <= ACCOUNT_MASK or not 0 <= last + TIME_BIAS <= TIME_MASK:
        raise ValueError(f"account {account} or time {last} out of the ranking's range")
    return ((SCORE_LIMIT - score) << SCORE_SHIFT) | ((last + TIME_BIAS) << ACCOUNT_BITS) | account


def encode_all(scores: Iterable[int], lasts: Iterable[int], accounts: Iterable[int]) -> list[int]:
    """`encode` of many accounts (the three in step), unchecked: the hot loop of a cold start
    (hundreds of thousands of accounts whose values come straight from the database)."""
    shift, limit, bias, bits = SCORE_SHIFT, SCORE_LIMIT, TIME_BIAS, ACCOUNT_BITS
    return [
        ((limit - score) << shift) | ((last + bias) << bits) | account
        for score, last, account in zip(scores, lasts, accounts, strict=True)
    ]


def decode(key: int) -> tuple[int, int, int]:
    """(score, last counted solve in microseconds, account id)."""
    return (
        SCORE_LIMIT - (key >> SCORE_SHIFT),
        ((key >> ACCOUNT_BITS) & TIME_MASK) - TIME_BIAS,
        key & ACCOUNT_MASK,
    )
