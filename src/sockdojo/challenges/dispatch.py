"""What runs each challenge: the server of ours that a learner's client talks to, the checker
that talks to a learner's server, whether our server also answers UDP, and where a run listens
or connects unless told otherwise.

`registry.Runs` says which kind of run a challenge has; this says which machine does it. Both
runners ask here, `sockdojo run` (cli/main.py) and the exported `/challenge/run`
(export/challenge_run.py), so a challenge runs the same wherever it runs; what differs between
them (where flags come from, the words for "run it again" and "submit it") stays with each.

The machines are imported when they are asked for, not with this module: the CLI reads
DEFAULT_HOST and DEFAULT_PORT from here for every `sockdojo --help`, which must not import the
event loop and the checkers.

Standard library only: the challenge core is vendored into the pwn.college export.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from sockdojo.challenges import registry
from sockdojo.errors import InternalError

if TYPE_CHECKING:
    from sockdojo.challenges.outcome import CheckResult
    from sockdojo.net.accept_loop import ProtocolFactory
    from sockdojo.net.protocol import FlagSource, ServerProtocol
    from sockdojo.net.transcript import Transcript

    # check(host, port, flag, flag_prefix, transcript)
    Checker = Callable[[str, int, FlagSource, str, Transcript], CheckResult]

_T = TypeVar("_T")

# The address the challenges' summaries and descriptions name (127.0.0.1:1337).
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 1337
LOWEST_PORT = 1
HIGHEST_PORT = 65535

# Our server for the first challenge also answers a datagram on its port: a learner who made a
# SOCK_DGRAM socket by mistake is told so there, instead of waiting on silence. By the
# eight-ball challenge they have a working TCP client.
_UDP_HINTED = frozenset({"client"})


def server_protocol(challenge: registry.Challenge, flag_prefix: str) -> ProtocolFactory:
    """A fresh protocol machine for each connection to our server (Runs.OUR_SERVER)."""
    from sockdojo.challenges.client import ClientChallengeProtocol
    from sockdojo.challenges.eight_ball import EightBallProtocol

    machines: dict[str, Callable[[bytes], ServerProtocol]] = {
        "client": ClientChallengeProtocol,
        "eight-ball": EightBallProtocol,
    }
    machine = _one_for(challenge, machines, "server of ours")
    prefix = flag_prefix.encode()
    return lambda _peer: machine(prefix)


def checker(challenge: registry.Challenge) -> Checker:
    """What connects to the learner's server and judges it (Runs.YOUR_SERVER)."""
    from sockdojo.challenges.server import check_server
    from sockdojo.challenges.server_loop import check_server_loop

    checkers: dict[str, Checker] = {"server": check_server, "server-loop": check_server_loop}
    return _one_for(challenge, checkers, "checker")


def udp_hint(challenge: registry.Challenge) -> bool:
    """Whether our server for this challenge answers UDP datagrams with a hint."""
    return challenge.id in _UDP_HINTED


def _one_for(challenge: registry.Challenge, table: dict[str, _T], what: str) -> _T:
    try:
        return table[challenge.id]
    except KeyError:
        raise InternalError(f"sockdojo has no {what} for the {challenge.id} challenge.") from None
