"""The Sockets module: its challenges, in order, with their stable ids and numbers.

The number is what flags carry; it must never be reused for another challenge.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources

MODULE_ID = "sockets"
MODULE_TITLE = "Sockets"


@dataclass(frozen=True)
class Challenge:
    id: str
    number: int
    title: str
    summary: str
    run_usage: str

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
    ),
    Challenge(
        "server",
        2,
        "Your first server",
        "Bind 127.0.0.1:1337, listen, accept one connection and print what it sends.",
        "sockdojo run server",
    ),
    Challenge(
        "server-loop",
        3,
        "A server that keeps serving",
        "Accept connection after connection in a loop, printing what each one sends.",
        "sockdojo run server-loop",
    ),
    Challenge(
        "eight-ball",
        4,
        "Magic 8-ball client",
        "Talk to a magic 8-ball service: read its banner, ask, and read the answer.",
        "sockdojo run eight-ball",
    ),
    Challenge(
        "reuse-address",
        5,
        "Reusing an address",
        "Write a server that sets SO_REUSEADDR with setsockopt, so it can restart at once.",
        "sockdojo run reuse-address YOUR_FILE.py",
    ),
)

BY_ID = {challenge.id: challenge for challenge in CHALLENGES}
BY_NUMBER = {challenge.number: challenge for challenge in CHALLENGES}
KNOWN_NUMBERS = frozenset(BY_NUMBER)


def get(challenge_id: str) -> Challenge | None:
    return BY_ID.get(challenge_id)


@cache
def _description(challenge_id: str) -> str:
    return (
        resources.files("sockdojo.challenges")
        .joinpath("descriptions", f"{challenge_id}.md")
        .read_text(encoding="utf-8")
    )


@cache
def module_introduction() -> str:
    return (
        resources.files("sockdojo.challenges")
        .joinpath("descriptions", "module.md")
        .read_text(encoding="utf-8")
    )
