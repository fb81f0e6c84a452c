"""Each rule of the scoreboard (see `sockdojo.scoreboard`), one at a time."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import pytest

from sockdojo.challenges import registry
from sockdojo.scoreboard.counting import window_start
from sockdojo.scoreboard.model import Badge

if TYPE_CHECKING:
    from scoreboard.conftest import Scenario

ALL = [challenge.id for challenge in registry.CHALLENGES]


def test_empty_board(scenario: Scenario) -> None:
    assert scenario.board().rows == ()
    assert scenario.board().me is None


def test_score_counts_the_modules_challenges_in_the_window(scenario: Scenario) -> None:
    alice = scenario.account("alice")
    scenario.solve(alice, "client", scenario.ago(days=1))
    scenario.solve(alice, "server", scenario.ago(days=8))
    scenario.solve(alice, "server-loop", scenario.ago(days=31))
    assert scenario.table(30) == [(1, "alice", 2)]
    assert scenario.table(7) == [(1, "alice", 1)]
    assert scenario.table(0) == [(1, "alice", 3)]


def test_other_modules_and_retired_challenges_do_not_count(scenario: Scenario) -> None:
    alice = scenario.account("alice")
    scenario.solve(alice, "client", scenario.ago(days=1), module="other")
    scenario.solve(alice, "retired-challenge", scenario.ago(days=1))
    assert scenario.table(0) == []
    scenario.solve(alice, "client", scenario.ago(days=1))
    assert scenario.table(0) == [(1, "alice", 1)]


@pytest.mark.parametrize("days", [30, 7, 1])
def test_window_is_half_open(scenario: Scenario, days: int) -> None:
    """(now - days, now]: exactly `days` old has left; exactly now is in; the future is not."""
    edge = scenario.ago(days=days)
    left = scenario.account("left")
    scenario.solve(left, "client", edge)
    inside = scenario.account("inside")
    scenario.solve(inside, "client", edge + dt.timedelta(microseconds=1))
    current = scenario.account("current")
    scenario.solve(current, "client", scenario.now)
    future = scenario.account("future")
    scenario.solve(future, "client", scenario.now + dt.timedelta(microseconds=1))
    assert [row[1] for row in scenario.table(days)] == ["inside", "current"]
    assert [row[1] for row in scenario.table(0)] == ["left", "inside", "current"]
    assert window_start(days, scenario.now) == edge
    assert window_start(0, scenario.now) is None


def test_negative_days_are_refused(scenario: Scenario) -> None:
    with pytest.raises(ValueError, match="days"):
        scenario.board(days=-1)


def test_only_solves_at_or_after_launch_count(scenario: Scenario) -> None:
    launch = scenario.ago(days=10)
    scenario.launch(launch)
    early, on_time, late = (scenario.account(n) for n in ("early", "on-time", "late"))
    scenario.solve(early, "client", launch - dt.timedelta(microseconds=1))
    scenario.solve(on_time, "client", launch)
    scenario.solve(late, "client", launch + dt.timedelta(days=1))
    for days in (30, 0):
        assert [row[1] for row in scenario.table(days)] == ["on-time", "late"]


def test_rank_by_score_then_who_got_there_first_then_account_id(scenario: Scenario) -> None:
    a, b, c, d = (scenario.account(name) for name in "abcd")
    t = scenario.ago(days=2)
    # a: 2 solves, last at t+2h; b: 2 solves, last at t+1h -> b first.
    scenario.solve(a, "client", t)
    scenario.solve(a, "server", t + dt.timedelta(hours=2))
    scenario.solve(b, "client", t + dt.timedelta(minutes=30))
    scenario.solve(b, "server", t + dt.timedelta(hours=1))
    # c and d: 1 solve at the very same moment -> the lower id (c) first.
    scenario.solve(d, "client", t)
    scenario.solve(c, "client", t)
    assert scenario.table() == [(1, "b", 2), (2, "a", 2), (3, "c", 1), (4, "d", 1)]
    assert [row.last_solve_at for row in scenario.board().rows][:2] == [
        t + dt.timedelta(hours=1),
        t + dt.timedelta(hours=2),
    ]


def test_only_counted_solves_decide_who_got_there_first(scenario: Scenario) -> None:
    a, b = scenario.account("a"), scenario.account("b")
    scenario.solve(a, "client", scenario.ago(days=40))  # outside the 30 days
    scenario.solve(a, "server", scenario.ago(days=3))
    scenario.solve(b, "client", scenario.ago(days=5))
    scenario.solve(b, "server", scenario.ago(days=4))
    scenario.solve(b, "server-loop", scenario.ago(days=1))
    assert scenario.table(30) == [(1, "b", 3), (2, "a", 1)]
    assert scenario.table(7) == [(1, "b", 3), (2, "a", 1)]
    scenario.solve(a, "eight-ball", scenario.ago(days=2))
    assert scenario.table(30) == [(1, "b", 3), (2, "a", 2)]
    # All time both have 3: a's third came at day -2, b's at day -1.
    assert scenario.table(0) == [(1, "a", 3), (2, "b", 3)]


def test_hidden_and_admin_accounts_are_left_out(scenario: Scenario) -> None:
    alice = scenario.account("alice")
    ghost = scenario.account("ghost", hidden=True)
    root = scenario.account("root", admin=True)
    for account in (ghost, root):
        for challenge in ALL:
            scenario.solve(account, challenge, scenario.ago(days=3))
    scenario.solve(alice, "client", scenario.ago(days=1))
    assert scenario.table() == [(1, "alice", 1)]
    for viewer in (ghost, root):
        assert scenario.board(viewer=viewer).me is None


def test_me_is_the_viewers_row_wherever_it_ranks(scenario: Scenario) -> None:
    ids = [scenario.account(f"h{n}") for n in range(6)]
    for place, account in enumerate(ids):
        scenario.solve(account, "client", scenario.ago(hours=60 - place))
    board = scenario.board(viewer=ids[4], limit=3)
    assert [row.hacker for row in board.rows] == ["h0", "h1", "h2"]
    assert board.me is not None and (board.me.rank, board.me.hacker) == (5, "h4")
    on_page = scenario.board(viewer=ids[1], limit=3)
    assert on_page.me == on_page.rows[1]
    assert scenario.board(viewer=None, limit=3).me is None
    assert scenario.board(limit=0).rows == ()
    nobody = scenario.account("nobody")
    assert scenario.board(viewer=nobody).me is None  # no counted solve: not on the board


def test_limit_counts_ranks(scenario: Scenario) -> None:
    for n in range(25):
        scenario.solve(scenario.account(f"h{n:02}"), "client", scenario.ago(hours=50 - n))
    assert [row.rank for row in scenario.board().rows] == list(range(1, 21))
    assert len(scenario.board(limit=5).rows) == 5


COMPLETE = Badge("🏆", "Completed the Sockets module", "completion")


def first_blood(challenge: str) -> Badge:
    return Badge("🩸", f"First blood: {registry.BY_ID[challenge].title}", "first_blood")


def badges_of(scenario: Scenario, hacker: str, days: int = 0) -> tuple[Badge, ...]:
    rows = {row.hacker: row for row in scenario.board(days).rows}
    return rows[hacker].badges


def test_completion_badge_needs_every_challenge_ever(scenario: Scenario) -> None:
    scenario.launch(scenario.ago(days=5))
    alice, bob = scenario.account("alice"), scenario.account("bob")
    scenario.solve(alice, "client", scenario.ago(days=100))  # before launch: still an achievement
    for challenge in ALL[1:]:
        scenario.solve(alice, challenge, scenario.ago(days=1))
        scenario.solve(bob, challenge, scenario.ago(days=2))
    assert COMPLETE in badges_of(scenario, "alice", 7)
    assert COMPLETE in badges_of(scenario, "alice", 30)  # badges do not depend on the window
    assert COMPLETE not in badges_of(scenario, "bob")
    scenario.solve(bob, "client", scenario.ago(days=1), module="other")
    assert COMPLETE not in badges_of(scenario, "bob")


def test_first_blood_goes_to_the_earliest_eligible_solver(scenario: Scenario) -> None:
    launch = scenario.ago(days=20)
    scenario.launch(launch)
    tester = scenario.account("tester")
    ghost = scenario.account("ghost", hidden=True)
    root = scenario.account("root", admin=True)
    alice, bob, carol = (scenario.account(n) for n in ("alice", "bob", "carol"))
    scenario.solve(tester, "client", launch - dt.timedelta(days=1))  # before launch
    scenario.solve(ghost, "client", launch + dt.timedelta(hours=1))  # hidden
    scenario.solve(root, "client", launch + dt.timedelta(hours=1))  # admin
    scenario.solve(bob, "client", launch + dt.timedelta(hours=3))
    scenario.solve(carol, "client", launch + dt.timedelta(hours=2))
    scenario.solve(bob, "server", launch + dt.timedelta(hours=5))
    scenario.solve(alice, "server", launch + dt.timedelta(hours=5))  # a tie: lower id wins
    assert badges_of(scenario, "carol") == (first_blood("client"),)
    assert badges_of(scenario, "alice") == (first_blood("server"),)
    assert badges_of(scenario, "bob") == ()
    assert "tester" not in [row.hacker for row in scenario.board(0).rows]  # before launch


def test_first_blood_moves_when_its_holder_is_hidden(scenario: Scenario) -> None:
    from sockdojo.storage.admin import set_hidden

    alice, bob = scenario.account("alice"), scenario.account("bob")
    scenario.solve(alice, "client", scenario.ago(days=2))
    scenario.solve(bob, "client", scenario.ago(days=1))
    assert badges_of(scenario, "alice") == (first_blood("client"),)
    with scenario.store.session() as session:
        set_hidden(session, alice, True)
    assert badges_of(scenario, "bob") == (first_blood("client"),)


def test_first_blood_only_counts_solves_up_to_now(scenario: Scenario) -> None:
    alice, bob = scenario.account("alice"), scenario.account("bob")
    scenario.solve(alice, "client", scenario.now + dt.timedelta(hours=1))
    scenario.solve(bob, "client", scenario.ago(hours=1))
    assert badges_of(scenario, "bob") == (first_blood("client"),)


def test_granted_badges_and_badge_order(scenario: Scenario) -> None:
    alice = scenario.account("alice")
    for challenge in reversed(ALL):
        scenario.solve(alice, challenge, scenario.ago(days=1))
    scenario.grant(alice, "⭐", "Helped a classmate")
    scenario.grant(alice, "🎤", "Gave a talk")
    assert badges_of(scenario, "alice") == (
        COMPLETE,
        *(first_blood(challenge) for challenge in ALL),
        Badge("⭐", "Helped a classmate", "granted"),
        Badge("🎤", "Gave a talk", "granted"),
    )
