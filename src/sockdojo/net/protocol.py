"""The vocabulary shared by every challenge protocol and the one socket loop that drives them.

A challenge's server side is a pure state machine: the loop feeds it what happened (connected,
bytes, end of stream, a timer running out, the connection lost) and applies the actions it
returns. The machines never touch sockets or clocks, so they are tested by feeding bytes, whole
or one at a time, and reading the actions back.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
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
class SendFlag:
    """Send the flag, now. The machines never hold it: the loop asks its `FlagSource` at this
    moment (in class mode the class server mints it), so no flag exists for a run that never
    earned one. `--once` runs stop after a connection that received it ends."""


Action = Send | Close | Note | SendFlag
# The flag line (`prefix{...}\n`), minted when called. It may block (a class server's answer)
# and may raise a `sockdojo.errors.SockdojoError` (that server cannot be reached).
FlagSource = Callable[[], bytes]


class ServerProtocol(Protocol):
    @property
    def timeout(self) -> float | None:
        """Seconds to wait for the next bytes before `timer_expired`; None while closing."""

    def connection_made(self) -> list[Action]: ...

    def data_received(self, data: bytes) -> list[Action]: ...

    def eof_received(self) -> list[Action]: ...

    def timer_expired(self) -> list[Action]: ...

    def connection_lost(self, error: str | None) -> list[Action]: ...


@dataclass
class AnswersOnce(ABC):
    """What our servers for the client challenges share: each answers the client once and
    closes. From then on (`ended`) it sets no timer and ignores what still arrives, while the
    loop finishes the connection."""

    flag_prefix: bytes  # to blank other flags a client sends us in the console
    ended: bool = field(default=False, init=False)

    @property
    def timeout(self) -> float | None:
        return None if self.ended else self.allowed_silence()

    @abstractmethod
    def allowed_silence(self) -> float:
        """How long the client may stay silent now, before `timer_expired`."""


def prefix_of(flag: str) -> str:
    """What comes before `{` in a flag ("" when it has none): what `hide_flags` looks for."""
    before, brace, _ = flag.partition("{")
    return before if brace else ""


def hide_flags(data: bytes, flag_prefix: bytes) -> bytes:
    """`data` with anything shaped like a flag of this dojo (`prefix{...}`) blanked out.

    Our servers log what clients send them, and a checker of another challenge may be the
    client: a flag must never reach a console through us.
    """
    if not flag_prefix:
        return data
    pattern = re.escape(flag_prefix) + rb"\{[^}\s]{0,200}\}?"
    return re.sub(pattern, b"<a flag>", data)


def preview(data: bytes, limit: int = 60, *, flag_prefix: bytes = b"") -> str:
    """Bytes as a learner would recognise them, shortened: b'hi\\n' (3 bytes).

    Always through repr(), so a peer's control characters and terminal escape sequences are
    shown escaped (b'\\x1b[2J'), never sent raw to the learner's terminal.
    """
    size = len(data)
    data = hide_flags(data, flag_prefix)
    shown = repr(data[:limit])
    more = "…" if len(data) > limit else ""
    unit = "byte" if size == 1 else "bytes"
    return f"{shown}{more} ({size} {unit})"
