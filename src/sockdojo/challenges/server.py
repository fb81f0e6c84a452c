"""The `server` challenge's checker: connect to the learner's server and hand it the flag.

It observes (`observe.py`) and lets the pure judge (`server_judge.judge_server`) decide. The
flag goes out only once we know the program on the port is not one of our own servers.
"""

from __future__ import annotations

from sockdojo.challenges import observe
from sockdojo.challenges.outcome import CheckResult
from sockdojo.challenges.server_judge import Address, judge_server
from sockdojo.net.protocol import FlagSource
from sockdojo.net.transcript import Transcript

RETRY_WINDOW = 1.0
WAIT = 1.5


def check_server(
    host: str, port: int, flag: FlagSource, flag_prefix: str, transcript: Transcript
) -> CheckResult:
    """`flag` is asked for only when it is due: once we know the program on the port is the
    learner's (not one of ours), right before it is sent."""
    transcript.flag_prefix = flag_prefix
    at = Address(host, port)
    transcript.event(f"connecting to {at}")
    attempt, sock = observe.connect(1, at, RETRY_WINDOW, transcript)
    if sock is not None:
        with sock:
            if attempt.own is None:
                transcript.event("connected")
                flag_line = flag()
                transcript.secrets += (flag_line,)
                attempt = observe.converse(
                    attempt, sock, at, flag_line, transcript, wait=WAIT, flag=True
                )
    return judge_server(attempt, at)
