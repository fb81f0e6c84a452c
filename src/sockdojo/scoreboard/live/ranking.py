"""The live scoreboard's structures in memory: arrays, a sorted ranking, and the window that
moves over them. Pure: no database, testable on arrays.

* `Log`: the counted solves newer than a *floor*, as two arrays (time, account) sorted by time.
* `Base`: per account, the counted solves at or below the floor (count and time of the last
  one): the all-time board's starting point.
* `Window`: one board (a number of days, or all time) at a moment `at`: two indices into the log
  (`lo`, `hi`) bounding the solves inside `(at - days, at]`, each account's in-window solve
  times, and the ranking of keys (`keys.encode`), so the page is the first `limit` keys and the
  viewer's rank a bisection, both O(log n). It moves to any other moment, forwards or
  backwards, solve by solve, exactly at the half-open edge.
"""

from __future__ import annotations

import bisect
import itertools
from array import array
from collections.abc import Callable, Iterable, Sequence
from typing import Protocol

# sortedcontainers ships no type information; SortedList is used through `_SortedInts` below.
from sortedcontainers import SortedList  # type: ignore[import-untyped]

from sockdojo.scoreboard.live.keys import DAY_US, encode, encode_all

# An all-time base whose last solve is not known yet (looked up on demand, see `Base.last`).
UNKNOWN = -(1 << 62)


class _SortedInts(Protocol):
    """The part of `sortedcontainers.SortedList` used here (the library ships no types)."""

    def add(self, value: int) -> None: ...
    def remove(self, value: int) -> None: ...
    def islice(self, start: int, stop: int) -> Iterable[int]: ...
    def bisect_left(self, value: int) -> int: ...
    def __len__(self) -> int: ...


class Ranking:
    """Ranking keys in order."""

    __slots__ = ("_keys",)

    def __init__(self, keys: Iterable[int] = ()) -> None:
        self._keys: _SortedInts = SortedList(keys)

    def add(self, key: int) -> None:
        self._keys.add(key)

    def remove(self, key: int) -> None:
        self._keys.remove(key)

    def top(self, count: int) -> list[int]:
        return list(self._keys.islice(0, count))

    def position(self, key: int) -> int:
        """0-based rank of a key that is in the ranking."""
        return int(self._keys.bisect_left(key))

    def __len__(self) -> int:
        return len(self._keys)


class Column:
    """A per-account integer, in an array indexed by account id (ids are dense)."""

    __slots__ = ("values",)

    def __init__(self, typecode: str) -> None:
        self.values = array(typecode)

    def get(self, account: int) -> int:
        values = self.values
        return values[account] if 0 <= account < len(values) else 0

    def set(self, account: int, value: int) -> None:
        values = self.values
        if account >= len(values):
            if not 0 <= account < 1 << 31:
                raise ValueError(f"account id {account} out of range")
            grown = max(account + 1, 2 * len(values), 1024)
            values.extend(itertools.repeat(0, grown - len(values)))
        values[account] = value

    def reserve(self, size: int) -> None:
        """Room for account ids below `size` (a load writes straight into `values`)."""
        if size > len(self.values):
            self.values.frombytes(bytes((size - len(self.values)) * self.values.itemsize))


class Log:
    """Counted solves newer than the floor, sorted by time: parallel arrays."""

    __slots__ = ("floor", "owners", "times")

    def __init__(
        self, floor: int, times: array[int] | None = None, owners: array[int] | None = None
    ) -> None:
        self.floor = floor
        self.times = times if times is not None else array("q")
        self.owners = owners if owners is not None else array("q")

    def insert(self, when: int, account: int) -> None:
        place = bisect.bisect_right(self.times, when)
        self.times.insert(place, when)
        self.owners.insert(place, account)

    def any_between(self, start: int, end: int) -> bool:
        """Whether a solve of the log lies between the two moments (the later one included)."""
        low, high = min(start, end), max(start, end)
        return bisect.bisect_right(self.times, high) > bisect.bisect_right(self.times, low)

    def covers(self, days: int, at: int) -> bool:
        """Whether the log reaches far enough back to answer this window at `at`."""
        return at - days * DAY_US >= self.floor


class Base:
    """Per account, the counted solves at or below the floor: how many, and the last one's time.

    A load may leave a last time UNKNOWN (it knows the count from a trigger-kept total but not
    which of the solves was the last below the floor); `last` then asks `resolve`, given at
    construction, and remembers the answer.
    """

    __slots__ = ("counts", "lasts", "resolve")

    def __init__(self, resolve: Callable[[int], int]) -> None:
        self.counts = Column("i")
        self.lasts = Column("q")
        self.resolve = resolve

    def count(self, account: int) -> int:
        return self.counts.get(account)

    def last(self, account: int) -> int:
        last = self.lasts.get(account)
        if last == UNKNOWN:
            last = self.resolve(account)
            self.lasts.set(account, last)
        return last

    def add(self, account: int, when: int) -> None:
        """One more counted solve below the floor."""
        count = self.counts.get(account)
        last = self.lasts.get(account)
        if not count or (last != UNKNOWN and when > last):
            self.lasts.set(account, when)
        self.counts.set(account, count + 1)

    def keys(self, skip: set[int]) -> list[int]:
        """The all-time keys of the accounts with a base, but for those in `skip`."""
        counts, lasts = self.counts.values, self.lasts.values
        accounts = [
            account for account, count in enumerate(counts) if count and account not in skip
        ]
        return encode_all(
            map(counts.__getitem__, accounts), map(lasts.__getitem__, accounts), accounts
        )


class Window:
    """One board (a number of days, or all time, `days == 0`) at the moment `at`.

    Every change of an account's key goes through `_rekey`, which takes the old key out of the
    ranking and puts the new one in.
    """

    def __init__(
        self,
        log: Log,
        base: Base,
        days: int,
        at: int,
        base_keys: Sequence[int] | None = None,
    ) -> None:
        """`base_keys`: the all-time keys of the accounts with a base and no log entry, if the
        load computed them already (else they are computed here)."""
        self.log = log
        self.base = base
        self.days = days
        self.span = days * DAY_US
        self.at = at
        self.hi = bisect.bisect_right(log.times, at)
        self.lo = 0 if days == 0 else bisect.bisect_right(log.times, at - self.span)
        # Each account's counted solves from the log that are in the window, oldest first.
        self.recent: dict[int, list[int]] = {}
        recent = self.recent
        owners, times = log.owners, log.times
        for index in range(self.lo, self.hi):
            account = owners[index]
            found = recent.get(account)
            if found is None:
                recent[account] = [times[index]]
            else:
                found.append(times[index])
        if days:
            self.ranking = Ranking(
                encode_all(
                    (len(mine) for mine in recent.values()),
                    (mine[-1] for mine in recent.values()),
                    recent,
                )
            )
            return
        # All time: the accounts with a log entry (in the window or still to come) one by one,
        # the others straight from their base.
        logged = set(owners)
        keys = [key for key in map(self.key, logged) if key is not None]
        keys.extend(base.keys(logged) if base_keys is None else base_keys)
        self.ranking = Ranking(keys)

    def key(self, account: int) -> int | None:
        """The account's ranking key in this window now, or None when it has no counted solve."""
        mine = self.recent.get(account)
        if self.days:
            return encode(len(mine), mine[-1], account) if mine else None
        count = self.base.count(account)
        if mine:
            return encode(count + len(mine), mine[-1], account)
        if not count:
            return None
        return encode(count, self.base.last(account), account)

    def _rekey(self, account: int, change: Callable[[list[int]], object]) -> None:
        """Apply `change` to the account's in-window times, keeping the ranking in step."""
        old = self.key(account)
        if old is not None:
            self.ranking.remove(old)
        mine = self.recent.setdefault(account, [])
        change(mine)
        if not mine:
            del self.recent[account]
        new = self.key(account)
        if new is not None:
            self.ranking.add(new)

    def _enter(self, account: int, when: int, *, newest: bool) -> None:
        if newest:
            self._rekey(account, lambda mine: mine.append(when))
        else:
            self._rekey(account, lambda mine: mine.insert(0, when))

    def _leave(self, account: int, when: int, *, newest: bool) -> None:
        def change(mine: list[int]) -> None:
            gone = mine.pop() if newest else mine.pop(0)
            assert gone == when, "the window's lists left the log's order"

        self._rekey(account, change)

    def move(self, at: int) -> None:
        """Bring the window to the moment `at`, forwards or backwards, solve by solve."""
        if at == self.at:
            return
        times, owners = self.log.times, self.log.owners
        hi = bisect.bisect_right(times, at)
        lo = 0 if self.days == 0 else bisect.bisect_right(times, at - self.span)
        if at > self.at:
            for index in range(self.hi, hi):  # solves that happened since
                self._enter(owners[index], times[index], newest=True)
            for index in range(self.lo, lo):  # solves that left the window
                self._leave(owners[index], times[index], newest=False)
        else:
            for index in range(self.lo - 1, lo - 1, -1):  # back into the window
                self._enter(owners[index], times[index], newest=False)
            for index in range(self.hi - 1, hi - 1, -1):  # not yet happened
                self._leave(owners[index], times[index], newest=True)
        self.lo, self.hi, self.at = lo, hi, at

    def inserted(self, when: int, account: int) -> None:
        """A counted solve newer than the floor was just inserted into the log."""
        if self.days and when <= self.at - self.span:
            self.lo += 1
            self.hi += 1
        elif when <= self.at:
            self.hi += 1
            self._rekey(account, lambda mine: bisect.insort(mine, when))

    def rebased(self, account: int, when: int) -> None:
        """A counted solve below the floor (all-time window only): the account's base grows."""
        self._rekey(account, lambda mine: self.base.add(account, when))
