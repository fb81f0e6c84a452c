"""The live scoreboard against the straightforward SQL board, in process, on the same database.

    .venv/bin/python bench/scoreboard.py [--quick] [--postgres URL] [--reference]

Data: bench/generate_scoreboard_data.py (made on the first run, then reused): the Sockets
module (400,000 hackers, 2,000,000 solves over two years) and the `synthetic` module (200
challenges, 100,000 hackers, 5,000,000 solves), in one SQLite database (or PostgreSQL with
--postgres, loaded there first). `--quick` is a twentieth of that.

For each module:
* a 30-day page (top 20 and the viewer's own row): median and p99 latency of the live board,
  each request catching up with the database first, against the baseline (a GROUP BY over the
  window per request, `scoreboard_baseline.py`), ratio beside it;
* cold start: a new process's first board (loads the module), median of three;
* memory kept by the live board (tracemalloc, and the process's RSS growth);
* exact after a new solve: a solve is recorded, the very next board shows it and equals the
  baseline;
* window edge: a solve 30 days old leaves the 30-day board at exactly its edge (one
  microsecond before it counts, at the edge it does not), equal to the baseline both times,
  with no reload.
`--reference` also times the full SQL reference with badges (`SqlScoreboard`) once (slow).
"""

from __future__ import annotations

import datetime as dt
import gc
import random
import secrets
import statistics
import sys
import time
import tracemalloc
from pathlib import Path

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE.parent / "src"))
sys.path.insert(0, str(HERE))

from generate_scoreboard_data import SYNTHETIC, Dataset, data_options, dataset  # noqa: E402
from scoreboard_baseline import group_by_scoreboard  # noqa: E402
from sqlalchemy import delete  # noqa: E402

from sockdojo.challenges import registry  # noqa: E402
from sockdojo.scoreboard.live import LiveScoreboard  # noqa: E402
from sockdojo.scoreboard.model import Board, Row  # noqa: E402
from sockdojo.scoreboard.reference import SqlScoreboard  # noqa: E402
from sockdojo.storage.database import Store  # noqa: E402
from sockdojo.storage.models import Account, Solve  # noqa: E402
from sockdojo.storage.solves import record_solve  # noqa: E402

MS = 1000.0


def rss() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * 4096


def ranking(board: Board) -> tuple[object, ...]:
    """What the baseline also gives (it leaves badges out)."""

    def row(r: Row | None) -> object:
        return None if r is None else (r.rank, r.account_id, r.hacker, r.score, r.last_solve_at)

    return (tuple(row(r) for r in board.rows), row(board.me))


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def bench_module(
    store: Store, data: Dataset, module: str, accounts: range, reference: bool
) -> list[str]:
    out: list[str] = []
    now = data.now
    rng = random.Random(7)
    baseline = group_by_scoreboard(store)

    # Cold start, three times, each a new LiveScoreboard (a new process's first question):
    # the 30-day board (the 30- and 7-day windows are built), then the first all-time board
    # (reads the per-account totals).
    starts, all_times = [], []
    for _ in range(3):
        gc.collect()
        live = LiveScoreboard(store)
        began = time.perf_counter()
        live.board(module, 30, now, accounts[0])
        starts.append(time.perf_counter() - began)
        began = time.perf_counter()
        live.board(module, 0, now, accounts[0])
        all_times.append(time.perf_counter() - began)
        times = live.load_times(module)
        live.close()
        del live
    assert times is not None

    def runs(values: list[float]) -> str:
        return f"median {statistics.median(values):.2f} s [{', '.join(f'{v:.2f}' for v in values)}]"

    out.append(
        f"cold start to the 30-day board: {runs(starts)} (log {times.log:.2f} s,"
        f" {times.log_size:,} solves); then the first all-time board: {runs(all_times)}"
        f" (totals of {times.accounts:,} accounts {times.totals:.2f} s)"
    )

    # Memory kept: load once more under tracemalloc.
    gc.collect()
    before_rss = rss()
    tracemalloc.start()
    live = LiveScoreboard(store)
    live.board(module, 30, now, None)
    live.board(module, 0, now, None)
    gc.collect()
    kept, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    out.append(
        f"memory kept by the live board: {kept / 2**20:,.0f} MiB (tracemalloc),"
        f" process RSS grew {(rss() - before_rss) / 2**20:,.0f} MiB"
    )

    # Latency of the 30-day page with a random viewer, the clock moving on 1 ms a request.
    latencies = []
    for n in range(2000):
        viewer = rng.choice(accounts)
        began = time.perf_counter()
        live.board(module, 30, now + dt.timedelta(milliseconds=n), viewer)
        latencies.append((time.perf_counter() - began) * MS)
    fast = statistics.median(latencies)
    slow = []
    for _ in range(5):
        viewer = rng.choice(accounts)
        began = time.perf_counter()
        expected = baseline.board(module, 30, now, viewer)
        slow.append((time.perf_counter() - began) * MS)
        assert ranking(live.board(module, 30, now, viewer)) == ranking(expected)
    slow_median = statistics.median(slow)
    out.append(
        f"30-day page (top 20 + viewer): live median {fast:.2f} ms, p99"
        f" {percentile(latencies, 0.99):.2f} ms (2,000 requests); baseline GROUP BY median"
        f" {slow_median:,.0f} ms (5 requests): {slow_median / fast:,.0f}x faster"
    )
    if reference:
        began = time.perf_counter()
        full = SqlScoreboard(store).board(module, 30, now, accounts[0])
        spent = time.perf_counter() - began
        assert live.board(module, 30, now, accounts[0]) == full
        out.append(f"full SQL reference with badges: {spent:.1f} s for one page (equal boards)")

    # Exact right after a new solve: a new hacker solves, the next board shows it (5 times).
    challenge = store_challenge(module)
    reloads = live.reloads
    fresh: list[int] = []
    spent_new = []
    for n in range(5):
        name = f"fresh{secrets.token_hex(4)}"
        with store.session() as session:
            hacker = Account(name=name, name_key=name)
            session.add(hacker)
            session.flush()
            fresh.append(hacker.id)
        solved_at = now + dt.timedelta(seconds=5 + n)
        with store.session() as session:
            record_solve(
                session,
                account_id=fresh[-1],
                module_id=module,
                challenge_id=challenge,
                when=solved_at,
            )
        began = time.perf_counter()
        after = live.board(module, 30, solved_at, fresh[-1])
        spent_new.append((time.perf_counter() - began) * MS)
        assert after.me is not None
        assert (after.me.score, after.me.last_solve_at) == (1, solved_at)
        assert ranking(after) == ranking(baseline.board(module, 30, solved_at, fresh[-1]))
    assert live.reloads == reloads
    out.append(
        f"new solve: on the very next board (median {statistics.median(spent_new):.2f} ms of 5,"
        f" caught up, no reload), equal to the baseline"
    )

    # The window's edge: pick a solve 25 days old and walk the clock to its 30 days (five days of
    # solves leave the window on the way, each exactly at its own edge).
    with store.session() as session:
        edge_solve = session.scalars(
            Solve.__table__.select()
            .where(
                Solve.module_id == module,
                Solve.solved_at > now - dt.timedelta(days=25),
            )
            .order_by(Solve.solved_at)
            .limit(1)
        ).first()
        row = session.get(Solve, edge_solve)
        assert row is not None
        owner, when = row.account_id, row.solved_at
    edge = when + dt.timedelta(days=30)
    before_edge = edge - dt.timedelta(microseconds=1)
    reloads = live.reloads
    began = time.perf_counter()
    just_before = live.board(module, 30, before_edge, owner)
    at_edge = live.board(module, 30, edge, owner)
    spent = (time.perf_counter() - began) * MS
    assert live.reloads == reloads
    assert just_before.me is not None
    score_before = just_before.me.score
    score_at = at_edge.me.score if at_edge.me else 0
    assert score_at == score_before - 1, (score_before, score_at)
    assert ranking(just_before) == ranking(baseline.board(module, 30, before_edge, owner))
    assert ranking(at_edge) == ranking(baseline.board(module, 30, edge, owner))
    out.append(
        f"window edge: a {score_before}-solve hacker drops to {score_at} exactly 30 days after"
        f" the solve (1 µs before: still {score_before}); both boards equal the baseline;"
        f" {spent:.1f} ms for the two boards ({(edge - now).total_seconds() / 86400:.1f} days"
        " of expiry walked), no reload"
    )
    live.close()
    with store.session() as session:  # leave the generated data as it was
        session.execute(delete(Account).where(Account.id.in_(fresh)))
    return out


def store_challenge(module: str) -> str:
    if module == SYNTHETIC:
        return "c000"
    return registry.CHALLENGES[0].id


def main() -> None:
    parser = data_options(__doc__)
    parser.add_argument("--reference", action="store_true", help="also time SqlScoreboard")
    options = parser.parse_args()
    data = dataset(options.quick, postgres=options.postgres)
    store = Store(data.url)
    shape = data.shape
    database = "PostgreSQL" if options.postgres else "SQLite"
    print(f"== in process, {database}, now = {data.now.isoformat()}")
    modules = [
        (
            registry.MODULE_ID,
            f"{shape.sockets_hackers:,} hackers, {shape.sockets_solves:,} solves",
            range(1, shape.sockets_hackers + 1),
        ),
        (
            SYNTHETIC,
            f"200 challenges, {shape.synthetic_hackers:,} hackers,"
            f" {shape.synthetic_solves:,} solves",
            range(data.first_synthetic_account, data.accounts + 1),
        ),
    ]
    for module, what, accounts in modules:
        print(f"-- {module} ({what})")
        for line in bench_module(store, data, module, accounts, options.reference):
            print("   " + line)
    store.dispose()


if __name__ == "__main__":
    main()
