"""The benchmarks' baseline: the straightforward SQL scoreboard, as pwn.college and CTFd do it.

One GROUP BY account over the window per request, ranked by count and time of the last solve,
on the same database; the page (top N) and the viewer's row. It is the reference itself
(`SqlScoreboard`, so that the baseline can never drift from the rules) with the boards' badge
queries left out, which would only make it slower: the cheapest way to be exact without keeping
anything in memory, which is what the live board is measured against.
"""

from __future__ import annotations

from sockdojo.scoreboard.reference import SqlScoreboard
from sockdojo.storage.database import Store


def group_by_scoreboard(store: Store) -> SqlScoreboard:
    """`ScoreboardSource`: a GROUP BY over the window's solves for every board, no badges on
    it (and the reference's queries for the rest of the pages)."""
    return SqlScoreboard(store, board_badges=False)
