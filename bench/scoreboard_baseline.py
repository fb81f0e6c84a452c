"""The benchmarks' baseline: the straightforward SQL scoreboard, as pwn.college and CTFd do it.

One GROUP BY account over the window per request, ranked by count and time of the last solve,
on the same database; the page (top N) and the viewer's row. It is the reference's own query
(`scoreboard.query.ranked_rows`, so that the baseline can never drift from the rules) without
the badges: the full reference, `SqlScoreboard`, adds their queries and is slower still. This is
the cheapest way to be exact without keeping anything in memory, which is what the live board
is measured against.
"""

from __future__ import annotations

import datetime as dt

from sockdojo.scoreboard import SqlScoreboard
from sockdojo.scoreboard.model import DEFAULT_LIMIT, Board, Row
from sockdojo.scoreboard.query import board_of, ranked_rows


class GroupByScoreboard(SqlScoreboard):
    """`ScoreboardSource`: a GROUP BY over the window's solves for every board, no badges (and
    the reference's queries for the rest of the pages)."""

    def board(
        self,
        module_id: str,
        days: int,
        now: dt.datetime,
        viewer_id: int | None,
        limit: int = DEFAULT_LIMIT,
    ) -> Board:
        with self.store.session() as session:
            found = ranked_rows(session, module_id, days, now, viewer_id, limit)
        rows = [Row(r.rank, r.account_id, r.name, (), r.score, r.last_solve_at) for r in found]
        return board_of(rows, viewer_id, limit)
