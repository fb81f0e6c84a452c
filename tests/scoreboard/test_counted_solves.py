"""Per-challenge solve counts (module page) against the plain GROUP BY, on SQLite and PostgreSQL.

`solve_counts` takes the trigger-kept totals of migration 0004 and subtracts what does not
count; whatever happens to solves and accounts, it must equal counting the ranked accounts'
solves since launch, up to the moment asked.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, event, func, select, update
from sqlalchemy.orm import Session

from sockdojo.challenges import registry
from sockdojo.scoreboard.counted_solves import solve_counts
from sockdojo.scoreboard.counting import counted_solve_conditions, module_challenge_ids
from sockdojo.storage.admin import launch_date
from sockdojo.storage.models import Account, Solve

from .conftest import NOW, Scenario, Step, apply_step

CHALLENGES = [challenge.id for challenge in registry.CHALLENGES]
DAY = dt.timedelta(days=1)
MOMENTS = [-40 * DAY, -10 * DAY, -DAY, -dt.timedelta(seconds=1), dt.timedelta(0), DAY]


def grouped_counts(session: Session, module_id: str, now: dt.datetime) -> dict[str, int]:
    """The reference: a GROUP BY over every solve, joined with accounts."""
    counts = dict.fromkeys(module_challenge_ids(module_id), 0)
    launched_at = launch_date(session, module_id)
    assert launched_at is not None
    rows = session.execute(
        select(Solve.challenge_id, func.count(Solve.id))
        .join(Account, Account.id == Solve.account_id)
        .where(*counted_solve_conditions(module_id, 0, now, launched_at))
        .group_by(Solve.challenge_id)
    )
    for challenge, count in rows:
        counts[str(challenge)] = int(count)
    return counts


@st.composite
def histories(draw: st.DrawFn) -> list[Step]:
    person = st.integers(min_value=0, max_value=3)
    solve = st.tuples(
        st.just("solve"),
        st.tuples(
            person,
            st.sampled_from(["sockets"] * 4 + ["other"]),
            st.sampled_from([*CHALLENGES, "retired"]),
            st.sampled_from(MOMENTS),
        ),
    )
    step: st.SearchStrategy[Step] = st.one_of(
        solve,
        solve,
        st.tuples(st.just("hide"), person, st.booleans()),
        st.tuples(st.just("admin"), person, st.booleans()),
        st.tuples(st.just("launch"), st.sampled_from(MOMENTS)),
        st.tuples(st.just("unsolve"), person, st.sampled_from(CHALLENGES)),
        st.tuples(st.just("move"), person, st.sampled_from(CHALLENGES)),
        st.tuples(st.just("give"), person, person),
        st.tuples(st.just("delete"), person),
        st.tuples(st.just("count"), st.sampled_from(MOMENTS)),
    )
    return list(draw(st.lists(step, min_size=1, max_size=20)))


@settings(
    max_examples=40,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=histories())
def test_counts_equal_the_group_by_through_any_history(
    scenario: Scenario, steps: list[Step]
) -> None:
    scenario.reset()
    ids = [scenario.account(f"h{n}") for n in range(4)]
    store = scenario.store
    for step in steps:
        with store.session() as session:
            kind = step[0]
            if apply_step(session, ids, step):
                pass
            elif kind == "unsolve":
                _, who, challenge = step
                assert isinstance(who, int) and isinstance(challenge, str)
                session.execute(
                    delete(Solve).where(
                        Solve.account_id == ids[who], Solve.challenge_id == challenge
                    )
                )
            elif kind == "move":
                # An admin's hand edit: a solve moved to another challenge (if free).
                _, who, challenge = step
                assert isinstance(who, int) and isinstance(challenge, str)
                taken = set(
                    session.scalars(select(Solve.challenge_id).where(Solve.account_id == ids[who]))
                )
                first = session.scalar(
                    select(Solve.id).where(Solve.account_id == ids[who]).limit(1)
                )
                if first is not None and challenge not in taken:
                    session.execute(
                        update(Solve).where(Solve.id == first).values(challenge_id=challenge)
                    )
            elif kind == "give":
                # An admin's hand edit: a solve handed to another account (the counts are
                # sharded by account, so it may change shard).
                _, giver, taker = step
                assert isinstance(giver, int) and isinstance(taker, int)
                source, target = ids[giver], ids[taker]
                taken = set(
                    session.scalars(select(Solve.challenge_id).where(Solve.account_id == target))
                )
                movable = session.scalar(
                    select(Solve.id)
                    .where(Solve.account_id == source, Solve.challenge_id.not_in(taken or {""}))
                    .limit(1)
                )
                if movable is not None:
                    session.execute(
                        update(Solve).where(Solve.id == movable).values(account_id=target)
                    )
            elif kind == "delete":
                _, who = step
                assert isinstance(who, int)
                session.execute(delete(Account).where(Account.id == ids[who]))
            else:
                _, offset = step
                assert kind == "count" and isinstance(offset, dt.timedelta)
                at = NOW + offset
                assert solve_counts(session, "sockets", at) == grouped_counts(
                    session, "sockets", at
                )
        if step[0] == "delete":
            _, who = step
            assert isinstance(who, int)
            ids[who] = scenario.account(f"n{who}x{ids[who]}")
    with store.session() as session:
        for moment in MOMENTS:
            at = NOW + moment
            assert solve_counts(session, "sockets", at) == grouped_counts(session, "sockets", at)


def test_counts_ignore_other_modules_and_retired_challenges(scenario: Scenario) -> None:
    alice, bob = scenario.account("alice"), scenario.account("bob")
    hidden = scenario.account("ghost", hidden=True)
    for who in (alice, bob, hidden):
        scenario.solve(who, "client", NOW - DAY)
    scenario.solve(alice, "retired", NOW - DAY)
    scenario.solve(bob, "client", NOW - DAY, module="other")
    with scenario.store.session() as session:
        counts = solve_counts(session, "sockets", NOW)
    assert counts == {**dict.fromkeys(CHALLENGES, 0), "client": 2}


def test_counting_uses_the_indexes_not_a_walk_through_every_solve(scenario: Scenario) -> None:
    """The partial index only serves a query whose condition matches its own: check the plan."""
    store = scenario.store
    statements: list[tuple[str, Sequence[object] | Mapping[str, object]]] = []

    def keep(
        _c: object,
        _cur: object,
        statement: str,
        parameters: Sequence[object] | Mapping[str, object],
        *_: object,
    ) -> None:
        statements.append((statement, parameters))

    event.listen(store.engine, "before_cursor_execute", keep)
    with store.session() as session:
        solve_counts(session, "sockets", NOW)
    event.remove(store.engine, "before_cursor_execute", keep)
    statement, parameters = statements[-1]
    explain = "EXPLAIN QUERY PLAN " if store.engine.dialect.name == "sqlite" else "EXPLAIN "
    with store.engine.connect() as connection:
        driver = connection.connection.driver_connection  # sqlite3's or psycopg's connection
        assert driver is not None
        cursor = driver.cursor()
        cursor.execute(explain + statement, parameters)
        plan = "\n".join(str(row) for row in cursor.fetchall())
    if store.engine.dialect.name == "sqlite":
        assert "ix_accounts_unranked" in plan
        assert "SCAN solves" not in plan
