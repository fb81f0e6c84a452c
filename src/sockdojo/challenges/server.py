"""The `server` challenge's checker: connect to the learner's server and hand it the flag.

It observes (`observe.py`) and lets the pure judge (`server_judge.judge_server`) decide. The
flag goes out only once we know the program on the port is not one of our own servers.
"""

from __future__ import annotations

from sockdojo.challenges import observe
from sockdojo.challenges.outcome import CheckResult
from sockdojo.challenges.server_judge import Address, judge_server
from sockdojo.net.transcript import Transcript

RETRY_WINDOW = 1.0
WAIT = 1.5


def check_server(
    host: str, port: int, flag_line: bytes, flag_prefix: str, transcript: Transcript
) -> CheckResult:
    transcript.secrets += (flag_line,)
    transcript.flag_prefix = flag_prefix
    at = Address(host, port)
    transcript.event(f"connecting to {at}")
    attempt, sock = observe.connect(1, at, RETRY_WINDOW, transcript)
    if sock is not None:
        with sock:
            if attempt.own is None:
                transcript.event("connected")
                attempt = observe.converse(
                    attempt, sock, at, flag_line, transcript, wait=WAIT, flag=True
                )
    return judge_server(attempt, at)
