"""The short record of what happened on the wire that every run prints."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from sockdojo.net.protocol import hide_flags, preview


@dataclass
class Transcript:
    echo: Callable[[str], None] | None = None
    lines: list[str] = field(default_factory=list)
    # The flag a checker hands to the learner's server must reach them only through their own
    # program, never through our transcript.
    secrets: tuple[bytes, ...] = ()
    # Any other flag of this dojo a peer sends us (another challenge's) is blanked too.
    flag_prefix: str = ""

    def _mask(self, data: bytes) -> bytes:
        for secret in self.secrets:
            data = data.replace(secret.rstrip(b"\n"), b"<your flag>")
        return hide_flags(data, self.flag_prefix.encode())

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
        self._add(f"  .. {escaped(text)}")


def escaped(text: str) -> str:
    """`text` with control characters (ANSI escapes included) shown as escapes, never raw: an
    event may quote what a peer or a system said."""
    return "".join(c if c.isprintable() or c in " \t" else repr(c)[1:-1] for c in text)
