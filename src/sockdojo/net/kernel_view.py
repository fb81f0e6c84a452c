"""What the kernel knows about TCP sockets on a port, read from /proc/net/tcp{,6} (Linux).

Both ends of a loopback connection live in the same kernel, so a checker can see what no socket
call reveals: a learner's listener on another address, a
connection still waiting in the accept queue, or bytes the learner's server never read.
Everything here degrades to "unknown" (None or empty) where /proc is not available.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from pathlib import Path

LISTEN = 0x0A
ESTABLISHED = 0x01

_FILES = (Path("/proc/net/tcp"), Path("/proc/net/tcp6"))


@dataclass(frozen=True)
class TcpSocket:
    local_host: str
    local_port: int
    remote_host: str
    remote_port: int
    state: int
    send_queue: int  # bytes sent but not yet acknowledged
    receive_queue: int  # for a listener: connections waiting to be accepted; else unread bytes
    inode: int
    ipv6: bool


def _decode_address(text: str) -> tuple[str, int]:
    host_hex, port_hex = text.split(":")
    raw = bytes.fromhex(host_hex)
    # The kernel prints each 32-bit word in host (little-endian) order.
    words = b"".join(raw[i : i + 4][::-1] for i in range(0, len(raw), 4))
    address = ipaddress.ip_address(words)
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return str(address.ipv4_mapped), int(port_hex, 16)
    return str(address), int(port_hex, 16)


def tcp_sockets() -> list[TcpSocket] | None:
    """Every TCP socket in this network namespace, or None where /proc cannot tell."""
    found: list[TcpSocket] = []
    readable = False
    for path in _FILES:
        try:
            lines = path.read_text().splitlines()[1:]
        except OSError:
            continue
        readable = True
        for line in lines:
            fields = line.split()
            if len(fields) < 10:
                continue
            try:
                local_host, local_port = _decode_address(fields[1])
                remote_host, remote_port = _decode_address(fields[2])
                tx, rx = (int(part, 16) for part in fields[4].split(":"))
                found.append(
                    TcpSocket(
                        local_host,
                        local_port,
                        remote_host,
                        remote_port,
                        int(fields[3], 16),
                        tx,
                        rx,
                        int(fields[9]),
                        path.name == "tcp6",
                    )
                )
            except ValueError:
                continue
    return found if readable else None


def listeners(port: int) -> list[TcpSocket] | None:
    sockets = tcp_sockets()
    if sockets is None:
        return None
    return [s for s in sockets if s.local_port == port and s.state == LISTEN]


def peer_of(local: tuple[str, int], remote: tuple[str, int]) -> TcpSocket | None:
    """The other end of our connection: the socket whose local side is our remote side."""
    sockets = tcp_sockets() or []
    for s in sockets:
        if (s.local_host, s.local_port) == remote and (s.remote_host, s.remote_port) == local:
            return s
    return None


def listener_for(host: str, port: int) -> TcpSocket | None:
    """The listener that accepts connections to host:port (exact address first, then wildcard)."""
    found = listeners(port) or []
    exact = [s for s in found if s.local_host == host]
    wildcard = [s for s in found if s.local_host in ("0.0.0.0", "::")]
    for candidate in exact + wildcard:
        return candidate
    return None
