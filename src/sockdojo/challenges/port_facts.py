"""Looking at what holds the challenge's port, for the checkers of the server challenges.

Observers only: each function asks the kernel (or makes a test bind of its own, closed at once)
and returns `records` values for `server_judge` to read. Where the kernel cannot tell (no
netlink, no /proc: macOS, Windows), they return "nothing seen", and the judges fall back to
the plainer diagnosis.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import os
import socket
import time
from pathlib import Path

from sockdojo.challenges import registry
from sockdojo.challenges.records import Listener, OwnServer, PortFacts
from sockdojo.net import kernel_view

WILDCARDS = ("0.0.0.0", "::")
# Programs a learner's server is usually run with; anything else listening (a database, an
# editor's language server) is not taken for their server on the wrong port.
LEARNER_PROGRAMS = ("python", "nc", "ncat", "netcat", "socat", "node", "ruby", "perl", "java")
RECENT_SECONDS = 30 * 60
# Only ports a learner plausibly typed instead of the challenge's: next to it, or the usual
# examples of tutorials. Any other listener of theirs (a notebook, a dev server) is left alone.
NEAR = 10
USUAL_PORTS = frozenset({1234, 3000, 4444, 5000, 8000, 8080, 8888, 9000, 9999, 12345, 31337})
# The challenges whose server is ours (`sockdojo run client`, `run eight-ball`).
OUR_SERVERS = tuple(c.id for c in registry.CHALLENGES if c.runs is registry.Runs.OUR_SERVER)


def listener(host: str, port: int) -> Listener | None:
    found = kernel_view.listener_for(host, port)
    if found is None:
        return None
    return Listener(found.inode, found.local_host, found.local_port, found.ipv6)


def wait_for_listener(host: str, port: int, *, other_than: int, window: float) -> Listener | None:
    """A listener at host:port that is not `other_than`, if one appears within `window`."""
    deadline = time.monotonic() + window
    for _ in range(int(window / 0.02) + 2):
        found = listener(host, port)
        if found is not None and found.inode != other_than:
            return found
        if time.monotonic() >= deadline:
            break
        time.sleep(0.02)
    return None


def own_server(host: str, port: int) -> tuple[OwnServer | None, bool]:
    """One of our own challenge servers (`sockdojo run client`, ...) listening at host:port,
    and whether the kernel could name the program at all (False: another user's, or no
    /proc: the caller must find out some other way)."""
    found = kernel_view.listener_for(host, port)
    if found is None:
        return None, False
    return _owner_of_listener(found.inode)


@functools.lru_cache(maxsize=64)
def _owner_of_listener(inode: int) -> tuple[OwnServer | None, bool]:
    # Cached: the server-loop checker asks again for every connection, and reading every
    # process's descriptors costs milliseconds. A listener's inode names it while it lives.
    owner = kernel_view.owners({inode}).get(inode)
    if owner is None:
        return None, False
    return own_server_in(owner.command), True


def own_server_in(command: str) -> OwnServer | None:
    words = command.split()
    if not any(Path(word).name.startswith("sockdojo") or word == "sockdojo" for word in words):
        return None
    if "run" not in words:
        return None
    after = words[words.index("run") + 1 :]
    for which in OUR_SERVERS:
        if which in after:
            return OwnServer(registry.BY_ID[which].run_usage)
    return None


def refused_facts(host: str, port: int, *, bound: bool | None = None) -> PortFacts:
    """What holds the port, looked at when our connection to host:port was refused.

    `bound`: whether a socket sits bound there without listening, when the caller has just
    found out (None: we find out, by binding there for a moment)."""
    listening = kernel_view.listeners(port) or []
    elsewhere = tuple(
        Listener(s.inode, s.local_host, s.local_port, s.ipv6)
        for s in listening
        if s.local_host not in (host, *WILDCARDS)
    )
    if elsewhere:
        return PortFacts(elsewhere=elsewhere)
    return PortFacts(
        bound_not_listening=bound if bound is not None else bound_without_listening(host, port),
        udp_bound=_udp_bound(host, port),
        other_ports=_recent_listeners_elsewhere(port),
    )


def _family(host: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def _binds(host: str, port: int, kind: socket.SocketKind, *, reuse: bool) -> int:
    """Try to bind host:port ourselves (closed at once): 0, or the errno that refused it."""
    try:
        with socket.socket(_family(host), kind) as probe:
            if reuse:
                probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind((host, port))
    except OSError as error:
        return error.errno or -1
    return 0


def bound_without_listening(host: str, port: int) -> bool:
    """A TCP socket bound to the port that never listened.

    The kernel lists no such socket, but it refuses our bind. A port left in TIME_WAIT also
    refuses a plain bind, so then we bind again with SO_REUSEADDR, which TIME_WAIT allows and a
    bound socket does not. A connection still open on the port (a server that closed its
    listener but not a client's connection) is not taken for one.
    """
    if _binds(host, port, socket.SOCK_STREAM, reuse=False) != errno.EADDRINUSE:
        return False
    sockets = kernel_view.tcp_sockets(port, every_state=True)
    if sockets is not None:
        mine = [s for s in sockets if s.local_port == port]
        if any(s.state != kernel_view.TIME_WAIT for s in mine):
            return False
    return _binds(host, port, socket.SOCK_STREAM, reuse=True) == errno.EADDRINUSE


def _udp_bound(host: str, port: int) -> bool:
    return _binds(host, port, socket.SOCK_DGRAM, reuse=False) == errno.EADDRINUSE


def _recent_listeners_elsewhere(port: int) -> tuple[Listener, ...]:
    """The newest listener of this user's on a loopback or wildcard address and a port close
    to the challenge's (or a tutorial's usual one), held by a program a learner's server runs
    in, started in the last half hour."""
    listening = kernel_view.all_listeners()
    getuid = getattr(os, "getuid", None)
    if not listening or getuid is None:
        return ()
    uid = getuid()
    candidates = {
        s.inode: s
        for s in listening
        if s.local_port != port
        and (abs(s.local_port - port) <= NEAR or s.local_port in USUAL_PORTS)
        and s.uid == uid
        and (s.local_host in WILDCARDS or s.local_host.startswith("127.") or s.local_host == "::1")
    }
    owners = kernel_view.owners(set(candidates))
    now_ticks = _ticks_since_boot()
    best: tuple[int, Listener] | None = None
    for inode, owner in owners.items():
        program = Path(owner.command.split()[0]).name if owner.command else ""
        if not program.startswith(LEARNER_PROGRAMS) or own_server_in(owner.command):
            continue
        if "sockdojo" in owner.command:
            continue
        if now_ticks is not None and now_ticks - owner.started > RECENT_SECONDS * _TICKS:
            continue
        s = candidates[inode]
        if best is None or owner.started > best[0]:
            best = (owner.started, Listener(s.inode, s.local_host, s.local_port, s.ipv6))
    return () if best is None else (best[1],)


_TICKS = 100
with contextlib.suppress(AttributeError, ValueError, OSError):
    _TICKS = os.sysconf("SC_CLK_TCK")


def _ticks_since_boot() -> int | None:
    try:
        return int(float(Path("/proc/uptime").read_text().split()[0]) * _TICKS)
    except (OSError, ValueError, IndexError):
        return None
