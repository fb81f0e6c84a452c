"""Which solve ids a module has seen, and when a missing one can be given up on. Pure.

Catching up asks the database for the solves with an id above the highest one seen. SQLite has
a single writer, so its ids commit in order and "the highest seen" is the whole story. On
PostgreSQL ids come from a sequence and commit out of order: an id below the highest one seen
that was not visible may belong to a transaction still running. Such an id stays *pending*,
asked for again on every catch-up, until it shows up or can be proven never to (`settle`).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

# While ids are missing, a catch-up looks at who holds the id sequence at most this often.
SETTLE_SECONDS = 0.2
# At most this many missing ids of one jump are tracked (a jump of more than this is not two
# transactions racing but an administrator moving the sequence).
MAX_GAPS = 10_000
# Missing ids in this trailing range of a PostgreSQL load are tracked like any gap.
TRAILING_IDS = 5_000


@dataclass
class Gap:
    # The transactions (virtual ids) that held the id sequence at the first look after the gap
    # was noticed: the one that took the id is among them, unless it had ended by then.
    holders: frozenset[str] | None = None


class Watermark:
    """All ids up to `high` have been seen, except the `pending` ones."""

    def __init__(self, high: int, *, in_order: bool) -> None:
        self.high = high
        self.in_order = in_order
        self.pending: dict[int, Gap] = {}
        self.looked = -float("inf")  # time.monotonic() of the last look at the holders

    @classmethod
    def after_load(cls, high: int, present: Collection[int], *, in_order: bool) -> Watermark:
        """The watermark of a load that saw `high` as the highest id and, out of order, these
        ids of the trailing range: the others there may belong to transactions still running."""
        watermark = cls(high, in_order=in_order)
        if not in_order and high:
            for solve_id in range(max(1, high - TRAILING_IDS + 1), high):
                if solve_id not in present:
                    watermark.pending[solve_id] = Gap()
        return watermark

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
                        self.pending[missing] = Gap()
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
