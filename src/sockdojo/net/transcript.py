"""The short record of what happened on the wire that every run prints."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from sockdojo.net.protocol import preview


@dataclass
class Transcript:
    echo: Callable[[str], None] | None = None
    lines: list[str] = field(default_factory=list)
    # The flag a checker hands to the learner's server must reach them only through their own
    # program, never through our transcript.
    secrets: tuple[bytes, ...] = ()

    def _mask(self, data: bytes) -> bytes:
        for secret in self.secrets:
            data = data.replace(secret.rstrip(b"\n"), b"<your flag>")
        return data

    def _add(self, line: str) -> None:
        self.lines.append(line)
        if self.echo is not None:
            self.echo(line)

    def sent(self, data: bytes) -> None:
        shown = self._mask(data)
        suffix = f" [{len(data)} bytes on the wire]" if shown != data else ""
        self._add(f"  -> sent     {preview(shown)}{suffix}")

    def received(self, data: bytes) -> None:
        self._add(f"  <- received {preview(self._mask(data))}")

    def event(self, text: str) -> None:
        self._add(f"  .. {text}")
