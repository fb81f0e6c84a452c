"""The challenge servers' console and bind failures, tested directly."""

from __future__ import annotations

import errno

from sockdojo.challenges.serving import Console, bind_failure
from sockdojo.net.accept_loop import Peer


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def test_a_quiet_console_shows_every_event() -> None:
    lines: list[str] = []
    clock = Clock()
    console = Console(lines.append, lines_per_second=5, clock=clock)
    for number in range(1, 4):
        console.note(Peer(number, "127.0.0.1", 5000 + number), "connected")
    assert len(lines) == 3
    assert all("connected" in line for line in lines)


def test_a_busy_console_sums_up_each_second() -> None:
    lines: list[str] = []
    clock = Clock()
    console = Console(lines.append, lines_per_second=5, clock=clock)
    for number in range(1, 101):
        console.note(Peer(number, "127.0.0.1", 5000), "connected")
        console.note(Peer(number, "127.0.0.1", 5000), "sent the flag and closed the connection")
    assert len(lines) == 5  # the budget, then nothing more within that second
    clock.now += 1.0
    console.tick()
    assert len(lines) == 6
    assert "busy: 195 more events from 98 connections in that second" in lines[-1]
    console.note(Peer(101, "127.0.0.1", 5000), "connected")
    assert lines[-1].endswith("connected")  # a new second: lines again
    console.flush()
    assert len(lines) == 7  # nothing was held back in this one


def test_bind_failures_are_catalogued_diagnoses() -> None:
    busy = bind_failure("127.0.0.1", 1337, OSError(errno.EADDRINUSE, "Address already in use"))
    assert busy.code == "port-in-use" and "127.0.0.1:1337" in busy.saw
    low = bind_failure("127.0.0.1", 80, OSError(errno.EACCES, "Permission denied"))
    assert low.code == "port-forbidden"
    other = bind_failure("10.9.9.9", 1337, OSError(errno.EADDRNOTAVAIL, "Cannot assign"))
    assert other.code == "cannot-listen" and "Cannot assign" in other.saw
