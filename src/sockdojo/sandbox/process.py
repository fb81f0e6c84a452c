"""Run a learner's Python file in a throw-away sandbox.

What the sandbox gives: a copy of the file in a fresh temporary directory (its working directory
and HOME), the real interpreter in isolated mode, a minimal environment, stdin closed and stdout
and stderr pipes we drain, its own session (no controlling terminal), resource limits (see
`Limits`), a wall-clock limit, output captured with a cap, and a way to kill everything it
started. Where the machine allows (root, or unprivileged user namespaces, see `isolation`), also:
its own PID namespace, its own root file system where only its directory (a size-limited tmpfs)
is writable and none of the host's homes, /tmp, /run or data directories exist, the identity
`nobody`, and optionally a private network. `not_isolated` says what is left shared otherwise.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Literal

from sockdojo.errors import InternalError
from sockdojo.sandbox.cgroup import PidsCgroup
from sockdojo.sandbox.isolation import Confinement, program_policy
from sockdojo.sandbox.launcher import SETUP_FAILED, SETUP_MARKER
from sockdojo.sandbox.limits import Limits
from sockdojo.sandbox.policy import LaunchPolicy, interpreter

Network = Literal["inherit", "private"]

_LIMIT_SIGNALS = {
    signal.SIGXCPU: "its CPU-time limit",
    signal.SIGXFSZ: "its file-size limit",
}


class SandboxError(InternalError):
    """The sandbox itself could not do what was asked (never the learner's program's fault)."""


class OutputCapture:
    """Keeps the first and the last bytes of a stream, and counts the rest."""

    def __init__(self, keep: int) -> None:
        self._head_limit = keep // 2
        self._tail_limit = keep - self._head_limit
        self._head = bytearray()
        self._tail = bytearray()
        self.total = 0
        self._lock = threading.Lock()

    def feed(self, data: bytes) -> None:
        with self._lock:
            self.total += len(data)
            room = self._head_limit - len(self._head)
            if room > 0:
                self._head += data[:room]
                data = data[room:]
            if data:
                self._tail += data
                if len(self._tail) > self._tail_limit:
                    del self._tail[: len(self._tail) - self._tail_limit]

    @property
    def truncated(self) -> bool:
        return self.total > len(self._head) + len(self._tail)

    def text(self) -> str:
        with self._lock:
            head, tail, total = bytes(self._head), bytes(self._tail), self.total
        middle = ""
        skipped = total - len(head) - len(tail)
        if skipped > 0:
            middle = f"\n[... {skipped} bytes not kept ...]\n"
        return head.decode("utf-8", "replace") + middle + tail.decode("utf-8", "replace")


def _drain(stream: IO[bytes], capture: OutputCapture) -> None:
    fd = stream.fileno()
    with contextlib.suppress(OSError, ValueError):
        while chunk := os.read(fd, 65536):
            capture.feed(chunk)


def describe_status(returncode: int | None, *, timed_out: bool = False) -> str:
    """'exited with status 1', 'was killed by SIGKILL', ... for transcripts."""
    if returncode is None:
        return "is still running"
    if returncode >= 0:
        return f"exited with status {returncode}"
    number = -returncode
    try:
        sig = signal.Signals(number)
    except ValueError:
        return f"was killed by signal {number}"
    if timed_out and sig == signal.SIGKILL:
        return "was stopped at its wall-clock limit"
    if sig in _LIMIT_SIGNALS:
        return f"was stopped by {_LIMIT_SIGNALS[sig]} ({sig.name})"
    return f"was killed by {sig.name}"


def _children_map() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            continue
        # The command name may contain spaces and parentheses: fields start after the last ')'.
        fields = stat[stat.rfind(b")") + 2 :].split()
        if len(fields) > 1:
            children.setdefault(int(fields[1]), []).append(int(entry))
    return children


def descendants(root: int) -> list[int]:
    """Every process below `root` in the process tree, from /proc (same PID namespace only)."""
    children = _children_map()
    found: list[int] = []
    stack = list(children.get(root, []))
    while stack:
        pid = stack.pop()
        found.append(pid)
        stack.extend(children.get(pid, []))
    return found


def kill_descendants(root: int, timeout: float = 3.0) -> None:
    """SIGKILL everything below `root` until nothing is left (forks race with us)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = descendants(root)
        if not found:
            return
        for pid in found:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        reap_children()
        time.sleep(0.005)


def reap_children() -> None:
    """Collect exited children we did not start ourselves (orphans handed to us)."""
    with contextlib.suppress(ChildProcessError):
        while True:
            pid, _ = os.waitpid(-1, os.WNOHANG)
            if pid == 0:
                return


def become_subreaper() -> bool:
    """Adopt orphaned descendants, so that `kill_descendants(os.getpid())` still finds them."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        return int(libc.prctl(36, 1, 0, 0, 0)) == 0  # PR_SET_CHILD_SUBREAPER
    except (OSError, AttributeError):
        return False


class SandboxedProcess:
    """One run of the program. Its output is drained continuously into bounded captures."""

    def __init__(self, popen: subprocess.Popen[bytes], limits: Limits) -> None:
        self._popen = popen
        self.pid = popen.pid  # also its process group id: it was started in a new session
        self.started = time.monotonic()
        self.stdout = OutputCapture(limits.output_bytes)
        self.stderr = OutputCapture(limits.output_bytes)
        self.timed_out = False
        self._readers = []
        for stream, capture in ((popen.stdout, self.stdout), (popen.stderr, self.stderr)):
            assert stream is not None
            reader = threading.Thread(target=_drain, args=(stream, capture), daemon=True)
            reader.start()
            self._readers.append(reader)
        self._timer = threading.Timer(limits.wall_seconds, self._wall_clock_expired)
        self._timer.daemon = True
        self._timer.start()

    def _wall_clock_expired(self) -> None:
        if self._popen.poll() is None:
            self.timed_out = True
            self.kill_group()

    @property
    def returncode(self) -> int | None:
        return self._popen.poll()

    def poll(self) -> int | None:
        return self._popen.poll()

    def wait(self, timeout: float) -> int | None:
        try:
            return self._popen.wait(timeout=max(timeout, 0.0))
        except subprocess.TimeoutExpired:
            return None

    def kill_group(self) -> None:
        # PID 1 of its namespace first (the launcher's child, which may have left our process
        # group): the kernel then kills everything in the namespace with it.
        for pid in descendants(self.pid):
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        with contextlib.suppress(OSError):
            os.killpg(self.pid, signal.SIGKILL)

    def kill(self) -> None:
        """SIGKILL its whole process group and wait for it (bounded)."""
        self._timer.cancel()
        self.kill_group()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self._popen.wait(timeout=5.0)

    def finish(self, timeout: float = 1.0) -> None:
        """Collect the last of its output (call after it ended)."""
        self._timer.cancel()
        for reader in self._readers:
            reader.join(timeout)
        for stream in (self._popen.stdout, self._popen.stderr):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()

    def describe(self) -> str:
        return describe_status(self.returncode, timed_out=self.timed_out)

    @property
    def setup_error(self) -> str | None:
        """The sandbox's own failure to start the program, if that is what happened."""
        if self.returncode != SETUP_FAILED:
            return None
        for line in self.stderr.text().splitlines():
            if line.startswith(SETUP_MARKER):
                return line[len(SETUP_MARKER) :].strip()
        return None


class Sandbox:
    """A temporary directory holding one program, and every process started from it.

    Use as a context manager; `close()` kills whatever is left and removes the directory.
    `network="private"` runs each start in fresh namespaces (raises SandboxError if the machine
    cannot). `workdir` and `cgroup`, when given, belong to the caller, who removes them.
    `confinement`, when given, is what the process that started this one found the machine
    allows (so both agree, and the probe runs once).
    """

    def __init__(
        self,
        program: bytes,
        *,
        name: str = "program.py",
        limits: Limits | None = None,
        network: Network = "inherit",
        workdir: Path | None = None,
        cgroup: PidsCgroup | None = None,
        contain_forks: bool = True,
        die_with_parent: bool = False,
        namespace_init: bool = False,
        confinement: Confinement | None = None,
        on_start: Callable[[SandboxedProcess], None] | None = None,
    ) -> None:
        self.program = program
        self.name = _safe_name(name)
        self.limits = limits or Limits()
        self.network = network
        self._given_workdir = workdir
        self.directory: Path | None = None
        self._cgroup = cgroup
        self._own_cgroup = cgroup is None and contain_forks
        self._die_with_parent = die_with_parent
        # We are alone with the program in a PID namespace (PID 2 under the launcher's init):
        # `kill(-1)` then reaches exactly the program's processes. The caller must know, never
        # guess, and the numbers must agree: on the host `kill(-1)` would end the user's session.
        self._namespace_init = namespace_init and os.getpid() == 2 and os.getppid() == 1
        self._policy: LaunchPolicy | None = None
        self._confinement = confinement
        self._on_start = on_start
        self.processes: list[SandboxedProcess] = []

    def __enter__(self) -> Sandbox:
        try:
            self.open()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def open(self) -> None:
        if self._own_cgroup:
            self._cgroup = PidsCgroup.create(self.limits.processes)
        self._policy = program_policy(
            self.limits,
            network=self.network == "private",
            cgroup_procs=self._cgroup.procs_file if self._cgroup else None,
            die_with_parent=self._die_with_parent,
            kind=self._confinement,
        )
        if self._policy is None:
            raise SandboxError("this machine does not allow a private network namespace")
        if self._given_workdir is not None:
            self.directory = self._given_workdir
        else:
            self.directory = Path(tempfile.mkdtemp(prefix="sockdojo-sandbox-"))
        (self.directory / self.name).write_bytes(self.program)

    @property
    def program_path(self) -> Path:
        assert self.directory is not None, "open the sandbox first"
        return self.directory / self.name

    @property
    def policy(self) -> LaunchPolicy:
        assert self._policy is not None, "open the sandbox first"
        return self._policy

    @property
    def isolation(self) -> str:
        return "private network namespace" if self.policy.network else "this machine's network"

    @property
    def not_isolated(self) -> list[str]:
        """What the program shares with the machine here, in words (empty: nothing we know of)."""
        return self.policy.not_isolated()

    @property
    def contains_forks(self) -> bool:
        """Whether every process it forks dies with it, even under root."""
        return (
            self._cgroup is not None
            or os.geteuid() != 0
            or self._namespace_init
            or self.policy.pid_namespace
        )

    def environment(self) -> dict[str, str]:
        assert self.directory is not None
        return {
            "PATH": "/usr/local/bin:/usr/bin:/bin",
            "HOME": str(self.directory),
            "TMPDIR": str(self.directory),
            "LANG": "C.UTF-8",
            "LC_ALL": "C.UTF-8",
            "TERM": "dumb",
        }

    def start(self) -> SandboxedProcess:
        """Start the program (again). `-I`: ignore PYTHON* variables and user site-packages."""
        assert self.directory is not None, "open the sandbox first"
        program = [interpreter(), "-I", "-u", "-B", str(self.program_path)]
        command = self.policy.command(program, directory=self.directory)
        try:
            popen = subprocess.Popen(
                command,
                cwd=self.directory,
                env=self.environment(),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                start_new_session=True,
                close_fds=True,
            )
        except OSError as error:
            raise SandboxError(f"could not start the program: {error}") from None
        process = SandboxedProcess(popen, self.limits)
        self.processes.append(process)
        if self._on_start is not None:
            self._on_start(process)
        return process

    def kill_all(self) -> None:
        """Kill every process this sandbox started, and everything they started."""
        for process in self.processes:
            process.kill_group()
        if self._namespace_init:
            with contextlib.suppress(OSError):
                os.kill(-1, signal.SIGKILL)
        if self._cgroup is not None:
            self._cgroup.kill_all()
        for process in self.processes:
            process.kill()
        if self._namespace_init:
            reap_children()

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.kill_all()
        for process in self.processes:
            process.finish(timeout=0.5)
        if self._own_cgroup and self._cgroup is not None:
            self._cgroup.remove()
        if self.directory is not None and self._given_workdir is None:
            shutil.rmtree(self.directory, ignore_errors=True)


def _safe_name(name: str) -> str:
    """A plain file name for the copy (tracebacks show it), never a path."""
    base = os.path.basename(name.replace("\\", "/")).strip()
    if not base or base.startswith(".") or "\x00" in base:
        base = "program.py"
    return base


@dataclass(frozen=True)
class RunResult:
    returncode: int | None
    timed_out: bool
    stdout: str
    stderr: str
    stdout_bytes: int
    stderr_bytes: int
    seconds: float
    description: str


def run_python(
    program: bytes,
    *,
    name: str = "program.py",
    limits: Limits | None = None,
    network: Network = "inherit",
) -> RunResult:
    """Run a Python program to its end (or its wall-clock limit) in a fresh sandbox."""
    with Sandbox(program, name=name, limits=limits, network=network) as box:
        process = box.start()
        process.wait(box.limits.wall_seconds + 5.0)
        returncode = process.returncode
        box.kill_all()
        for item in box.processes:
            item.finish()
        return RunResult(
            returncode=returncode,
            timed_out=process.timed_out,
            stdout=process.stdout.text(),
            stderr=process.stderr.text(),
            stdout_bytes=process.stdout.total,
            stderr_bytes=process.stderr.total,
            seconds=time.monotonic() - process.started,
            description=describe_status(returncode, timed_out=process.timed_out),
        )
