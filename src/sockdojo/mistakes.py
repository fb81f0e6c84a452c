"""Learner mistakes as data.

A `Diagnosis` is what a run says when the learner's side did not do what the challenge asks:
what we saw on the wire, why that happens, and one concrete next step. They are plain values so
that the CLI, the JSON output and the tests all read the same thing, and so that a learner's
mistake can never be confused with a bug of ours (those raise, and are reported as such).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Diagnosis:
    code: str  # stable, for tests, --json and documentation
    saw: str  # what happened, in terms of the wire
    why: str  # the usual cause
    next_step: str  # one thing to do now

    def as_dict(self) -> dict[str, str]:
        return asdict(self)

    def render(self) -> str:
        return f"{self.saw}\n  Why: {self.why}\n  Next: {self.next_step}"
