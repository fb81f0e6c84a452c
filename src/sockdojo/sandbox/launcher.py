"""The launcher: the process that confines a sandboxed program, then becomes it through `exec`.

Run as `python -I -S launcher.py CONFIG_JSON` (see `LaunchPolicy.command`), never imported by
the program. It must not import sockdojo or anything outside the standard library: it runs before
the program, possibly inside fresh namespaces, and should start in a few milliseconds. Doing this
here rather than in a `preexec_fn` keeps the parent safe: `preexec_fn` runs Python between `fork`
and `exec`, which can deadlock when the parent has other threads, and ours always has.

In order (each step optional, as the config says):
1. join the pids cgroup (while we still may write to it);
2. a user namespace where we are root, when we are not root: the right to make the others;
3. network, PID and mount namespaces; the loopback interface of a new network brought up;
4. with a PID namespace, fork twice: an init (PID 1 there, reaping orphans) and the program
   (PID 2, with the signal semantics of any process); the parent outside waits and ends as the
   program ended (exit status or signal), so the caller sees the program's own status;
5. a new root file system (a small read-only tmpfs holding read-only binds of the system and of
   the interpreter, a few device nodes, a fresh /proc of the new PID namespace, and the program's
   directory as a size-limited tmpfs, the only writable place) and `pivot_root` into it, so the
   host's files (homes, /tmp, /run and their Unix sockets, the data directory) do not exist;
6. resource limits, then a throw-away identity: `nobody` when we are real root, or a nested user
   namespace mapping `nobody` onto ourselves (the only uid an unprivileged user can map);
7. no new privileges, death with the parent, `exec`.
"""

from __future__ import annotations

import ctypes
import json
import os
import resource
import select
import signal
import struct
import sys
from dataclasses import asdict, dataclass, field

# Exit status the launcher uses when it could not set the sandbox up (never the program's fault).
SETUP_FAILED = 125
SETUP_MARKER = "sockdojo-sandbox-error:"
NOBODY = 65534

CLONE_NEWNS = 0x00020000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 32, 4096, 16384, 1 << 18
MNT_DETACH = 2
PR_SET_PDEATHSIG, PR_SET_DUMPABLE, PR_SET_NO_NEW_PRIVS = 1, 4, 38
# pivot_root has no libc wrapper; its number per architecture (others fall back to chroot).
PIVOT_ROOT = {"x86_64": 155, "aarch64": 41, "riscv64": 41, "ppc64le": 203, "s390x": 217}
# Flags a remount inside a user namespace must keep (the kernel locks them): statvfs -> mount.
LOCKED_FLAGS = {
    os.ST_NOSUID: MS_NOSUID,
    os.ST_NODEV: MS_NODEV,
    os.ST_NOEXEC: MS_NOEXEC,
    os.ST_NOATIME: 1024,
    os.ST_NODIRATIME: 2048,
    os.ST_RELATIME: 1 << 21,
}
# The system directories a Python program needs, bound read-only (symlinks are copied as links).
SYSTEM_DIRECTORIES = ("usr", "bin", "sbin", "lib", "lib32", "lib64", "libx32")
# From /etc only what name resolution and the C library read; the rest of it stays out.
ETC_FILES = (
    "passwd",
    "group",
    "hosts",
    "host.conf",
    "nsswitch.conf",
    "gai.conf",
    "protocols",
    "services",
    "localtime",
    "ld.so.cache",
    "ld.so.conf",
)
DEVICES = ("null", "zero", "full", "random", "urandom")
# Bring the loopback interface of a fresh network namespace up with one ioctl. struct ifreq is
# 40 bytes: a 16-byte name, then a union whose first member is the short `ifr_flags`.
SIOCGIFFLAGS, SIOCSIFFLAGS, IFF_UP, IFREQ = 0x8913, 0x8914, 0x1, "16sh22x"


class SetupFailed(Exception):
    """A step of the confinement failed: the sandbox's problem, reported as such."""


@dataclass
class RootConfig:
    stage: str  # an empty host directory the new root is built on (then hidden by pivot_root)
    workdir: str  # the program's directory: the same path inside, a tmpfs of `quota_bytes`
    copy: list[str]  # files of the host's `workdir` copied into the tmpfs (the program)
    quota_bytes: int
    inodes: int
    binds: list[str] = field(default_factory=list)  # more read-only paths (the interpreter)


@dataclass
class LaunchConfig:
    argv: list[str]
    rlimits: list[tuple[str, int, int]] = field(default_factory=list)
    processes: int | None = None  # RLIMIT_NPROC, counted from the program's own tasks
    cgroup_procs: str | None = None
    user_namespace: bool = False  # make one first (we are not root): the right to make the rest
    network: bool = False
    pid_namespace: bool = False
    root: RootConfig | None = None
    become_nobody: bool = False
    die_with_parent: bool = False
    parent: int = 0  # the pid that started us, to notice it died before PR_SET_PDEATHSIG took
    cwd: str | None = None

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> LaunchConfig:
        data = json.loads(text)
        root = data.pop("root")
        data["rlimits"] = [tuple(item) for item in data["rlimits"]]
        return cls(root=RootConfig(**root) if root is not None else None, **data)


_libc = ctypes.CDLL(None, use_errno=True)


def _check(result: int, what: str) -> None:
    if result != 0:
        number = ctypes.get_errno()
        raise SetupFailed(f"{what}: {os.strerror(number)}")


def _unshare(flags: int, what: str) -> None:
    _check(_libc.unshare(ctypes.c_int(flags)), f"could not make {what}")


def _mount(source: str | None, target: str, fstype: str | None, flags: int, data: str = "") -> None:
    encoded = [None if v is None else v.encode() for v in (source, target, fstype)]
    result = _libc.mount(
        encoded[0], encoded[1], encoded[2], ctypes.c_ulong(flags), data.encode() or None
    )
    _check(result, f"could not mount {fstype or source} on {target}")


def _prctl(option: int, value: int) -> None:
    _check(_libc.prctl(option, ctypes.c_ulong(value), 0, 0, 0), f"prctl {option}")


def _write(path: str, text: str) -> None:
    with open(path, "w") as f:
        f.write(text)


def initial_user_namespace() -> bool:
    try:
        with open("/proc/self/uid_map") as f:
            return f.read().split() == ["0", "0", "4294967295"]
    except OSError:
        return True


def _map_self(inside: int) -> None:
    """A new user namespace where `inside` is us: the one mapping needing no privilege."""
    uid, gid = os.geteuid(), os.getegid()
    _unshare(CLONE_NEWUSER, "a user namespace")
    try:
        _write("/proc/self/setgroups", "deny")
        _write("/proc/self/uid_map", f"{inside} {uid} 1")
        _write("/proc/self/gid_map", f"{inside} {gid} 1")
    except OSError as error:
        raise SetupFailed(f"could not map the user namespace: {error}") from None


def _loopback_up() -> None:
    import socket  # only here: every start pays for what the launcher imports
    from fcntl import ioctl

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        request = struct.pack(IFREQ, b"lo", 0)
        flags = struct.unpack(IFREQ, ioctl(s, SIOCGIFFLAGS, request))[1]
        ioctl(s, SIOCSIFFLAGS, struct.pack(IFREQ, b"lo", flags | IFF_UP))


def _bind_read_only(source: str, target: str) -> None:
    _mount(source, target, None, MS_BIND | MS_REC)
    locked = os.statvfs(source).f_flag
    flags = MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV
    flags |= sum(bit for st, bit in LOCKED_FLAGS.items() if locked & st)
    _mount(None, target, None, flags)


def _place(stage: str, path: str, *, directory: bool) -> str:
    """Make `path` exist under `stage` (as a directory or an empty file) for a mount on it."""
    target = stage + path
    os.makedirs(target if directory else os.path.dirname(target), mode=0o755, exist_ok=True)
    if not directory and not os.path.exists(target):
        os.close(os.open(target, os.O_WRONLY | os.O_CREAT, 0o644))
    return target


def _pivot_root(stage: str) -> None:
    old = os.path.join(stage, ".oldroot")
    os.mkdir(old)
    number = PIVOT_ROOT.get(os.uname().machine)
    if number is None:
        os.chroot(stage)  # an unknown architecture: the old root stays in the mount namespace
    else:
        _check(_libc.syscall(number, stage.encode(), old.encode()), "could not pivot_root")
    os.chdir("/")


def _build_root(root: RootConfig, owner: int) -> None:
    stage = root.stage
    os.makedirs(stage, mode=0o700, exist_ok=True)
    _mount(None, "/", None, MS_REC | MS_PRIVATE)  # nothing we mount leaks to the host
    _mount("tmpfs", stage, "tmpfs", MS_NOSUID | MS_NODEV, "size=1m,nr_inodes=4096,mode=0755")
    for name in SYSTEM_DIRECTORIES:
        host = "/" + name
        if os.path.islink(host):
            os.symlink(os.readlink(host), os.path.join(stage, name))
        elif os.path.isdir(host):
            _bind_read_only(host, _place(stage, host, directory=True))
    for name in ETC_FILES:
        host = os.path.realpath("/etc/" + name)
        if os.path.isfile(host):
            _bind_read_only(host, _place(stage, "/etc/" + name, directory=False))
    for path in root.binds:
        if os.path.exists(path) and not os.path.exists(stage + path):
            _bind_read_only(path, _place(stage, path, directory=os.path.isdir(path)))
    for name in DEVICES:
        # A bind of the host's node: making one needs a privilege user namespaces lack.
        _mount("/dev/" + name, _place(stage, "/dev/" + name, directory=False), None, MS_BIND)
    for name, target in (("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0")):
        os.symlink(target, os.path.join(stage, "dev", name))
    for number, name in ((1, "stdout"), (2, "stderr")):
        os.symlink(f"/proc/self/fd/{number}", os.path.join(stage, "dev", name))
    inside = _place(stage, root.workdir, directory=True)
    options = f"size={root.quota_bytes},nr_inodes={root.inodes},mode=0700,uid={owner},gid={owner}"
    _mount("tmpfs", inside, "tmpfs", MS_NOSUID | MS_NODEV, options)
    for name in root.copy:
        with open(os.path.join(root.workdir, name), "rb") as source:
            data = source.read()
        target = os.path.join(inside, name)
        with open(os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644), "wb") as copy:
            copy.write(data)
        os.chown(target, owner, owner)
    tmp = os.path.join(stage, "tmp")
    if not os.path.exists(tmp):
        os.symlink(root.workdir, tmp)  # /tmp is the program's own directory, under its quota
    os.makedirs(os.path.join(stage, "proc"), exist_ok=True)
    _pivot_root(stage)
    # The PID namespace's own /proc: only the program's processes, none of ours or the host's.
    _mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
    if os.path.isdir("/.oldroot"):
        _check(_libc.umount2(b"/.oldroot", MNT_DETACH), "could not detach the old root")
        os.rmdir("/.oldroot")
    _mount(None, "/", None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV)


def tasks_of(uid: int) -> int:
    """Tasks (threads) of `uid` on the machine: RLIMIT_NPROC counts them all, not only ours."""
    count = 0
    try:
        entries = os.listdir("/proc")
    except OSError:
        return 0  # no /proc (macOS): the limit then counts from zero, which is stricter
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/status") as f:
                fields = dict(line.split(":", 1) for line in f if ":" in line)
            if int(fields["Uid"].split()[0]) == uid:
                count += int(fields.get("Threads", "1"))
        except (OSError, ValueError, KeyError):
            continue
    return count


def _tasks_counted(config: LaunchConfig) -> int:
    """The tasks RLIMIT_NPROC will count besides the program's: those of the uid it will have,
    in the initial user namespace (a nested one counts from zero). Read before our own /proc
    replaces the host's."""
    if config.processes is None or not initial_user_namespace():
        return 0
    if config.become_nobody and os.geteuid() == 0:
        return tasks_of(NOBODY)
    return tasks_of(os.getuid()) if os.getuid() != 0 else 0


def _set_limits(config: LaunchConfig, others: int) -> None:
    limits = list(config.rlimits)
    if config.processes is not None:
        processes = config.processes + others
        limits.append(("RLIMIT_NPROC", processes, processes))
    for name, soft, hard in limits:
        which = getattr(resource, name)
        _, current_hard = resource.getrlimit(which)
        if current_hard != resource.RLIM_INFINITY:
            hard = min(hard, current_hard)
        try:
            resource.setrlimit(which, (min(soft, hard), hard))
        except (OSError, ValueError) as error:
            raise SetupFailed(f"could not set {name}: {error}") from None


def _become_nobody(config: LaunchConfig) -> None:
    if initial_user_namespace() and os.geteuid() == 0:
        if config.root is None and config.cwd is not None:
            # On the host's files: its directory (ours, 0700) and the program become its own.
            for name in [".", *os.listdir(config.cwd)]:
                os.chown(os.path.join(config.cwd, name), NOBODY, NOBODY)
        os.setgroups([])
        os.setresgid(NOBODY, NOBODY, NOBODY)
        os.setresuid(NOBODY, NOBODY, NOBODY)
    else:
        # Root of a user namespace of ours: a nested one where we are `nobody`, with no
        # capability left once we exec, and no way back up.
        _map_self(NOBODY)
    if os.getuid() != NOBODY:
        raise SetupFailed("could not become an unprivileged user")


def _owner_of_workdir(config: LaunchConfig) -> int:
    """The uid, as we see it now, that the program will have (it owns its directory)."""
    if config.become_nobody and initial_user_namespace() and os.geteuid() == 0:
        return NOBODY
    return os.geteuid()  # a nested user namespace maps the program onto us


def _end_as(status: int) -> None:
    """End this process as a wait status says (exit code, or the same signal)."""
    if os.WIFSIGNALED(status):
        number = os.WTERMSIG(status)
        if number not in (signal.SIGKILL, signal.SIGSTOP):
            signal.signal(number, signal.SIG_DFL)
        os.kill(os.getpid(), number)
    os._exit(os.waitstatus_to_exitcode(status) if os.WIFEXITED(status) else SETUP_FAILED)


def _relay(init: int, statuses: int) -> None:
    """Outside the PID namespace: end as the program ended.

    The namespace's init reports the program's wait status on `statuses`: the init itself
    cannot die of the program's signal (the kernel shields PID 1 from its own namespace). If
    the init died without a word (we were killed, say), end as it did.
    """
    _, status = os.waitpid(init, 0)
    reported = os.read(statuses, 4)
    if len(reported) == 4:
        status = struct.unpack("i", reported)[0]
    _end_as(status)


def _init(program: int, statuses: int) -> None:
    """PID 1 of the namespace: reap every orphan until the program ends, report, exit.

    Not dumpable: in a user namespace the program has our kernel uid, and this keeps it from
    tracing us or opening our /proc files (the namespace ends when we do).
    """
    _prctl(PR_SET_DUMPABLE, 0)
    for number in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(number, signal.SIG_IGN)
    while True:
        try:
            pid, status = os.waitpid(-1, 0)
        except ChildProcessError:
            os._exit(SETUP_FAILED)
        if pid == program:
            os.write(statuses, struct.pack("i", status))
            os._exit(0)


def _die_with_parent(parent: int) -> None:
    """SIGKILL when the parent dies; exit now if it already has (the race before the prctl)."""
    _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if parent and os.getppid() != parent:
        os._exit(SETUP_FAILED)


def _enter_pid_namespace() -> None:
    """Fork twice: a waiting parent outside, an init as PID 1, and the program as PID 2.

    Returns in the program's process; the other two end in `_relay` and `_init`.
    """
    statuses, report = os.pipe()
    alive, held = os.pipe()  # reads as ended once the outer parent is gone (getppid() is 0)
    init = os.fork()
    if init != 0:
        os.close(report)
        os.close(alive)
        _relay(init, statuses)
    os.close(statuses)
    os.close(held)
    _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)  # the outer parent killed: the namespace goes too
    if select.select([alive], [], [], 0)[0]:
        os._exit(SETUP_FAILED)
    os.close(alive)
    program = os.fork()
    if program != 0:
        _init(program, report)
    os.close(report)


def launch(config: LaunchConfig) -> None:
    """Confine ourselves as `config` says, then exec the program (returns only on failure)."""
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # no core files, of ours or its
    if config.cgroup_procs:
        try:
            _write(config.cgroup_procs, "0")  # "0" moves the writing process itself
        except OSError as error:
            raise SetupFailed(f"could not join the process cgroup: {error}") from None
    if config.user_namespace:
        _map_self(0)
    flags = CLONE_NEWNET if config.network else 0
    flags |= CLONE_NEWPID if config.pid_namespace else 0
    flags |= CLONE_NEWNS if config.root is not None else 0
    if flags:
        _unshare(flags, "the namespaces")
    if config.network:
        _loopback_up()
    owner = _owner_of_workdir(config)
    others = _tasks_counted(config)
    if config.pid_namespace:
        _enter_pid_namespace()
    if config.root is not None:
        _build_root(config.root, owner)
    if config.become_nobody:
        _become_nobody(config)
    # After the change of identity: limits lower freely, and the process count then starts
    # from the program's own tasks in a nested user namespace.
    _set_limits(config, others)
    if config.cwd is not None:
        os.chdir(config.cwd)
    _prctl(PR_SET_NO_NEW_PRIVS, 1)  # no setuid program gives back what we dropped
    if config.die_with_parent:
        _die_with_parent(config.parent)
    try:
        os.execv(config.argv[0], config.argv)  # noqa: S606 (the program, no shell wanted)
    except OSError as error:
        raise SetupFailed(f"could not start {config.argv[0]}: {error}") from None


def main(argv: list[str]) -> None:
    try:
        launch(LaunchConfig.from_json(argv[1]))
    except (SetupFailed, OSError, ValueError, KeyError, TypeError) as error:
        os.write(2, f"{SETUP_MARKER} {error}\n".encode())
        os._exit(SETUP_FAILED)


if __name__ == "__main__":
    main(sys.argv)
