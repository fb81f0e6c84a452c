"""What this machine lets the launcher do, probed once per process (Linux namespaces).

Two questions, each answered by launching a real command with a policy and seeing it run:

- `private_network()`: can a command get a network (and PID) namespace of its own? A behaviour
  check needs 127.0.0.1:1337 to itself: nothing of the learner's may be listening there, and a
  TIME_WAIT a check creates on purpose must not block the learner's own next run. A fresh network
  namespace has its own loopback, port space and TIME_WAIT table, all gone with its last process.
  With a PID namespace too, everything the command forks dies with it, whatever it does.
- `program_policy()`: the strictest confinement a learner's program can get here (see
  `LaunchPolicy`): its own root, PIDs and `nobody` where the machine allows, else `nobody` only
  (root without namespaces), else limits only, and the policy says what that leaves shared.

Both need root, or unprivileged user namespaces. Containers often forbid them; callers then fall
back (the host network, fewer walls) and say so.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from enum import Enum
from functools import cache
from pathlib import Path

from sockdojo.sandbox.limits import Limits
from sockdojo.sandbox.policy import LaunchPolicy, interpreter

PROBE_SECONDS = 10.0


@dataclass(frozen=True)
class PrivateNetwork:
    """How to start a command in a network (and PID) namespace of its own."""

    policy: LaunchPolicy

    @property
    def user_namespace(self) -> bool:
        return self.policy.user_namespace

    @property
    def pid_namespace(self) -> bool:
        return self.policy.pid_namespace

    @property
    def description(self) -> str:
        kind = "private network and PID namespace" if self.pid_namespace else "private network"
        return kind + (" (user namespace)" if self.user_namespace else "")

    def command(self, argv: list[str]) -> list[str]:
        return self.policy.command(argv)


def _runs(command: list[str]) -> bool:
    quiet = subprocess.DEVNULL
    try:
        # A non-zero exit raises CalledProcessError, a SubprocessError like the timeout.
        subprocess.check_call(
            command, stdin=quiet, stdout=quiet, stderr=quiet, timeout=PROBE_SECONDS
        )
    except (OSError, subprocess.SubprocessError):
        return False
    return True


@cache
def private_network() -> PrivateNetwork | None:
    """The best network isolation this machine allows, or None (probed once per process)."""
    if not sys.platform.startswith("linux"):
        return None
    for pid in (True, False):
        candidate = PrivateNetwork(LaunchPolicy.namespaces(pid=pid))
        if _runs(candidate.command([interpreter(), "-I", "-S", "-c", "pass"])):
            return candidate
    return None


class Confinement(Enum):
    OWN_ROOT = "its own root, PIDs and identity"
    NOBODY = "nobody, on the host's files and PIDs"
    LIMITS = "limits only"


def _kinds(network: bool) -> list[Confinement]:
    """What to try, strictest first. A private network comes only with the strictest."""
    kinds = [Confinement.OWN_ROOT] if sys.platform.startswith("linux") else []
    if not network:
        kinds += [Confinement.NOBODY] if os.geteuid() == 0 else []
        kinds.append(Confinement.LIMITS)
    return kinds


def _policy(kind: Confinement, limits: Limits, *, network: bool) -> LaunchPolicy:
    if kind is Confinement.OWN_ROOT:
        return LaunchPolicy.confined(limits, network=network)
    if kind is Confinement.NOBODY:
        return LaunchPolicy.as_nobody(limits)
    return LaunchPolicy.limits_only(limits)


@cache
def confinement(network: bool) -> Confinement | None:
    """The strictest confinement that works here (None: none with a private network)."""
    with tempfile.TemporaryDirectory(prefix="sockdojo-probe-") as directory:
        program = Path(directory) / "probe.py"
        program.write_text("pass\n")
        argv = [interpreter(), "-I", "-S", "-B", str(program)]
        for kind in _kinds(network):
            policy = _policy(kind, Limits(), network=network)
            if _runs(policy.command(argv, directory=Path(directory))):
                return kind
    return None


def program_policy(
    limits: Limits,
    *,
    network: bool,
    cgroup_procs: str | None,
    die_with_parent: bool,
    kind: Confinement | None = None,
) -> LaunchPolicy | None:
    """The policy for a learner's program here, or None if `network` cannot be private.

    `kind`: the confinement the process that started this one found (it probed the same
    machine); without it, this process probes.
    """
    if kind is not None and kind not in _kinds(network):
        kind = None  # what the other side found cannot give what is asked here: probe
    kind = kind or confinement(network)
    if kind is None:
        return None
    policy = _policy(kind, limits, network=network)
    return policy.with_cgroup(cgroup_procs, die_with_parent=die_with_parent)
