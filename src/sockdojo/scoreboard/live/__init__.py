"""The live scoreboard: the rules of `sockdojo.scoreboard`, answered from memory, exactly.

`LiveScoreboard` is a `ScoreboardSource` that gives the same boards as the SQL reference
(`SqlScoreboard`, checked by property tests), in microseconds instead of a GROUP BY over every
solve. One instance per process; each question first catches up with the database, so several
processes (and the CLI) writing to one database stay exact.

Per module, in memory (`state`, `ranking`): the counted solves newer than a *floor* (30 days
and a day below the time the module was loaded) as a log sorted by time, per-account totals
below it, and per board asked for (30 days, 7 days, all time) a window over the log with its
ranking, a sorted list of integer keys (`keys`). Time is exact and lazy: a window answers at
any `now` by moving its two ends over the log, in either direction, exactly at the half-open
edge; nothing is rebuilt periodically. A question further in the past than the floor allows
(only tests ask that) reloads the module with a lower floor: slow, and still exact.

Catching up (`engine`, `reader`): before answering, one indexed query fetches the solves with
an id above the module's watermark (`watermark`: on PostgreSQL ids commit out of order), with
the value of `scoreboard_version`, a counter that database triggers bump on every change that
is not a new solve (hiding an account, the admin flag, a rename, a deleted solve or account,
the launch date, granted badges; migration 0003). A changed counter reloads the module.

    keys.py       time as integers; the ranking key, encoded in one place
    ranking.py    pure structures: log, all-time base, ranking, the moving window
    state.py      one module in memory, and how solves and loaded rows change it (pure)
    watermark.py  which solve ids were seen; when a missing one can be given up on (pure)
    reader.py     every query, on the scoreboard's own connection, typed results
    engine.py     LiveScoreboard: the lock, tickets, catch-up and reload policy
"""

from sockdojo.scoreboard.live.engine import LiveScoreboard
from sockdojo.scoreboard.live.keys import to_us
from sockdojo.scoreboard.live.state import LoadTimes

__all__ = ["LiveScoreboard", "LoadTimes", "to_us"]
