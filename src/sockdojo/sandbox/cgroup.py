"""A pids cgroup that caps how many processes a sandboxed program can have (root only).

RLIMIT_NPROC never applies to the real root user: the kernel exempts it, even inside a user
namespace where root maps to root. When sockdojo runs as root (CI, containers, a class server's
service account), a fork bomb would only be stopped by the wall clock, after it had taken every
PID on the machine. The cgroup pids controller caps the group instead, whoever runs it.

Best effort: works with cgroup v1 (a `pids` hierarchy) and v2 (a cgroup where `pids` is enabled
for children). Where the cgroup file system is not writable, `create` returns None.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import time
from pathlib import Path

_MOUNTINFO = Path("/proc/self/mountinfo")
_OWN_CGROUPS = Path("/proc/self/cgroup")


def _mounts() -> list[tuple[str, str, str, str]]:
    """(root inside the hierarchy, mount point, fs type, super options) of each cgroup mount."""
    found = []
    try:
        lines = _MOUNTINFO.read_text().splitlines()
    except OSError:
        return []
    for line in lines:
        fields = line.split()
        if "-" not in fields:
            continue
        dash = fields.index("-")
        if len(fields) < dash + 4 or dash < 5:
            continue
        fstype, options = fields[dash + 1], fields[dash + 3]
        if fstype in ("cgroup", "cgroup2"):
            found.append((fields[3], fields[4], fstype, options))
    return found


def _own_paths() -> dict[str, str]:
    """Our cgroup path per hierarchy: 'pids' for v1, '' for v2."""
    paths: dict[str, str] = {}
    try:
        lines = _OWN_CGROUPS.read_text().splitlines()
    except OSError:
        return paths
    for line in lines:
        parts = line.split(":", 2)
        if len(parts) == 3:
            for controller in parts[1].split(",") if parts[1] else [""]:
                paths[controller] = parts[2]
    return paths


def _directory(mount_root: str, mount_point: str, own: str) -> Path:
    relative = own[len(mount_root) :] if own.startswith(mount_root) else ""
    return Path(mount_point + "/" + relative.strip("/")).resolve()


def _parents() -> list[Path]:
    """Directories where a child cgroup with a pids limit could be made, most specific first."""
    own = _own_paths()
    parents: list[Path] = []
    for root, point, fstype, options in _mounts():
        if fstype == "cgroup" and "pids" in options.split(","):
            parents.append(_directory(root, point, own.get("pids", "/")))
    for root, point, fstype, _ in _mounts():
        if fstype == "cgroup2":
            for base in (_directory(root, point, own.get("", "/")), Path(point)):
                with contextlib.suppress(OSError):
                    enabled = (base / "cgroup.subtree_control").read_text().split()
                    if "pids" in enabled and base not in parents:
                        parents.append(base)
    return parents


class PidsCgroup:
    """A cgroup directory with `pids.max` set. `owned` ones are removed by `remove()`."""

    def __init__(self, path: Path, *, owned: bool) -> None:
        self.path = path
        self.owned = owned

    @classmethod
    def create(cls, max_pids: int) -> PidsCgroup | None:
        for parent in _parents():
            path = parent / f"sockdojo-sandbox-{os.getpid()}-{secrets.token_hex(4)}"
            try:
                path.mkdir()
            except OSError:
                continue
            try:
                (path / "pids.max").write_text(f"{max_pids}\n")
                return cls(path, owned=True)
            except OSError:
                with contextlib.suppress(OSError):
                    path.rmdir()
        return None

    @classmethod
    def existing(cls, path: Path) -> PidsCgroup:
        """A cgroup made by another process (which also removes it)."""
        return cls(path, owned=False)

    @property
    def procs_file(self) -> str:
        return str(self.path / "cgroup.procs")

    def members(self) -> list[int]:
        """PIDs in the cgroup, as seen from this process's PID namespace (0 = not visible)."""
        try:
            text = (self.path / "cgroup.procs").read_text()
        except OSError:
            return []
        return [pid for pid in (int(word) for word in text.split()) if pid > 0]

    def kill_all(self, timeout: float = 3.0) -> bool:
        """SIGKILL every member until none is left (a fork bomb keeps forking meanwhile)."""
        with contextlib.suppress(OSError):
            (self.path / "cgroup.kill").write_text("1\n")  # v2: atomic, if the kernel has it
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            members = [pid for pid in self.members() if pid != os.getpid()]
            if not members:
                return True
            for pid in members:
                with contextlib.suppress(OSError):
                    os.kill(pid, signal.SIGKILL)
            time.sleep(0.005)
        return not self.members()

    def remove(self, timeout: float = 3.0) -> None:
        if not self.owned:
            return
        self.kill_all(timeout)
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.path.rmdir()
                return
            except FileNotFoundError:
                return
            except OSError:
                # Killed processes leave the cgroup when they have fully exited.
                if time.monotonic() > deadline:
                    return
                time.sleep(0.01)
