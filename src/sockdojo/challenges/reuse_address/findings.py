"""Findings: what the analysis reports, each with a stable code, a place and a fix."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from sockdojo.mistakes import CATALOGUE, Severity, render


@dataclass(frozen=True)
class Finding:
    code: str
    severity: Severity
    line: int | None
    column: int | None  # 1-based, in characters
    explanation: str
    fix: str
    source: str | None = None  # the line of the program it is about
    caret: int | None = None  # for syntax errors: 1-based column to mark under `source`

    def as_dict(self) -> dict[str, object]:
        return {
            "code": self.code,
            "severity": self.severity,
            "line": self.line,
            "column": self.column,
            "explanation": self.explanation,
            "fix": self.fix,
            "source": self.source,
        }


@dataclass(frozen=True)
class Analysis:
    findings: tuple[Finding, ...]
    runnable: bool  # valid Python: worth running in the behaviour proof
    reuse_ok: bool  # SO_REUSEADDR shown to be on before bind() on each listening socket
    summary: str
    # The analysis itself failed on this program (a bug of ours, reported as a cannot-follow
    # finding so the run still ends in a verdict): what went wrong, for the report.
    internal_error: str | None = None

    @property
    def errors(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.severity == "error")

    @property
    def passed(self) -> bool:
        return self.reuse_ok and not self.errors

    @property
    def codes(self) -> list[str]:
        return [f.code for f in self.findings]


class Source:
    def __init__(self, text: str) -> None:
        self.lines = text.splitlines()

    def line(self, number: int | None) -> str | None:
        if number is None or not 1 <= number <= len(self.lines):
            return None
        return self.lines[number - 1]

    def column(self, number: int | None, byte_offset: int | None) -> int | None:
        """ast gives UTF-8 byte offsets; people count characters."""
        text = self.line(number)
        if text is None or byte_offset is None:
            return None
        return len(text.encode("utf-8")[:byte_offset].decode("utf-8", "ignore")) + 1


def finding(
    code: str,
    source: Source | None,
    line: int | None,
    byte_col: int | None = None,
    *,
    column: int | None = None,
    caret: int | None = None,
    **fields: object,
) -> Finding:
    return make(code, source, line, byte_col, column, caret, fields)


def make(
    code: str,
    source: Source | None,
    line: int | None,
    byte_col: int | None,
    column: int | None,
    caret: int | None,
    fields: Mapping[str, object],
) -> Finding:
    entry = CATALOGUE[code]
    if column is None and source is not None:
        column = source.column(line, byte_col)
    text = source.line(line) if source is not None else None
    return Finding(
        code=code,
        severity=entry.severity,
        line=line,
        column=column,
        explanation=render(entry.why, fields),
        fix=render(entry.next_step, fields),
        source=text.rstrip() if text is not None else None,
        caret=caret,
    )
