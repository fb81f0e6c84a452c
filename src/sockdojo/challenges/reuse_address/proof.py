"""The behaviour proof: start the program, connect, kill it mid-connection, start it again.

Why this leaves the port in TIME_WAIT, deterministically: our client connects and sends nothing,
the program accepts. We SIGKILL the program; the kernel closes its sockets for it, and because
nothing unread is waiting on the accepted connection it closes it in order (FIN), not with a
reset. The program's side is now FIN_WAIT2. We read until end of file (leaving nothing unread
on our side either, else *we* would reset) and close; the program's side receives our FIN and
enters TIME_WAIT, where Linux keeps it for 60 seconds. It is the side that closed first that
waits, which is why the server must be the one killed. A new socket may bind an address held in
TIME_WAIT only if both the new socket and the old one had SO_REUSEADDR (the accepted socket
inherits it from the listener). So the restart binds with the option and dies with
`OSError: [Errno 98] Address already in use` without it.

Where it runs: `prove()` (in the checker's process) starts `driver` (a small `python -m`
program) inside a private network and PID namespace when the machine allows, and reads its steps
as JSON lines. The driver, not the checker, connects to the program: a socket lives in the
network namespace of the process that creates it, and only a process inside the namespace
reaches the program's 127.0.0.1. Running the whole driver inside (rather than `nsenter` into a
namespace held open by something else) also means the namespace, its TIME_WAIT and every process
in it vanish when the driver ends, however it ends. Without namespaces the driver runs on the
host network, and only when the port is free.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import IO, Literal

from sockdojo.net import kernel_view
from sockdojo.net.connect import ConnectFailure, connect_with_retry
from sockdojo.sandbox import Limits, PidsCgroup, Sandbox, SandboxedProcess, private_network

HOST = "127.0.0.1"
TIME_WAIT = kernel_view.TIME_WAIT
DRAIN_BYTES = 1 << 20
ERRNO_LINE = re.compile(r"^\s*(?:\w+\.)*\w*Error: \[Errno 98\]")

Outcome = Literal[
    "bound",  # the restart bound: the proof passes
    "address-in-use",  # a start died (or kept failing) with EADDRINUSE
    "no-listen",  # it never listened on the port within the time limit
    "elsewhere",  # it listens, but on another port or address
    "exited",  # it ended (crashed) before listening
    "connect-failed",
    "restart-crashed",  # the restart died of something else
    "restart-timeout",  # the restart neither listened nor died
    "skipped",  # not run here (no namespace and the port is busy, --no-run, ...)
    "error",  # our side failed; never the learner's fault
]


@dataclass(frozen=True)
class Timing:
    """Upper bounds of every wait, in seconds. A correct program needs a fraction of each."""

    listen: float = 5.0  # first start until it listens
    accept: float = 1.0  # our connection until it is accepted
    eof: float = 2.0  # the kill until our side sees the connection closed
    time_wait: float = 1.0  # our close until the kernel shows TIME_WAIT
    restart: float = 5.0  # second start until it listens or dies
    elsewhere: float = 0.5  # seeing a listener on another port until we give up waiting

    @property
    def total(self) -> float:
        return self.listen + self.accept + self.eof + self.time_wait + self.restart + 5.0


@dataclass(frozen=True)
class Step:
    name: str
    text: str
    detail: str | None = None


@dataclass
class ProofResult:
    outcome: Outcome
    isolation: str | None = None
    steps: list[Step] = field(default_factory=list)
    error_line: str | None = None  # the program's own line: `OSError: [Errno 98] ...`
    output_tail: str | None = None  # the end of its stderr, when it crashed
    time_wait: bool | None = None  # did the kill leave the port in TIME_WAIT?
    accepted: bool | None = None
    elsewhere: list[str] = field(default_factory=list)
    reason: str | None = None  # why skipped / what went wrong on our side

    @property
    def passed(self) -> bool:
        return self.outcome == "bound"

    @property
    def ran(self) -> bool:
        return self.outcome not in ("skipped", "error")

    def as_dict(self) -> dict[str, object]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> ProofResult:
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        raw_steps = values.pop("steps", [])
        steps = [Step(**s) for s in raw_steps] if isinstance(raw_steps, list) else []
        return cls(steps=steps, **values)  # type: ignore[arg-type]


# ---------------------------------------------------------------------------------------------
# Inside: the steps, run by the driver where the program runs


class _Seen:
    def __init__(self, kind: str, seconds: float, where: list[str] | None = None) -> None:
        self.kind = kind  # "listening", "exited", "elsewhere", "timeout", "unknown"
        self.seconds = seconds
        self.where = where or []


def _address(sock: kernel_view.TcpSocket) -> str:
    host = f"[{sock.local_host}]" if ":" in sock.local_host else sock.local_host
    return f"{host}:{sock.local_port}"


def _wait_listening(
    process: SandboxedProcess, port: int, timeout: float, grace: float, *, alone: bool
) -> _Seen:
    """Until the program listens on HOST:port, exits, or time runs out.

    `alone`: we are in a private namespace, so every listener is the program's and a listener
    elsewhere (another port, ::1) is worth reporting early instead of waiting the full timeout.
    """
    start = time.monotonic()
    elsewhere_since: float | None = None
    while True:
        elapsed = time.monotonic() - start
        sockets = kernel_view.tcp_sockets()
        if sockets is None:
            return _Seen("unknown", elapsed)  # no /proc: let the connect step do the waiting
        if kernel_view.listener_for(HOST, port) is not None:
            return _Seen("listening", elapsed)
        if process.poll() is not None:
            return _Seen("exited", elapsed)
        others = [_address(s) for s in sockets if s.state == kernel_view.LISTEN] if alone else []
        if others:
            elsewhere_since = elsewhere_since or time.monotonic()
            if time.monotonic() - elsewhere_since >= grace:
                return _Seen("elsewhere", elapsed, sorted(set(others)))
        if elapsed >= timeout:
            return _Seen("timeout", elapsed, sorted(set(others)))
        time.sleep(0.01)


def _wait_accepted(port: int, timeout: float) -> bool | None:
    """The listener's accept queue (rx_queue in /proc) drains when accept() takes our connection."""
    deadline = time.monotonic() + timeout
    while True:
        listener = kernel_view.listener_for(HOST, port)
        if listener is None:
            return None  # no /proc, or the program closed its listener: we cannot tell
        if listener.receive_queue == 0:
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.01)


def _drain_until_closed(client: socket.socket, timeout: float) -> str:
    """'eof', 'reset' or 'timeout'. Reading everything matters: closing a socket with unread
    data sends a reset, and a reset would destroy the program's side instead of TIME_WAIT."""
    deadline = time.monotonic() + timeout
    received = 0
    while received < DRAIN_BYTES:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return "timeout"
        client.settimeout(remaining)
        try:
            chunk = client.recv(65536)
        except TimeoutError:
            return "timeout"
        except ConnectionResetError:
            return "reset"
        except OSError:
            return "reset"
        if not chunk:
            return "eof"
        received += len(chunk)
    return "timeout"


def local_states(port: int) -> list[int] | None:
    """The state of every TCP socket whose local port is `port` (TIME_WAIT included: that is
    exactly what the proof needs to see), or None where the kernel cannot tell us."""
    sockets = kernel_view.tcp_sockets(port, every_state=True)
    if sockets is None:
        return None
    return [s.state for s in sockets if s.local_port == port]


def _wait_time_wait(port: int, timeout: float) -> bool | None:
    deadline = time.monotonic() + timeout
    while True:
        states = local_states(port)
        if states is None:
            return None
        if TIME_WAIT in states:
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.01)


def address_in_use_line(*texts: str) -> str | None:
    """The program's own line about EADDRINUSE, exactly as it printed it."""
    candidates: list[str] = []
    for text in texts:
        for line in text.splitlines():
            if "Address already in use" in line or "[Errno 98]" in line:
                candidates.append(line.strip())
    for line in candidates:
        if ERRNO_LINE.match(line):
            return line
    return candidates[-1] if candidates else None


def last_line(text: str) -> str | None:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if not lines:
        return None
    line = lines[-1]
    return line if len(line) <= 200 else line[:197] + "..."


def _tail(text: str, lines: int = 8) -> str | None:
    kept = text.rstrip().splitlines()[-lines:]
    return "\n".join(kept) or None


def port_busy(port: int) -> str | None:
    """Why HOST:port cannot be used for the proof on this machine, or None if it can.

    A port held only in TIME_WAIT counts as free: a correct program binds it anyway, and one
    without SO_REUSEADDR shows the very error the proof is about on its first start.
    """
    states = local_states(port)
    if states is not None:
        busy = [state for state in states if state != TIME_WAIT]
        if not busy:
            return None
        what = "has a listener" if kernel_view.LISTEN in busy else "is in use"
        return f"port {port} {what}"
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((HOST, port))
        except OSError as error:
            return f"{HOST}:{port} cannot be bound ({error.strerror})"
    return None


def run_steps(
    box: Sandbox,
    port: int,
    timing: Timing,
    emit: Callable[[Step], None],
    *,
    alone: bool,
) -> ProofResult:
    """The proof itself, in the network where the program runs. Kills what it starts."""
    steps: list[Step] = []

    def step(name: str, text: str, detail: str | None = None) -> None:
        item = Step(name, text, detail)
        steps.append(item)
        emit(item)

    def result(outcome: Outcome, **extra: object) -> ProofResult:
        box.kill_all()
        return ProofResult(outcome, isolation=box.isolation, steps=steps, **extra)  # type: ignore[arg-type]

    where = f"{HOST}:{port}"
    first = box.start()
    step("started", "started your program")
    seen = _wait_listening(first, port, timing.listen, timing.elsewhere, alone=alone)
    if seen.kind == "exited":
        first.finish()
        if first.setup_error:
            return result("error", reason=f"the sandbox could not start it: {first.setup_error}")
        stderr = first.stderr.text()
        in_use = address_in_use_line(stderr, first.stdout.text())
        if in_use:
            step("died", f"it {first.describe()} before listening:", in_use)
            return result("address-in-use", error_line=in_use, output_tail=_tail(stderr))
        step("exited", f"it {first.describe()} before listening", last_line(stderr))
        return result("exited", error_line=last_line(stderr), output_tail=_tail(stderr))
    if seen.kind == "elsewhere":
        places = ", ".join(seen.where)
        step("elsewhere", f"it listens on {places}, not on {where}")
        return result("elsewhere", elsewhere=seen.where)
    if seen.kind == "timeout":
        extra = f" (it listens on {', '.join(seen.where)})" if seen.where else ""
        step("no-listen", f"it did not listen on {where} within {timing.listen:g} s{extra}")
        return result("no-listen", elsewhere=seen.where)
    if seen.kind == "listening":
        step("listening", f"it listens on {where} (after {seen.seconds:.2f} s)")

    try:
        client = connect_with_retry(
            HOST, port, window=timing.listen if seen.kind == "unknown" else 1.0
        )
    except ConnectFailure as failure:
        step("connect-failed", f"could not connect to {where}: {failure.kind}", failure.detail)
        return result("connect-failed", reason=str(failure))
    with client:
        step("connected", f"connected to it from {HOST}:{client.getsockname()[1]}")
        accepted = _wait_accepted(port, timing.accept)
        if accepted is True:
            step("accepted", "it accepted the connection")
        elif accepted is False:
            step("not-accepted", f"it did not accept() the connection within {timing.accept:g} s")
        already = first.poll()
        box.kill_all()
        if already is None:
            step("killed", "killed it (SIGKILL) while the connection was open")
        else:
            step("ended", f"it had already ended by itself ({first.describe()})")
        closed = _drain_until_closed(client, timing.eof)
    # Our side is closed now (end of `with`): the program's side moves to TIME_WAIT.
    time_wait = _wait_time_wait(port, timing.time_wait) if closed == "eof" else False
    if time_wait:
        step("time-wait", f"the kernel now holds {where} in TIME_WAIT (for about a minute)")
    elif time_wait is False:
        why = {
            "reset": "the connection was reset, not closed",
            "timeout": "the connection did not close",
        }.get(closed, "nothing is waiting")
        step("no-time-wait", f"the port is not in TIME_WAIT ({why}), so the restart proves less")

    second = box.start()
    step("restarted", "started it again at once")
    again = _wait_listening(second, port, timing.restart, timing.elsewhere, alone=False)
    if again.kind in ("listening", "unknown"):
        if again.kind == "unknown":
            with contextlib.suppress(ConnectFailure):
                connect_with_retry(HOST, port, window=timing.restart).close()
        step("bound", f"the restarted program bound {where} and listens")
        return result("bound", time_wait=time_wait, accepted=accepted)
    still_running = second.poll() is None
    box.kill_all()
    second.finish()
    stderr = second.stderr.text()
    in_use = address_in_use_line(stderr, second.stdout.text())
    if in_use:
        verb = "keeps failing" if still_running else "died"
        step("died", f"the restarted program {verb}:", in_use)
        return result("address-in-use", error_line=in_use, time_wait=time_wait, accepted=accepted)
    if not still_running:
        step("crashed", f"the restarted program {second.describe()}", last_line(stderr))
        return result(
            "restart-crashed",
            error_line=last_line(stderr),
            output_tail=_tail(stderr),
            time_wait=time_wait,
            accepted=accepted,
        )
    step("stuck", f"the restarted program did not listen within {timing.restart:g} s")
    return result("restart-timeout", time_wait=time_wait, accepted=accepted)


# ---------------------------------------------------------------------------------------------
# Outside: start the driver where it should run, relay its steps, clean up whatever happens

Isolation = Literal["auto", "private", "host"]


def proof_limits(timing: Timing) -> Limits:
    # Each run must outlive the waits of the proof; the wall clock is only for runaways.
    return Limits(wall_seconds=max(timing.listen, timing.restart) + timing.accept + timing.eof + 5)


def _package_root() -> str:
    import sockdojo

    return str(Path(sockdojo.__file__).resolve().parent.parent)


def prove(
    program: bytes,
    *,
    name: str,
    port: int = 1337,
    isolation: Isolation = "auto",
    timing: Timing | None = None,
    on_step: Callable[[Step], None] | None = None,
) -> ProofResult:
    """Run the proof and return what happened. Never leaves a process behind."""
    timing = timing or Timing()
    chosen = private_network() if isolation in ("auto", "private") else None
    if chosen is None and isolation == "private":
        return ProofResult("skipped", reason="this machine does not allow a private network")
    if chosen is None:
        busy = port_busy(port)
        if busy:
            return ProofResult(
                "skipped",
                isolation="this machine's network",
                reason=(
                    f"{busy} on this machine, and this machine allows no private network "
                    "namespace to run your program in. Stop whatever uses the port and run the "
                    "check again"
                ),
            )
    where = chosen.description if chosen is not None else "this machine's network"
    if on_step is not None:
        if chosen is not None:
            text = f"running it in a {where}, with a {HOST}:{port} of its own"
        else:
            lingering = TIME_WAIT in (local_states(port) or [])
            state = "free, though still in TIME_WAIT from an earlier run" if lingering else "free"
            text = f"running it on {where} (no private namespace here; {HOST}:{port} is {state})"
        on_step(Step("isolation", text))
    limits = proof_limits(timing)
    with tempfile.TemporaryDirectory(prefix="sockdojo-proof-") as workdir:
        cgroup = PidsCgroup.create(limits.processes) if os.geteuid() == 0 else None
        try:
            argv = [
                sys.executable,
                "-s",
                "-B",
                "-m",
                "sockdojo.challenges.reuse_address.driver",
                "--port",
                str(port),
                "--name",
                name,
                "--workdir",
                workdir,
                "--timing",
                json.dumps(asdict(timing)),
                "--limits",
                json.dumps(asdict(limits)),
            ]
            if cgroup is not None:
                argv += ["--cgroup", str(cgroup.path)]
            if chosen is not None and chosen.pid_namespace:
                argv.append("--namespace-init")
            if chosen is None:
                argv.append("--host")
            command = chosen.command(argv) if chosen is not None else argv
            result = _run_driver(command, program, workdir, timing, on_step, host=chosen is None)
            result.isolation = where  # the driver only knows the network it is in, not why
            return result
        finally:
            if cgroup is not None:
                cgroup.remove()


def _read_lines(stream: IO[bytes], lines: queue.Queue[bytes | None]) -> None:
    with contextlib.suppress(OSError, ValueError):
        for line in stream:
            lines.put(line)
    lines.put(None)


def _run_driver(
    command: list[str],
    program: bytes,
    workdir: str,
    timing: Timing,
    on_step: Callable[[Step], None] | None,
    *,
    host: bool,
) -> ProofResult:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PYTHONPATH": _package_root(),
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
    }
    try:
        driver = subprocess.Popen(
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=workdir,
            env=env,
            # Its own session: Ctrl-C in the terminal reaches only us, and we decide how the
            # driver and the program end (below), instead of a half-killed tree.
            start_new_session=True,
        )
    except OSError as error:
        return ProofResult("error", reason=f"could not start the proof: {error}")
    groups: list[int] = []
    errors: list[bytes] = []
    try:
        assert driver.stdin is not None
        assert driver.stdout is not None
        assert driver.stderr is not None
        stderr_reader = threading.Thread(
            target=lambda: errors.append(driver.stderr.read(65536) if driver.stderr else b""),
            daemon=True,
        )
        stderr_reader.start()
        with contextlib.suppress(BrokenPipeError):
            driver.stdin.write(program)
        with contextlib.suppress(BrokenPipeError):
            driver.stdin.close()
        lines: queue.Queue[bytes | None] = queue.Queue()
        threading.Thread(target=_read_lines, args=(driver.stdout, lines), daemon=True).start()
        deadline = time.monotonic() + timing.total + 10.0
        result: ProofResult | None = None
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return ProofResult("error", reason="the proof did not finish in time")
            try:
                line = lines.get(timeout=remaining)
            except queue.Empty:
                continue
            if line is None:
                break
            try:
                message = json.loads(line)
            except ValueError:
                continue
            kind = message.get("type")
            if kind == "step" and on_step is not None:
                on_step(Step(message["name"], message["text"], message.get("detail")))
            elif kind == "group" and host:
                groups.append(int(message["pgid"]))
            elif kind == "result":
                result = ProofResult.from_dict(message["result"])
        driver.wait(timeout=5.0)
        if result is None:
            stderr_reader.join(1.0)
            tail = last_line(b"".join(errors).decode("utf-8", "replace")) or "no result"
            return ProofResult("error", reason=f"the proof stopped unexpectedly ({tail})")
        return result
    finally:
        _stop(driver, groups, host=host)


def _stop(driver: subprocess.Popen[bytes], groups: list[int], *, host: bool) -> None:
    interrupted = driver.poll() is None
    if interrupted:
        if host:
            # On the host the driver cleans up after itself on SIGTERM (kills the program's
            # process groups and every orphan it adopted); give it a moment to do so.
            with contextlib.suppress(OSError):
                driver.send_signal(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                driver.wait(timeout=2.0)
        # In a PID namespace this is enough on its own: unshare and the driver (PID 1) die,
        # and the kernel kills everything else in the namespace.
        with contextlib.suppress(OSError):
            os.killpg(driver.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            driver.wait(timeout=5.0)
    if host and interrupted:
        # The program's groups, in case the driver died before killing them. Only after an
        # interruption: once the driver ended normally they are gone and the numbers may be
        # someone else's.
        for group in groups:
            with contextlib.suppress(OSError):
                os.killpg(group, signal.SIGKILL)
    for stream in (driver.stdin, driver.stdout, driver.stderr):
        if stream is not None:
            with contextlib.suppress(OSError):
                stream.close()
