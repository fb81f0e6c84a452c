"""The SQL scoreboard against a few lines of plain Python that restate the rules.

Hypothesis builds random dojos (hidden and admin accounts, solves before the launch, on the
window's edge, in the future, of other modules, of retired challenges, and many ties) and the
two must agree on every row, rank, badge and on the viewer's own row.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sockdojo.challenges import registry
from sockdojo.scoreboard.counting import counts, ranked
from sockdojo.scoreboard.model import Badge, Row

if TYPE_CHECKING:
    from scoreboard.conftest import Scenario

CHALLENGES = [challenge.id for challenge in registry.CHALLENGES]
HOUR = dt.timedelta(hours=1)


@dataclass(frozen=True)
class Person:
    id: int
    name: str
    hidden: bool
    admin: bool


@dataclass(frozen=True)
class Solved:
    account: int
    module: str
    challenge: str
    when: dt.datetime


# A board row as the reference spells it: (rank, account id, hacker, badges, score, last solve).
RowTuple = tuple[int, int, str, tuple[Badge, ...], int, dt.datetime]


def reference(
    people: list[Person],
    solves: list[Solved],
    grants: list[tuple[int, str, str]],
    launch: dt.datetime,
    now: dt.datetime,
    days: int,
    viewer: int | None,
    limit: int,
) -> tuple[list[RowTuple], RowTuple | None]:
    """The rules of `sockdojo.scoreboard`, spelled out naively."""
    eligible = {p.id for p in people if ranked(hidden=p.hidden, admin=p.admin)}
    start = now - dt.timedelta(days=days) if days else None

    def counted(s: Solved) -> bool:
        return (
            s.module == "sockets"
            and s.challenge in CHALLENGES
            and s.account in eligible
            and counts(s.when, launched_at=launch, now=now, start=start)
        )

    totals: dict[int, list[dt.datetime]] = {}
    for s in solves:
        if counted(s):
            totals.setdefault(s.account, []).append(s.when)
    order = sorted(totals, key=lambda a: (-len(totals[a]), max(totals[a]), a))

    firsts: dict[str, int] = {}
    for challenge in CHALLENGES:
        candidates = [
            (s.when, s.account)
            for s in solves
            if s.module == "sockets"
            and s.challenge == challenge
            and s.account in eligible
            and launch <= s.when <= now
        ]
        if candidates:
            firsts[challenge] = min(candidates)[1]

    def badges(account: int) -> tuple[Badge, ...]:
        done = {
            s.challenge
            for s in solves
            if s.account == account and s.module == "sockets" and s.when <= now
        }
        earned = []
        if set(CHALLENGES) <= done:
            earned.append(Badge("🏆", "Completed the Sockets module", "completion"))
        for challenge in CHALLENGES:
            if firsts.get(challenge) == account:
                title = registry.BY_ID[challenge].title
                earned.append(Badge("🩸", f"First blood: {title}", "first_blood"))
        earned += [Badge(emoji, title, "granted") for who, emoji, title in grants if who == account]
        return tuple(earned)

    names = {p.id: p.name for p in people}
    rows = [
        (rank, account, names[account], badges(account), len(totals[account]), max(totals[account]))
        for rank, account in enumerate(order, start=1)
    ]
    me = next((row for row in rows if row[1] == viewer), None)
    return [row for row in rows if row[0] <= limit], me


def as_tuple(row: Row) -> RowTuple:
    return (row.rank, row.account_id, row.hacker, row.badges, row.score, row.last_solve_at)


SECOND, DAY = dt.timedelta(seconds=1), dt.timedelta(days=1)
KINDS = [(False, False)] * 3 + [(True, False), (False, True)]  # (hidden, admin)


@dataclass(frozen=True)
class Dojo:
    """A random dojo: its accounts' kinds (hidden, admin), their solves (account index, module,
    challenge, offset from now), grants (account index, emoji), and the board asked for."""

    days: int
    launch: dt.timedelta
    people: list[tuple[bool, bool]]
    solves: list[tuple[int, str, str, dt.timedelta]]
    grants: list[tuple[int, str]]
    viewer: int | None
    limit: int


@st.composite
def dojos(draw: st.DrawFn) -> Dojo:
    """A random dojo whose solves crowd the edges that matter: of the window, of the launch, of
    now. Few distinct moments make ties (same score, same last solve) common."""
    days = draw(st.sampled_from([30, 7, 1, 0]))
    edge = -(days or 30) * DAY
    launch = draw(st.sampled_from([-50 * DAY, edge - SECOND, edge, edge + SECOND, -3 * DAY]))
    moments = [
        *(
            moment + nudge
            for moment in (edge, launch, dt.timedelta(0))
            for nudge in (-SECOND, 0 * SECOND, SECOND)
        ),
        -HOUR,
        -2 * DAY,
        -40 * DAY,
    ]
    size = draw(st.integers(min_value=1, max_value=6))
    people = draw(st.lists(st.sampled_from(KINDS), min_size=size, max_size=size))
    solves = draw(
        st.lists(
            st.tuples(
                st.integers(min_value=0, max_value=size - 1),
                st.sampled_from(["sockets"] * 6 + ["other"]),
                st.sampled_from([*CHALLENGES, "retired"]),
                st.sampled_from(moments),
            ),
            max_size=30,
        )
    )
    grants = draw(
        st.lists(
            st.tuples(st.integers(min_value=0, max_value=size - 1), st.sampled_from(["⭐", "🎤"])),
            max_size=2,
        )
    )
    if size > 1 and draw(st.booleans()):
        # A twin: the same solves at the same moments, so only the account ids can decide.
        twin = draw(st.integers(min_value=1, max_value=size - 1))
        solves = [solve for solve in solves if solve[0] != twin]
        solves += [(twin, *solve[1:]) for solve in solves if solve[0] == 0]
    return Dojo(
        days=days,
        launch=launch,
        people=people,
        solves=solves,
        grants=grants,
        viewer=draw(st.one_of(st.none(), st.integers(min_value=0, max_value=size - 1))),
        limit=draw(st.integers(min_value=0, max_value=7)),
    )


@settings(
    max_examples=150,
    deadline=None,
    database=None,  # no .hypothesis/ folder left in the work tree
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(dojo=dojos())
def test_sql_board_matches_the_rules(scenario: Scenario, dojo: Dojo) -> None:
    now = scenario.now
    launch = now + dojo.launch
    kinds = dojo.people
    unique: dict[tuple[int, str, str], dt.datetime] = {}
    for index, module, challenge, offset in dojo.solves:
        unique.setdefault((index, module, challenge), now + offset)  # one solve per challenge
    placed = [
        (index, module, challenge, when) for (index, module, challenge), when in unique.items()
    ]
    granted = [(index, emoji, f"granted {emoji}") for index, emoji in dojo.grants]
    ids = scenario.populate(
        launch,
        [(f"h{number}", hidden, admin) for number, (hidden, admin) in enumerate(kinds)],
        placed,
        granted,
    )
    people = [
        Person(ids[number], f"h{number}", hidden, admin)
        for number, (hidden, admin) in enumerate(kinds)
    ]
    solves = [
        Solved(ids[index], module, challenge, when) for index, module, challenge, when in placed
    ]
    grants = [(ids[index], emoji, title) for index, emoji, title in granted]
    viewer = ids[dojo.viewer] if dojo.viewer is not None else None

    board = scenario.board(dojo.days, viewer, dojo.limit)
    rows, me = reference(people, solves, grants, launch, now, dojo.days, viewer, dojo.limit)
    assert [as_tuple(row) for row in board.rows] == rows
    assert (as_tuple(board.me) if board.me else None) == me
