"""Handing one message to a learner's server, and recording what it did with it.

Used by the `server` and `server-loop` checkers. We send, end our side (so servers that read
until the end of the stream finish), then watch for the server to close. On Linux the kernel
also tells us whether the bytes are still unread in the learner's socket and whether the
connection was ever accepted, and we end our side only once it shows them read: a server that
ends its side first and closes without reading then still holds them, and its close resets the
connection. (Ending ours at once, the two ends of stream crossed, the kernel forgot the
server's socket with our bytes unread in it, and a close tens of milliseconds later passed.)
This module only observes: whatever the server does, at whatever moment (reset before, while or
after we send, half-close, never read), it returns a `records.Delivery` and never raises;
`server_judge` decides what that means.
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


class _Watch:
    """What we last saw of the server's end in the kernel."""

    def __init__(self) -> None:
        self.last: kernel_view.TcpSocket | None = None
        self.ended = False  # whether we have ended our side (sent our FIN)

    def look(
        self, sock: socket.socket, *, keep_queued: bool = True
    ) -> kernel_view.TcpSocket | None:
        """The server's end now. `keep_queued=False`: a look that finds our connection still
        waiting to be accepted is not kept as what we saw (see `_until_read`)."""
        peer = kernel_view.peer_of_socket(sock)
        if peer is not None and (keep_queued or peer.inode != 0):
            self.last = peer
        return peer

    def unread_in(self, peer: kernel_view.TcpSocket) -> int:
        """Bytes the server has not read yet. Our FIN takes one sequence number, which the
        kernel counts in the queue until the server reads the end of the stream: not data."""
        return max(peer.receive_queue - 1, 0) if self.ended else peer.receive_queue

    @property
    def unread(self) -> int | None:
        return None if self.last is None else self.unread_in(self.last)

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
    deadline = time.monotonic() + wait
    reply = bytearray()
    held = _until_read(sock, watch, transcript, reply, deadline)
    if held is not None:
        if reply:
            transcript.received(bytes(reply))
        return Delivery(len(payload), sent, held, watch.unread, watch.accepted, bytes(reply))
    torn_down = False
    try:
        sock.shutdown(socket.SHUT_WR)
    except OSError as shutdown_error:
        # ENOTCONN here: the reset arrived between our send and our shutdown.
        torn_down = True
        _reset(transcript, shutdown_error)
    watch.ended = True
    return _watch_reply(sock, len(payload), transcript, watch, deadline, settle, torn_down, reply)


def _until_read(
    sock: socket.socket,
    watch: _Watch,
    transcript: Transcript,
    reply: bytearray,
    deadline: float,
) -> End | None:
    """Hold our end of stream back until the kernel shows the server has read what we sent.

    None: end ours now (read, or the kernel does not show the server's socket: then only what
    the server does after our end tells). Else how the connection ended with our bytes unread:
    reset, or still open when time ran out. Looks 1 ms after sending, then twice as far apart
    each time up to POLL, so that a server that reads at once costs a millisecond or two.

    A look sooner than POLL after sending that finds our connection still queued is not kept:
    a server that accepts a moment later, reads a little and resets would be taken for one
    whose listener closed with our connection queued (`listener-closed-before-accept`).

    A correct server may wait for our end of stream before it takes any byte out of its socket
    (SO_RCVLOWAT and select(), a MSG_PEEK that waits for the end): while its side is still
    open we hold ours back for half the wait only, then end it, and such a server reads then.
    The price: one that ends its side only after that, and closes without reading, passes.
    """
    if not kernel_view.sees_sockets():
        return None
    sent_at = time.monotonic()
    release_at = sent_at + (deadline - sent_at) / 2
    poll, server_ended = 0.001, False
    for _ in range(int((deadline - sent_at) / 0.001) + 100):  # bounded in count too
        peer = watch.look(sock, keep_queued=time.monotonic() - sent_at >= POLL)
        if peer is None:
            # Gone: after the server's end of stream, its close with our bytes unread reset us.
            return _end_after_server_eof(sock, transcript) if server_ended else None
        # A server that closed after reading has no file any more (inode 0), like a queued one.
        if watch.unread_in(peer) == 0 and (peer.inode != 0 or server_ended):
            return None
        if not server_ended and time.monotonic() >= release_at:
            return None
        if time.monotonic() >= deadline:
            if server_ended:
                transcript.event("the server closed its side without reading what we sent")
            return End.OPEN
        if server_ended:
            time.sleep(poll)  # recv() would only say the end of stream again
        else:
            sock.settimeout(poll)
            try:
                chunk = sock.recv(4096)
            except TimeoutError:
                chunk = None
            except OSError as error:
                _reset(transcript, error)
                return End.RESET
            if chunk == b"":
                server_ended = True
            elif chunk and len(reply) < REPLY_LIMIT:
                reply += chunk[: REPLY_LIMIT - len(reply)]
        poll = min(poll * 2, POLL)
    return End.OPEN


def _end_after_server_eof(sock: socket.socket, transcript: Transcript) -> End | None:
    """The server's socket is gone after its end of stream: reset, or closed (None)."""
    if kernel_view.reset_pending(sock):
        transcript.event("the server closed its side, then reset the connection")
        return End.RESET
    return None


def _watch_reply(
    sock: socket.socket,
    payload: int,
    transcript: Transcript,
    watch: _Watch,
    deadline: float,
    settle: float,
    torn_down: bool,
    reply: bytearray,
) -> Delivery:
    sock.settimeout(POLL)
    drained_since: float | None = None
    end = End.OPEN
    for _ in range(int((deadline - time.monotonic()) / POLL) + 100):  # bounded in count too
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
        if peer is not None and watch.unread_in(peer) == 0 and peer.inode != 0:
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
        if peer is None or watch.unread_in(peer) == 0:
            break
        if time.monotonic() >= deadline:
            return End.OPEN
        time.sleep(POLL)
    return End.RESET if kernel_view.reset_pending(sock) else End.CLOSED


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
