"""What the live scoreboard keeps of one module, and how a new solve changes it. Pure.

Per module: the log and the all-time base (`ranking`), one window per board asked for, and for
the badges, per account how many of the module's challenges it solved and when the last one was
(completion), the first eligible solve of each challenge (first blood), and the granted badges.
"""

from __future__ import annotations

from array import array
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from sockdojo.scoreboard import modules
from sockdojo.scoreboard.badges import COMPLETION_EMOJI, FIRST_BLOOD_EMOJI
from sockdojo.scoreboard.counting import ranked
from sockdojo.scoreboard.live.keys import encode_all
from sockdojo.scoreboard.live.ranking import UNKNOWN, Base, Column, Log, Window
from sockdojo.scoreboard.live.reader import Aggregate, NewSolve, Total
from sockdojo.scoreboard.live.watermark import Watermark
from sockdojo.scoreboard.model import Badge


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


class ModuleState:
    """One module's board, as of the solves its watermark has seen."""

    def __init__(
        self,
        spec: modules.ModuleSpec,
        *,
        launch: int | None,
        floor: int,
        version: int | None,
        watermark: Watermark,
        resolve: Callable[[ModuleState, int], int],
    ) -> None:
        """`resolve(state, account)`: the account's last counted solve at or below the floor,
        from the database, for a base whose last solve the load left UNKNOWN."""
        self.spec = spec
        self.launch = launch
        self.version = version
        self.watermark = watermark
        self.log = Log(floor)
        self.base = Base(lambda account: resolve(self, account))
        # Per account, all of its solves of the module's challenges (for completion).
        self.solved_count = Column("i")
        self.solved_last = Column("q")
        self.firsts: list[tuple[int, int] | None] = [None] * len(spec.challenges)
        self.grants: dict[int, tuple[Badge, ...]] = {}
        self.windows: dict[int, Window] = {}
        # The ticket after which this module has caught up (see LiveScoreboard._current).
        self.fresh_after = 0
        self.load_times = LoadTimes()
        # All-time keys of the accounts with a base and no log entry, straight from a load; only
        # valid until anything changes (used by the warm all-time window, then dropped).
        self.base_keys: list[int] | None = None
        # Whether the per-account totals (all-time base, completion) are in memory. With
        # migration 0003 they are read from `solve_totals` only when the all-time board is first
        # asked for, so that a start answers the 30-day board sooner; until then completion is
        # looked up per account shown (`completions`, exact for the solves caught up with).
        self.totals_loaded = True
        self.completions: dict[int, tuple[int, int]] = {}
        self.ineligible: set[int] = set()
        # The module page's per-challenge counts and the moment they are for (see
        # LiveScoreboard.solve_counts); forgotten whenever a solve of the module comes in.
        self.counts: tuple[int, dict[str, int]] | None = None
        self.index = {challenge.id: n for n, challenge in enumerate(spec.challenges)}
        self.completion = Badge(
            COMPLETION_EMOJI, f"Completed the {spec.title} module", "completion"
        )
        self.first_badges = tuple(
            Badge(FIRST_BLOOD_EMOJI, f"First blood: {challenge.title}", "first_blood")
            for challenge in spec.challenges
        )

    @property
    def floor(self) -> int:
        return self.log.floor

    def reserve(self, accounts: int) -> None:
        """Room in every per-account column for account ids below `accounts`."""
        for column in (self.base.counts, self.base.lasts, self.solved_count, self.solved_last):
            column.reserve(accounts)

    def window(self, days: int, at: int) -> Window:
        """The window of `days` moved to `at` (made on first use; the all-time one needs the
        totals loaded first)."""
        window = self.windows.get(days)
        if window is None:
            assert days or self.totals_loaded, "the all-time window needs the totals"
            window = self.windows[days] = Window(self.log, self.base, days, at, self.base_keys)
            self.base_keys = None
        else:
            window.move(at)
        return window

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
            all_time = self.windows.get(0)
            if all_time is not None:
                all_time.rebased(account, when)
            else:
                self.base.add(account, when)
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

    # Taking in what the database says

    def take_in(self, solves: Iterable[NewSolve]) -> None:
        """The solves a catch-up found (of any module: all of them move the watermark)."""
        seen: list[int] = []
        for solve in solves:
            seen.append(solve.id)
            if solve.module != self.spec.id:
                continue
            self.counts = None
            number = self.index.get(solve.challenge)
            if number is not None:
                eligible = ranked(hidden=solve.hidden, admin=solve.admin)
                self.solved(solve.account, number, solve.when, eligible)
        self.watermark.saw(seen)

    def take_log(self, rows: Iterable[tuple[int, int]]) -> None:
        """The counted solves newer than the floor, by time, of eligible and ineligible
        accounts alike (`ineligible` must be known)."""
        ineligible = self.ineligible
        owners, times = array("q"), array("q")
        for account, when in rows:
            if account not in ineligible:
                owners.append(account)
                times.append(when)
        self.log = Log(self.log.floor, times, owners)
        self.load_times.log_size = len(times)

    def take_totals(self, rows: Sequence[Total]) -> tuple[list[int], dict[int, int]]:
        """Per-account totals from `solve_totals` (kept by triggers), instead of aggregating;
        returns the accounts with solves before the launch, to be aggregated exactly
        (`take_aggregate`), and each account's number of log entries, both for `finish_base`.

        Valid when every solve of the module is of a current challenge (the caller checks): an
        eligible account whose first solve is at or after the launch has all its solves
        counted, those newer than the floor are in the log, so its all-time base below the
        floor is its total minus its log entries, and its last solve below the floor is its
        last solve when it has no log entry (else UNKNOWN: looked up when needed, `Base.last`).
        """
        in_log: dict[int, int] = {}
        for account in self.log.owners:
            in_log[account] = in_log.get(account, 0) + 1
        launch = self.launch
        assert launch is not None
        ineligible = self.ineligible
        # Straight into the arrays (reserved for every account id): the hot loop of a start.
        base_count, base_last = self.base.counts.values, self.base.lasts.values
        solved_count, solved_last = self.solved_count.values, self.solved_last.values
        early: list[int] = []
        newer_of = in_log.get
        plain: list[int] = []  # a base, no log entry: keys straight from the base
        add_plain = plain.append
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
                add_plain(account)
            elif solves > newer:
                base_count[account] = solves - newer
                base_last[account] = UNKNOWN
        self.load_times.accounts = len(rows)
        self.base_keys = encode_all(
            map(base_count.__getitem__, plain), map(base_last.__getitem__, plain), plain
        )
        return early, in_log

    def finish_base(self, early: Sequence[int], in_log: dict[int, int]) -> None:
        """The all-time keys of the early accounts too, once aggregated (after `take_totals`)."""
        assert self.base_keys is not None
        counts, lasts = self.base.counts.values, self.base.lasts.values
        shown = [account for account in early if counts[account] and account not in in_log]
        self.base_keys.extend(
            encode_all(map(counts.__getitem__, shown), map(lasts.__getitem__, shown), shown)
        )

    def take_aggregate(self, rows: Sequence[Aggregate], *, every: bool) -> None:
        """Per-account totals aggregated from `solves` (of `every` account, or some)."""
        ineligible = self.ineligible
        base_count, base_last = self.base.counts.values, self.base.lasts.values
        solved_count, solved_last = self.solved_count.values, self.solved_last.values
        for account, count, last, solved, solved_at in rows:
            solved_count[account] = solved
            solved_last[account] = solved_at
            if count and account not in ineligible:
                assert last is not None
                base_count[account] = count
                base_last[account] = last
        if every:
            self.load_times.accounts = len(rows)

    def take_grants(self, rows: Iterable[tuple[int, str, str]]) -> None:
        grants: dict[int, list[Badge]] = {}
        for account, emoji, title in rows:
            grants.setdefault(account, []).append(Badge(emoji, title, "granted"))
        self.grants = {account: tuple(found) for account, found in grants.items()}
