"""The `server` challenge's checker: connect to the learner's server and hand it the flag."""

from __future__ import annotations

from sockdojo.challenges import diagnoses
from sockdojo.challenges.delivery import Outcome, deliver
from sockdojo.challenges.outcome import CheckResult
from sockdojo.mistakes import Diagnosis
from sockdojo.net.connect import ConnectFailure, connect_with_retry
from sockdojo.net.transcript import Transcript

RETRY_WINDOW = 1.0


def check_server(
    host: str, port: int, flag_line: bytes, flag_prefix: str, transcript: Transcript
) -> CheckResult:
    transcript.secrets += (flag_line,)
    transcript.event(f"connecting to {host}:{port}")
    try:
        sock = connect_with_retry(host, port, window=RETRY_WINDOW)
    except ConnectFailure as failure:
        transcript.event(f"connection {failure}")
        return CheckResult(
            False, "No flag delivered.", diagnoses.connect_failed(failure, host, port)
        )
    with sock:
        transcript.event("connected")
        delivery = deliver(sock, flag_line, transcript, wait=1.5)
    own = diagnoses.own_server(delivery.reply, flag_prefix)
    if own is not None:
        return CheckResult(False, "No flag delivered to your server.", own)
    verdict = _judge(delivery.outcome, delivery.sent, delivery.unread)
    if verdict is not None:
        return CheckResult(False, "Your server did not receive the whole flag.", verdict)
    notes = []
    if delivery.outcome is Outcome.UNKNOWN:
        notes.append("Could not confirm that your server read the flag (no kernel view here).")
    return CheckResult(
        True,
        "Your server accepted our connection and received the flag. "
        "It should have printed it: look in your server's terminal.",
        notes=notes,
    )


def _judge(outcome: Outcome, sent: int, unread: int) -> Diagnosis | None:
    if outcome is Outcome.RESET:
        return Diagnosis(
            "closed-before-reading",
            "Your server closed the connection before reading the whole flag (the kernel "
            "answered with a reset).",
            "Closing a connection with unread bytes throws them away; a server that accepts "
            "and closes at once, or reads only a few bytes, loses the flag.",
            "After accept(), call recv() until it returns b'' (or with a size of at least "
            "1024), print what you got, then close the connection.",
        )
    if outcome is Outcome.NOT_ACCEPTED:
        return Diagnosis(
            "never-accepted",
            "Our connection was queued by your listening socket but never accepted.",
            "listen() lets the kernel queue connections; your program must still call "
            "accept() to take one.",
            "Call conn, addr = sock.accept() after listen(), then conn.recv(1024).",
        )
    if outcome is Outcome.UNREAD:
        return Diagnosis(
            "never-read",
            f"Your server accepted the connection but never read the {sent} bytes we sent.",
            "Accepting gives you a connection socket; the data waits there until you recv().",
            "Call data = conn.recv(1024) on the socket accept() returned, and print(data).",
        )
    if outcome is Outcome.PARTLY_READ:
        return Diagnosis(
            "partly-read",
            f"Your server read {sent - unread} of the {sent} bytes we sent and left the rest.",
            "recv(n) returns at most n bytes: a small n cuts the flag short.",
            "Use a bigger size (recv(1024)) or call recv() until it returns b''.",
        )
    return None
