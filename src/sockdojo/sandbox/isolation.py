"""Private network (and PID) namespaces for sandboxed programs, through `unshare(1)` (Linux).

Why a network namespace: a behaviour check needs 127.0.0.1:1337 to itself. Nothing of the
learner's (an old server, another challenge) may be listening there, and a TIME_WAIT that a check
creates on purpose must not block the learner's own next run. A fresh network namespace has its
own loopback, its own port space and its own TIME_WAIT table, and all of it disappears with its
last process.

Why a PID namespace with it: when the first process of a PID namespace dies, the kernel kills
every process left inside. So nothing a program forks (or double-forks, or `setsid`s away) can
outlive the run, whatever it does, even if our own process is killed.

Both need root, or unprivileged user namespaces (`unshare --user --map-root-user`). Containers
often forbid both; `private_network()` probes once and returns None then, and callers fall back
to the host network.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from functools import cache

# Bring the loopback interface of a fresh network namespace up with one ioctl, so that neither
# iproute2 nor sockdojo has to be importable inside. struct ifreq is 40 bytes: a 16-byte name,
# then a union whose first member is the short `ifr_flags`.
LOOPBACK_UP = r"""
import fcntl, socket, struct
SIOCGIFFLAGS, SIOCSIFFLAGS, IFF_UP, IFREQ = 0x8913, 0x8914, 0x1, "16sh22x"
with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
    flags = struct.unpack(IFREQ, fcntl.ioctl(s, SIOCGIFFLAGS, struct.pack(IFREQ, b"lo", 0)))[1]
    fcntl.ioctl(s, SIOCSIFFLAGS, struct.pack(IFREQ, b"lo", flags | IFF_UP))
"""

# The first process inside the namespaces: loopback up, then become the real command (keeping
# PID 1, so the namespace lives exactly as long as that command).
_ENTRY = LOOPBACK_UP + "import os, sys\nos.execv(sys.argv[1], sys.argv[1:])\n"

PROBE_SECONDS = 10.0


@dataclass(frozen=True)
class Isolation:
    prefix: tuple[str, ...]  # the unshare command line, up to the program
    user_namespace: bool  # we are not root: a user namespace makes us root inside
    pid_namespace: bool  # the namespace's processes all die with its first one

    @property
    def description(self) -> str:
        kind = "private network and PID namespace" if self.pid_namespace else "private network"
        return kind + (" (user namespace)" if self.user_namespace else "")

    def command(self, argv: list[str]) -> list[str]:
        """`argv`, run inside fresh namespaces with the loopback interface up."""
        return [*self.prefix, sys.executable, "-I", "-S", "-c", _ENTRY, *argv]


def _candidates() -> list[Isolation]:
    unshare = shutil.which("unshare") or "/usr/bin/unshare"
    if os.geteuid() == 0:
        user: tuple[str, ...] = ()
    else:
        user = ("--user", "--map-root-user")
    with_pid = (unshare, *user, "--net", "--pid", "--fork", "--kill-child", "--")
    net_only = (unshare, *user, "--net", "--")
    return [
        Isolation(with_pid, bool(user), True),
        Isolation(net_only, bool(user), False),
    ]


@cache
def private_network() -> Isolation | None:
    """The best isolation this machine allows, or None (probed once per process)."""
    if not sys.platform.startswith("linux"):
        return None
    for candidate in _candidates():
        try:
            probe = subprocess.run(
                [*candidate.prefix, sys.executable, "-I", "-S", "-c", LOOPBACK_UP],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                timeout=PROBE_SECONDS,
                check=False,
            )
        except (OSError, subprocess.SubprocessError):
            continue
        if probe.returncode == 0:
            return candidate
    return None


def in_initial_user_namespace() -> bool:
    try:
        with open("/proc/self/uid_map") as f:
            return f.read().split() == ["0", "0", "4294967295"]
    except OSError:
        return True
