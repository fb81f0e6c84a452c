"""What a checker saw on each connection to the learner's server, as plain values.

The checkers (`server.py`, `server_loop.py`) only observe and fill these in; the pure judges in
`server_judge.py` turn them into verdicts. That split is what makes every timing end in a
verdict: the judges are tested by feeding records, every ordering of close, reset and read
included, with no sockets and no clocks.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from sockdojo.net.connect import Connect

__all__ = ["Attempt", "Connect", "Delivery", "End", "Listener", "OwnServer", "PortFacts"]


class End(enum.Enum):
    """How the server's side of the connection ended, as far as we watched it."""

    CLOSED = "closed"  # a clean end of stream (FIN)
    RESET = "reset"  # a reset: closed with our bytes unread, or its listener went away
    OPEN = "open"  # still open when we stopped watching


@dataclass(frozen=True)
class Delivery:
    """What became of the bytes we sent on one connection."""

    payload: int  # bytes we meant to send
    sent: int  # bytes that left (less when the server reset while we were sending)
    end: End
    unread: int | None  # bytes the server left unread when we last looked; None: no kernel view
    accepted: bool | None  # the server accepted our connection; None: no kernel view
    reply: bytes = b""  # what the server sent back (bounded)

    @property
    def read(self) -> int | None:
        return None if self.unread is None else max(self.sent - self.unread, 0)


@dataclass(frozen=True)
class Listener:
    """A listening socket seen on the port: its identity and where it listens."""

    inode: int
    host: str
    port: int
    ipv6: bool = False


@dataclass(frozen=True)
class OwnServer:
    """One of sockdojo's own challenge servers holds the port."""

    which: str  # "sockdojo run client", ...


@dataclass(frozen=True)
class PortFacts:
    """What holds the port when our connection was refused (looked at only then)."""

    elsewhere: tuple[Listener, ...] = ()  # listeners on the port at other addresses
    other_ports: tuple[Listener, ...] = ()  # recent listeners of the learner's on other ports
    bound_not_listening: bool = False  # a TCP socket is bound there without listen()
    udp_bound: bool = False  # a UDP socket is bound to the port


@dataclass(frozen=True)
class Attempt:
    """One connection of a run, from the attempt to connect to the end of the conversation."""

    number: int
    connect: Connect
    refusals: int = 0  # refused tries before it connected (a restarting server)
    seconds: float = 0.0  # time spent connecting
    detail: str = ""  # the system's words for a failed connect
    kernel_view: bool = False  # the kernel told us about sockets (Linux): listeners are known
    listener_before: Listener | None = None  # listening at the address just before we connected
    listener_after: Listener | None = None  # ... just after
    queue_full: bool = False  # a timed-out connect met a listener whose accept queue is full
    port: PortFacts | None = None  # when refused: what holds the port
    own: OwnServer | None = None  # our own server holds the port; nothing was sent
    flag: bool = False  # this attempt's payload was the flag
    withheld: bool = False  # the flag was due, but the judge said not to send it
    delivery: Delivery | None = None
    listener_gone: bool = False  # after a reset, the listener of this connection was gone
    replacement: Listener | None = None  # ... and a new one took its place
    notes: tuple[str, ...] = field(default=())
