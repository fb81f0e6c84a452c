"""Resource limits for a sandboxed program, and the tiny launcher that applies them.

The limits are applied by a separate, minimal Python process (the launcher, run with `-I -S`)
that then replaces itself with the learner's program through `exec`. Doing it there rather than
in a `preexec_fn` keeps the parent safe: `preexec_fn` runs Python code between `fork` and `exec`,
which can deadlock when the parent has other threads, and ours always has (it drains output).
"""

from __future__ import annotations

import json
import sys
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


# Exit status the launcher uses when it could not set the sandbox up (never the program's fault).
SETUP_FAILED = 125
SETUP_MARKER = "sockdojo-sandbox-error:"

# Run as `python -I -S -c LAUNCHER CONFIG_JSON`. It must not import sockdojo: it runs before the
# program, possibly inside fresh namespaces, and should start in a few milliseconds.
LAUNCHER = r"""
import json, os, resource, sys

def fail(message):
    os.write(2, ("%s %s\n" % (MARKER, message)).encode())
    os._exit(SETUP_FAILED)

def initial_user_namespace():
    try:
        with open("/proc/self/uid_map") as f:
            return f.read().split() == ["0", "0", "4294967295"]
    except OSError:
        return True

def tasks_of(uid):
    # RLIMIT_NPROC counts every task (thread) of the real user, not only ours.
    count = 0
    try:
        entries = os.listdir("/proc")
    except OSError:
        return 0  # no /proc (macOS): the limit then counts from zero, which is stricter
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/status" % entry) as f:
                fields = dict(line.split(":", 1) for line in f if ":" in line)
            if int(fields["Uid"].split()[0]) == uid:
                count += int(fields.get("Threads", "1"))
        except (OSError, ValueError, KeyError):
            continue
    return count

config = json.loads(sys.argv[1])
MARKER, SETUP_FAILED = config["marker"], config["setup_failed"]
if config["cgroup"]:
    try:
        fd = os.open(config["cgroup"], os.O_WRONLY)
        try:
            os.write(fd, b"0")  # "0" moves the writing process itself
        finally:
            os.close(fd)
    except OSError as error:
        fail("could not join the process cgroup: %s" % error)
limits = [list(item) for item in config["rlimits"]]
processes = config["processes"]
if initial_user_namespace() and os.getuid() != 0:
    processes += tasks_of(os.getuid())
limits.append(["RLIMIT_NPROC", processes, processes])
for name, soft, hard in limits:
    which = getattr(resource, name)
    _, current_hard = resource.getrlimit(which)
    if current_hard != resource.RLIM_INFINITY:
        hard = min(hard, current_hard)
    try:
        resource.setrlimit(which, (min(soft, hard), hard))
    except (OSError, ValueError) as error:
        fail("could not set %s: %s" % (name, error))
if config["die_with_parent"] and sys.platform.startswith("linux"):
    import ctypes
    ctypes.CDLL(None, use_errno=True).prctl(1, 9, 0, 0, 0)  # PR_SET_PDEATHSIG, SIGKILL
    if config["parent"] and os.getppid() != config["parent"]:
        os._exit(SETUP_FAILED)  # the parent died before the line above took effect
argv = config["argv"]
try:
    os.execv(argv[0], argv)
except OSError as error:
    fail("could not start %s: %s" % (argv[0], error))
"""


def launcher_command(
    argv: list[str],
    limits: Limits,
    *,
    cgroup_procs: str | None,
    die_with_parent: bool,
    parent_pid: int,
) -> list[str]:
    """The command that applies `limits` (and joins the cgroup) and then becomes `argv`."""
    config = {
        "argv": argv,
        "marker": SETUP_MARKER,
        "setup_failed": SETUP_FAILED,
        "cgroup": cgroup_procs,
        "processes": limits.processes,
        "die_with_parent": die_with_parent,
        "parent": parent_pid,
        "rlimits": [
            ["RLIMIT_CPU", limits.cpu_seconds, limits.cpu_seconds + 1],
            ["RLIMIT_AS", limits.memory_bytes, limits.memory_bytes],
            ["RLIMIT_FSIZE", limits.file_size_bytes, limits.file_size_bytes],
            ["RLIMIT_NOFILE", limits.open_files, limits.open_files],
            ["RLIMIT_CORE", 0, 0],
        ],
    }
    return [sys.executable, "-I", "-S", "-c", LAUNCHER, json.dumps(config)]
