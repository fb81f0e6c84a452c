"""What a flag submission comes to: one type for submissions, the database, the web, the API
and the CLI, which tell a pass from a fail by it, never by the words of a message."""

from __future__ import annotations

import enum

from sockdojo.flags import FlagProblem


class Verdict(enum.StrEnum):
    """Stored in `submissions.verdict` and sent in the API as its value."""

    SOLVED = "solved"
    ALREADY_SOLVED = "already_solved"
    NOT_A_FLAG = FlagProblem.NOT_A_FLAG.value
    OTHER_DOJO = FlagProblem.OTHER_DOJO.value
    TRUNCATED = FlagProblem.TRUNCATED.value
    NOT_YOURS = FlagProblem.NOT_YOURS.value
    WRONG_CHALLENGE = FlagProblem.WRONG_CHALLENGE.value
    UNKNOWN_CHALLENGE = FlagProblem.UNKNOWN_CHALLENGE.value
    RATE_LIMITED = "rate_limited"  # refused unchecked: too many wrong flags lately

    @classmethod
    def of_problem(cls, problem: FlagProblem) -> Verdict:
        return cls(problem.value)

    @property
    def correct(self) -> bool:
        return self in (Verdict.SOLVED, Verdict.ALREADY_SOLVED)


# What counts against the wrong-flag limit: a checked wrong flag. A refused attempt does not,
# so that waiting ends the wait.
WRONG = frozenset(Verdict.of_problem(problem) for problem in FlagProblem)
# The verdicts a checked submission can answer with (the API's `verdict` field); a refused one
# is a 429 with its own shape.
CHECKED = tuple(v for v in Verdict if v is not Verdict.RATE_LIMITED)
