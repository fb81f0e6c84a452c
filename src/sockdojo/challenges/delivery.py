"""Handing one message to a learner's server, and recording what it did with it.

Used by the `server` and `server-loop` checkers. We send, end our side (so servers that read
until the end of the stream finish), then watch for the server to close. On Linux the kernel
also tells us whether the bytes are still unread in the learner's socket and whether the
connection was ever accepted. This module only observes: whatever the server does, at whatever
moment (reset before, while or after we send, half-close, never read), it returns a
`records.Delivery` and never raises; `server_judge` decides what that means.
"""

from __future__ import annotations

import errno
import socket
import time

from sockdojo.challenges.records import Delivery, End
from sockdojo.net import kernel_view
from sockdojo.net.transcript import Transcript

REPLY_LIMIT = 64 * 1024
POLL = 0.01


def _unread(peer: kernel_view.TcpSocket) -> int:
    """Bytes the server has not read yet. Our FIN takes one sequence number, which the kernel
    counts in the queue until the server reads the end of the stream, so it is not data."""
    return max(peer.receive_queue - 1, 0)


class _Watch:
    """What we last saw of the server's end in the kernel."""

    def __init__(self) -> None:
        self.last: kernel_view.TcpSocket | None = None

    def look(self, sock: socket.socket) -> kernel_view.TcpSocket | None:
        peer = kernel_view.peer_of_socket(sock)
        if peer is not None:
            self.last = peer
        return peer

    @property
    def unread(self) -> int | None:
        return None if self.last is None else _unread(self.last)

    @property
    def accepted(self) -> bool | None:
        # A connection still in the accept queue has no file yet: its inode is 0.
        return None if self.last is None else self.last.inode != 0


def _send(sock: socket.socket, payload: bytes) -> tuple[int, OSError | None]:
    """Send all of `payload`; how much left, and the error that stopped us, if any."""
    sent = 0
    try:
        while sent < len(payload):
            sent += sock.send(payload[sent:])
    except OSError as error:
        return sent, error
    return sent, None


def deliver(
    sock: socket.socket,
    payload: bytes,
    transcript: Transcript,
    *,
    wait: float = 1.0,
    settle: float = 0.05,
) -> Delivery:
    """Send `payload`, then watch up to `wait` seconds to learn what the server did with it.

    A server that reads everything but keeps the connection open is given `settle` seconds of
    a drained queue before we move on, so a correct server that forgets `close()` does not cost
    a second per connection.
    """
    # No look before sending: "still queued" then only means the server had not got to
    # accept() yet, and a server that accepts, reads a little and resets a moment later would
    # be taken for one whose listener closed with our connection still queued.
    watch = _Watch()
    sent, error = _send(sock, payload)
    if sent:
        transcript.sent(payload[:sent])
    if error is not None:
        _reset(transcript, error, " while we were sending")
        watch.look(sock)
        return Delivery(len(payload), sent, End.RESET, watch.unread, watch.accepted)
    torn_down = False
    try:
        sock.shutdown(socket.SHUT_WR)
    except OSError as shutdown_error:
        # ENOTCONN here: the reset arrived between our send and our shutdown.
        torn_down = True
        _reset(transcript, shutdown_error)
    return _watch_reply(sock, len(payload), transcript, watch, wait, settle, torn_down)


def _watch_reply(
    sock: socket.socket,
    payload: int,
    transcript: Transcript,
    watch: _Watch,
    wait: float,
    settle: float,
    torn_down: bool,
) -> Delivery:
    reply = bytearray()
    sock.settimeout(POLL)
    deadline = time.monotonic() + wait
    drained_since: float | None = None
    end = End.OPEN
    for _ in range(int(wait / POLL) + 100):  # bounded in count as well as in time
        if time.monotonic() >= deadline:
            break
        try:
            chunk: bytes | None = sock.recv(4096)
        except TimeoutError:
            chunk = None
        except OSError as error:
            if not torn_down:  # else we said so already
                _reset(transcript, error)
            end = End.RESET
            break
        if chunk == b"":
            end = End.RESET if torn_down else _after_eof(sock, watch, deadline)
            if end is End.CLOSED:
                transcript.event("the server closed the connection")
            elif not torn_down:
                transcript.event("the server closed its side, then reset the connection")
            break
        if chunk:
            if len(reply) < REPLY_LIMIT:
                reply += chunk[: REPLY_LIMIT - len(reply)]
            continue
        peer = watch.look(sock)
        if peer is not None and _unread(peer) == 0 and peer.inode != 0:
            drained_since = drained_since or time.monotonic()
            if time.monotonic() - drained_since >= settle:
                break
        else:
            drained_since = None
    if reply:
        transcript.received(bytes(reply))
    if end is End.CLOSED:
        return Delivery(payload, payload, end, 0, True, bytes(reply))
    return Delivery(payload, payload, end, watch.unread, watch.accepted, bytes(reply))


def _after_eof(sock: socket.socket, watch: _Watch, deadline: float) -> End:
    """The server sent its end of stream. That is not proof it read our bytes (a server may
    half-close first and read afterwards): while the kernel still shows its socket we watch the
    bytes drain, and a close with our bytes unread comes back as a reset. (Once both ends of
    stream have crossed, the kernel no longer pairs the two sockets: then only a reset tells.)"""
    for _ in range(int((deadline - time.monotonic()) / POLL) + 2):
        peer = watch.look(sock)
        if peer is None or _unread(peer) == 0:
            break
        if time.monotonic() >= deadline:
            return End.OPEN
        time.sleep(POLL)
    try:
        pending = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
    except OSError:
        pending = 0
    return End.RESET if pending in (errno.ECONNRESET, errno.EPIPE) else End.CLOSED


def _reset(transcript: Transcript, error: OSError, when: str = "") -> None:
    words = _words(error)
    transcript.event(
        f"the server reset the connection{when}" + ("" if words == "reset" else f" ({words})")
    )


def _words(error: OSError) -> str:
    if error.errno in (errno.ECONNRESET, errno.ENOTCONN):
        return "reset"
    if error.errno == errno.EPIPE:
        return "broken pipe"
    return error.strerror or type(error).__name__
