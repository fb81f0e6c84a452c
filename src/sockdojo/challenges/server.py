"""The `server` challenge's checker: connect to the learner's server and hand it the flag.

It observes (`observe.py`) and lets the pure judge (`server_judge.judge_server`) decide. The
flag goes out only once we know the program on the port is not one of our own servers.
"""

from __future__ import annotations

import functools

from sockdojo.challenges import observe
from sockdojo.challenges.outcome import CheckResult
from sockdojo.challenges.records import Attempt
from sockdojo.challenges.server_judge import Address, judge_server
from sockdojo.net.protocol import FlagSource
from sockdojo.net.transcript import Transcript

RETRY_WINDOW = 1.0
WAIT = 1.5
# After a reset by a listener that then closed: how long a shell loop gets to listen again
# (`observe.first_connection`). Spent only on runs that are failing or restarting.
REPLACEMENT_WINDOW = 0.2


def check_server(
    host: str, port: int, flag: FlagSource, flag_prefix: str, transcript: Transcript
) -> CheckResult:
    """`flag` is asked for only when it is due: once we know the program on the port is the
    learner's (not one of ours), right before it is sent."""
    transcript.flag_prefix = flag_prefix
    at = Address(host, port)
    transcript.event(f"connecting to {at}")
    once = functools.cache(flag)  # a second connection hands over the same flag
    attempt = observe.first_connection(lambda: _connection(at, once, transcript), transcript)
    return judge_server(attempt, at)


def _connection(at: Address, flag: FlagSource, transcript: Transcript) -> Attempt:
    """One connection that hands over the flag."""
    attempt, sock = observe.connect(1, at, RETRY_WINDOW, transcript)
    if sock is None:
        return attempt
    with sock:
        if attempt.own is not None:
            return attempt
        transcript.event("connected")
        flag_line = flag()
        if flag_line not in transcript.secrets:
            transcript.secrets += (flag_line,)
        return observe.converse(
            attempt,
            sock,
            at,
            flag_line,
            transcript,
            wait=WAIT,
            flag=True,
            replacement_window=REPLACEMENT_WINDOW,
        )
