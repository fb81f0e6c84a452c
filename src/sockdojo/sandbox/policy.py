"""How a sandboxed command is launched: the valid combinations of the launcher's options.

A `LaunchPolicy` is built through one of its named constructors, each a combination that makes
sense (a root file system of its own needs a PID namespace for its /proc and a change of identity;
any namespace needs a user namespace when we are not root), and turns a command into the
`python -I -S launcher.py CONFIG` command line that applies it. `-I -S`: no PYTHON* variables,
no site-packages, no current directory on the path; the launcher needs only the standard library.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, replace
from pathlib import Path

from sockdojo.sandbox import launcher
from sockdojo.sandbox.launcher import LaunchConfig, RootConfig
from sockdojo.sandbox.limits import Limits

LAUNCHER = str(Path(launcher.__file__).resolve())
STAGE = ".root"  # in the program's directory: where its root file system is built


def interpreter() -> str:
    """The real interpreter (not a virtual environment's link to it): it must exist inside."""
    return os.path.realpath(sys.executable)


def interpreter_paths() -> list[str]:
    """What the interpreter needs inside a root of its own, bound read-only at the same place."""
    found = {os.path.realpath(sys.base_prefix), os.path.dirname(os.path.dirname(interpreter()))}
    return sorted(found)


@dataclass(frozen=True)
class LaunchPolicy:
    limits: Limits | None  # None: no resource limits (our own driver)
    user_namespace: bool  # not root: a user namespace of ours gives the right to the others
    network: bool  # a private network namespace, loopback up
    pid_namespace: bool  # the command is PID 1 of its own PID namespace
    own_root: bool  # a root file system of its own: only its directory (a tmpfs) is writable
    nobody: bool  # it runs as `nobody` (or `nobody` in a nested user namespace)
    cgroup_procs: str | None = None
    die_with_parent: bool = False

    def __post_init__(self) -> None:
        # The combinations the launcher cannot honour: the named constructors never make them.
        if self.own_root and not (self.pid_namespace and self.nobody and self.limits):
            raise ValueError("a root of its own needs a PID namespace (for /proc), nobody, limits")
        needs_namespace = self.network or self.pid_namespace or self.own_root
        if needs_namespace and os.geteuid() != 0 and not self.user_namespace:
            raise ValueError("namespaces need a user namespace when we are not root")

    @classmethod
    def namespaces(cls, *, pid: bool) -> LaunchPolicy:
        """Our driver: a private network (and PID) namespace, as whoever we are, no limits."""
        return cls(None, os.geteuid() != 0, True, pid, False, False)

    @classmethod
    def confined(
        cls, limits: Limits, *, network: bool, cgroup_procs: str | None = None
    ) -> LaunchPolicy:
        """A learner's program: own PIDs, own root, `nobody`, limits (and maybe own network)."""
        return cls(limits, os.geteuid() != 0, network, True, True, True, cgroup_procs)

    @classmethod
    def as_nobody(
        cls, limits: Limits, *, cgroup_procs: str | None = None, die_with_parent: bool = False
    ) -> LaunchPolicy:
        """Root on a machine without namespaces: limits and `nobody`, the host's files in view."""
        return cls(limits, False, False, False, False, True, cgroup_procs, die_with_parent)

    @classmethod
    def limits_only(
        cls, limits: Limits, *, cgroup_procs: str | None = None, die_with_parent: bool = False
    ) -> LaunchPolicy:
        """Where the machine allows nothing more: limits only, as the user who runs us."""
        return cls(limits, False, False, False, False, False, cgroup_procs, die_with_parent)

    def with_cgroup(self, cgroup_procs: str | None, *, die_with_parent: bool) -> LaunchPolicy:
        # PID 1 of a PID namespace already dies with its launcher.
        return replace(
            self, cgroup_procs=cgroup_procs, die_with_parent=die_with_parent and not self.own_root
        )

    def not_isolated(self) -> list[str]:
        """What this policy leaves shared with the machine, in words for the learner."""
        missing: list[str] = []
        if not self.nobody:
            missing.append("it runs as the user who runs sockdojo")
        if not self.own_root:
            missing.append(
                "it can see the files that user can see (home, /tmp, the data directory)"
            )
        if not self.pid_namespace:
            missing.append("it can see and signal other processes of that user")
        if self.limits is not None and not self.own_root:
            missing.append("only the size of each file it writes is limited, not the total")
        return missing

    def command(self, argv: list[str], *, directory: Path | None = None) -> list[str]:
        """The launcher's command line that applies this policy and then becomes `argv`.

        `directory`: the program's directory, with the program in it (needed for `own_root`).
        """
        root = None
        if self.own_root:
            assert directory is not None, "a root of its own is built around its directory"
            assert self.limits is not None
            root = RootConfig(
                stage=str(directory / STAGE),
                workdir=str(directory),
                copy=sorted(p.name for p in directory.iterdir() if p.is_file()),
                quota_bytes=self.limits.disk_bytes,
                inodes=self.limits.disk_files,
                binds=interpreter_paths(),
            )
        config = LaunchConfig(
            argv=argv,
            rlimits=self.limits.rlimits() if self.limits is not None else [],
            processes=self.limits.processes if self.limits is not None else None,
            cgroup_procs=self.cgroup_procs,
            user_namespace=self.user_namespace,
            network=self.network,
            pid_namespace=self.pid_namespace,
            root=root,
            become_nobody=self.nobody,
            die_with_parent=self.die_with_parent,
            parent=os.getpid(),
            cwd=str(directory) if directory is not None else None,
        )
        return [sys.executable, "-I", "-S", LAUNCHER, config.to_json()]
