"""The live scoreboard's engine: when to catch up with the database, when to reload, and the
lock that keeps a process's threads from stepping on one module's memory.

One `LiveScoreboard` per process. Each question takes a *ticket*; a module answers a ticket
once it has caught up in a catch-up that started after the ticket was taken, so a burst of
questions shares one catch-up instead of making one each. A changed `scoreboard_version` (an
admin action, a deleted solve), a module list changed in `modules`, or a question further back
than the log reaches reload the module.
"""

from __future__ import annotations

import datetime as dt
import itertools
import threading
import time
from collections.abc import Callable, Collection, Sequence
from typing import TypeVar

from sockdojo.errors import InternalError
from sockdojo.scoreboard import modules
from sockdojo.scoreboard.live.keys import DAY_US, decode, from_us, to_us
from sockdojo.scoreboard.live.reader import Reader
from sockdojo.scoreboard.live.state import LoadTimes, ModuleState
from sockdojo.scoreboard.live.watermark import TRAILING_IDS, Watermark
from sockdojo.scoreboard.model import (
    Badge,
    Board,
    BoardQuestion,
    HackerView,
    ModuleView,
    Row,
    ScoreboardSource,
    check_days,
)
from sockdojo.storage.database import Store

# How far below the oldest window the log reaches: questions up to this much earlier than the
# module's load time need no reload.
FLOOR_MARGIN_US = DAY_US
NAME_CACHE_LIMIT = 100_000
# The accounts with solves before the launch are aggregated this many at a time.
EARLY_BATCH = 500

T = TypeVar("T")


def _challenge_ids(module_id: str) -> tuple[str, ...]:
    spec = modules.spec(module_id)
    return spec.challenge_ids if spec is not None else ()


class _Stale(Exception):
    """The database changed under a module's feet in a way only a reload can follow."""


class LiveScoreboard(ScoreboardSource):
    """`ScoreboardSource` from memory, caught up with the database on every question."""

    def __init__(self, store: Store, *, warm: Sequence[int] = (30, 7)) -> None:
        self.store = store
        self.reader = Reader(store.engine)
        self.warm = tuple(warm)
        self._lock = threading.RLock()
        self._tickets = itertools.count(1)
        self._modules: dict[str, ModuleState] = {}
        self._generation = modules.generation
        self._names: dict[int, str] = {}
        self.reloads = 0

    # The ScoreboardSource questions

    def answer_board(self, question: BoardQuestion) -> Board:
        at = to_us(question.now)
        return self._answer(
            question.module_id,
            question.days,
            at,
            lambda state: self._board(state, question, at),
            Board((), None),
        )

    def module_view(self, question: BoardQuestion, chart: int = 5) -> ModuleView:
        module_id, days, now = question.module_id, question.days, question.now
        at = to_us(now)

        def read(state: ModuleState) -> ModuleView:
            board = self._board(state, question, at)
            top = [row.account_id for row in board.rows[:chart]]
            assert state.launch is not None
            return ModuleView(
                board=board,
                launched_at=from_us(state.launch),
                solve_counts=self._solve_counts(state, now),
                chart=self._solve_times(state, days, now, top),
            )

        empty = ModuleView(Board((), None), None, dict.fromkeys(_challenge_ids(module_id), 0), {})
        return self._answer(module_id, days, at, read, empty)

    def badges(self, module_id: str, account_id: int, now: dt.datetime) -> tuple[Badge, ...]:
        at = to_us(now)

        def read(state: ModuleState) -> tuple[Badge, ...]:
            if not state.totals_loaded:
                self._completions(state, [account_id])
            return state.badges(account_id, at)

        return self._answer(module_id, 0, at, read, ())

    def hacker_view(
        self, module_id: str, account_id: int, now: dt.datetime, windows: Collection[int]
    ) -> HackerView:
        questions = [BoardQuestion(module_id, days, now, account_id, 0) for days in windows]
        at = to_us(now)

        def read(state: ModuleState) -> HackerView:
            rows = {asked.days: self._board(state, asked, at).me for asked in questions}
            if not state.totals_loaded:
                self._completions(state, [account_id])
            return HackerView(state.badges(account_id, at), rows)

        # The longest window decides how far back the log must reach (all time, 0, needs only
        # `now` above the floor: below it the totals count).
        widest = max(windows, default=0)
        empty = HackerView((), dict.fromkeys(windows))
        return self._answer(module_id, widest, at, read, empty)

    def solve_counts(self, module_id: str, now: dt.datetime) -> dict[str, int]:
        at = to_us(now)

        return self._answer(
            module_id,
            0,
            at,
            lambda state: self._solve_counts(state, now),
            dict.fromkeys(_challenge_ids(module_id), 0),
        )

    def solve_times(
        self, module_id: str, days: int, now: dt.datetime, account_ids: Collection[int]
    ) -> dict[int, list[dt.datetime]]:
        at = to_us(now)
        return self._answer(
            module_id,
            check_days(days),
            at,
            lambda state: self._solve_times(state, days, now, account_ids),
            {},
        )

    # What the answers are made of (under the lock, the module caught up)

    def _board(self, state: ModuleState, question: BoardQuestion, at: int) -> Board:
        days, viewer_id, limit = question.days, question.viewer_id, question.limit
        if days == 0 and not state.totals_loaded:
            self._load_totals(state)
        window = state.window(days, at)
        keys = window.ranking.top(max(limit, 0))
        mine = window.key(viewer_id) if viewer_id is not None else None
        wanted = [decode(key)[2] for key in keys]
        if mine is not None:
            wanted.append(decode(mine)[2])
        names = self._account_names(wanted)
        if not all(account in names for account in wanted):
            # Deleted since the catch-up (the triggers bumped the version): reload.
            raise _Stale("an account on the board is gone")
        if not state.totals_loaded:
            self._completions(state, wanted)
        rows = tuple(
            self._row(state, rank, key, names, at) for rank, key in enumerate(keys, start=1)
        )
        if mine is None:
            return Board(rows, None)
        my_rank = window.ranking.position(mine) + 1
        if my_rank <= len(rows):
            return Board(rows, rows[my_rank - 1])
        return Board(rows, self._row(state, my_rank, mine, names, at))

    def _solve_counts(self, state: ModuleState, now: dt.datetime) -> dict[str, int]:
        # Exact until a solve of the module is taken in (which forgets the counts) or the clock
        # crosses a counted solve (all of those since the floor are in the log).
        at = to_us(now)
        if state.counts is None or state.log.any_between(state.counts[0], at):
            state.counts = (at, self.reader.solve_counts(state.spec.id, now))
        return dict(state.counts[1])

    def _solve_times(
        self, state: ModuleState, days: int, now: dt.datetime, account_ids: Collection[int]
    ) -> dict[int, list[dt.datetime]]:
        if not account_ids:
            return {}
        if days == 0:
            # Solves below the floor are counted, not kept: ask the database.
            return self.reader.solve_times(state.spec.id, days, now, account_ids)
        recent = state.window(days, to_us(now)).recent
        return {account: list(map(from_us, recent.get(account, ()))) for account in account_ids}

    def _answer(
        self, module_id: str, days: int, at: int, read: Callable[[ModuleState], T], empty: T
    ) -> T:
        """`read(state)` of the module caught up with the database (under the lock), or `empty`
        when the module has no challenges or no launch date. A read that finds the database
        changed under its feet (`_Stale`) is tried again on a reloaded module."""
        ticket = next(self._tickets)
        with self._lock:
            for _ in range(3):
                try:
                    state = self._current(module_id, days, at, ticket)
                    return empty if state is None else read(state)
                except _Stale:
                    self._modules.pop(module_id, None)
                    self._names.clear()
                ticket = next(self._tickets)
        raise InternalError("the scoreboard could not settle on a consistent state")

    def close(self) -> None:
        with self._lock:
            self.reader.close()

    def load_times(self, module_id: str) -> LoadTimes | None:
        state = self._modules.get(module_id)
        return state.load_times if state else None

    # Keeping up with the database

    def _current(self, module_id: str, days: int, at: int, ticket: int) -> ModuleState | None:
        """The module, caught up for this ticket (loaded or reloaded if need be), or None when
        it has no challenges or no launch date."""
        if self._generation != modules.generation:
            self._generation = modules.generation
            self._modules.clear()
        spec = modules.spec(module_id)
        if spec is None or not spec.challenges:
            return None
        state = self._modules.get(module_id)
        if state is not None and state.fresh_after < ticket:
            started = next(self._tickets)
            behind = state
            if self.reader.retrying(lambda: self._catch_up(behind), keep=_Stale):
                state.fresh_after = started
            else:
                state = None  # something other than a solve changed: reload
                self._names.clear()
        if state is not None and not state.log.covers(days, at):
            state = None  # a question further back than the log reaches
        if state is None:
            started = next(self._tickets)
            floor = min(at - days * DAY_US, at - max(self.warm, default=0) * DAY_US)
            state = self.reader.retrying(
                lambda: self._load(spec, at, floor - FLOOR_MARGIN_US), keep=_Stale
            )
            state.fresh_after = started
            self._modules[module_id] = state
            self.reloads += 1
            mark = time.perf_counter()
            if state.launch is not None:
                for warm in self.warm:
                    if state.log.covers(warm, at):
                        state.window(warm, at)
            state.base_keys = None
            state.load_times.windows = time.perf_counter() - mark
        return state if state.launch is not None else None

    def _catch_up(self, state: ModuleState, *, settle: bool = True) -> bool:
        """Take in the solves committed since the last look; False when the module must reload.

        `settle` only in autocommit, where each statement is its own snapshot: the look at the
        sequence's holders must come before the query's snapshot (see `Watermark.settle`).
        """
        reader, watermark = self.reader, state.watermark
        holders = None
        clock = time.monotonic()
        if settle and reader.postgres and watermark.due(clock):
            holders = reader.sequence_holders()
        found = reader.catch_up(watermark.high, watermark.pending)
        if (found.version if found.version is not None else state.version) != state.version:
            return False
        if holders is not None:
            watermark.settle(holders, clock)
        state.take_in(found.solves)
        return True

    def _load(self, spec: modules.ModuleSpec, at: int, floor: int) -> ModuleState:
        """Everything a module needs, read in one snapshot."""
        reader = self.reader
        with reader.snapshot():
            started = time.perf_counter()
            migrated = reader.has_version_table()
            high = reader.max_solve_id()
            present = (
                reader.solve_ids_above(high - TRAILING_IDS) if reader.postgres and high else ()
            )
            state = ModuleState(
                spec,
                launch=reader.launch(spec.id),
                floor=floor,
                version=reader.version() if migrated else None,
                watermark=Watermark.after_load(high, present, in_order=not reader.postgres),
                resolve=self._resolve,
            )
            if state.launch is None:
                return state
            state.ineligible = reader.ineligible()
            state.reserve(reader.account_ids_end())
            state.take_log(reader.log(spec, floor, state.launch))
            state.load_times.log = time.perf_counter() - started
            mark = time.perf_counter()
            if migrated and reader.module_challenges(spec.id) <= set(spec.challenge_ids):
                state.totals_loaded = False  # read from `solve_totals` when first needed
            else:
                rows = reader.aggregate(spec, state.launch, floor, None)
                state.take_aggregate(rows, every=True)
            state.load_times.totals = time.perf_counter() - mark
            mark = time.perf_counter()
            if migrated:
                self._seek_first_bloods(state)
            else:
                self._walk_first_bloods(state)
            state.load_times.first_bloods = time.perf_counter() - mark
            mark = time.perf_counter()
            state.take_grants(reader.grants(spec.id))
            state.load_times.rest = time.perf_counter() - mark
            return state

    def _load_totals(self, state: ModuleState) -> None:
        """Read the per-account totals (for the all-time board) of a loaded module.

        In one snapshot: first a catch-up, so that the module has seen exactly the solves that
        the totals count, then the totals.
        """
        reader, spec = self.reader, state.spec

        def read() -> None:
            with reader.snapshot():
                # In this snapshot (REPEATABLE READ): no look at the sequence's holders.
                if not self._catch_up(state, settle=False):
                    raise _Stale("the database changed: reload")
                started = time.perf_counter()
                state.reserve(reader.account_ids_end())
                early, in_log = state.take_totals(reader.totals(spec.id))
                assert state.launch is not None
                for start in range(0, len(early), EARLY_BATCH):
                    batch = early[start : start + EARLY_BATCH]
                    rows = reader.aggregate(spec, state.launch, state.floor, batch)
                    state.take_aggregate(rows, every=False)
                state.finish_base(early, in_log)
                state.load_times.totals = time.perf_counter() - started

        reader.retrying(read, keep=_Stale)
        state.totals_loaded = True
        state.completions.clear()

    def _seek_first_bloods(self, state: ModuleState) -> None:
        """First blood of each challenge by seeks on (module, challenge, time), a growing page
        at a time until an eligible account's solve shows up."""
        assert state.launch is not None
        for number, challenge in enumerate(state.spec.challenge_ids):
            offset, page = 0, 8
            while True:
                rows = self.reader.first_solves(
                    state.spec.id, challenge, state.launch, page, offset
                )
                found = next((row for row in rows if row[0] not in state.ineligible), None)
                if found is not None:
                    state.firsts[number] = (found[1], found[0])
                    break
                if len(rows) < page:
                    break
                offset += page
                page *= 4

    def _walk_first_bloods(self, state: ModuleState) -> None:
        """First blood without migration 0003: walk the module's solves in time order until
        every challenge has one."""
        assert state.launch is not None
        missing = len(state.firsts)
        solves = self.reader.all_first_solves(state.spec, state.launch)
        for challenge, account, when in solves:
            number = state.index[challenge]
            if state.firsts[number] is None and account not in state.ineligible:
                state.firsts[number] = (when, account)
                missing -= 1
                if not missing:
                    break

    def _resolve(self, state: ModuleState, account: int) -> int:
        """The account's last counted solve at or below the floor (see `take_totals`).

        Only solves the module has caught up with count (ids up to the watermark, not pending),
        so that the answer agrees with the account's count.
        """
        assert state.launch is not None
        spec, watermark = state.spec, state.watermark
        found = self.reader.retrying(
            lambda: self.reader.last_below_floor(
                account, spec, state.launch or 0, state.floor, watermark
            ),
            keep=_Stale,
        )
        if found is None:
            raise _Stale(f"account {account} lost its solves below the floor")
        return found

    def _completions(self, state: ModuleState, accounts: list[int]) -> None:
        """How many of the module's challenges these accounts solved and when the last one was
        (for the completion badge before the totals are loaded), from the solves caught up with.
        """
        missing = sorted({account for account in accounts if account not in state.completions})
        if not missing:
            return
        if len(state.completions) > NAME_CACHE_LIMIT:
            state.completions.clear()
        spec, watermark = state.spec, state.watermark
        found = self.reader.retrying(
            lambda: self.reader.completions(missing, spec, watermark),
            keep=_Stale,
        )
        for account in missing:
            state.completions[account] = found.get(account, (0, 0))

    def _account_names(self, accounts: list[int]) -> dict[int, str]:
        names = self._names
        missing = [account for account in accounts if account not in names]
        if missing:
            if len(names) > NAME_CACHE_LIMIT:
                names.clear()
            names.update(self.reader.retrying(lambda: self.reader.names(missing), keep=_Stale))
        return names

    @staticmethod
    def _row(state: ModuleState, rank: int, key: int, names: dict[int, str], at: int) -> Row:
        score, last, account = decode(key)
        return Row(
            rank=rank,
            account_id=account,
            hacker=names[account],
            badges=state.badges(account, at),
            score=score,
            last_solve_at=from_us(last),
        )
