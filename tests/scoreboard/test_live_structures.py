"""The live scoreboard's pure parts on plain arrays: the key, the moving window, the watermark's
load. No database: each is checked against a brute-force count over the same solves."""

from __future__ import annotations

from array import array

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sockdojo.scoreboard.live.keys import DAY_US, decode, encode, encode_all
from sockdojo.scoreboard.live.ranking import UNKNOWN, Base, Log, Window
from sockdojo.scoreboard.live.watermark import TRAILING_IDS, Watermark

ACCOUNTS = st.integers(min_value=0, max_value=5)
# Times in hours around a day count of 10, so that 1- and 7-day windows both have edges to cross.
HOURS = st.integers(min_value=0, max_value=24 * 12)
# Solves on the hour too (after the floor, at 0): window edges land exactly on them.
SOLVE_HOURS = st.integers(min_value=1, max_value=24 * 12)
HOUR_US = DAY_US // 24


@given(
    st.lists(
        st.tuples(st.integers(0, 1000), st.integers(-(10**15), 10**15), st.integers(0, 2**32 - 1)),
        min_size=1,
        max_size=30,
    )
)
def test_keys_sort_like_score_down_then_last_solve_then_account(
    entries: list[tuple[int, int, int]],
) -> None:
    keys = encode_all(*zip(*entries, strict=True))
    assert keys == [encode(*entry) for entry in entries]
    assert [decode(key) for key in keys] == entries
    by_rule = sorted(entries, key=lambda e: (-e[0], e[1], e[2]))
    assert [decode(key) for key in sorted(keys)] == by_rule


def test_a_key_out_of_range_is_refused() -> None:
    with pytest.raises(ValueError, match="out of the ranking's range"):
        encode(1, 0, 2**32)


def brute_force(
    solves: list[tuple[int, int]], base: dict[int, tuple[int, int]], days: int, at: int
) -> list[tuple[int, int, int]]:
    """(score, last, account) of each account in the window, in board order."""
    seen: dict[int, list[int]] = {}
    for when, account in solves:
        if when <= at and (days == 0 or when > at - days * DAY_US):
            seen.setdefault(account, []).append(when)
    rows = []
    for account in set(seen) | (set(base) if days == 0 else set()):
        mine = sorted(seen.get(account, []))
        count, last = base.get(account, (0, 0)) if days == 0 else (0, 0)
        if mine or count:
            rows.append((count + len(mine), mine[-1] if mine else last, account))
    return sorted(rows, key=lambda row: (-row[0], row[1], row[2]))


@settings(max_examples=200, deadline=None)
@given(
    solves=st.lists(st.tuples(SOLVE_HOURS, ACCOUNTS), max_size=25),
    later=st.lists(st.tuples(SOLVE_HOURS, ACCOUNTS), max_size=5),
    below=st.dictionaries(ACCOUNTS, st.integers(1, 3), max_size=4),
    days=st.sampled_from([0, 1, 7]),
    moments=st.lists(HOURS, min_size=1, max_size=8),
)
def test_the_window_equals_a_brute_force_count_wherever_it_moves(
    solves: list[tuple[int, int]],
    later: list[tuple[int, int]],
    below: dict[int, int],
    days: int,
    moments: list[int],
) -> None:
    """Solves of a log after the floor (at 0), an all-time base below it (the last solves of
    accounts with log entries left UNKNOWN, as a load leaves them, then resolved), solves
    inserted while the window exists, and the window moved back and forth."""
    floor = 0
    as_us = sorted((hours * HOUR_US, account) for hours, account in solves)
    log = Log(floor, array("q", [t for t, _ in as_us]), array("q", [a for _, a in as_us]))
    lasts = {account: -(account + 1) * HOUR_US for account in below}
    resolved: list[int] = []

    def resolve(account: int) -> int:
        resolved.append(account)
        return lasts[account]

    base = Base(resolve)
    logged = {account for _, account in as_us}
    for account, count in below.items():
        base.counts.set(account, count)
        base.lasts.set(account, UNKNOWN if account in logged else lasts[account])
    expected_base = {account: (count, lasts[account]) for account, count in below.items()}
    window = Window(log, base, days, moments[0] * HOUR_US)
    every = list(as_us)
    for step, hours in enumerate(moments):
        at = hours * HOUR_US
        window.move(at)
        if step < len(later):
            when, account = later[step][0] * HOUR_US, later[step][1]
            log.insert(when, account)
            window.inserted(when, account)
            every.append((when, account))
        rows = [decode(key) for key in window.ranking.top(100)]
        assert rows == brute_force(every, expected_base if days == 0 else {}, days, at)
    assert set(resolved) <= set(below) & logged


def test_a_solve_below_the_floor_grows_the_all_time_base() -> None:
    log = Log(10 * DAY_US)
    base = Base(lambda account: pytest.fail("nothing is UNKNOWN here"))
    window = Window(log, base, 0, 20 * DAY_US)
    window.rebased(3, DAY_US)
    window.rebased(3, 2 * DAY_US)
    window.rebased(4, 5 * DAY_US)
    assert [decode(key) for key in window.ranking.top(5)] == [
        (2, 2 * DAY_US, 3),
        (1, 5 * DAY_US, 4),
    ]


def test_a_postgresql_load_tracks_the_missing_ids_of_its_trailing_range() -> None:
    high = TRAILING_IDS + 100
    present = set(range(high - TRAILING_IDS + 1, high + 1)) - {high - 3, high - 1}
    watermark = Watermark.after_load(high, present, in_order=False)
    assert sorted(watermark.pending) == [high - 3, high - 1]
    assert not Watermark.after_load(high, (), in_order=True).pending
