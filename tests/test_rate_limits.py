"""The sliding-window arithmetic behind every limit (flags, logins, sign-ups, mints)."""

from __future__ import annotations

import datetime as dt

from sockdojo.rate_limits import retry_after

NOW = dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.UTC)
MINUTE = dt.timedelta(minutes=1)


def ago(seconds: float) -> dt.datetime:
    return NOW - dt.timedelta(seconds=seconds)


def test_under_the_limit_there_is_no_wait() -> None:
    assert retry_after([], 3, MINUTE, NOW) is None
    assert retry_after([ago(1), ago(2)], 3, MINUTE, NOW) is None


def test_at_the_limit_the_wait_ends_when_the_oldest_that_counts_ages_out() -> None:
    # Three of three in the last minute, the oldest 50 s ago: 10 s until only two remain.
    assert retry_after([ago(50), ago(5), ago(1)], 3, MINUTE, NOW) == 10
    # Order does not matter, and attempts beyond the limit push the wait further.
    assert retry_after([ago(1), ago(50), ago(5), ago(30)], 3, MINUTE, NOW) == 30


def test_the_wait_is_never_less_than_a_second() -> None:
    assert retry_after([ago(59.9), ago(2), ago(1)], 3, MINUTE, NOW) == 1
    assert retry_after([ago(120), ago(2), ago(1)], 3, MINUTE, NOW) == 1  # already stale
