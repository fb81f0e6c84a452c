"""What a checker run ends with."""

from __future__ import annotations

from dataclasses import dataclass, field

from sockdojo.mistakes import Diagnosis


@dataclass
class CheckResult:
    passed: bool
    summary: str
    diagnosis: Diagnosis | None = None
    notes: list[str] = field(default_factory=list)
