"""The `server-loop` checker: several connections in a row, the flag on the last.

A correct server passes in a fraction of a second: every connection is made as soon as the
previous one is done. A refused connection is retried only briefly, which is enough for a
server restarted by a shell loop, and we notice when a different listening socket served each
connection (the challenge asks for one server that keeps running).
"""

from __future__ import annotations

from sockdojo.challenges import diagnoses
from sockdojo.challenges.delivery import Outcome, deliver
from sockdojo.challenges.outcome import CheckResult
from sockdojo.challenges.server import _judge
from sockdojo.mistakes import Diagnosis
from sockdojo.net import kernel_view
from sockdojo.net.connect import ConnectFailure, ConnectStats, connect_with_retry
from sockdojo.net.transcript import Transcript

CONNECTIONS = 3
FIRST_WINDOW = 1.0
NEXT_WINDOW = 0.5


def message(number: int, total: int) -> bytes:
    return f"sockdojo server-loop: message {number} of {total}. Keep accepting!\n".encode()


def check_server_loop(
    host: str,
    port: int,
    flag_line: bytes,
    flag_prefix: str,
    transcript: Transcript,
    *,
    connections: int = CONNECTIONS,
) -> CheckResult:
    transcript.secrets += (flag_line,)
    listener_ids: set[int] = set()
    restarted = False
    for number in range(1, connections + 1):
        transcript.event(f"connection {number} of {connections} to {host}:{port}")
        window = FIRST_WINDOW if number == 1 else NEXT_WINDOW
        _note_listener(host, port, listener_ids)
        stats = ConnectStats()
        try:
            sock = connect_with_retry(host, port, window=window, stats=stats)
        except ConnectFailure as failure:
            transcript.event(f"connection {number} {failure}")
            return CheckResult(
                False,
                f"{number - 1} of {connections} connections served.",
                diagnoses.connect_failed(failure, host, port, connection=number),
            )
        if number > 1 and stats.attempts > 1:
            # Refused, then accepted moments later: a new server took the place of the old one.
            transcript.event(f"connection {number} was refused {stats.attempts - 1} time(s) first")
            restarted = True
        with sock:
            _note_listener(host, port, listener_ids)
            payload = flag_line if number == connections else message(number, connections)
            delivery = deliver(sock, payload, transcript, wait=1.0)
        own = diagnoses.own_server(delivery.reply, flag_prefix)
        if own is not None:
            return CheckResult(False, "That is not your server.", own)
        problem = _judge(delivery.outcome, delivery.sent, delivery.unread)
        if problem is not None:
            if delivery.outcome is Outcome.NOT_ACCEPTED and number > 1:
                problem = Diagnosis(
                    "stuck-on-previous",
                    f"Connection {number} was queued but never accepted: your server is still "
                    f"busy with connection {number - 1}.",
                    "A loop that keeps calling recv() after it returned b'' never gets back to "
                    "accept().",
                    "Leave the reading loop when recv() returns b'' (the client is done), close "
                    "that connection, and go back to accept().",
                )
            return CheckResult(False, f"{number - 1} of {connections} connections served.", problem)
        transcript.event(f"connection {number} done")
    if restarted or len(listener_ids) > 1:
        return CheckResult(
            False,
            f"All {connections} connections were served, but not by one server.",
            Diagnosis(
                "restarted-listener",
                "The connections were not all accepted by the same listening socket: your "
                "program made a new one between connections.",
                "Either socket() and bind() are inside the loop, or a shell loop restarts a "
                "one-shot server (like `while true; do nc -l ...; done`). Neither is one server "
                "that keeps running.",
                "Create, bind and listen once, before the loop; then call accept() in a "
                "`while True:` loop.",
            ),
        )
    return CheckResult(
        True,
        f"Your server accepted all {connections} connections in a row and received every "
        "message; the last one was the flag. Look in your server's terminal.",
    )


def _note_listener(host: str, port: int, seen: set[int]) -> None:
    listener = kernel_view.listener_for(host, port)
    if listener is not None:
        seen.add(listener.inode)
