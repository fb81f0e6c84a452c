"""The live scoreboard: the rules of `sockdojo.scoreboard`, answered from memory, exactly.

`LiveScoreboard` is a `ScoreboardSource` that gives the same boards as the SQL reference
(`SqlScoreboard`, checked by property tests), in microseconds instead of a GROUP BY over every
solve. One instance per process; each question first catches up with the database, so several
processes (and the CLI) writing to one database stay exact.

Per module, in memory:

* **The log**: the counted solves (eligible account, at or after the launch, one of the
  module's challenges) newer than a *floor*, as two arrays (time in microseconds since 1970,
  account id) sorted by time. Below the floor only per-account totals are kept (count and time
  of the last solve, the all-time board's starting point). The floor is 30 days and a day below
  the time the module was loaded.
* **One window per board asked for** (30 days, 7 days, all time): two indices into the log
  (`lo`, `hi`) that bound the solves inside `(at - days, at]`, each account's in-window solve
  times, and the ranking: a `SortedList` of integer keys that sort like
  `(-score, last counted solve, account id)`, so the page is its first `limit` keys and the
  viewer's rank a bisection, both O(log n).
* **Badges**: per account, how many of the module's challenges it solved and when the last one
  was (completion), the first eligible solve of each challenge (first blood), granted badges.

Time is exact and lazy: a window answers at any `now` by moving its two indices over the log
(adding the solves that entered, removing the ones that left, exactly at the half-open edge),
in either direction: a request whose clock reads a little earlier than the previous one (two
threads, two processes) moves the window back. Nothing is rebuilt periodically. A question
further in the past than the floor allows (more than a day before the module was loaded, only
tests ask that) reloads the module with a lower floor: slow, and still exact.

Catching up: before answering, one indexed query fetches the solves with an id above the
module's watermark, together with the value of `scoreboard_version`, a counter that database
triggers bump on every change that is not a new solve (hiding or unhiding an account, the admin
flag, a rename, a deleted solve or account, the launch date, granted badges; migration 0003).
A changed counter reloads the module (rare: admin actions). On PostgreSQL, ids come from a
sequence and commit out of order, so an id missing below the highest one seen stays *pending*
and is asked for again on every catch-up until it shows up or can be proven never to: once
every transaction that held a lock on the id sequence after the gap was noticed has ended (a
transaction that took an id holds that lock until it ends, with or without a transaction id
yet; see `_Watermark.settle`). SQLite has a single writer, so its ids commit in order.
"""

from __future__ import annotations

import bisect
import contextlib
import datetime as dt
import functools
import itertools
import threading
import time
from array import array
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sortedcontainers import SortedList  # type: ignore[import-untyped]

from sockdojo.scoreboard import modules
from sockdojo.scoreboard.badges import COMPLETION_EMOJI, FIRST_BLOOD_EMOJI
from sockdojo.scoreboard.model import DEFAULT_LIMIT, Badge, Board, Row
from sockdojo.storage.database import Store

EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
MICROSECOND = dt.timedelta(microseconds=1)
DAY_US = 86_400_000_000
# How far below the oldest window the log reaches: questions up to this much earlier than the
# module's load time need no reload.
FLOOR_MARGIN_US = DAY_US
# While PostgreSQL ids are missing, a catch-up looks at who holds the id sequence at most this
# often (see _Watermark.settle).
SETTLE_SECONDS = 0.2
# At most this many missing ids of one jump are tracked (a jump of more than this is not two
# transactions racing but an administrator moving the sequence).
MAX_GAPS = 10_000
# Missing ids in this trailing range of a PostgreSQL load are tracked like any gap.
TRAILING_IDS = 5_000
NAME_CACHE_LIMIT = 100_000
# An all-time base whose last solve is not known yet (looked up on demand, see `_resolve`).
UNKNOWN = -(1 << 62)


class _Stale(Exception):
    """The database changed under a module's feet in a way only a reload can follow."""


# Ranking keys: one int per account that sorts like (-score, last solve, account id).
_ACCOUNT_BITS = 32
_TIME_BITS = 53
_TIME_BIAS = 1 << 52
_SCORE_SHIFT = _ACCOUNT_BITS + _TIME_BITS
_SCORE_LIMIT = (1 << 16) - 1
_ACCOUNT_MASK = (1 << _ACCOUNT_BITS) - 1
_TIME_MASK = (1 << _TIME_BITS) - 1


def to_us(when: dt.datetime) -> int:
    if when.tzinfo is None:
        raise ValueError("naive datetime given to the scoreboard; use UTC-aware datetimes")
    return (when - EPOCH) // MICROSECOND


def from_us(us: int) -> dt.datetime:
    return EPOCH + dt.timedelta(microseconds=us)


def sqlite_text(us: int) -> str:
    """How SQLAlchemy stores a UTC datetime on SQLite (fixed width, so text order is time order)."""
    return from_us(us).strftime("%Y-%m-%d %H:%M:%S.%f")


def encode(score: int, last: int, account: int) -> int:
    if not 0 <= account <= _ACCOUNT_MASK or not 0 <= last + _TIME_BIAS <= _TIME_MASK:
        raise ValueError(f"account {account} or time {last} out of the ranking's range")
    return ((_SCORE_LIMIT - score) << _SCORE_SHIFT) | ((last + _TIME_BIAS) << 32) | account


def decode(key: int) -> tuple[int, int, int]:
    """(score, last counted solve in microseconds, account id)."""
    return (
        _SCORE_LIMIT - (key >> _SCORE_SHIFT),
        ((key >> _ACCOUNT_BITS) & _TIME_MASK) - _TIME_BIAS,
        key & _ACCOUNT_MASK,
    )


class _Ranking:
    """A typed face on `sortedcontainers.SortedList` of ranking keys."""

    __slots__ = ("_keys",)

    def __init__(self, keys: Iterable[int] = ()) -> None:
        self._keys: Any = SortedList(keys)

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


class _Column:
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

    def nbytes(self) -> int:
        return len(self.values) * self.values.itemsize


class _Log:
    """Counted solves newer than the floor, sorted by time: parallel arrays."""

    __slots__ = ("floor", "owners", "times")

    def __init__(self, floor: int, times: array[int], owners: array[int]) -> None:
        self.floor = floor
        self.times = times
        self.owners = owners

    def insert(self, when: int, account: int) -> None:
        place = bisect.bisect_right(self.times, when)
        self.times.insert(place, when)
        self.owners.insert(place, account)


class _Window:
    """One board (a number of days, or all time) of one module, at the moment `at`."""

    def __init__(self, state: _ModuleState, days: int, at: int) -> None:
        self.state = state
        self.days = days
        self.span = days * DAY_US
        self.at = at
        log = state.log
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
        if days == 0:
            # Accounts with a log entry (in the window or still to come): one by one.
            logged = set(owners)
            keys = [key for key in map(self.key, logged) if key is not None]
            # The others, straight from their base: precomputed by the load when this is the
            # window it warms, else a comprehension (the hot loop of a cold start).
            if state.base_keys is not None:
                keys.extend(state.base_keys)
            else:
                counts, lasts = state.base_count.values, state.base_last.values
                shift, limit, bias = _SCORE_SHIFT, _SCORE_LIMIT, _TIME_BIAS
                keys.extend(
                    ((limit - count) << shift) | ((last + bias) << 32) | account
                    for account, count, last in zip(range(len(counts)), counts, lasts, strict=True)
                    if count and account not in logged
                )
            self.ranking = _Ranking(keys)
        else:
            self.ranking = _Ranking(
                encode(len(times), times[-1], account) for account, times in recent.items()
            )

    def key(self, account: int) -> int | None:
        """The account's ranking key in this window now, or None when it has no counted solve."""
        mine = self.recent.get(account)
        if self.days:
            return encode(len(mine), mine[-1], account) if mine else None
        state = self.state
        count = state.base_count.get(account)
        if mine:
            return encode(count + len(mine), mine[-1], account)
        if not count:
            return None
        last = state.base_last.get(account)
        if last == UNKNOWN:
            last = state.resolve(account)
        return encode(count, last, account)

    def _update(self, account: int, change: Callable[[], None]) -> None:
        old = self.key(account)
        if old is not None:
            self.ranking.remove(old)
        change()
        new = self.key(account)
        if new is not None:
            self.ranking.add(new)

    def _append(self, account: int, when: int) -> None:
        old = self.key(account)
        if old is not None:
            self.ranking.remove(old)
        mine = self.recent.get(account)
        if mine is None:
            self.recent[account] = [when]
        else:
            mine.append(when)
        self.ranking.add(self._key_after(account))

    def _prepend(self, account: int, when: int) -> None:
        old = self.key(account)
        if old is not None:
            self.ranking.remove(old)
        mine = self.recent.get(account)
        if mine is None:
            self.recent[account] = [when]
        else:
            mine.insert(0, when)
        self.ranking.add(self._key_after(account))

    def _drop(self, account: int, when: int, *, newest: bool) -> None:
        old = self.key(account)
        assert old is not None
        self.ranking.remove(old)
        mine = self.recent[account]
        gone = mine.pop() if newest else mine.pop(0)
        assert gone == when, "the window's lists left the log's order"
        if not mine:
            del self.recent[account]
        new = self.key(account)
        if new is not None:
            self.ranking.add(new)

    def _key_after(self, account: int) -> int:
        key = self.key(account)
        assert key is not None
        return key

    def move(self, at: int) -> None:
        """Bring the window to the moment `at`, forwards or backwards, solve by solve."""
        if at == self.at:
            return
        times, owners = self.state.log.times, self.state.log.owners
        hi = bisect.bisect_right(times, at)
        lo = 0 if self.days == 0 else bisect.bisect_right(times, at - self.span)
        if at > self.at:
            for index in range(self.hi, hi):  # solves that happened since
                self._append(owners[index], times[index])
            for index in range(self.lo, lo):  # solves that left the window
                self._drop(owners[index], times[index], newest=False)
        else:
            for index in range(self.lo - 1, lo - 1, -1):  # back into the window
                self._prepend(owners[index], times[index])
            for index in range(self.hi - 1, hi - 1, -1):  # not yet happened
                self._drop(owners[index], times[index], newest=True)
        self.lo, self.hi, self.at = lo, hi, at

    def inserted(self, when: int, account: int) -> None:
        """A counted solve newer than the floor was just inserted into the log."""
        if self.days and when <= self.at - self.span:
            self.lo += 1
            self.hi += 1
        elif when <= self.at:
            self.hi += 1

            def change() -> None:
                bisect.insort(self.recent.setdefault(account, []), when)

            self._update(account, change)

    def rebased(self, account: int, change: Callable[[], None]) -> None:
        """The account's all-time total below the floor changes (all-time window only)."""
        self._update(account, change)


@dataclass
class _Gap:
    # The transactions (virtual ids) that held the id sequence at the first look after the gap
    # was noticed: the one that took the id is among them, unless it had ended by then.
    holders: frozenset[str] | None = None


class _Watermark:
    """Which solve ids a module has seen: all up to `high`, except the `pending` ones."""

    def __init__(self, high: int, *, in_order: bool) -> None:
        self.high = high
        self.in_order = in_order
        self.pending: dict[int, _Gap] = {}
        self.looked = -float("inf")  # time.monotonic() of the last look at the holders

    def due(self, clock: float) -> bool:
        """Whether a catch-up should look at who holds the id sequence (see `settle`)."""
        return bool(self.pending) and clock - self.looked >= SETTLE_SECONDS

    def saw(self, ids: Sequence[int]) -> None:
        for solve_id in ids:
            self.pending.pop(solve_id, None)
        top = max(ids, default=self.high)
        if top > self.high:
            if not self.in_order:
                present = set(ids)
                for missing in range(self.high + 1, min(top, self.high + 1 + MAX_GAPS)):
                    if missing not in present:
                        self.pending[missing] = _Gap()
            self.high = top

    def settle(self, holders: frozenset[str], clock: float) -> None:
        """Forget the gaps that no transaction can fill any more (PostgreSQL).

        `holders` are the transactions that held a lock on the solves' id sequence when a
        catch-up looked, just before its query (in its own snapshot, READ COMMITTED); call this
        before taking in that query's rows, so that every gap here was noticed before the look.

        A gap is an id below `high` that was not visible. The transaction that took it from the
        sequence did so before the gap was noticed (a higher id had committed), and `nextval`
        locks the sequence until that transaction ends: at the first look after the gap was
        noticed it is among the holders noted for the gap, or it had ended (then the query that
        followed the look saw its solve, if it committed one). Once none of the noted holders
        holds the sequence any more, they have all ended before this look, the query that
        follows sees whatever they committed, and the gap can go.

        Not a transaction id: a transaction that took an id may get its xid much later, e.g.
        an INSERT ... ON CONFLICT that takes its id, then waits for a conflicting insert of
        another transaction and writes its row only when that one rolls back. (Assumes the
        sequence caches no values, CACHE 1, the default: else a session could take an id in
        one transaction and use it in a later one.)
        """
        self.looked = clock
        for solve_id, gap in list(self.pending.items()):
            if gap.holders is None:
                gap.holders = holders
            elif gap.holders.isdisjoint(holders):
                del self.pending[solve_id]


@dataclass
class LoadTimes:
    """Where a module's load spent its time, in seconds (for the benchmark)."""

    totals: float = 0.0
    log: float = 0.0
    first_bloods: float = 0.0
    rest: float = 0.0
    windows: float = 0.0
    log_size: int = 0
    accounts: int = 0


class _Dialect:
    """The few SQL differences between SQLite and PostgreSQL, for raw DB-API cursors."""

    def __init__(self, name: str) -> None:
        self.postgres = name == "postgresql"
        self.mark = "%s" if self.postgres else "?"
        # SQLite would rather walk (module, challenge, time) once per challenge, then sort.
        self.by_time = "" if self.postgres else " INDEXED BY ix_solves_module_time"

    def sql(self, text: str) -> str:
        return text.replace("?", "%s") if self.postgres else text

    def us(self, column: str) -> str:
        """The column (an aware UTC datetime) as microseconds since 1970, computed in SQL."""
        if self.postgres:
            return f"CAST(EXTRACT(EPOCH FROM {column}) * 1000000 AS BIGINT)"
        # SQLAlchemy stores 'YYYY-MM-DD HH:MM:SS.ffffff' on SQLite.
        return (
            f"(CAST(strftime('%s', {column}) AS INTEGER) * 1000000"
            f" + CAST(substr({column}, 21, 6) AS INTEGER))"
        )

    def when(self, us: int) -> Any:
        return from_us(us) if self.postgres else sqlite_text(us)

    def marks(self, count: int) -> str:
        return ", ".join([self.mark] * count)


@dataclass
class _ModuleState:
    spec: modules.ModuleSpec
    launch: int | None
    floor: int
    version: int | None
    watermark: _Watermark
    log: _Log = field(default_factory=lambda: _Log(0, array("q"), array("q")))
    base_count: _Column = field(default_factory=lambda: _Column("i"))
    base_last: _Column = field(default_factory=lambda: _Column("q"))
    solved_count: _Column = field(default_factory=lambda: _Column("i"))
    solved_last: _Column = field(default_factory=lambda: _Column("q"))
    firsts: list[tuple[int, int] | None] = field(default_factory=list)
    grants: dict[int, tuple[Badge, ...]] = field(default_factory=dict)
    windows: dict[int, _Window] = field(default_factory=dict)
    # The ticket after which this module has caught up (see LiveScoreboard.board).
    fresh_after: int = 0
    load_times: LoadTimes = field(default_factory=LoadTimes)
    # All-time keys of the accounts with a base and no log entry, straight from a load; only
    # valid until anything changes (used by the warm all-time window, then dropped).
    base_keys: list[int] | None = None
    # Looks up an all-time base's last solve when it is UNKNOWN (set by LiveScoreboard).
    resolve: Callable[[int], int] = field(default=lambda account: UNKNOWN)
    # Whether the per-account totals (all-time base, completion) are in memory. With migration
    # 0003 they are read from `solve_totals` only when the all-time board is first asked for,
    # so that a start answers the 30-day board sooner; until then completion is looked up per
    # account shown (`completions`, exact for the solves caught up with).
    totals_loaded: bool = True
    ensure_totals: Callable[[], None] = field(default=lambda: None)
    completions: dict[int, tuple[int, int]] = field(default_factory=dict)
    ineligible: set[int] = field(default_factory=set)

    def __post_init__(self) -> None:
        self.index = {challenge.id: n for n, challenge in enumerate(self.spec.challenges)}
        self.completion = Badge(
            COMPLETION_EMOJI, f"Completed the {self.spec.title} module", "completion"
        )
        self.first_badges = tuple(
            Badge(FIRST_BLOOD_EMOJI, f"First blood: {challenge.title}", "first_blood")
            for challenge in self.spec.challenges
        )
        if not self.firsts:
            self.firsts = [None] * len(self.spec.challenges)

    def window(self, days: int, at: int) -> _Window:
        window = self.windows.get(days)
        if window is None:
            if days == 0 and not self.totals_loaded:
                self.ensure_totals()
            window = self.windows[days] = _Window(self, days, at)
            self.base_keys = None
        else:
            window.move(at)
        return window

    def covers(self, days: int, at: int) -> bool:
        """Whether the log reaches far enough back to answer this window at `at`."""
        return at - days * DAY_US >= self.floor

    def solved(self, account: int, challenge: int, when: int, eligible: bool) -> None:
        """A new solve of one of the module's challenges (from a catch-up)."""
        if self.totals_loaded:
            self.solved_count.set(account, self.solved_count.get(account) + 1)
            if self.solved_count.get(account) == 1 or when > self.solved_last.get(account):
                self.solved_last.set(account, when)
        else:
            known = self.completions.get(account)
            if known is not None:
                self.completions[account] = (known[0] + 1, max(known[1], when))
        if not eligible or self.launch is None or when < self.launch:
            return
        first = self.firsts[challenge]
        if first is None or (when, account) < first:
            self.firsts[challenge] = (when, account)
        if when <= self.floor:
            if not self.totals_loaded:
                return  # counted in the totals when they are read

            def change() -> None:
                count = self.base_count.get(account)
                last = self.base_last.get(account)
                if not count or (last != UNKNOWN and when > last):
                    self.base_last.set(account, when)
                self.base_count.set(account, count + 1)

            all_time = self.windows.get(0)
            if all_time is not None:
                all_time.rebased(account, change)
            else:
                change()
            return
        self.log.insert(when, account)
        for window in self.windows.values():
            window.inserted(when, account)

    def badges(self, account: int, at: int) -> tuple[Badge, ...]:
        earned: list[Badge] = []
        if self.totals_loaded:
            solved, last = self.solved_count.get(account), self.solved_last.get(account)
        else:
            solved, last = self.completions[account]
        if solved == len(self.spec.challenges) and last <= at:
            earned.append(self.completion)
        for number, first in enumerate(self.firsts):
            if first is not None and first[1] == account and first[0] <= at:
                earned.append(self.first_badges[number])
        earned.extend(self.grants.get(account, ()))
        return tuple(earned)

    def nbytes(self) -> int:
        """A rough size of what this module keeps (the benchmark measures it properly)."""
        size = (len(self.log.times) + len(self.log.owners)) * 8
        for column in (self.base_count, self.base_last, self.solved_count, self.solved_last):
            size += column.nbytes()
        for window in self.windows.values():
            size += len(window.ranking) * 48 + sum(56 + 40 * len(v) for v in window.recent.values())
        return size


class LiveScoreboard:
    """`ScoreboardSource` from memory, caught up with the database on every question."""

    def __init__(self, store: Store, *, warm: Sequence[int] = (30, 7)) -> None:
        self.store = store
        self.dialect = _Dialect(store.engine.dialect.name)
        self.warm = tuple(warm)
        self._lock = threading.RLock()
        self._tickets = itertools.count(1)
        self._modules: dict[str, _ModuleState] = {}
        self._generation = modules.generation
        self._names: dict[int, str] = {}
        self._connection: Any = None
        self._versioned: bool | None = None
        # (database oid, oid of the solves' id sequence), PostgreSQL; see _sequence_holders.
        self._sequence: tuple[int, int | None] | None = None
        self.reloads = 0

    # The ScoreboardSource protocol

    def board(
        self,
        module_id: str,
        days: int,
        now: dt.datetime,
        viewer_id: int | None,
        limit: int = DEFAULT_LIMIT,
    ) -> Board:
        if days < 0:
            raise ValueError(f"days must be 0 (all time) or positive, got {days}")
        at = to_us(now)
        ticket = next(self._tickets)
        with self._lock:
            for _ in range(3):
                try:
                    state = self._current(module_id, days, at, ticket)
                    if state is None:
                        return Board((), None)
                    window = state.window(days, at)
                    keys = window.ranking.top(max(limit, 0))
                    mine = window.key(viewer_id) if viewer_id is not None else None
                    wanted = [decode(key)[2] for key in keys]
                    if mine is not None:
                        wanted.append(decode(mine)[2])
                    names = self._account_names(wanted)
                    if not state.totals_loaded:
                        self._completions(state, wanted)
                    if all(account in names for account in wanted):
                        break
                except _Stale:
                    self._modules.pop(module_id, None)
                # Something was deleted since the catch-up (the triggers bumped the version):
                # catch up again, which reloads.
                ticket = next(self._tickets)
            else:
                raise RuntimeError("the scoreboard could not settle on a consistent state")
            rows = tuple(
                self._row(state, rank, key, names, at) for rank, key in enumerate(keys, start=1)
            )
            me = None
            if mine is not None:
                my_rank = window.ranking.position(mine) + 1
                me = (
                    rows[my_rank - 1]
                    if my_rank <= len(rows)
                    else self._row(state, my_rank, mine, names, at)
                )
            return Board(rows, me)

    # Keeping up with the database

    def invalidate(self) -> None:
        """Forget everything: the next question reloads (for changes made behind the triggers'
        back, e.g. on a database without migration 0003)."""
        with self._lock:
            self._modules.clear()
            self._names.clear()

    def close(self) -> None:
        with self._lock:
            if self._connection is not None:
                self._connection.close()
                self._connection = None

    def memory(self) -> int:
        with self._lock:
            return sum(state.nbytes() for state in self._modules.values())

    def load_times(self, module_id: str) -> LoadTimes | None:
        state = self._modules.get(module_id)
        return state.load_times if state else None

    def _current(self, module_id: str, days: int, at: int, ticket: int) -> _ModuleState | None:
        if self._generation != modules.generation:
            self._generation = modules.generation
            self._modules.clear()
        spec = modules.spec(module_id)
        if spec is None or not spec.challenges:
            return None
        state = self._modules.get(module_id)
        if state is not None and state.fresh_after < ticket:
            started = next(self._tickets)
            if self._catch_up(state):
                state.fresh_after = started
            else:
                state = None  # something other than a solve changed: reload
                self._names.clear()
        if state is not None and not state.covers(days, at):
            state = None  # a question further back than the log reaches
        if state is None:
            started = next(self._tickets)
            floor = min(at - days * DAY_US, at - max(self.warm, default=0) * DAY_US)
            state = self._load(spec, at, floor - FLOOR_MARGIN_US)
            state.resolve = functools.partial(self._resolve, state)
            state.ensure_totals = functools.partial(self._load_totals, state)
            state.fresh_after = started
            self._modules[module_id] = state
            self.reloads += 1
            mark = time.perf_counter()
            if state.launch is not None:
                for warm in self.warm:
                    if state.covers(warm, at):
                        state.window(warm, at)
            state.base_keys = None
            state.load_times.windows = time.perf_counter() - mark
        return state if state.launch is not None else None

    def _cursor(self) -> Any:
        if self._connection is None:
            fairy = self.store.engine.raw_connection()
            connection: Any = fairy.driver_connection
            fairy.detach()  # ours for good: autocommit below must not leak into the pool
            self._connection = connection
            if self.dialect.postgres:
                connection.autocommit = True
                # The catch-up's `id > $1` has no good generic plan (PostgreSQL would guess
                # millions of rows, hash-join all accounts and JIT-compile it): plan each query
                # with its values, and never JIT.
                connection.execute("SET plan_cache_mode = force_custom_plan")
                connection.execute("SET jit = off")
        return self._connection.cursor()

    def _execute(self, run: Callable[[Any], Any]) -> Any:
        """Run `run(cursor)`, reconnecting once if the connection was lost."""
        for attempt in (1, 2):
            try:
                cursor = self._cursor()
                try:
                    return run(cursor)
                finally:
                    cursor.close()
            except _Stale:
                raise
            except Exception:
                if self._connection is not None:
                    with contextlib.suppress(Exception):  # it is broken already
                        self._connection.close()
                    self._connection = None
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def _has_version_table(self, cursor: Any) -> bool:
        if self._versioned is None:
            if self.dialect.postgres:
                cursor.execute("SELECT to_regclass('scoreboard_version') IS NOT NULL")
            else:
                cursor.execute(
                    "SELECT count(*) FROM sqlite_master WHERE type = 'table'"
                    " AND name = 'scoreboard_version'"
                )
            self._versioned = bool(cursor.fetchone()[0])
        return self._versioned

    def _catch_up(self, state: _ModuleState) -> bool:
        """Apply the solves committed since the last look; False when the module must reload."""
        return bool(self._execute(functools.partial(self._catch_up_with, state=state)))

    def _catch_up_with(self, cursor: Any, *, state: _ModuleState, settle: bool = True) -> bool:
        """A catch-up on this cursor; `settle` only in autocommit (each statement its own
        snapshot: the look at the sequence's holders must come before the query's snapshot)."""
        dialect = self.dialect
        watermark = state.watermark
        holders = None
        clock = time.monotonic()
        if settle and dialect.postgres and watermark.due(clock):
            holders = self._sequence_holders(cursor)
        which = "s.id > ?"
        if watermark.pending:
            listed = ", ".join(str(int(solve_id)) for solve_id in watermark.pending)
            which = f"(s.id > ? OR s.id IN ({listed}))"
        columns = (
            f"s.id, s.account_id, s.module_id, s.challenge_id, {dialect.us('s.solved_at')},"
            " a.is_hidden, a.is_admin"
        )
        if self._has_version_table(cursor):
            cursor.execute(
                dialect.sql(
                    f"SELECT v.version, {columns} FROM scoreboard_version AS v"  # noqa: S608
                    f" LEFT JOIN solves AS s ON {which}"
                    " LEFT JOIN accounts AS a ON a.id = s.account_id"
                ),
                (watermark.high,),
            )
        else:
            cursor.execute(
                dialect.sql(
                    f"SELECT NULL, {columns} FROM solves AS s"  # noqa: S608
                    f" JOIN accounts AS a ON a.id = s.account_id WHERE {which}"
                ),
                (watermark.high,),
            )
        rows = cursor.fetchall()
        version = rows[0][0] if rows else state.version
        if version != state.version:
            return False
        if holders is not None:
            watermark.settle(holders, clock)
        seen: list[int] = []
        for _, solve_id, account, module, challenge, when, hidden, admin in rows:
            if solve_id is None:
                continue
            seen.append(solve_id)
            if module != state.spec.id:
                continue
            number = state.index.get(challenge)
            if number is not None:
                state.solved(account, number, when, not (hidden or admin))
        watermark.saw(seen)
        return True

    def _sequence_holders(self, cursor: Any) -> frozenset[str]:
        """The transactions (virtual ids) holding a lock on the solves' id sequence, which
        `nextval` takes until the end of the transaction (all running transactions, should
        `solves.id` have no sequence of its own)."""
        if self._sequence is None:
            cursor.execute(
                "SELECT (SELECT oid FROM pg_database WHERE datname = current_database()),"
                " pg_get_serial_sequence('solves', 'id')::regclass::oid"
            )
            database, sequence = cursor.fetchone()
            self._sequence = (int(database), None if sequence is None else int(sequence))
        database, sequence = self._sequence
        if sequence is None:
            cursor.execute("SELECT virtualtransaction FROM pg_locks WHERE locktype = 'virtualxid'")
        else:
            cursor.execute(
                "SELECT virtualtransaction FROM pg_locks WHERE locktype = 'relation'"
                " AND database = %s AND relation = %s",
                (database, sequence),
            )
        return frozenset(str(row[0]) for row in cursor.fetchall())

    def _in_snapshot(self, read: Callable[[Any], Any]) -> Any:
        """Run `read(cursor)` in one read-only snapshot of the database."""
        dialect = self.dialect

        def run(cursor: Any) -> Any:
            if dialect.postgres:
                cursor.execute("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            else:
                cursor.execute("BEGIN")
            try:
                return read(cursor)
            finally:
                if dialect.postgres:
                    cursor.execute("ROLLBACK")
                else:
                    cursor.connection.rollback()

        return self._execute(run)

    def _load(self, spec: modules.ModuleSpec, at: int, floor: int) -> _ModuleState:
        state: _ModuleState = self._in_snapshot(lambda cursor: self._read(cursor, spec, at, floor))
        return state

    def _load_totals(self, state: _ModuleState) -> None:
        """Read the per-account totals (for the all-time board) of a loaded module.

        In one snapshot: first a catch-up, so that the module has seen exactly the solves that
        the totals count, then the totals.
        """

        def read(cursor: Any) -> None:
            # In this snapshot (REPEATABLE READ): no look at the sequence's holders.
            if not self._catch_up_with(cursor, state=state, settle=False):
                raise _Stale("the database changed: reload")
            started = time.perf_counter()
            cursor.execute("SELECT max(id) FROM accounts")
            accounts = (cursor.fetchone()[0] or 0) + 1
            for column in (
                state.base_count,
                state.base_last,
                state.solved_count,
                state.solved_last,
            ):
                column.reserve(accounts)
            self._read_totals(cursor, state, state.ineligible)
            state.load_times.totals = time.perf_counter() - started

        self._in_snapshot(read)
        state.totals_loaded = True
        state.completions.clear()

    def _completions(self, state: _ModuleState, accounts: list[int]) -> None:
        """How many of the module's challenges these accounts solved and when the last one was
        (for the completion badge before the totals are loaded), from the solves caught up with.
        """
        missing = sorted({account for account in accounts if account not in state.completions})
        if not missing:
            return
        if len(state.completions) > NAME_CACHE_LIMIT:
            state.completions.clear()
        dialect = self.dialect
        challenges = list(state.spec.challenge_ids)
        pending = ""
        if state.watermark.pending:
            listed = ", ".join(str(int(solve_id)) for solve_id in state.watermark.pending)
            pending = f" AND id NOT IN ({listed})"

        def run(cursor: Any) -> None:
            cursor.execute(
                dialect.sql(
                    f"SELECT account_id, count(*), max({dialect.us('solved_at')})"  # noqa: S608
                    f" FROM solves WHERE account_id IN ({dialect.marks(len(missing))})"
                    f" AND module_id = ? AND challenge_id IN ({dialect.marks(len(challenges))})"
                    f" AND id <= ?{pending} GROUP BY account_id"
                ),
                (*missing, state.spec.id, *challenges, state.watermark.high),
            )
            found = {account: (count, last) for account, count, last in cursor.fetchall()}
            for account in missing:
                state.completions[account] = found.get(account, (0, 0))

        self._execute(run)

    def _read(self, cursor: Any, spec: modules.ModuleSpec, at: int, floor: int) -> _ModuleState:
        """Everything a module needs, read in one snapshot."""
        dialect = self.dialect
        sql = dialect.sql
        times = LoadTimes()
        started = time.perf_counter()
        migrated = self._has_version_table(cursor)
        version = None
        if migrated:
            cursor.execute("SELECT version FROM scoreboard_version")
            found = cursor.fetchone()
            version = found[0] if found else None
        cursor.execute("SELECT max(id) FROM solves")
        high = cursor.fetchone()[0] or 0
        watermark = _Watermark(high, in_order=not dialect.postgres)
        if dialect.postgres and high:
            # Ids below `high` not visible yet may belong to transactions still running.
            cursor.execute(sql("SELECT id FROM solves WHERE id > ?"), (high - TRAILING_IDS,))
            present = {row[0] for row in cursor.fetchall()}
            for solve_id in range(max(1, high - TRAILING_IDS + 1), high):
                if solve_id not in present:
                    watermark.pending[solve_id] = _Gap()
        cursor.execute(
            sql(f"SELECT {dialect.us('launched_at')} FROM modules WHERE id = ?"),  # noqa: S608
            (spec.id,),
        )
        found = cursor.fetchone()
        state = _ModuleState(
            spec=spec,
            launch=found[0] if found else None,
            floor=floor,
            version=version,
            watermark=watermark,
        )
        state.load_times = times
        if state.launch is None:
            return state
        launch = state.launch
        cursor.execute(
            sql("SELECT id FROM accounts WHERE is_hidden = ? OR is_admin = ?"), (True, True)
        )
        ineligible = {row[0] for row in cursor.fetchall()}
        cursor.execute("SELECT max(id) FROM accounts")
        accounts = (cursor.fetchone()[0] or 0) + 1
        for column in (state.base_count, state.base_last, state.solved_count, state.solved_last):
            column.reserve(accounts)
        challenges = list(spec.challenge_ids)
        marks = dialect.marks(len(challenges))

        # The log: every counted solve newer than the floor, oldest first.
        cursor.execute(
            sql(
                f"SELECT account_id, {dialect.us('solved_at')}"  # noqa: S608
                f" FROM solves{dialect.by_time} WHERE module_id = ? AND challenge_id IN ({marks})"
                " AND solved_at > ? AND solved_at >= ? ORDER BY solved_at"
            ),
            (spec.id, *challenges, dialect.when(floor), dialect.when(launch)),
        )
        owners, log_times = array("q"), array("q")
        for account, when in cursor.fetchall():
            if account not in ineligible:
                owners.append(account)
                log_times.append(when)
        state.log = _Log(floor, log_times, owners)
        times.log = time.perf_counter() - started
        times.log_size = len(log_times)

        mark = time.perf_counter()
        state.ineligible = ineligible
        if migrated and self._only_current_challenges(cursor, spec):
            state.totals_loaded = False  # read from `solve_totals` when first needed
        else:
            self._aggregate_totals(cursor, state, ineligible, None)
        times.totals = time.perf_counter() - mark

        mark = time.perf_counter()
        if migrated:
            self._seek_first_bloods(cursor, state, ineligible)
        else:
            self._walk_first_bloods(cursor, state, ineligible)
        times.first_bloods = time.perf_counter() - mark

        mark = time.perf_counter()
        cursor.execute(
            sql(
                "SELECT account_id, emoji, title FROM badge_grants WHERE module_id = ?"
                " ORDER BY created_at, id"
            ),
            (spec.id,),
        )
        grants: dict[int, list[Badge]] = {}
        for account, emoji, title in cursor.fetchall():
            grants.setdefault(account, []).append(Badge(emoji, title, "granted"))
        state.grants = {account: tuple(found) for account, found in grants.items()}
        times.rest = time.perf_counter() - mark
        return state

    def _only_current_challenges(self, cursor: Any, spec: modules.ModuleSpec) -> bool:
        """Whether every solve of the module is of one of its current challenges.

        A loose index scan (one seek per distinct challenge) over migration 0003's index.
        """
        cursor.execute(
            self.dialect.sql(
                "WITH RECURSIVE seen(challenge) AS ("
                " SELECT (SELECT min(challenge_id) FROM solves WHERE module_id = ?)"
                " UNION ALL SELECT (SELECT min(challenge_id) FROM solves"
                " WHERE module_id = ? AND challenge_id > seen.challenge)"
                " FROM seen WHERE seen.challenge IS NOT NULL)"
                " SELECT challenge FROM seen WHERE challenge IS NOT NULL"
            ),
            (spec.id, spec.id),
        )
        current = set(spec.challenge_ids)
        return all(row[0] in current for row in cursor.fetchall())

    def _read_totals(self, cursor: Any, state: _ModuleState, ineligible: set[int]) -> None:
        """Per-account totals from `solve_totals` (kept by triggers), instead of aggregating.

        Valid because every solve of the module is of a current challenge (checked): an
        eligible account whose first solve is at or after the launch has all its solves
        counted, those newer than the floor are in the log, so its all-time base below the
        floor is its total minus its log entries, and its last solve below the floor is its
        last solve when it has no log entry (else looked up when needed, see `_resolve`).
        Accounts with solves before the launch are aggregated exactly, by id.
        """
        cursor.execute(
            self.dialect.sql(
                "SELECT account_id, solves, first_us, last_us FROM solve_totals WHERE module_id = ?"
            ),
            (state.spec.id,),
        )
        rows = cursor.fetchall()
        in_log: dict[int, int] = {}
        for account in state.log.owners:
            in_log[account] = in_log.get(account, 0) + 1
        launch = state.launch
        assert launch is not None
        # Straight into the arrays (reserved for every account id): the hot loop of a start.
        base_count, base_last = state.base_count.values, state.base_last.values
        solved_count, solved_last = state.solved_count.values, state.solved_last.values
        early: list[int] = []
        newer_of = in_log.get
        keys: list[int] = []
        add_key = keys.append
        shift, limit, bias = _SCORE_SHIFT, _SCORE_LIMIT, _TIME_BIAS
        for account, solves, first, last in rows:
            solved_count[account] = solves
            solved_last[account] = last
            if account in ineligible:
                continue
            if first < launch:
                early.append(account)
                continue
            newer = newer_of(account, 0)
            if not newer:
                base_count[account] = solves
                base_last[account] = last
                add_key(((limit - solves) << shift) | ((last + bias) << 32) | account)
            elif solves > newer:
                base_count[account] = solves - newer
                base_last[account] = UNKNOWN
        state.load_times.accounts = len(rows)
        for start in range(0, len(early), 500):
            self._aggregate_totals(cursor, state, ineligible, early[start : start + 500])
        for account in early:
            count = base_count[account]
            if count and account not in in_log:
                add_key(encode(count, base_last[account], account))
        state.base_keys = keys

    def _aggregate_totals(
        self,
        cursor: Any,
        state: _ModuleState,
        ineligible: set[int],
        only: list[int] | None,
    ) -> None:
        """Per-account totals aggregated from `solves` (all accounts, or only these)."""
        dialect = self.dialect
        challenges = list(state.spec.challenge_ids)
        assert state.launch is not None
        low, floor = dialect.when(state.launch), dialect.when(state.floor)
        which = f" AND account_id IN ({dialect.marks(len(only))})" if only else ""
        cursor.execute(
            dialect.sql(
                f"SELECT account_id, base_count, {dialect.us('base_last')},"  # noqa: S608
                f" all_count, {dialect.us('all_last')} FROM ("
                " SELECT account_id,"
                " SUM(CASE WHEN solved_at >= ? AND solved_at <= ? THEN 1 ELSE 0 END)"
                " AS base_count,"
                " MAX(CASE WHEN solved_at >= ? AND solved_at <= ? THEN solved_at END)"
                " AS base_last,"
                " COUNT(*) AS all_count, MAX(solved_at) AS all_last FROM solves"
                f" WHERE module_id = ? AND challenge_id IN ({dialect.marks(len(challenges))})"
                f"{which} GROUP BY account_id) AS totals"
            ),
            (low, floor, low, floor, state.spec.id, *challenges, *(only or ())),
        )
        count_rows = 0
        base_count, base_last = state.base_count.values, state.base_last.values
        solved_count, solved_last = state.solved_count.values, state.solved_last.values
        for account, count, last, solved, solved_at in cursor.fetchall():
            count_rows += 1
            solved_count[account] = solved
            solved_last[account] = solved_at
            if count and account not in ineligible:
                base_count[account] = count
                base_last[account] = last
        if only is None:
            state.load_times.accounts = count_rows

    def _seek_first_bloods(self, cursor: Any, state: _ModuleState, ineligible: set[int]) -> None:
        """First blood of each challenge by seeks on (module, challenge, time)."""
        dialect = self.dialect
        assert state.launch is not None
        query = dialect.sql(
            f"SELECT account_id, {dialect.us('solved_at')} FROM solves"  # noqa: S608
            " WHERE module_id = ? AND challenge_id = ? AND solved_at >= ?"
            " ORDER BY solved_at, account_id LIMIT ? OFFSET ?"
        )
        low = dialect.when(state.launch)
        for number, challenge in enumerate(state.spec.challenge_ids):
            offset, page = 0, 8
            while True:
                cursor.execute(query, (state.spec.id, challenge, low, page, offset))
                rows = cursor.fetchall()
                found = next((row for row in rows if row[0] not in ineligible), None)
                if found is not None:
                    state.firsts[number] = (found[1], found[0])
                    break
                if len(rows) < page:
                    break
                offset += page
                page *= 4

    def _walk_first_bloods(self, cursor: Any, state: _ModuleState, ineligible: set[int]) -> None:
        """First blood without migration 0003: walk the module's solves in time order until
        every challenge has one (streamed: a server-side cursor on PostgreSQL)."""
        dialect = self.dialect
        challenges = list(state.spec.challenge_ids)
        assert state.launch is not None
        walker = cursor.connection.cursor(name="sockdojo_firsts") if dialect.postgres else cursor
        walker.execute(
            dialect.sql(
                f"SELECT challenge_id, account_id, {dialect.us('solved_at')}"  # noqa: S608
                f" FROM solves WHERE module_id = ? AND challenge_id IN"
                f" ({dialect.marks(len(challenges))}) AND solved_at >= ?"
                " ORDER BY solved_at, account_id"
            ),
            (state.spec.id, *challenges, dialect.when(state.launch)),
        )
        missing = len(challenges)
        while missing:
            batch = walker.fetchmany(1000)
            if not batch:
                break
            for challenge, account, when in batch:
                number = state.index[challenge]
                if state.firsts[number] is None and account not in ineligible:
                    state.firsts[number] = (when, account)
                    missing -= 1
        if walker is not cursor:
            walker.close()

    def _resolve(self, state: _ModuleState, account: int) -> int:
        """The account's last counted solve at or below the floor (see `_read_totals`).

        Only solves the module has caught up with count (ids up to the watermark, not pending),
        so that the answer agrees with the account's count.
        """
        dialect = self.dialect
        challenges = list(state.spec.challenge_ids)
        assert state.launch is not None
        pending = ""
        if state.watermark.pending:
            listed = ", ".join(str(int(solve_id)) for solve_id in state.watermark.pending)
            pending = f" AND id NOT IN ({listed})"

        def run(cursor: Any) -> Any:
            cursor.execute(
                dialect.sql(
                    f"SELECT max({dialect.us('solved_at')}) FROM solves"  # noqa: S608
                    f" WHERE account_id = ? AND module_id = ? AND challenge_id IN"
                    f" ({dialect.marks(len(challenges))}) AND solved_at >= ? AND solved_at <= ?"
                    f" AND id <= ?{pending}"
                ),
                (
                    account,
                    state.spec.id,
                    *challenges,
                    dialect.when(state.launch),  # type: ignore[arg-type]
                    dialect.when(state.floor),
                    state.watermark.high,
                ),
            )
            return cursor.fetchone()[0]

        found = self._execute(run)
        if found is None:
            raise _Stale(f"account {account} lost its solves below the floor")
        state.base_last.set(account, int(found))
        return int(found)

    def _account_names(self, accounts: list[int]) -> dict[int, str]:
        names = self._names
        missing = [account for account in accounts if account not in names]
        if missing:
            if len(names) > NAME_CACHE_LIMIT:
                names.clear()

            def run(cursor: Any) -> None:
                cursor.execute(
                    self.dialect.sql(
                        f"SELECT id, name FROM accounts WHERE id IN "  # noqa: S608
                        f"({self.dialect.marks(len(missing))})"
                    ),
                    tuple(missing),
                )
                for account, name in cursor.fetchall():
                    names[account] = name

            self._execute(run)
        return names

    @staticmethod
    def _row(state: _ModuleState, rank: int, key: int, names: dict[int, str], at: int) -> Row:
        score, last, account = decode(key)
        return Row(
            rank=rank,
            account_id=account,
            hacker=names[account],
            badges=state.badges(account, at),
            score=score,
            last_solve_at=from_us(last),
        )
