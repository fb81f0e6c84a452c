"""Hostile learner programs for the sandbox tests, and a runner that proves one as a user would.

Each attack is the text of a real Python program. It tries one thing the sandbox must prevent,
prints `ATTACK <name>: blocked` or `ATTACK <name>: SUCCEEDED ...` on stderr, and exits 3, so
that the proof ends with "exited" and the line in its `output_tail`. The tests never trust that
line alone: each also checks the target itself (the terminal's input queue, a listener's accept
queue, the marker bytes in memory, the files on the host). Targets are always the test's own
(its pty, its pid, its sockets), and no attack scans the machine: on a broken sandbox (the old
code, which these tests must fail on) a scan would reach every process of the machine.

Run as `python hostile.py` with a JSON spec on stdin, it is the unprivileged CLI stand-in: it
holds a marker in its own memory, proves the program with `prove()` and prints the result and
whether the marker is intact (see `test_sandbox_attacks.py`).
"""

from __future__ import annotations

import ctypes
import json
import sys
import textwrap

REPORT = 'print("ATTACK {name}:", {verdict}, file=sys.stderr, flush=True)\nraise SystemExit(3)\n'


def _attack(name: str, body: str, verdict: str) -> bytes:
    head = "import ctypes, errno, fcntl, glob, json, os, signal, socket, sys, termios\n"
    return (head + textwrap.dedent(body) + REPORT.format(name=name, verdict=verdict)).encode()


def tiocsti(tty: str) -> bytes:
    """Type a command into the terminal `tty` (a path under /dev/pts) of the process that ran us."""
    return _attack(
        "tiocsti",
        f"""
        done = []
        paths = glob.glob("/proc/[0-9]*/fd/[0-9]*")[:20000] + ["/dev/tty", {tty!r}]
        for path in paths:
            try:
                # Only the test's own pty (and a controlling terminal): never anyone else's.
                if os.path.realpath(path) not in ("/dev/tty", {tty!r}):
                    continue
                fd = os.open(path, os.O_RDWR | os.O_NOCTTY)
            except OSError:
                continue
            try:
                for byte in b"#injected\\n":
                    fcntl.ioctl(fd, termios.TIOCSTI, bytes([byte]))
                done.append(path)
            except OSError:
                pass
            finally:
                os.close(fd)
        """,
        '"SUCCEEDED " + " ".join(done) if done else "blocked"',
    )


def join_network(pid: int, port: int) -> bytes:
    """Join the network namespace of process `pid` and connect to 127.0.0.1:`port` there."""
    return _attack(
        "setns",
        f"""
        libc = ctypes.CDLL(None, use_errno=True)
        reached = []
        for path in (f"/proc/{pid}/ns/net", "/proc/1/ns/net"):
            try:
                fd = os.open(path, os.O_RDONLY)
            except OSError:
                continue
            if libc.setns(fd, 0x40000000) == 0:
                try:
                    socket.create_connection(("127.0.0.1", {port}), timeout=1).close()
                    reached.append(path)
                except OSError:
                    pass
            os.close(fd)
        """,
        '"SUCCEEDED " + " ".join(reached) if reached else "blocked"',
    )


def write_memory(pid: int | str, address: int | str) -> bytes:
    """Overwrite 8 bytes at `address` in process `pid` through /proc/PID/mem."""
    return _attack(
        "mem",
        f"""
        wrote = ""
        try:
            with open("/proc/{pid}/mem", "r+b", buffering=0) as mem:
                mem.seek({address})
                mem.write(b"PWNED!!!")
                wrote = "SUCCEEDED"
        except OSError as error:
            wrote = "blocked (" + type(error).__name__ + ")"
        """,
        "wrote",
    )


def unix_sockets(paths: list[str]) -> bytes:
    """Connect to Unix sockets (a path like tmux's, or an abstract name starting with NUL)."""
    return _attack(
        "unix",
        f"""
        reached = []
        for path in {paths!r}:
            try:
                with socket.socket(socket.AF_UNIX) as s:
                    s.settimeout(1)
                    s.connect(path)
                    reached.append(path.replace("\\0", "@"))
            except OSError:
                pass
        """,
        '"SUCCEEDED " + " ".join(reached) if reached else "blocked"',
    )


def files(secrets: list[str], escapes: list[str]) -> bytes:
    """Read the files `secrets`, create the files `escapes` (none of them must work)."""
    return _attack(
        "files",
        f"""
        done = []
        for path in {secrets!r}:
            try:
                done.append("read " + open(path).read().strip())
            except OSError:
                pass
        for path in {escapes!r}:
            try:
                with open(path, "w") as f:
                    f.write("escaped")
                done.append("wrote " + path)
            except OSError:
                pass
        """,
        '"SUCCEEDED " + "; ".join(done) if done else "blocked"',
    )


def fill_disk(chunk_bytes: int, chunks: int) -> bytes:
    """Write files of `chunk_bytes` until the disk refuses (at most `chunks` of them)."""
    return _attack(
        "disk",
        f"""
        written = 0
        block = b"x" * {chunk_bytes}
        for number in range({chunks}):
            try:
                with open(f"fill-{{number}}", "wb") as f:
                    f.write(block)
                written += {chunk_bytes}
            except OSError:
                break
        """,
        '"wrote " + str(written)',
    )


FAKE_PASS = json.dumps(
    {"type": "result", "result": {"outcome": "bound", "steps": [], "time_wait": True}}
)


# Signals to PID 1 and to its parent (the driver, under the old sandbox), ptrace, and a fake
# passing result written to their pipes. Only those processes' fds: never a scan of every
# process, which on a broken sandbox would write into the whole machine.
DRIVER_ATTACKS = f"""
import ctypes, glob, os, signal, socket, sys
libc = ctypes.CDLL(None, use_errno=True)
targets = {{1, os.getppid()}} - {{0, os.getpid()}}
for target in sorted(targets):
    for number in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGKILL):
        try:
            os.kill(target, number)
        except OSError:
            pass
    libc.ptrace(16, target, 0, 0)  # PTRACE_ATTACH
for path in [p for t in sorted(targets) for p in glob.glob(f"/proc/{{t}}/fd/[0-9]*")[:64]]:
    try:
        fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK)
    except OSError:
        continue
    try:
        os.write(fd, ({FAKE_PASS!r} + "\\n").encode())
    except OSError:
        pass
    os.close(fd)
"""


def attack_driver(*, reuse: bool) -> bytes:
    """A server (with or without SO_REUSEADDR) that attacks the driver once it listens."""
    option = "server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n" if reuse else ""
    server = "server = socket.socket()\n" + option
    server += 'server.bind(("127.0.0.1", 1337))\nserver.listen()\n'
    serve = "while True:\n    conn, _ = server.accept()\n    conn.close()\n"
    return ("import socket\n" + server + DRIVER_ATTACKS + serve).encode()


def attack_then_quit() -> bytes:
    """Correct code as written (the analysis passes it), but at run time it attacks the driver
    and quits before listening: only a proof that still runs can tell."""
    quit_early = 'if not os.environ.get("SOCKDOJO_NEVER_SET"):\n    raise SystemExit(1)\n'
    server = "server = socket.socket()\n"
    server += "server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
    server += 'server.bind(("127.0.0.1", 1337))\nserver.listen()\n'
    serve = "while True:\n    server.accept()[0].close()\n"
    return (DRIVER_ATTACKS + quit_early + server + serve).encode()


def leave_daemon() -> bytes:
    """A server that double-forks a daemon out of its session before serving."""
    body = """
        import os, socket, time
        if os.fork() == 0:
            os.setsid()
            if os.fork() == 0:
                time.sleep(120)
            os._exit(0)
        server = socket.socket()
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind(("127.0.0.1", 1337))
        server.listen()
        while True:
            server.accept()[0].close()
        """
    return textwrap.dedent(body).encode()


def _run_as_cli() -> None:
    """The CLI stand-in (run as an unprivileged user): prove the spec's program, report."""
    from sockdojo.challenges.reuse_address.proof import Timing, prove

    spec = json.loads(sys.stdin.read())
    marker = ctypes.create_string_buffer(b"INTACT!!", 8)
    program = spec["program"].replace("{CLI_PID}", str(__import__("os").getpid()))
    program = program.replace("{MARKER}", str(ctypes.addressof(marker)))
    timing = Timing(listen=1.5, restart=3.0)
    result = prove(program.encode(), name=spec["name"], placement="private", timing=timing)
    report = result.as_dict()
    report["marker"] = marker.raw.decode("latin-1")
    print(json.dumps(report))


if __name__ == "__main__":
    _run_as_cli()
