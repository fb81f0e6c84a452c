"""The `server-loop` checker: several connections in a row, the flag on the last.

A correct server passes in a fraction of a second: every connection is made as soon as the
previous one is done. A refused connection is retried only briefly, which is enough for a
server restarted by a shell loop, and the flag goes out only on a last connection that the
judge has seen reach the very listening socket that accepted the first (`flag_may_go`): a
shell loop restarting `nc -l` never receives it. A first connection dropped by a listener
that a new one replaced at once is made again, once (`observe.first_connection`).
"""

from __future__ import annotations

import functools
import socket

from sockdojo.challenges import observe
from sockdojo.challenges.outcome import CheckResult
from sockdojo.challenges.records import Attempt
from sockdojo.challenges.server_judge import (
    Address,
    flag_may_go,
    judge_server_loop,
    loop_attempt_problem,
)
from sockdojo.net.protocol import FlagSource
from sockdojo.net.transcript import Transcript

CONNECTIONS = 3
FIRST_WINDOW = 1.0
NEXT_WINDOW = 0.5
WAIT = 1.0


def message(number: int, total: int) -> bytes:
    return f"sockdojo server-loop: message {number} of {total}. Keep accepting!\n".encode()


def check_server_loop(
    host: str,
    port: int,
    flag: FlagSource,
    flag_prefix: str,
    transcript: Transcript,
    *,
    connections: int = CONNECTIONS,
) -> CheckResult:
    """`flag` is asked for only on a last connection the judge lets it go to."""
    transcript.flag_prefix = flag_prefix
    flag = functools.cache(flag)  # a first connection made again never mints a second flag
    at = Address(host, port)
    attempts: list[Attempt] = []
    for number in range(1, connections + 1):
        transcript.event(f"connection {number} of {connections} to {at}")
        make = functools.partial(_connection, attempts, number, at, flag, connections, transcript)
        attempt = observe.first_connection(make, transcript) if number == 1 else make()
        attempts.append(attempt)
        if loop_attempt_problem(attempts, at, connections) is not None:
            break
        transcript.event(f"connection {number} done")
    return judge_server_loop(attempts, at, connections)


def _connection(
    earlier: list[Attempt],
    number: int,
    at: Address,
    flag: FlagSource,
    total: int,
    transcript: Transcript,
) -> Attempt:
    window = FIRST_WINDOW if number == 1 else NEXT_WINDOW
    attempt, sock = observe.connect(number, at, window, transcript)
    if sock is not None:
        with sock:
            if attempt.own is None:
                attempt = _converse(earlier, attempt, sock, at, flag, total, transcript)
    return attempt


def _converse(
    earlier: list[Attempt],
    attempt: Attempt,
    sock: socket.socket,
    at: Address,
    flag_source: FlagSource,
    total: int,
    transcript: Transcript,
) -> Attempt:
    last = attempt.number == total
    flag = last and flag_may_go(earlier, attempt, total)
    if last and not flag:
        transcript.event(
            "this is not the server that accepted connection 1: the flag stays with us"
        )
    if flag:
        payload = flag_source()
        transcript.secrets += (payload,)
    else:
        payload = message(attempt.number, total)
    return observe.converse(
        attempt,
        sock,
        at,
        payload,
        transcript,
        wait=WAIT,
        flag=flag,
        withheld=last and not flag,
        replacement_window=NEXT_WINDOW,
    )
