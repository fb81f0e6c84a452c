"""What the kernel says about the proof's port: its sockets' states, and whether it is free."""

from __future__ import annotations

import socket

from sockdojo.net import kernel_view

HOST = "127.0.0.1"
TIME_WAIT = kernel_view.TIME_WAIT


def local_states(port: int) -> list[int] | None:
    """The state of every TCP socket whose local port is `port` (TIME_WAIT included: that is
    exactly what the proof needs to see), or None where the kernel cannot tell us."""
    sockets = kernel_view.tcp_sockets(port, every_state=True)
    if sockets is None:
        return None
    return [s.state for s in sockets if s.local_port == port]


def port_busy(port: int) -> str | None:
    """Why HOST:port cannot be used for the proof on this machine, or None if it can.

    A port held only in TIME_WAIT counts as free: a correct program binds it anyway, and one
    without SO_REUSEADDR shows the very error the proof is about on its first start.
    """
    states = local_states(port)
    if states is not None:
        busy = [state for state in states if state != TIME_WAIT]
        if not busy:
            return None
        what = "has a listener" if kernel_view.LISTEN in busy else "is in use"
        return f"port {port} {what}"
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((HOST, port))
        except OSError as error:
            return f"{HOST}:{port} cannot be bound ({error.strerror})"
    return None
