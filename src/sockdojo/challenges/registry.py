"""The Sockets module: its challenges, in order, with their stable ids and numbers.

The number is what flags carry; it must never be reused for another challenge.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from functools import cache

MODULE_ID = "sockets"
MODULE_TITLE = "Sockets"


class Runs(enum.Enum):
    """How `sockdojo run` runs a challenge, and so which of its options apply (which machine
    does it, for each challenge: `challenges.dispatch`)."""

    OUR_SERVER = "our-server"  # we serve until Ctrl-C; the learner's client connects
    YOUR_SERVER = "your-server"  # the learner's server runs; we connect and check it
    YOUR_PROGRAM = "your-program"  # we analyse the learner's file and run it in a sandbox

    @property
    def options(self) -> tuple[str, ...]:
        """The `run` options that apply (besides --port, which they all take)."""
        return _OPTIONS[self]


_OPTIONS = {
    Runs.OUR_SERVER: ("--host", "--once"),
    Runs.YOUR_SERVER: ("--host",),
    Runs.YOUR_PROGRAM: ("FILE", "--no-run", "--json"),
}


@dataclass(frozen=True)
class Challenge:
    id: str
    number: int
    title: str
    summary: str
    run_usage: str
    runs: Runs | None = None  # None: not run by `sockdojo run` (the benchmarks' synthetic modules)

    @property
    def description(self) -> str:
        return _description(self.id)


CHALLENGES: tuple[Challenge, ...] = (
    Challenge(
        "client",
        1,
        "Your first client",
        "Connect to 127.0.0.1:1337, send anything, and receive the flag.",
        "sockdojo run client",
        Runs.OUR_SERVER,
    ),
    Challenge(
        "server",
        2,
        "Your first server",
        "Bind 127.0.0.1:1337, listen, accept one connection and print what it sends.",
        "sockdojo run server",
        Runs.YOUR_SERVER,
    ),
    Challenge(
        "server-loop",
        3,
        "A server that keeps serving",
        "Accept connection after connection in a loop, printing what each one sends.",
        "sockdojo run server-loop",
        Runs.YOUR_SERVER,
    ),
    Challenge(
        "eight-ball",
        4,
        "Magic 8-ball client",
        "Talk to a magic 8-ball service: read its banner, ask, and read the answer.",
        "sockdojo run eight-ball",
        Runs.OUR_SERVER,
    ),
    Challenge(
        "reuse-address",
        5,
        "Reusing an address",
        "Write a server that sets SO_REUSEADDR with setsockopt, so it can restart at once.",
        "sockdojo run reuse-address YOUR_FILE.py",
        Runs.YOUR_PROGRAM,
    ),
)

BY_ID = {challenge.id: challenge for challenge in CHALLENGES}
BY_NUMBER = {challenge.number: challenge for challenge in CHALLENGES}
KNOWN_NUMBERS = frozenset(BY_NUMBER)


def get(challenge_id: str) -> Challenge | None:
    return BY_ID.get(challenge_id)


@cache
def _description(challenge_id: str) -> str:
    from importlib import resources  # here: 10 ms of import that `sockdojo --help` never needs

    return (
        resources.files("sockdojo.challenges")
        .joinpath("descriptions", f"{challenge_id}.md")
        .read_text(encoding="utf-8")
    )


@cache
def module_introduction() -> str:
    from importlib import resources

    return (
        resources.files("sockdojo.challenges")
        .joinpath("descriptions", "module.md")
        .read_text(encoding="utf-8")
    )
