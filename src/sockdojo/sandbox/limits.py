"""What one sandboxed program may use: resource limits, wall clock, output cap, disk quota."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Limits:
    """What one sandboxed program may use. The defaults suit a small socket server."""

    cpu_seconds: int = 5  # RLIMIT_CPU: SIGXCPU at the limit, SIGKILL a second later
    memory_bytes: int = 1 << 30  # RLIMIT_AS: address space, so a runaway allocation fails early
    processes: int = 32  # RLIMIT_NPROC (unprivileged) and the pids cgroup (root)
    file_size_bytes: int = 8 << 20  # RLIMIT_FSIZE: no file written may grow past this
    open_files: int = 128  # RLIMIT_NOFILE
    wall_seconds: float = 20.0  # killed, with its whole process group, after this long
    output_bytes: int = 64 * 1024  # kept per stream (half head, half tail); the rest is counted
    disk_bytes: int = 32 << 20  # the whole of its directory (a tmpfs), where it has its own root
    disk_files: int = 1024  # files and directories in it

    def rlimits(self) -> list[tuple[str, int, int]]:
        """(resource name, soft, hard) for the launcher; RLIMIT_NPROC is its own business."""
        return [
            ("RLIMIT_CPU", self.cpu_seconds, self.cpu_seconds + 1),
            ("RLIMIT_AS", self.memory_bytes, self.memory_bytes),
            ("RLIMIT_FSIZE", self.file_size_bytes, self.file_size_bytes),
            ("RLIMIT_NOFILE", self.open_files, self.open_files),
            ("RLIMIT_CORE", 0, 0),
        ]
