"""Running one of our challenge servers (`client`, `eight-ball`) in the terminal.

The console shows one line per event, numbered by connection, until Ctrl-C (or, with --once,
until a flag has been handed out and that connection has ended).
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import signal
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import cast

from sockdojo.challenges.client import UDP_HINT
from sockdojo.errors import SockdojoError
from sockdojo.mistakes import Diagnosis, diagnose
from sockdojo.net.accept_loop import (
    AcceptLoop,
    Peer,
    ProtocolFactory,
    raise_open_file_limit,
)
from sockdojo.net.protocol import FlagSource


@dataclass
class ServeReport:
    connections: int
    flags_delivered: int  # sent and read by the client
    flags_unread: int = 0  # sent, but the client closed or reset before reading them
    flag_error: SockdojoError | None = None  # the flag was due but could not be had


class Console:
    """The challenge server's console: one line per event while it is quiet, and when it is
    busy (more than `lines_per_second` in a second) one summary line a second instead, so a
    learner can still read it and printing never slows the server down."""

    def __init__(
        self,
        log: Callable[[str], None],
        *,
        lines_per_second: int = 30,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._log = log
        self._budget = lines_per_second
        self._clock = clock
        self._second = int(clock())
        self._lines = 0
        self._held = 0
        self._held_peers: set[int] = set()

    @staticmethod
    def _stamp(when: float) -> str:
        return time.strftime("%H:%M:%S", time.localtime(when))

    def note(self, peer: Peer, text: str) -> None:
        now = self._clock()
        self.tick(now)
        self._lines += 1
        if self._lines <= self._budget:
            self._log(f"{self._stamp(now)} {peer}  {text}")
        else:
            self._held += 1
            self._held_peers.add(peer.number)

    def line(self, text: str) -> None:
        """A line that is not about one connection (always shown)."""
        self._log(f"{self._stamp(self._clock())} {text}")

    def tick(self, now: float | None = None) -> None:
        """Start a new second if one has begun, summing up what the last one held back."""
        now = self._clock() if now is None else now
        second = int(now)
        if second == self._second:
            return
        self.flush()
        self._second = second
        self._lines = 0

    def flush(self) -> None:
        if self._held:
            self._log(
                f"{self._stamp(self._second)} busy: {self._held} more events from "
                f"{len(self._held_peers)} connections in that second (one line per event "
                f"resumes below {self._budget} a second)"
            )
        self._held = 0
        self._held_peers.clear()


def bind_failure(host: str, port: int, error: OSError) -> Diagnosis:
    where = f"{host}:{port}"
    if error.errno == errno.EADDRINUSE:
        return diagnose("port-in-use", where=where)
    if error.errno == errno.EACCES:
        return diagnose("port-forbidden", where=where)
    return diagnose("cannot-listen", where=where, detail=error.strerror or error)


class _UdpHint(asyncio.DatagramProtocol):
    """Learners who make a SOCK_DGRAM socket by mistake get told, instead of silence."""

    def __init__(self, log: Callable[[str], None]) -> None:
        self._log = log
        self._transport: asyncio.DatagramTransport | None = None
        self._answered = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str | object, ...]) -> None:
        self._log(f"UDP datagram from {addr[0]}:{addr[1]}: answered that this challenge is TCP")
        # Bounded, so a flood of datagrams cannot turn us into an amplifier.
        if self._transport is not None and self._answered < 1000:
            self._answered += 1
            self._transport.sendto(UDP_HINT, addr)


async def _tick(console: Console) -> None:
    while True:  # ends when cancelled, as the server stops
        await asyncio.sleep(1.0)
        console.tick()


def _fast_loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop where it is installed (Linux, macOS): about twice the sessions per second."""
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop


def serve(
    sock: socket.socket,
    factory: ProtocolFactory,
    log: Callable[[str], None],
    *,
    flag: FlagSource,
    once: bool,
    udp_hint: bool,
) -> ServeReport:
    """Serve on an already listening socket until Ctrl-C / SIGTERM (or the first flag, if once)."""
    raise_open_file_limit()
    console = Console(log)
    loops: list[AcceptLoop] = []

    async def main() -> ServeReport:
        loop = asyncio.get_running_loop()
        accept_loop = AcceptLoop(sock, factory, console.note, flag=flag, stop_after_flag=once)
        loops.append(accept_loop)
        for signum in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(signum, accept_loop.stop)
        udp: asyncio.DatagramTransport | None = None
        if udp_hint:
            host, port = sock.getsockname()[:2]
            with contextlib.suppress(OSError):
                udp, _ = await loop.create_datagram_endpoint(
                    lambda: _UdpHint(console.line),
                    local_addr=(host, port),
                )
        ticker = asyncio.create_task(_tick(console))
        try:
            await accept_loop.serve()
        finally:
            ticker.cancel()
            console.flush()
            if udp is not None:
                udp.close()
        return ServeReport(
            accept_loop.connections,
            accept_loop.flags_delivered,
            accept_loop.flags_unread,
            accept_loop.flag_error,
        )

    try:
        with asyncio.Runner(loop_factory=_fast_loop_factory()) as runner:
            return runner.run(main())
    except KeyboardInterrupt:
        # Ctrl-C before our own handler was installed: the same clean stop, just earlier.
        served = loops[0] if loops else None
        if served is None:
            return ServeReport(0, 0)
        return ServeReport(
            served.connections, served.flags_delivered, served.flags_unread, served.flag_error
        )
    finally:
        sock.close()
