"""The checkers' eyes: connect to the learner's server and record each connection.

`connect` makes one connection (retrying refusals briefly) and records what listened before and
after, and whether the thing on the port is one of our own challenge servers; `converse` hands
it one message through `delivery.deliver` and records what became of it. Nothing here decides
pass or fail (that is `server_judge`), and nothing here raises for anything a peer can do.
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from dataclasses import replace

from sockdojo.challenges import client, eight_ball, registry
from sockdojo.challenges.delivery import deliver
from sockdojo.challenges.port_facts import (
    bound_without_listening,
    listener,
    own_server,
    refused_facts,
    wait_for_listener,
)
from sockdojo.challenges.records import Attempt, Connect, End, Listener, OwnServer
from sockdojo.challenges.server_judge import Address, came_as_it_restarted
from sockdojo.net import kernel_view
from sockdojo.net.connect import ConnectFailure, ConnectStats, connect_with_retry
from sockdojo.net.transcript import Transcript

# Our eight-ball greets at once; this long a wait for a greeting tells it apart before we send
# anything secret, where the kernel cannot name the program on the port.
GREETING_WAIT = 0.02
# How long a refused server gets to turn up listening again (a restart) or to get from bind()
# to listen(), on the paths that are failing anyway.
RESTART_WINDOW = 1.5
BIND_TO_LISTEN = 0.3
# What the transcript says when a first connection is made again (`first_connection`).
AGAIN_AFTER_RESTART = (
    "the listening socket that had our connection closed, and a new one took its place: "
    "connecting again, to the new one"
)


def connect(
    number: int, at: Address, window: float, transcript: Transcript
) -> tuple[Attempt, socket.socket | None]:
    """Connect to the learner's server; the record, and the socket when it connected."""
    kernel = kernel_view.sees_sockets()
    seen: list[Listener | None] = [None]

    def look() -> None:
        if kernel:
            seen[0] = listener(at.host, at.port)

    stats = ConnectStats()
    unbound = [False]
    try:
        sock = _connect(at, window, stats, look, kernel, unbound)
    except ConnectFailure as failure:
        transcript.event(
            "the server reset the connection as soon as it accepted it"
            if failure.kind is Connect.RESET
            else f"connection {failure}"
        )
        attempt = _failed(number, at, failure, kernel, unbound=unbound[0])
        if failure.kind is Connect.RESET and kernel and seen[0] is not None:
            window = RESTART_WINDOW if number > 1 else 0.0
            gone, late = _listener_after_reset(at, seen[0], window, transcript)
            attempt = replace(
                attempt, listener_before=seen[0], listener_gone=gone, replacement=late
            )
        if number > 1 and failure.kind is Connect.REFUSED and attempt.kernel_view:
            # A shell loop restarting a one-shot server may take a while to listen again:
            # a new listener that turns up now is a restart, not a server that stopped.
            late = wait_for_listener(at.host, at.port, other_than=0, window=RESTART_WINDOW)
            if late is not None:
                transcript.event("a new listening socket turned up after the refusal")
                attempt = replace(attempt, replacement=late)
        return attempt, None
    after = listener(at.host, at.port) if kernel else None
    own, named = own_server(at.host, at.port) if kernel else (None, False)
    attempt = Attempt(
        number,
        Connect.CONNECTED,
        refusals=max(stats.attempts - 1, 0),
        seconds=stats.seconds,
        kernel_view=kernel,
        listener_before=seen[0],
        listener_after=after,
        own=own,
    )
    if attempt.refusals and number > 1:
        transcript.event(f"connection {number} was refused {attempt.refusals} time(s) first")
    if not named:
        # The kernel could not name the program: our own servers give themselves away by
        # their first words (the eight-ball greets at once), before anything secret is sent.
        greeting = _greeting(sock)
        if greeting:
            transcript.received(greeting)
            attempt = replace(attempt, own=own_reply(greeting))
    if attempt.own is not None:
        transcript.event(f"that is {attempt.own.which}, not your server: we sent it nothing")
    return attempt, sock


def first_connection(make: Callable[[], Attempt], transcript: Transcript) -> Attempt:
    """A checker's first connection, made by `make`, and made again, once, if it came as the
    server restarted (`server_judge.came_as_it_restarted`): the one the judge should see."""
    attempt = make()
    if came_as_it_restarted(attempt):
        transcript.event(AGAIN_AFTER_RESTART)
        attempt = make()
    return attempt


def _connect(
    at: Address,
    window: float,
    stats: ConnectStats,
    look: Callable[[], None],
    kernel: bool,
    unbound: list[bool],
) -> socket.socket:
    """Connect, retrying refusals for `window`; `unbound[0]` is set when the last refusal
    found nothing bound to the port (so that `_failed` need not bind there again)."""
    try:
        return connect_with_retry(at.host, at.port, window=window, stats=stats, before_each=look)
    except ConnectFailure as failure:
        if failure.kind is not Connect.REFUSED or not kernel:
            raise
        # The kernel first, without touching the port: a listen() may have landed since the
        # last try. Then a socket bound without listening is a server caught between bind()
        # and listen(), which gets a moment more before we call that a missing listen();
        # with nothing bound, nothing is on its way to listening and the refusal stands.
        if listener(at.host, at.port) is None:
            if not bound_without_listening(at.host, at.port):
                unbound[0] = True
                raise
            if wait_for_listener(at.host, at.port, other_than=0, window=BIND_TO_LISTEN) is None:
                raise
        return connect_with_retry(at.host, at.port, window=window, stats=stats, before_each=look)


def _listener_after_reset(
    at: Address, before: Listener, window: float, transcript: Transcript
) -> tuple[bool, Listener | None]:
    """After a reset: whether the listener that took the connection is gone (the server's
    program ended under it), and the new one that took its place within `window`, if any."""
    now = listener(at.host, at.port)
    gone = now is None or now.inode != before.inode
    replacement = None
    if gone and window > 0:
        replacement = wait_for_listener(at.host, at.port, other_than=before.inode, window=window)
        if replacement is not None:
            transcript.event("a new listening socket took its place")
    return gone, replacement


def _failed(
    number: int, at: Address, failure: ConnectFailure, kernel: bool, *, unbound: bool = False
) -> Attempt:
    queue_full = False
    if failure.kind is Connect.TIMEOUT:
        found = kernel_view.listener_for(at.host, at.port)
        queue_full = found is not None and found.receive_queue > 0
    facts = None
    if failure.kind is Connect.REFUSED:
        facts = refused_facts(at.host, at.port, bound=False if unbound else None)
    return Attempt(
        number,
        failure.kind,
        # Every try of a refused connection was a refusal; otherwise the last try failed some
        # other way (a reset as it connected: the server was there, not restarting).
        refusals=failure.attempts if failure.kind is Connect.REFUSED else failure.attempts - 1,
        seconds=failure.seconds,
        detail=failure.detail,
        kernel_view=kernel,
        queue_full=queue_full,
        port=facts,
    )


def _greeting(sock: socket.socket) -> bytes:
    """Whatever the server says before we send anything, waiting only a moment."""
    try:
        sock.settimeout(GREETING_WAIT)
        return sock.recv(4096)
    except OSError:
        return b""  # silence (a timeout) or a reset: the conversation will show which
    finally:
        sock.settimeout(None)


def own_reply(data: bytes) -> OwnServer | None:
    """Our own challenge servers' first words."""
    if data.startswith(eight_ball.BANNER[:20]):
        return OwnServer(registry.BY_ID["eight-ball"].run_usage)
    if data.startswith(client.HINT[:20]):
        return OwnServer(registry.BY_ID["client"].run_usage)
    return None


def converse(
    attempt: Attempt,
    sock: socket.socket,
    at: Address,
    payload: bytes,
    transcript: Transcript,
    *,
    wait: float,
    flag: bool,
    withheld: bool = False,
    replacement_window: float = 0.0,
) -> Attempt:
    """Send `payload` on a connected attempt and record what the server did with it."""
    delivery = deliver(sock, payload, transcript, wait=wait)
    own = attempt.own or own_reply(delivery.reply)
    seen = replace(attempt, delivery=delivery, flag=flag, withheld=withheld, own=own)
    # Only a reset makes us look at the listener again: was it closed, and did another take
    # its place (a restart)?
    before = attempt.listener_before or attempt.listener_after
    if delivery.end is not End.RESET or not attempt.kernel_view or before is None:
        return seen
    gone, replacement = _listener_after_reset(at, before, replacement_window, transcript)
    return replace(seen, listener_gone=gone, replacement=replacement)
