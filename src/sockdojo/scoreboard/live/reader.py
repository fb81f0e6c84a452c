"""Every query of the live scoreboard, on one connection of its own.

The statements are SQLAlchemy `text()` with named parameters, built once per dialect (SQLite
and PostgreSQL differ in how a timestamp becomes microseconds, and in an index hint), so that
SQLAlchemy's statement cache compiles each once. Times go in as aware datetimes through the
models' `UtcDateTime` and come out as microseconds since 1970, computed in SQL. Results leave
here typed; the engine (`engine.py`) decides when to ask.

The connection is detached from the pool (it is ours for good: its autocommit and, on
PostgreSQL, its planner settings must not leak to other users of the pool) and runs in
autocommit, so that each statement is its own snapshot; `snapshot()` opens one read-only
snapshot for several.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Callable, Collection, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Generic, NamedTuple, TypeVar, cast

from sqlalchemy import BigInteger, Boolean, Integer, String, bindparam, column, select, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session
from sqlalchemy.sql.base import Executable
from sqlalchemy.sql.elements import BindParameter, TextClause
from sqlalchemy.sql.selectable import TextualSelect
from sqlalchemy.types import TypeEngine

from sockdojo.scoreboard.counted_solves import counted_solve_times, solve_counts
from sockdojo.scoreboard.counting import unranked_account
from sockdojo.scoreboard.live.keys import from_us
from sockdojo.scoreboard.live.watermark import Watermark
from sockdojo.scoreboard.modules import ModuleSpec
from sockdojo.storage.models import Account, UtcDateTime

T = TypeVar("T")
R = TypeVar("R")  # a query's row, or its scalar


class NewSolve(NamedTuple):
    """A solve a catch-up found: the id, who, what and when, and whether the account counts."""

    id: int
    account: int
    module: str
    challenge: str
    when: int
    hidden: bool
    admin: bool


class CatchUp(NamedTuple):
    version: int | None  # scoreboard_version, or None without migration 0003 (or no row)
    solves: list[NewSolve]


# Per account, from the trigger-kept `solve_totals` (migration 0003): solves, first, last.
Total = tuple[int, int, int, int]
# Per account, aggregated from `solves`: count and last below the floor (since launch), and
# count and last of all.
Aggregate = tuple[int, int, int | None, int, int]


def sql_microseconds(column: str, *, postgres: bool) -> str:
    """The column (an aware UTC datetime) as microseconds since 1970, computed in SQL."""
    if postgres:
        return f"CAST(EXTRACT(EPOCH FROM {column}) * 1000000 AS BIGINT)"
    # SQLAlchemy stores 'YYYY-MM-DD HH:MM:SS.ffffff' on SQLite. The seconds come from the first
    # 19 characters only: SQLite's date functions round a time to the millisecond, so
    # strftime('%s') of '...:00.999600' says :01, and the solve would land a second late.
    return (
        f"(CAST(strftime('%s', substr({column}, 1, 19)) AS INTEGER) * 1000000"
        f" + CAST(substr({column}, 21, 6) AS INTEGER))"
    )


IN_MODULE = "module_id = :module AND challenge_id IN :challenges"


def _in_module(spec: ModuleSpec) -> dict[str, object]:
    """The values of IN_MODULE."""
    return {"module": spec.id, "challenges": spec.challenge_ids}


def _up_to(watermark: Watermark) -> dict[str, object]:
    """The values of a board's "up to the watermark" (`id <= :high AND id NOT IN :pending`)."""
    return {"high": watermark.high, "pending": sorted(watermark.pending)}


def _query(sql: str, *types: type[TypeEngine[Any]]) -> TextualSelect:
    """A query with its list and time parameters declared (each only where it appears) and the
    types of its result columns, in order (so that SQLAlchemy caches the result's description
    with the compiled statement instead of building it from the cursor's every time)."""
    lists: list[BindParameter[Sequence[object]]] = [
        bindparam(name, expanding=True)
        for name in ("ids", "challenges", "pending")
        if f":{name}" in sql
    ]
    times = [
        bindparam(name, type_=UtcDateTime()) for name in ("floor", "launch") if f":{name}" in sql
    ]
    clause = text(sql).bindparams(*lists, *times)
    return clause.columns(*(column(f"c{n}", kind) for n, kind in enumerate(types)))


# What a query's results are, declared with the query: the one place that says its row type
# (the reader's methods read it without a cast of their own) and how its rows are fetched.


@dataclass(frozen=True)
class Rows(Generic[R]):
    """A query whose rows are R, each converted by its columns' types."""

    statement: Executable


@dataclass(frozen=True)
class Bulk(Generic[R]):
    """A query whose rows are R as the driver gives them, without a Row object for each (most
    of a cold start's reading time, for hundreds of thousands of rows): only for columns that
    need no conversion (integers)."""

    statement: Executable


@dataclass(frozen=True)
class Scalar(Generic[R]):
    """A query whose first column of its first row is R (None without a row: R says so)."""

    statement: Executable


@dataclass(frozen=True)
class _CatchUpSql:
    """What a catch-up asks (and, on PostgreSQL, who holds the solves' id sequence)."""

    # By (versioned, with pending ids). A row is the version (None without its table), then a
    # NewSolve's fields, all None on the version's row when no solve is new.
    by_kind: dict[tuple[bool, bool], Rows[tuple[object, ...]]]
    has_version_table: Scalar[bool]
    sequence: Rows[tuple[int, int | None]]  # (database oid, oid of the id sequence)
    sequence_holders: Rows[tuple[str]]
    transaction_holders: Rows[tuple[str]]

    @classmethod
    def for_dialect(cls, postgres: bool) -> _CatchUpSql:
        solved_at = sql_microseconds("s.solved_at", postgres=postgres)
        columns = (
            f"s.id, s.account_id, s.module_id, s.challenge_id, {solved_at}, a.is_hidden, a.is_admin"
        )
        types = (Integer, Integer, Integer, String, String, BigInteger, Boolean, Boolean)
        by_kind = {}
        for versioned in (False, True):
            for pending in (False, True):
                which = "(s.id > :high OR s.id IN :pending)" if pending else "s.id > :high"
                by_kind[versioned, pending] = Rows[tuple[object, ...]](
                    _query(
                        f"SELECT v.version, {columns} FROM scoreboard_version AS v"  # noqa: S608
                        f" LEFT JOIN solves AS s ON {which}"
                        " LEFT JOIN accounts AS a ON a.id = s.account_id"
                        if versioned
                        else f"SELECT NULL, {columns} FROM solves AS s"  # noqa: S608
                        f" JOIN accounts AS a ON a.id = s.account_id WHERE {which}",
                        *types,
                    )
                )
        return cls(
            by_kind=by_kind,
            has_version_table=Scalar(
                _query(
                    "SELECT to_regclass('scoreboard_version') IS NOT NULL"
                    if postgres
                    else "SELECT count(*) FROM sqlite_master WHERE type = 'table'"
                    " AND name = 'scoreboard_version'",
                    Boolean,
                )
            ),
            sequence=Rows(
                _query(
                    "SELECT (SELECT oid FROM pg_database WHERE datname = current_database()),"
                    " CAST(CAST(pg_get_serial_sequence('solves', 'id') AS regclass) AS oid)",
                    Integer,
                    Integer,
                )
            ),
            sequence_holders=Rows(
                _query(
                    "SELECT virtualtransaction FROM pg_locks WHERE locktype = 'relation'"
                    " AND database = :database AND relation = :relation",
                    String,
                )
            ),
            transaction_holders=Rows(
                _query(
                    "SELECT virtualtransaction FROM pg_locks WHERE locktype = 'virtualxid'", String
                )
            ),
        )


def _aggregates(postgres: bool) -> dict[bool, Bulk[Aggregate]]:
    """Per-account totals from `solves`, by "only some accounts"."""
    return {
        only: Bulk(
            _query(
                "SELECT account_id, base_count,"  # noqa: S608
                f" {sql_microseconds('base_last', postgres=postgres)}, all_count,"
                f" {sql_microseconds('all_last', postgres=postgres)} FROM ("
                " SELECT account_id,"
                " SUM(CASE WHEN solved_at >= :launch AND solved_at <= :floor THEN 1 ELSE 0 END)"
                " AS base_count,"
                " MAX(CASE WHEN solved_at >= :launch AND solved_at <= :floor THEN solved_at END)"
                " AS base_last,"
                f" COUNT(*) AS all_count, MAX(solved_at) AS all_last FROM solves WHERE {IN_MODULE}"
                f"{' AND account_id IN :ids' if only else ''} GROUP BY account_id) AS totals",
                *(Integer, Integer, BigInteger, Integer, BigInteger),
            )
        )
        for only in (False, True)
    }


@dataclass(frozen=True)
class _LoadSql:
    """What a load reads, in one snapshot (`begin`)."""

    begin: TextClause
    version: Scalar[int | None]
    max_solve: Scalar[int | None]
    solve_ids_above: Rows[tuple[int]]
    max_account: Scalar[int | None]
    launch: Scalar[int | None]
    ineligible: Rows[tuple[int]]
    log: Bulk[tuple[int, int]]
    module_challenges: Rows[tuple[str]]
    totals: Bulk[Total]
    aggregate: dict[bool, Bulk[Aggregate]]  # by "only some accounts"

    @classmethod
    def for_dialect(cls, postgres: bool) -> _LoadSql:
        # SQLite would rather walk (module, challenge, time) once per challenge, then sort.
        by_time = "" if postgres else " INDEXED BY ix_solves_module_time"
        return cls(
            begin=text("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY" if postgres else "BEGIN"),
            version=Scalar(_query("SELECT version FROM scoreboard_version", Integer)),
            max_solve=Scalar(_query("SELECT max(id) FROM solves", Integer)),
            solve_ids_above=Rows(_query("SELECT id FROM solves WHERE id > :low", Integer)),
            max_account=Scalar(_query("SELECT max(id) FROM accounts", Integer)),
            launch=Scalar(
                _query(
                    f"SELECT {sql_microseconds('launched_at', postgres=postgres)}"  # noqa: S608
                    " FROM modules WHERE id = :module",
                    BigInteger,
                )
            ),
            ineligible=Rows(select(Account.id).where(unranked_account())),
            log=Bulk(
                _query(
                    f"SELECT account_id, {sql_microseconds('solved_at', postgres=postgres)}"  # noqa: S608
                    f" FROM solves{by_time} WHERE {IN_MODULE}"
                    " AND solved_at > :floor AND solved_at >= :launch ORDER BY solved_at",
                    Integer,
                    BigInteger,
                )
            ),
            # A loose index scan (one seek per distinct challenge) over migration 0003's index.
            module_challenges=Rows(
                _query(
                    "WITH RECURSIVE seen(challenge) AS ("
                    " SELECT (SELECT min(challenge_id) FROM solves WHERE module_id = :module)"
                    " UNION ALL SELECT (SELECT min(challenge_id) FROM solves"
                    " WHERE module_id = :module AND challenge_id > seen.challenge)"
                    " FROM seen WHERE seen.challenge IS NOT NULL)"
                    " SELECT challenge FROM seen WHERE challenge IS NOT NULL",
                    String,
                )
            ),
            totals=Bulk(
                _query(
                    "SELECT account_id, solves, first_us, last_us FROM solve_totals"
                    " WHERE module_id = :module",
                    *(Integer, Integer, BigInteger, BigInteger),
                )
            ),
            aggregate=_aggregates(postgres),
        )


@dataclass(frozen=True)
class _SeekSql:
    """Seeks by challenge or account: first bloods, badges, names, a base's last solve."""

    first_bloods: Rows[tuple[int, int]]  # (account, time)
    all_first_solves: Rows[tuple[str, int, int]]  # (challenge, account, time)
    grants: Rows[tuple[int, str, str]]  # (account, emoji, title)
    completions: Rows[tuple[int, int, int]]  # (account, count, last time)
    last_below_floor: Scalar[int | None]
    names: Rows[tuple[int, str]]

    @classmethod
    def for_dialect(cls, postgres: bool) -> _SeekSql:
        us_solved = sql_microseconds("solved_at", postgres=postgres)
        return cls(
            first_bloods=Rows(
                _query(
                    f"SELECT account_id, {us_solved} FROM solves"  # noqa: S608
                    " WHERE module_id = :module AND challenge_id = :challenge"
                    " AND solved_at >= :launch ORDER BY solved_at, account_id"
                    " LIMIT :page OFFSET :offset",
                    Integer,
                    BigInteger,
                )
            ),
            all_first_solves=Rows(
                _query(
                    f"SELECT challenge_id, account_id, {us_solved} FROM solves"  # noqa: S608
                    f" WHERE {IN_MODULE} AND solved_at >= :launch ORDER BY solved_at, account_id",
                    *(String, Integer, BigInteger),
                )
            ),
            grants=Rows(
                _query(
                    "SELECT account_id, emoji, title FROM badge_grants WHERE module_id = :module"
                    " ORDER BY created_at, id",
                    *(Integer, String, String),
                )
            ),
            completions=Rows(
                _query(
                    f"SELECT account_id, count(*), max({us_solved}) FROM solves"  # noqa: S608
                    f" WHERE account_id IN :ids AND {IN_MODULE}"
                    " AND id <= :high AND id NOT IN :pending GROUP BY account_id",
                    *(Integer, Integer, BigInteger),
                )
            ),
            last_below_floor=Scalar(
                _query(
                    f"SELECT max({us_solved}) FROM solves"  # noqa: S608
                    f" WHERE account_id = :account AND {IN_MODULE}"
                    " AND solved_at >= :launch AND solved_at <= :floor"
                    " AND id <= :high AND id NOT IN :pending",
                    BigInteger,
                )
            ),
            names=Rows(_query("SELECT id, name FROM accounts WHERE id IN :ids", Integer, String)),
        )


class Reader:
    """The live scoreboard's queries, each a method with typed results."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.postgres = engine.dialect.name == "postgresql"
        self._catching = _CatchUpSql.for_dialect(self.postgres)
        self._loading = _LoadSql.for_dialect(self.postgres)
        self._seeking = _SeekSql.for_dialect(self.postgres)
        self._connection: Connection | None = None
        self._versioned: bool | None = None
        # (database oid, oid of the solves' id sequence), PostgreSQL; see `sequence_holders`.
        self._sequence: tuple[int, int | None] | None = None

    # The connection

    def _db(self) -> Connection:
        if self._connection is None:
            connection = self.engine.connect()
            connection.execution_options(isolation_level="AUTOCOMMIT")
            connection.detach()  # ours for good: its settings must not leak into the pool
            if self.postgres:
                # The catch-up's `id > :high` has no good generic plan (PostgreSQL would guess
                # millions of rows, hash-join all accounts and JIT-compile it): plan each query
                # with its values, and never JIT.
                connection.execute(text("SET plan_cache_mode = force_custom_plan"))
                connection.execute(text("SET jit = off"))
            self._connection = connection
        return self._connection

    def retrying(self, run: Callable[[], T], *, keep: type[Exception]) -> T:
        """`run()`, once more on a new connection if it failed (a lost connection: a server
        restart, an idle timeout); exceptions of type `keep` go straight through."""
        for attempt in (1, 2):
            try:
                return run()
            except keep:
                raise
            except Exception:
                self.close()
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    @contextlib.contextmanager
    def snapshot(self) -> Iterator[None]:
        """The statements inside see one read-only snapshot of the database."""
        db = self._db()
        db.execute(self._loading.begin)
        try:
            yield
        finally:
            db.execute(text("ROLLBACK"))

    def close(self) -> None:
        if self._connection is not None:
            with contextlib.suppress(Exception):  # it may be broken already
                self._connection.close()
            self._connection = None

    def _rows(self, query: Rows[R], **values: object) -> Sequence[R]:
        return cast("Sequence[R]", self._db().execute(query.statement, values).all())

    def _bulk(self, query: Bulk[R], **values: object) -> Sequence[R]:
        result = self._db().execute(query.statement, values)
        try:
            return cast("Sequence[R]", result.cursor.fetchall())
        finally:
            result.close()

    def _scalar(self, query: Scalar[R], **values: object) -> R:
        return cast("R", self._db().execute(query.statement, values).scalar())

    # The state of the database

    def has_version_table(self) -> bool:
        """Whether migration 0003's `scoreboard_version` (and `solve_totals`) exist."""
        if self._versioned is None:
            self._versioned = bool(self._scalar(self._catching.has_version_table))
        return self._versioned

    def version(self) -> int | None:
        return self._scalar(self._loading.version)

    def max_solve_id(self) -> int:
        return self._scalar(self._loading.max_solve) or 0

    def solve_ids_above(self, low: int) -> set[int]:
        return {row[0] for row in self._rows(self._loading.solve_ids_above, low=low)}

    def account_ids_end(self) -> int:
        """One more than the highest account id (the size of a per-account column)."""
        return (self._scalar(self._loading.max_account) or 0) + 1

    def launch(self, module: str) -> int | None:
        return self._scalar(self._loading.launch, module=module)

    def ineligible(self) -> set[int]:
        """Hidden and admin accounts."""
        return {row[0] for row in self._rows(self._loading.ineligible)}

    # What a load reads

    def log(self, spec: ModuleSpec, floor: int, launch: int) -> Sequence[tuple[int, int]]:
        """(account, time) of the module's solves newer than the floor since launch, by time."""
        times = {"floor": from_us(floor), "launch": from_us(launch)}
        return self._bulk(self._loading.log, **_in_module(spec), **times)

    def module_challenges(self, module: str) -> set[str]:
        """Every challenge id the module's solves name."""
        return {row[0] for row in self._rows(self._loading.module_challenges, module=module)}

    def totals(self, module: str) -> Sequence[Total]:
        return self._bulk(self._loading.totals, module=module)

    def aggregate(
        self, spec: ModuleSpec, launch: int, floor: int, only: Sequence[int] | None
    ) -> Sequence[Aggregate]:
        """Per-account totals aggregated from `solves` (all accounts, or only these)."""
        values = _in_module(spec) | {"launch": from_us(launch), "floor": from_us(floor)}
        if only is not None:
            values["ids"] = only
        return self._bulk(self._loading.aggregate[only is not None], **values)

    def first_solves(
        self, module: str, challenge: str, launch: int, page: int, offset: int
    ) -> Sequence[tuple[int, int]]:
        """(account, time) of a challenge's solves since launch, in first-blood order: a page."""
        return self._rows(
            self._seeking.first_bloods,
            module=module,
            challenge=challenge,
            launch=from_us(launch),
            page=page,
            offset=offset,
        )

    def all_first_solves(self, spec: ModuleSpec, launch: int) -> Iterator[tuple[str, int, int]]:
        """(challenge, account, time) of the module's solves since launch, in first-blood order,
        streamed (a server-side cursor on PostgreSQL): for a database without migration 0003."""
        result = self._db().execute(
            self._seeking.all_first_solves.statement,
            _in_module(spec) | {"launch": from_us(launch)},
            execution_options={"stream_results": True, "yield_per": 1000},
        )
        try:
            yield from cast("Iterator[tuple[str, int, int]]", result)
        finally:
            result.close()

    def grants(self, module: str) -> Sequence[tuple[int, str, str]]:
        """(account, emoji, title) of the module's granted badges, in the order given."""
        return self._rows(self._seeking.grants, module=module)

    # What a catch-up reads

    def catch_up(self, high: int, pending: Collection[int]) -> CatchUp:
        """The solves above `high` or among `pending`, with the `scoreboard_version`."""
        versioned = self.has_version_table()
        values: dict[str, object] = {"high": high}
        if pending:
            values["pending"] = sorted(pending)
        rows = self._rows(self._catching.by_kind[versioned, bool(pending)], **values)
        version = cast("int | None", rows[0][0]) if rows else None
        solves = [
            NewSolve(*cast("tuple[int, int, str, str, int, bool, bool]", row[1:]))
            for row in rows
            if row[1] is not None
        ]
        return CatchUp(version, solves)

    def sequence_holders(self) -> frozenset[str]:
        """The transactions (virtual ids) holding a lock on the solves' id sequence, which
        `nextval` takes until the end of the transaction (all running transactions, should
        `solves.id` have no sequence of its own). PostgreSQL only."""
        if self._sequence is None:
            database, sequence = self._rows(self._catching.sequence)[0]
            self._sequence = (int(database), None if sequence is None else int(sequence))
        database, sequence = self._sequence
        if sequence is None:
            rows = self._rows(self._catching.transaction_holders)
        else:
            rows = self._rows(self._catching.sequence_holders, database=database, relation=sequence)
        return frozenset(str(row[0]) for row in rows)

    # What a board reads

    def completions(
        self, accounts: Sequence[int], spec: ModuleSpec, watermark: Watermark
    ) -> dict[int, tuple[int, int]]:
        """(count, last time) of these accounts' solves of the module, up to the watermark."""
        values = _in_module(spec) | _up_to(watermark)
        rows = self._rows(self._seeking.completions, ids=accounts, **values)
        return {account: (count, last) for account, count, last in rows}

    def last_below_floor(
        self, account: int, spec: ModuleSpec, launch: int, floor: int, watermark: Watermark
    ) -> int | None:
        """The account's last solve of the module since launch at or below the floor, up to the
        watermark."""
        times = {"launch": from_us(launch), "floor": from_us(floor)}
        values = _in_module(spec) | times | _up_to(watermark)
        found = self._scalar(self._seeking.last_below_floor, account=account, **values)
        return None if found is None else int(found)

    def names(self, accounts: Sequence[int]) -> dict[int, str]:
        return dict(self._rows(self._seeking.names, ids=accounts))

    # The reference's queries, on this connection (for what the live board does not keep)

    def solve_counts(self, module: str, now: dt.datetime) -> dict[str, int]:
        with Session(bind=self._db()) as session:
            return solve_counts(session, module, now)

    def solve_times(
        self, module: str, days: int, now: dt.datetime, accounts: Collection[int]
    ) -> dict[int, list[dt.datetime]]:
        with Session(bind=self._db()) as session:
            return counted_solve_times(session, module, accounts, days, now)
