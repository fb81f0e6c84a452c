"""What the kernel knows about TCP sockets on a port, read from /proc/net/tcp{,6} (Linux).

Both ends of a loopback connection live in the same kernel, so a checker can see what no socket
call reveals: a learner's listener on another address, a
connection still waiting in the accept queue, or bytes the learner's server never read.
Everything here degrades to "unknown" (None or empty) where /proc is not available.
"""

from __future__ import annotations

import errno
import ipaddress
import socket
import struct
from dataclasses import dataclass
from pathlib import Path

LISTEN = 0x0A
ESTABLISHED = 0x01
CLOSE_WAIT = 0x08
FIN_WAIT1, FIN_WAIT2, LAST_ACK, CLOSING = 0x04, 0x05, 0x09, 0x0B
TIME_WAIT = 0x06

_FILES = (Path("/proc/net/tcp"), Path("/proc/net/tcp6"))

# Whether this process works as on a system with no kernel view (macOS, Windows): set by the
# proof's driver when the process that started it could not see sockets (so both sides of a
# run agree on what they can see), and by the tests of those systems' paths.
_blind = False
# Whether the kernel has told this process about sockets once: it then always can, so the
# checkers do not ask for a whole socket dump before every connection to find out.
_seen = False


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
    uid: int = -1  # the owner's user id; -1 where the kernel did not say


def _decode_address(text: str) -> tuple[str, int]:
    host_hex, port_hex = text.split(":")
    raw = bytes.fromhex(host_hex)
    # The kernel prints each 32-bit word in host (little-endian) order.
    words = b"".join(raw[i : i + 4][::-1] for i in range(0, len(raw), 4))
    address = ipaddress.ip_address(words)
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return str(address.ipv4_mapped), int(port_hex, 16)
    return str(address), int(port_hex, 16)


def tcp_sockets(port: int | None = None, *, every_state: bool = False) -> list[TcpSocket] | None:
    """TCP sockets in this network namespace, or None where the kernel cannot tell us.

    Only listening and connected ones unless `every_state` (TIME_WAIT included); only those
    with `port` as their local or remote port when it is given.
    """
    return _tcp_sockets(port, _EVERY_STATE if every_state else _WANTED_STATES)


def _tcp_sockets(port: int | None, states: int) -> list[TcpSocket] | None:
    if _blind:
        return None
    found = _sock_diag(port, states)
    if found is None:
        every = _proc_net_tcp(port)
        found = None if every is None else [s for s in every if (1 << s.state) & states]
    return found


# Netlink sock_diag asks the kernel for sockets in chosen states only. Reading /proc/net/tcp
# instead lists every TIME_WAIT socket too: after a busy hour that is tens of thousands of
# lines and a third of a second of parsing per look, which a checker polling every 10 ms
# cannot afford.
_NETLINK_SOCK_DIAG = 4
_SOCK_DIAG_BY_FAMILY = 20
_NLM_F_REQUEST_DUMP = 0x301
_NLMSG_DONE = 3
_NLMSG_ERROR = 2
_NLMSG_HEADER = struct.Struct("=IHHII")
_DIAG_REQUEST = struct.Struct("=BBBxI48s")
_DIAG_MESSAGE = struct.Struct("=BBBB2s2s16s16sI8sIIIII")
_WANTED_STATES = (1 << LISTEN) | (1 << ESTABLISHED) | (1 << CLOSE_WAIT)
# The other end of a connection may also be closing: a server that ended its side first is in
# FIN_WAIT1 or FIN_WAIT2 (with our bytes still unread in it) until we end ours.
_PEER_STATES = (
    _WANTED_STATES | (1 << FIN_WAIT1) | (1 << FIN_WAIT2) | (1 << CLOSING) | (1 << LAST_ACK)
)
_EVERY_STATE = 0xFFF


def _sock_diag(port: int | None, states: int) -> list[TcpSocket] | None:
    found: list[TcpSocket] = []
    try:
        with socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, _NETLINK_SOCK_DIAG) as link:
            link.settimeout(1.0)
            for family in (socket.AF_INET, socket.AF_INET6):
                body = _DIAG_REQUEST.pack(family, socket.IPPROTO_TCP, 0, states, b"")
                header = _NLMSG_HEADER.pack(
                    _NLMSG_HEADER.size + len(body), _SOCK_DIAG_BY_FAMILY, _NLM_F_REQUEST_DUMP, 1, 0
                )
                link.sendall(header + body)
                if not _read_dump(link, family, port, found):
                    return None
    except (OSError, AttributeError):
        return None  # not Linux, or sock_diag not available: fall back to /proc
    return found


def _read_dump(link: socket.socket, family: int, port: int | None, out: list[TcpSocket]) -> bool:
    for _ in range(100_000):  # bounded: a dump ends with NLMSG_DONE long before this
        data = link.recv(1 << 20)
        offset = 0
        while offset + _NLMSG_HEADER.size <= len(data):
            length, kind, _, _, _ = _NLMSG_HEADER.unpack_from(data, offset)
            if length < _NLMSG_HEADER.size:
                return False
            if kind == _NLMSG_DONE:
                return True
            if kind == _NLMSG_ERROR:
                return False
            start = offset + _NLMSG_HEADER.size
            fields = _DIAG_MESSAGE.unpack_from(data, start)
            (_, state, _, _, sport, dport, src, dst, _, _, _, rqueue, wqueue, uid, inode) = fields
            local_port = int.from_bytes(sport, "big")
            remote_port = int.from_bytes(dport, "big")
            if port is None or port in (local_port, remote_port):
                size = 4 if family == socket.AF_INET else 16
                out.append(
                    TcpSocket(
                        _plain(src[:size]),
                        local_port,
                        _plain(dst[:size]),
                        remote_port,
                        state,
                        wqueue,
                        rqueue,
                        inode,
                        family == socket.AF_INET6,
                        uid,
                    )
                )
            offset += (length + 3) & ~3
    return False


def _plain(raw: bytes) -> str:
    address = ipaddress.ip_address(raw)
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return str(address.ipv4_mapped)
    return str(address)


def _proc_net_tcp(port: int | None) -> list[TcpSocket] | None:
    found: list[TcpSocket] = []
    readable = False
    needle = f":{port:04X} " if port is not None else None
    for path in _FILES:
        try:
            lines = path.read_text().splitlines()[1:]
        except OSError:
            continue
        readable = True
        for line in lines:
            if needle is not None and needle not in line:
                continue
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
                        int(fields[7]),
                    )
                )
            except ValueError:
                continue
    return found if readable else None


def sees_sockets() -> bool:
    """Whether the kernel tells this process about sockets (asked until it once says yes)."""
    global _seen
    if not _seen and not _blind:
        _seen = tcp_sockets(0) is not None
    return _seen and not _blind


def go_blind() -> None:
    """From now on, see no sockets and no owners, as where the kernel shows none."""
    global _blind
    _blind = True


def listeners(port: int) -> list[TcpSocket] | None:
    sockets = tcp_sockets(port)
    if sockets is None:
        return None
    return [s for s in sockets if s.local_port == port and s.state == LISTEN]


def peer_of(local: tuple[str, int], remote: tuple[str, int]) -> TcpSocket | None:
    """The other end of our connection: the socket whose local side is our remote side."""
    sockets = _tcp_sockets(remote[1], _PEER_STATES) or []
    for s in sockets:
        if (s.local_host, s.local_port) == remote and (s.remote_host, s.remote_port) == local:
            return s
    return None


def peer_of_socket(sock: socket.socket) -> TcpSocket | None:
    """The other end of a connected socket of ours (None: not connected, or no kernel view)."""
    try:
        local = sock.getsockname()[:2]
        remote = sock.getpeername()[:2]
    except OSError:
        return None
    return peer_of((str(local[0]), int(local[1])), (str(remote[0]), int(remote[1])))


def reset_pending(sock: socket.socket) -> bool:
    """Whether the kernel holds a reset for this socket of ours, not yet reported: ECONNRESET,
    or EPIPE when the reset came after the other side's end of stream (CLOSE_WAIT)."""
    try:
        pending = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
    except OSError:
        return False
    return pending in (errno.ECONNRESET, errno.EPIPE)


def listener_for(host: str, port: int) -> TcpSocket | None:
    """The listener that accepts connections to host:port (exact address first, then wildcard)."""
    found = listeners(port) or []
    exact = [s for s in found if s.local_host == host]
    wildcard = [s for s in found if s.local_host in ("0.0.0.0", "::")]
    for candidate in exact + wildcard:
        return candidate
    return None


def all_listeners() -> list[TcpSocket] | None:
    """Every TCP listener in this network namespace (None where the kernel cannot tell us)."""
    sockets = tcp_sockets()
    if sockets is None:
        return None
    return [s for s in sockets if s.state == LISTEN]


@dataclass(frozen=True)
class Owner:
    pid: int
    command: str  # the command line, arguments joined by spaces
    started: int  # start time in clock ticks since boot: larger is newer


_MAX_PROCESSES = 5000
_MAX_DESCRIPTORS = 20000


def owners(inodes: set[int]) -> dict[int, Owner]:
    """Which processes hold the sockets with these inodes (Linux; only the processes we may
    look into, so another user's are missing). Bounded in processes and descriptors read."""
    found: dict[int, Owner] = {}
    wanted = {f"socket:[{inode}]": inode for inode in inodes if inode}
    if not wanted or _blind:
        return found
    try:
        entries = sorted(Path("/proc").iterdir(), key=lambda p: p.name)
    except OSError:
        return found
    descriptors = 0
    for entry in [e for e in entries if e.name.isdigit()][:_MAX_PROCESSES]:
        try:
            links = list((entry / "fd").iterdir())
        except OSError:
            continue
        for link in links:
            descriptors += 1
            if descriptors > _MAX_DESCRIPTORS:
                return found
            try:
                target = str(link.readlink())
            except OSError:
                continue
            inode = wanted.get(target)
            if inode is not None and inode not in found:
                owner = _owner(int(entry.name), entry)
                if owner is not None:
                    found[inode] = owner
        if len(found) == len(wanted):
            break
    return found


def _owner(pid: int, entry: Path) -> Owner | None:
    try:
        raw = (entry / "cmdline").read_bytes()
        stat_text = (entry / "stat").read_text()
    except OSError:
        return None
    command = " ".join(part.decode(errors="replace") for part in raw.split(b"\0") if part)
    try:
        # Field 22 (start time) counted after the command name, which may hold spaces.
        started = int(stat_text.rsplit(")", 1)[1].split()[19])
    except (IndexError, ValueError):
        started = 0
    return Owner(pid, command, started)
