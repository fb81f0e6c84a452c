"""One catalogue entry: templates for what we saw, why, and the next step."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Severity = Literal["error", "note"]


@dataclass(frozen=True)
class Entry:
    challenges: tuple[str, ...]  # where the code can come up
    saw: str  # str.format templates, filled in by `sockdojo.mistakes.diagnose`
    why: str
    next_step: str
    severity: Severity = "error"  # a "note" explains without failing (reuse-address findings)


REUSE_ADDRESS = ("reuse-address",)  # the challenge of the proof's and the findings' entries
