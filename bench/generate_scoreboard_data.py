"""Make the scoreboard benchmark's data: a dojo two years old, at the issue's scale.

    .venv/bin/python bench/generate_scoreboard_data.py [--quick] [--postgres URL] [--force]

* the Sockets module (5 challenges): 400,000 hackers, 2,000,000 solves over two years;
* the `synthetic` module of 200 challenges: 100,000 hackers, 5,000,000 solves.

`--quick` makes a twentieth of that. The SQLite database goes to bench/data/ (gitignored), with a
JSON file beside it saying when "now" was; it is reused while its parameters are unchanged.
`--postgres URL` loads the same rows into that PostgreSQL database instead (its tables are
dropped first), with COPY. Solve ids follow solve time, as they do in a live dojo. A few
hackers are hidden or admins, so that the filters cost what they cost in real life.
"""

from __future__ import annotations

import argparse
import datetime as dt
import heapq
import io
import json
import random
import sqlite3
import sys
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

HERE = Path(__file__).parent
DATA = HERE / "data"
sys.path.insert(0, str(HERE.parent / "src"))

from sockdojo.challenges import registry  # noqa: E402
from sockdojo.scoreboard import modules  # noqa: E402
from sockdojo.scoreboard.live.reader import sql_microseconds  # noqa: E402

SYNTHETIC = "synthetic"
SYNTHETIC_CHALLENGES = [
    (f"c{number:03d}", f"Synthetic challenge {number}") for number in range(200)
]
SOCKETS_CHALLENGES = [challenge.id for challenge in registry.CHALLENGES]
DAY_US = 86_400_000_000
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
FORMAT_VERSION = 3  # 3: challenge_solves filled (migration 0004)


def register_synthetic() -> None:
    """Tell the scoreboard (SQL reference and live engine) which challenges `synthetic` has."""
    if modules.spec(SYNTHETIC) is None:
        modules.register(SYNTHETIC, "Synthetic", SYNTHETIC_CHALLENGES)


@dataclass(frozen=True)
class Shape:
    sockets_hackers: int
    sockets_solves: int
    synthetic_hackers: int
    synthetic_solves: int
    days: int = 730
    seed: int = 5

    @classmethod
    def of(cls, quick: bool) -> Shape:
        if quick:
            return cls(20_000, 100_000, 5_000, 250_000)
        return cls(400_000, 2_000_000, 100_000, 5_000_000)


@dataclass(frozen=True)
class Dataset:
    """What a benchmark needs to know about generated data."""

    url: str
    now: dt.datetime
    shape: Shape
    first_synthetic_account: int
    accounts: int


def to_us(when: dt.datetime) -> int:
    return (when - EPOCH) // dt.timedelta(microseconds=1)


class Stamps:
    """Microseconds since 1970 as the text SQLAlchemy stores on SQLite, quickly."""

    def __init__(self) -> None:
        self.days: dict[int, str] = {}

    def __call__(self, us: int) -> str:
        day, rest = divmod(us, DAY_US)
        prefix = self.days.get(day)
        if prefix is None:
            prefix = self.days[day] = (EPOCH + dt.timedelta(days=day)).strftime("%Y-%m-%d")
        seconds, micro = divmod(rest, 1_000_000)
        hours, seconds = divmod(seconds, 3600)
        minutes, seconds = divmod(seconds, 60)
        return f"{prefix} {hours:02d}:{minutes:02d}:{seconds:02d}.{micro:06d}"


def _counts(rng: random.Random, hackers: int, solves: int, most: int) -> list[int]:
    """How many challenges each hacker solved: skewed (a few solve much), summing to `solves`."""
    mean = solves / hackers
    if mean > most:
        raise ValueError("more solves than hackers can make")
    if mean == most:
        return [most] * hackers
    counts = [min(most, max(1, round(rng.expovariate(1 / mean)))) for _ in range(hackers)]
    missing = solves - sum(counts)
    while missing:
        index = rng.randrange(hackers)
        if missing > 0 and counts[index] < most:
            counts[index] += 1
            missing -= 1
        elif missing < 0 and counts[index] > 1:
            counts[index] -= 1
            missing += 1
    return counts


def _module_solves(
    rng: random.Random,
    first_account: int,
    counts: list[int],
    now_us: int,
    days: int,
    mean_gap_days: float,
    module_index: int,
) -> list[int]:
    """Each hacker's solves, in challenge order after they joined, packed as sortable ints:
    time << 28 | account << 8 | challenge (account < 2**20, challenge < 256)."""
    span = days * DAY_US
    packed: list[int] = []
    gap = mean_gap_days * DAY_US
    for offset, count in enumerate(counts):
        account = first_account + offset
        steps = [int(rng.expovariate(1 / gap)) + 1 for _ in range(count)]
        total = sum(steps)
        start = now_us - span + rng.randrange(max(1, span - total))
        moment = start
        for challenge, step in enumerate(steps):
            moment += step
            packed.append((moment << 29) | (account << 9) | (module_index << 8) | challenge)
    packed.sort()
    return packed


def _rows(shape: Shape, now_us: int) -> tuple[list[tuple[int, str, bool, bool, str]], list[int]]:
    rng = random.Random(shape.seed)
    accounts: list[tuple[int, str, bool, bool, str]] = []
    for number in range(shape.sockets_hackers + shape.synthetic_hackers):
        account = number + 1
        prefix = "s" if number < shape.sockets_hackers else "y"
        # One hacker in a thousand hidden, one in ten thousand an admin.
        hidden = account % 1000 == 7
        admin = account % 10000 == 3
        accounts.append((account, f"{prefix}{account}", hidden, admin, ""))
    sockets_counts = _counts(
        rng, shape.sockets_hackers, shape.sockets_solves, len(SOCKETS_CHALLENGES)
    )
    synthetic_counts = _counts(
        rng, shape.synthetic_hackers, shape.synthetic_solves, len(SYNTHETIC_CHALLENGES)
    )
    sockets = _module_solves(rng, 1, sockets_counts, now_us, shape.days, 3.0, 0)
    synthetic = _module_solves(
        rng, shape.sockets_hackers + 1, synthetic_counts, now_us, shape.days, 1.0, 1
    )
    return accounts, list(heapq.merge(sockets, synthetic))


def _solve_values(packed: list[int], stamp: Stamps) -> Iterator[tuple[int, int, str, str, str]]:
    for solve_id, value in enumerate(packed, start=1):
        challenge = value & 0xFF
        module_index = (value >> 8) & 1
        account = (value >> 9) & 0xFFFFF
        moment = value >> 29
        if module_index:
            yield solve_id, account, SYNTHETIC, SYNTHETIC_CHALLENGES[challenge][0], stamp(moment)
        else:
            yield (
                solve_id,
                account,
                registry.MODULE_ID,
                SOCKETS_CHALLENGES[challenge],
                stamp(moment),
            )


def _prepare_schema(url: str, launch: dt.datetime) -> None:
    """An empty dojo at the latest schema (SQLite: a new file; PostgreSQL: truncated tables)."""
    from sqlalchemy import text

    from sockdojo.storage.database import Store
    from sockdojo.storage.models import Module

    store = Store(url)
    with store.session() as session:
        if store.engine.dialect.name == "postgresql":
            session.execute(
                text(
                    "TRUNCATE solves, submissions, badge_grants, web_sessions, login_attempts,"
                    " solve_totals, challenge_solves, accounts RESTART IDENTITY CASCADE"
                )
            )
        session.execute(text("DELETE FROM modules WHERE id = :id"), {"id": SYNTHETIC})
        session.get_one(Module, registry.MODULE_ID).launched_at = launch
        session.add(Module(id=SYNTHETIC, title="Synthetic", launched_at=launch))
    store.dispose()


# After a bulk load, what migration 0003's triggers would have written, in one statement.
TOTALS = (
    "INSERT INTO solve_totals (module_id, account_id, solves, first_us, last_us)"
    " SELECT module_id, account_id, count(*), min({us}), max({us}) FROM solves"
    " GROUP BY module_id, account_id"
)
# And migration 0004's (its 16 shards by account).
CHALLENGE_SOLVES = (
    "INSERT INTO challenge_solves (module_id, challenge_id, shard, solves)"
    " SELECT module_id, challenge_id, account_id % 16, count(*) FROM solves"
    " GROUP BY module_id, challenge_id, account_id % 16"
)


def load_sqlite(path: Path, shape: Shape, now: dt.datetime) -> None:
    if path.exists():
        path.unlink()
    for suffix in ("-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    launch = now - dt.timedelta(days=shape.days + 1)
    _prepare_schema(f"sqlite:///{path}", launch)
    now_us = to_us(now)
    started = time.perf_counter()
    accounts, packed = _rows(shape, now_us)
    print(f"  generated {len(packed):,} solves in {time.perf_counter() - started:.1f} s")
    stamp = Stamps()
    created = stamp(now_us - shape.days * DAY_US - DAY_US)
    connection = sqlite3.connect(path, isolation_level=None)
    try:
        connection.execute("PRAGMA journal_mode=OFF")
        connection.execute("PRAGMA synchronous=OFF")
        connection.execute("PRAGMA cache_size=-1000000")
        connection.execute("BEGIN")
        # Without indexes and triggers while loading; put back as they were afterwards.
        saved = connection.execute(
            "SELECT type, name, sql FROM sqlite_master WHERE tbl_name = 'solves'"
            " AND type IN ('index', 'trigger') AND sql IS NOT NULL"
        ).fetchall()
        for kind, name, _ in saved:
            connection.execute(f"DROP {kind.upper()} {name}")
        connection.executemany(
            "INSERT INTO accounts (id, name, name_key, password_hash, is_admin, is_hidden,"
            " created_at) VALUES (?, ?, ?, NULL, ?, ?, ?)",
            ((a, name, name, admin, hidden, created) for a, name, hidden, admin, _ in accounts),
        )
        connection.executemany(
            "INSERT INTO solves (id, account_id, module_id, challenge_id, solved_at)"
            " VALUES (?, ?, ?, ?, ?)",
            _solve_values(packed, stamp),
        )
        for _, _, statement in saved:
            connection.execute(statement)
        connection.execute(TOTALS.format(us=sql_microseconds("solved_at", postgres=False)))
        connection.execute(CHALLENGE_SOLVES)
        connection.execute("COMMIT")
        connection.execute("ANALYZE")
        connection.execute("PRAGMA journal_mode=WAL")
    finally:
        connection.close()
    print(f"  loaded SQLite in {time.perf_counter() - started:.1f} s")


def load_postgres(url: str, shape: Shape, now: dt.datetime) -> None:
    import psycopg

    launch = now - dt.timedelta(days=shape.days + 1)
    _prepare_schema(url, launch)
    now_us = to_us(now)
    started = time.perf_counter()
    accounts, packed = _rows(shape, now_us)
    print(f"  generated {len(packed):,} solves in {time.perf_counter() - started:.1f} s")
    stamp = Stamps()
    created = stamp(now_us - shape.days * DAY_US - DAY_US) + "+00"
    plain = url.replace("postgresql+psycopg://", "postgresql://", 1)
    with psycopg.connect(plain) as connection, connection.cursor() as cursor:
        cursor.execute("ALTER TABLE solves DROP CONSTRAINT uq_solve_once")
        cursor.execute("DROP INDEX ix_solves_module_time")
        cursor.execute("DROP INDEX ix_solves_module_challenge_time")
        cursor.execute("ALTER TABLE solves DISABLE TRIGGER USER")
        with cursor.copy(
            "COPY accounts (id, name, name_key, is_admin, is_hidden, created_at) FROM STDIN"
        ) as copy:
            buffer = io.StringIO()
            for account, name, hidden, admin, _ in accounts:
                buffer.write(f"{account}\t{name}\t{name}\t{admin}\t{hidden}\t{created}\n")
            copy.write(buffer.getvalue())
        with cursor.copy(
            "COPY solves (id, account_id, module_id, challenge_id, solved_at) FROM STDIN"
        ) as copy:
            chunk: list[str] = []
            for solve_id, account, module, challenge, when in _solve_values(packed, stamp):
                chunk.append(f"{solve_id}\t{account}\t{module}\t{challenge}\t{when}+00\n")
                if len(chunk) >= 100_000:
                    copy.write("".join(chunk))
                    chunk.clear()
            copy.write("".join(chunk))
        cursor.execute(
            "ALTER TABLE solves ADD CONSTRAINT uq_solve_once"
            " UNIQUE (account_id, module_id, challenge_id)"
        )
        cursor.execute("CREATE INDEX ix_solves_module_time ON solves (module_id, solved_at)")
        cursor.execute(
            "CREATE INDEX ix_solves_module_challenge_time"
            " ON solves (module_id, challenge_id, solved_at)"
        )
        cursor.execute("ALTER TABLE solves ENABLE TRIGGER USER")
        cursor.execute(TOTALS.format(us=sql_microseconds("solved_at", postgres=True)))
        cursor.execute(CHALLENGE_SOLVES)
        for table in ("accounts", "solves"):
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'),"  # noqa: S608
                f" (SELECT max(id) FROM {table}))"
            )
    with psycopg.connect(plain, autocommit=True) as connection:
        connection.execute("VACUUM ANALYZE")
    print(f"  loaded PostgreSQL in {time.perf_counter() - started:.1f} s")


def _meta_path(name: str) -> Path:
    return DATA / f"{name}.json"


def dataset(quick: bool, *, postgres: str | None = None, force: bool = False) -> Dataset:
    """The generated data for this scale, made if missing or stale."""
    register_synthetic()
    shape = Shape.of(quick)
    name = ("scoreboard-quick" if quick else "scoreboard") + ("-pg" if postgres else "")
    meta_path = _meta_path(name)
    url = postgres or f"sqlite:///{DATA / (name + '.db')}"
    wanted = {"format": FORMAT_VERSION, "shape": asdict(shape), "url": url}
    if not force and meta_path.exists():
        meta = json.loads(meta_path.read_text())
        database_ok = postgres is not None or (DATA / f"{name}.db").exists()
        if database_ok and all(meta.get(key) == value for key, value in wanted.items()):
            return _described(meta, shape)
    DATA.mkdir(parents=True, exist_ok=True)
    meta_path.unlink(missing_ok=True)
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    print(f"generating {name}: {shape}")
    if postgres:
        # One PostgreSQL database holds one data set: forget any other made there.
        for other in DATA.glob("*.json"):
            if json.loads(other.read_text()).get("url") == url:
                other.unlink()
        load_postgres(postgres, shape, now)
    else:
        load_sqlite(DATA / f"{name}.db", shape, now)
    meta = {**wanted, "now": now.isoformat()}
    meta_path.write_text(json.dumps(meta, indent=2))
    return _described(meta, shape)


def _described(meta: dict[str, object], shape: Shape) -> Dataset:
    return Dataset(
        url=str(meta["url"]),
        now=dt.datetime.fromisoformat(str(meta["now"])),
        shape=shape,
        first_synthetic_account=shape.sockets_hackers + 1,
        accounts=shape.sockets_hackers + shape.synthetic_hackers,
    )


def data_options(description: str) -> argparse.ArgumentParser:
    """A bench's command line with the data it runs on: --quick, --postgres URL."""
    parser = argparse.ArgumentParser(description=description.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a twentieth of the data")
    parser.add_argument("--postgres", metavar="URL", help="use this PostgreSQL database")
    return parser


def main() -> None:
    parser = data_options(__doc__)
    parser.add_argument("--force", action="store_true", help="generate even if cached")
    options = parser.parse_args()
    found = dataset(options.quick, postgres=options.postgres, force=options.force)
    print(f"{found.url} (now = {found.now.isoformat()})")


if __name__ == "__main__":
    main()
