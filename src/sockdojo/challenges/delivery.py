"""Handing one message to a learner's server, and finding out what it did with it.

Used by the `server` and `server-loop` checkers. We send, end our side (so servers that read
until the end of the stream finish), then watch for the server to close. On Linux the kernel
also tells us whether the bytes are still unread in the learner's socket, and whether the
connection was ever accepted, which turns "nothing happened" into a precise diagnosis.
"""

from __future__ import annotations

import enum
import socket
import time
from dataclasses import dataclass

from sockdojo.net import kernel_view
from sockdojo.net.transcript import Transcript

REPLY_LIMIT = 64 * 1024
POLL = 0.01


class Outcome(enum.Enum):
    READ = "read"  # the server read everything we sent
    PARTLY_READ = "partly_read"  # it read some of it and left the rest
    UNREAD = "unread"  # accepted, but nothing read
    NOT_ACCEPTED = "not_accepted"  # still waiting in the listener's accept queue
    RESET = "reset"  # the server reset the connection (closed with our bytes unread)
    UNKNOWN = "unknown"  # no kernel view, and the server neither closed nor reset


@dataclass
class Delivery:
    outcome: Outcome
    sent: int
    unread: int
    reply: bytes
    server_closed: bool


def _unread(peer: kernel_view.TcpSocket) -> int:
    """Bytes the server has not read yet. Our FIN takes one sequence number, which the kernel
    counts in the queue until the server reads the end of the stream, so it is not data."""
    return max(peer.receive_queue - 1, 0)


def _kernel_peer(sock: socket.socket) -> kernel_view.TcpSocket | None:
    try:
        local = sock.getsockname()[:2]
        remote = sock.getpeername()[:2]
    except OSError:
        return None
    return kernel_view.peer_of((str(local[0]), int(local[1])), (str(remote[0]), int(remote[1])))


def _accept_queue_holds(sock: socket.socket) -> bool:
    try:
        host, port = sock.getpeername()[:2]
    except OSError:
        return False
    listener = kernel_view.listener_for(str(host), int(port))
    return listener is not None and listener.receive_queue > 0


def deliver(
    sock: socket.socket,
    payload: bytes,
    transcript: Transcript,
    *,
    wait: float = 1.0,
    settle: float = 0.05,
) -> Delivery:
    """Send `payload`, then wait up to `wait` seconds to learn what the server did with it.

    A server that reads everything but keeps the connection open is given `settle` seconds of
    a drained queue before we move on, so a correct server that forgets `close()` does not cost
    a second per connection.
    """
    reply = bytearray()
    try:
        sock.sendall(payload)
        transcript.sent(payload)
        sock.shutdown(socket.SHUT_WR)
    except (ConnectionResetError, BrokenPipeError):
        transcript.event("the server reset the connection while we were sending")
        return Delivery(Outcome.RESET, len(payload), len(payload), b"", True)

    sock.settimeout(POLL)
    deadline = time.monotonic() + wait
    drained_since: float | None = None
    last: kernel_view.TcpSocket | None = None
    while time.monotonic() < deadline:
        try:
            chunk = sock.recv(4096)
        except TimeoutError:
            chunk = None
        except ConnectionResetError:
            transcript.event("the server reset the connection")
            unread = _unread(last) if last else len(payload)
            return Delivery(Outcome.RESET, len(payload), unread, bytes(reply), True)
        if chunk == b"":
            transcript.event("the server closed the connection")
            if reply:
                transcript.received(bytes(reply))
            return Delivery(Outcome.READ, len(payload), 0, bytes(reply), True)
        if chunk:
            if len(reply) < REPLY_LIMIT:
                reply += chunk[: REPLY_LIMIT - len(reply)]
            continue
        peer = _kernel_peer(sock)
        if peer is not None:
            last = peer
            if _unread(peer) == 0:
                drained_since = drained_since or time.monotonic()
                if time.monotonic() - drained_since >= settle:
                    break
            else:
                drained_since = None
    if reply:
        transcript.received(bytes(reply))
    if last is None:
        return Delivery(Outcome.UNKNOWN, len(payload), 0, bytes(reply), False)
    unread = _unread(last)
    if unread == 0:
        return Delivery(Outcome.READ, len(payload), 0, bytes(reply), False)
    if _accept_queue_holds(sock):
        return Delivery(Outcome.NOT_ACCEPTED, len(payload), unread, bytes(reply), False)
    if unread < len(payload):
        return Delivery(Outcome.PARTLY_READ, len(payload), unread, bytes(reply), False)
    return Delivery(Outcome.UNREAD, len(payload), unread, bytes(reply), False)
