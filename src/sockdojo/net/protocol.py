"""The vocabulary shared by every challenge protocol and the one socket loop that drives them.

A challenge's server side is a pure state machine: the loop feeds it what happened (connected,
bytes, end of stream, a timer running out, the connection lost) and applies the actions it
returns. The machines never touch sockets or clocks, so they are tested by feeding bytes, whole
or one at a time, and reading the actions back.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class Send:
    data: bytes


@dataclass(frozen=True)
class Close:
    """Finish the connection gracefully: end our side, drain briefly, then close."""


@dataclass(frozen=True)
class Note:
    """A line for the challenge's console log."""

    text: str


@dataclass(frozen=True)
class FlagDelivered:
    """The flag was handed to the transport; `--once` runs stop after the connection ends."""


Action = Send | Close | Note | FlagDelivered


class ServerProtocol(Protocol):
    @property
    def timeout(self) -> float | None:
        """Seconds to wait for the next bytes before `timer_expired`; None while closing."""

    def connection_made(self) -> list[Action]: ...

    def data_received(self, data: bytes) -> list[Action]: ...

    def eof_received(self) -> list[Action]: ...

    def timer_expired(self) -> list[Action]: ...

    def connection_lost(self, error: str | None) -> list[Action]: ...


def preview(data: bytes, limit: int = 60) -> str:
    """Bytes as a learner would recognise them, shortened: b'hi\\n' (3 bytes)."""
    shown = repr(data[:limit])
    more = "…" if len(data) > limit else ""
    unit = "byte" if len(data) == 1 else "bytes"
    return f"{shown}{more} ({len(data)} {unit})"
