"""Learner mistakes as data: one catalogue, keyed by stable code.

A `Diagnosis` is what a run says when the learner's side did not do what the challenge asks:
what we saw on the wire, why that happens, and one concrete next step. Every diagnosis comes
from an entry of `CATALOGUE` (the network challenges' in `network.py`, the reuse-address
proof's in `proof.py`), filled in with the run's own facts, so the texts live in one place, the
codes are stable for tests, `--json` and the README, and a learner's mistake can never be
confused with a bug of ours (those are `sockdojo.errors.SockdojoError`s).

Standard library only: the challenge core that uses it is vendored into bare containers.
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from dataclasses import asdict, dataclass

from sockdojo.mistakes.entry import Entry, Severity
from sockdojo.mistakes.findings import FINDINGS
from sockdojo.mistakes.network import NETWORK
from sockdojo.mistakes.proof import PROOF


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


def _merge(*parts: Mapping[str, Entry]) -> dict[str, Entry]:
    merged: dict[str, Entry] = {}
    for part in parts:
        for code, entry in part.items():
            if code in merged:
                raise ValueError(f"mistake code {code!r} is catalogued twice")
            merged[code] = entry
    return merged


CATALOGUE: Mapping[str, Entry] = _merge(NETWORK, PROOF, FINDINGS)


def field_names(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def fields_of(code: str) -> frozenset[str]:
    """The names an entry's templates expect, so tests can check every caller fills them."""
    entry = CATALOGUE[code]
    return frozenset(field_names(entry.saw) | field_names(entry.why) | field_names(entry.next_step))


class _Lenient(dict[str, object]):
    """Missing fields render as '?': a finding's text must never crash the analysis."""

    def __missing__(self, key: str) -> str:
        return "?"


def render(template: str, facts: Mapping[str, object]) -> str:
    """A template filled in leniently (the reuse-address findings, whose fields vary with the
    learner's program); `diagnose` is the strict form for everything else."""
    return template.format_map(_Lenient(facts))


def diagnose(code: str, **facts: object) -> Diagnosis:
    """The catalogue's entry for `code`, filled in with this run's facts.

    An unknown code or a missing fact is a bug of ours (KeyError), never shown as the learner's
    mistake: the CLI reports it as an internal error.
    """
    entry = CATALOGUE[code]
    return Diagnosis(
        code,
        entry.saw.format(**facts),
        entry.why.format(**facts),
        entry.next_step.format(**facts),
    )


__all__ = [
    "CATALOGUE",
    "Diagnosis",
    "Entry",
    "Severity",
    "diagnose",
    "field_names",
    "fields_of",
    "render",
]
