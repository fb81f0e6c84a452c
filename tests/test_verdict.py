"""The one type for what a submission comes to."""

from __future__ import annotations

from sockdojo.flags import FlagProblem
from sockdojo.submissions import MESSAGES
from sockdojo.verdict import CHECKED, WRONG, Verdict
from sockdojo.web.rendering import VERDICT_NAMES


def test_every_flag_problem_is_a_wrong_verdict_with_a_message_and_a_name() -> None:
    for problem in FlagProblem:
        verdict = Verdict.of_problem(problem)
        assert verdict in WRONG and not verdict.correct
    for verdict in Verdict:
        assert verdict in MESSAGES
        assert verdict in VERDICT_NAMES
        assert VERDICT_NAMES[verdict.value] == VERDICT_NAMES[verdict]  # stored as its string


def test_only_solved_and_already_solved_are_correct() -> None:
    assert {v for v in Verdict if v.correct} == {Verdict.SOLVED, Verdict.ALREADY_SOLVED}
    assert Verdict.RATE_LIMITED not in CHECKED and Verdict.RATE_LIMITED not in WRONG
