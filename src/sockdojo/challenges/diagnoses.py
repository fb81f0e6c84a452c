"""What the checkers say when a learner's server did not do what the challenge asks.

Each function returns a `Diagnosis` (what we saw, why, one next step); none of them decides
pass or fail, which stays with the checker.
"""

from __future__ import annotations

from sockdojo.challenges import client, eight_ball
from sockdojo.mistakes import Diagnosis
from sockdojo.net import kernel_view
from sockdojo.net.connect import ConnectFailure

BIND_LISTEN_ACCEPT = "socket() -> bind(('127.0.0.1', 1337)) -> listen() -> accept()"


def _shown(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def connect_failed(
    failure: ConnectFailure, host: str, port: int, *, connection: int | None = None
) -> Diagnosis:
    """Why we could not connect, using what the kernel knows about the port."""
    where = _shown(host, port)
    prefix = f"Connection {connection} " if connection else "Our connection "
    if failure.kind == "timeout":
        listener = kernel_view.listener_for(host, port)
        if listener is not None and listener.receive_queue > 0:
            return Diagnosis(
                "accept-queue-full",
                f"{prefix}to {where} timed out: your server's queue of waiting connections is "
                "full.",
                "The server listens but never calls accept(), so connections pile up until the "
                "kernel drops new ones.",
                "Call accept() (in a loop) after listen().",
            )
        return Diagnosis(
            "connect-timeout",
            f"{prefix}to {where} timed out after {failure.seconds:.1f} s.",
            "Something on the path dropped our connection attempt.",
            f"Check that your server binds {where} and calls listen() and accept().",
        )
    if failure.kind != "refused":
        return Diagnosis(
            "connect-error",
            f"{prefix}to {where} failed: {failure.detail}.",
            "The address could not be reached from this machine.",
            f"Bind your server to {where} (the address the challenge connects to).",
        )
    others = [
        s
        for s in (kernel_view.listeners(port) or [])
        if s.local_host not in (host, "0.0.0.0", "::")
    ]
    if others:
        addresses = ", ".join(sorted({_shown(s.local_host, port) for s in others}))
        ipv6 = all(s.ipv6 and ":" in s.local_host for s in others)
        why = (
            "Your server is listening on an IPv6 address only (for example bind(('::1', ...)) "
            "or 'localhost' resolving to ::1), and IPv4 connections to 127.0.0.1 cannot reach "
            "it."
            if ipv6
            else "A server only receives connections for the address it bound."
        )
        return Diagnosis(
            "listening-elsewhere",
            f"{prefix}to {where} was refused, but a server is listening on {addresses}.",
            why,
            f"Bind to ('{host}', {port}) exactly: "
            f"sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM); "
            f"sock.bind(('{host}', {port})).",
        )
    if connection and connection > 1:
        return Diagnosis(
            "stopped-after-first",
            f"Connection {connection} was refused: nothing is listening on {where} any more. "
            "Your server stopped after the previous connection.",
            "Without a loop, a server accepts one connection and its program ends (and so does "
            "a loop that closes the listening socket or calls bind() again inside it).",
            "Create, bind and listen once, before the loop; then put accept(), recv() and the "
            "connection's close() inside a `while True:` loop. Close the connection, never the "
            "listening socket.",
        )
    return Diagnosis(
        "nothing-listening",
        f"Nothing is listening on {where}: our connection was refused.",
        "The challenge connects to your server, so your server must already be running, and "
        f"it must do {BIND_LISTEN_ACCEPT}.",
        "Start your server first, in another terminal, then run this again.",
    )


def own_server(reply: bytes, flag_prefix: str) -> Diagnosis | None:
    """The thing on the port is one of our own challenge servers, not the learner's."""
    if (
        reply.startswith(eight_ball.BANNER[:20])
        or reply.startswith(client.HINT[:20])
        or (f"{flag_prefix}{{".encode() in reply)
    ):
        return Diagnosis(
            "own-server-running",
            "The program answering on that port is sockdojo's own challenge server "
            "(from `sockdojo run client` or `sockdojo run eight-ball`), not yours.",
            "Only one program can listen on a port at a time.",
            "Stop that process (Ctrl-C in its terminal), start your server, and run this again.",
        )
    return None
