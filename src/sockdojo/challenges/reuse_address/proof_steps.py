"""The steps of the behaviour proof, run by the driver where the program runs (see `proof`).

Each step either continues (returns None, leaving what it saw on the `_Proof`) or ends the proof
with a `ProofResult`; `run_steps` runs them in order. Every wait goes through `poll_until`.
"""

from __future__ import annotations

import contextlib
import re
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum
from typing import TypeVar

from sockdojo.challenges.reuse_address.port_state import HOST, TIME_WAIT, local_states
from sockdojo.challenges.reuse_address.proof_protocol import Outcome, ProofResult, Step, Timing
from sockdojo.net import kernel_view
from sockdojo.net.connect import ConnectFailure, connect_with_retry
from sockdojo.sandbox import Sandbox, SandboxedProcess

DRAIN_BYTES = 1 << 20
POLL_SECONDS = 0.01
ERRNO_LINE = re.compile(r"^\s*(?:\w+\.)*\w*Error: \[Errno 98\]")

T = TypeVar("T")


def poll_until(check: Callable[[], T | None], timeout: float) -> T | None:
    """The first value of `check()` that is not None, checked at least once; None on timeout."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value is not None or time.monotonic() >= deadline:
            return value
        time.sleep(POLL_SECONDS)


class Seen(Enum):
    LISTENING = "listening"
    EXITED = "exited"
    ELSEWHERE = "elsewhere"  # listening, but only on other addresses
    TIMEOUT = "timeout"
    UNKNOWN = "unknown"  # no /proc: the connect step does the waiting


class Closed(Enum):
    EOF = "eof"
    RESET = "reset"
    TIMEOUT = "timeout"


def _address(sock: kernel_view.TcpSocket) -> str:
    host = f"[{sock.local_host}]" if ":" in sock.local_host else sock.local_host
    return f"{host}:{sock.local_port}"


@dataclass
class _Listening:
    """What `wait_listening` saw: how, after how long, and the other listeners (sorted)."""

    seen: Seen
    seconds: float
    where: list[str] = field(default_factory=list)


def wait_listening(
    process: SandboxedProcess, port: int, timeout: float, grace: float, *, alone: bool
) -> _Listening:
    """Until the program listens on HOST:port, exits, or time runs out.

    `alone`: we are in a private namespace, so every listener is the program's and a listener
    elsewhere (another port, ::1) is worth reporting early instead of waiting the full timeout.
    """
    start = time.monotonic()
    elsewhere_since: float | None = None
    others: list[str] = []

    def check() -> _Listening | None:
        nonlocal elsewhere_since, others
        elapsed = time.monotonic() - start
        sockets = kernel_view.tcp_sockets()
        if sockets is None:
            return _Listening(Seen.UNKNOWN, elapsed)
        if kernel_view.listener_for(HOST, port) is not None:
            return _Listening(Seen.LISTENING, elapsed)
        if process.poll() is not None:
            return _Listening(Seen.EXITED, elapsed)
        found = [_address(s) for s in sockets if s.state == kernel_view.LISTEN] if alone else []
        others = sorted(set(found))
        if others:
            elsewhere_since = elsewhere_since or time.monotonic()
            if time.monotonic() - elsewhere_since >= grace:
                return _Listening(Seen.ELSEWHERE, elapsed, others)
        return None

    seen = poll_until(check, timeout)
    return seen or _Listening(Seen.TIMEOUT, time.monotonic() - start, others)


def wait_accepted(port: int, timeout: float) -> bool | None:
    """The listener's accept queue (rx_queue in /proc) drains when accept() takes our connection.
    None: no /proc, or the program closed its listener, so we cannot tell."""

    def check() -> tuple[bool | None] | None:
        listener = kernel_view.listener_for(HOST, port)
        if listener is None:
            return (None,)
        return (True,) if listener.receive_queue == 0 else None

    seen = poll_until(check, timeout)
    return False if seen is None else seen[0]


def wait_time_wait(port: int, timeout: float) -> bool | None:
    def check() -> tuple[bool | None] | None:
        states = local_states(port)
        if states is None:
            return (None,)
        return (True,) if TIME_WAIT in states else None

    seen = poll_until(check, timeout)
    return False if seen is None else seen[0]


def drain_until_closed(client: socket.socket, timeout: float) -> Closed:
    """Reading everything matters: closing a socket with unread data sends a reset, and a reset
    would destroy the program's side instead of leaving it in TIME_WAIT."""
    deadline = time.monotonic() + timeout
    received = 0
    while received < DRAIN_BYTES:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return Closed.TIMEOUT
        client.settimeout(remaining)
        try:
            chunk = client.recv(65536)
        except TimeoutError:
            return Closed.TIMEOUT
        except OSError:
            return Closed.RESET
        if not chunk:
            return Closed.EOF
        received += len(chunk)
    return Closed.TIMEOUT


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


class _Proof:
    """One run of the proof: what the steps saw so far, and how they report it."""

    def __init__(
        self,
        box: Sandbox,
        port: int,
        timing: Timing,
        emit: Callable[[Step], None],
        *,
        alone: bool,
    ) -> None:
        self.box = box
        self.port = port
        self.timing = timing
        self.emit = emit
        self.alone = alone
        self.where = f"{HOST}:{port}"
        self.steps: list[Step] = []
        self.first: SandboxedProcess | None = None
        self.seen_first: _Listening | None = None
        self.client: socket.socket | None = None
        self.accepted: bool | None = None
        self.time_wait: bool | None = None

    def step(self, name: str, text: str, detail: str | None = None) -> None:
        item = Step(name, text, detail)
        self.steps.append(item)
        self.emit(item)

    def result(
        self,
        outcome: Outcome,
        *,
        reason: str | None = None,
        elsewhere: list[str] | None = None,
        error_line: str | None = None,
        output_tail: str | None = None,
    ) -> ProofResult:
        self.box.kill_all()
        return ProofResult(
            outcome,
            isolation=self.box.isolation,
            steps=self.steps,
            not_isolated=self.box.not_isolated,
            reason=reason,
            elsewhere=elsewhere or [],
            error_line=error_line,
            output_tail=output_tail,
            # What the steps so far saw (None where they did not get that far).
            time_wait=self.time_wait,
            accepted=self.accepted,
        )

    # -- the steps, in order ------------------------------------------------------------------

    def say_what_is_shared(self) -> ProofResult | None:
        if self.box.not_isolated:
            shared = "; ".join(self.box.not_isolated)
            self.step("not-isolated", f"this machine allows fewer walls around it: {shared}")
        return None

    def start(self) -> ProofResult | None:
        self.first = self.box.start()
        self.step("started", "started your program")
        timing = self.timing
        self.seen_first = wait_listening(
            self.first, self.port, timing.listen, timing.elsewhere, alone=self.alone
        )
        return None

    def listening(self) -> ProofResult | None:
        first, seen = self.first, self.seen_first
        assert first is not None
        assert seen is not None
        if seen.seen is Seen.EXITED:
            first.finish()
            if first.setup_error:
                reason = f"the sandbox could not start it: {first.setup_error}"
                return self.result(Outcome.ERROR, reason=reason)
            stderr = first.stderr.text()
            in_use = address_in_use_line(stderr, first.stdout.text())
            if in_use:
                self.step("died", f"it {first.describe()} before listening:", in_use)
                return self.result(
                    Outcome.ADDRESS_IN_USE, error_line=in_use, output_tail=_tail(stderr)
                )
            self.step("exited", f"it {first.describe()} before listening", last_line(stderr))
            return self.result(
                Outcome.EXITED, error_line=last_line(stderr), output_tail=_tail(stderr)
            )
        if seen.seen is Seen.ELSEWHERE:
            places = ", ".join(seen.where)
            self.step("elsewhere", f"it listens on {places}, not on {self.where}")
            return self.result(Outcome.ELSEWHERE, elsewhere=seen.where)
        if seen.seen is Seen.TIMEOUT:
            extra = f" (it listens on {', '.join(seen.where)})" if seen.where else ""
            self.step(
                "no-listen",
                f"it did not listen on {self.where} within {self.timing.listen:g} s{extra}",
            )
            return self.result(Outcome.NO_LISTEN, elsewhere=seen.where)
        if seen.seen is Seen.LISTENING:
            self.step("listening", f"it listens on {self.where} (after {seen.seconds:.2f} s)")
        return None

    def connect(self) -> ProofResult | None:
        assert self.seen_first is not None
        window = self.timing.listen if self.seen_first.seen is Seen.UNKNOWN else 1.0
        try:
            self.client = connect_with_retry(HOST, self.port, window=window)
        except ConnectFailure as failure:
            self.step(
                "connect-failed",
                f"could not connect to {self.where}: {failure.kind}",
                failure.detail,
            )
            return self.result(Outcome.CONNECT_FAILED, reason=str(failure))
        self.step("connected", f"connected to it from {HOST}:{self.client.getsockname()[1]}")
        self.accepted = wait_accepted(self.port, self.timing.accept)
        if self.accepted is True:
            self.step("accepted", "it accepted the connection")
        elif self.accepted is False:
            self.step(
                "not-accepted",
                f"it did not accept() the connection within {self.timing.accept:g} s",
            )
        return None

    def kill_mid_connection(self) -> ProofResult | None:
        first, client = self.first, self.client
        assert first is not None
        assert client is not None
        already = first.poll()
        self.box.kill_all()
        if already is None:
            self.step("killed", "killed it (SIGKILL) while the connection was open")
        else:
            self.step("ended", f"it had already ended by itself ({first.describe()})")
        closed = drain_until_closed(client, self.timing.eof)
        client.close()  # our side closed: the program's side moves to TIME_WAIT
        if closed is Closed.EOF:
            self.time_wait = wait_time_wait(self.port, self.timing.time_wait)
        else:
            self.time_wait = False
        if self.time_wait:
            self.step(
                "time-wait",
                f"the kernel now holds {self.where} in TIME_WAIT (for about a minute)",
            )
        elif self.time_wait is False:
            why = {
                Closed.RESET: "the connection was reset, not closed",
                Closed.TIMEOUT: "the connection did not close",
            }.get(closed, "nothing is waiting")
            self.step(
                "no-time-wait",
                f"the port is not in TIME_WAIT ({why}), so the restart proves less",
            )
        return None

    def restart(self) -> ProofResult:
        second = self.box.start()
        self.step("restarted", "started it again at once")
        timing = self.timing
        again = wait_listening(second, self.port, timing.restart, timing.elsewhere, alone=False)
        if again.seen in (Seen.LISTENING, Seen.UNKNOWN):
            if again.seen is Seen.UNKNOWN:
                with contextlib.suppress(ConnectFailure):
                    connect_with_retry(HOST, self.port, window=timing.restart).close()
            self.step("bound", f"the restarted program bound {self.where} and listens")
            return self.result(Outcome.BOUND)
        still_running = second.poll() is None
        self.box.kill_all()
        second.finish()
        stderr = second.stderr.text()
        in_use = address_in_use_line(stderr, second.stdout.text())
        if in_use:
            verb = "keeps failing" if still_running else "died"
            self.step("died", f"the restarted program {verb}:", in_use)
            return self.result(Outcome.ADDRESS_IN_USE, error_line=in_use)
        if not still_running:
            self.step("crashed", f"the restarted program {second.describe()}", last_line(stderr))
            return self.result(
                Outcome.RESTART_CRASHED,
                error_line=last_line(stderr),
                output_tail=_tail(stderr),
            )
        self.step("stuck", f"the restarted program did not listen within {timing.restart:g} s")
        return self.result(Outcome.RESTART_TIMEOUT)


def run_steps(
    box: Sandbox,
    port: int,
    timing: Timing,
    emit: Callable[[Step], None],
    *,
    alone: bool,
) -> ProofResult:
    """The proof itself, in the network where the program runs. Kills what it starts."""
    proof = _Proof(box, port, timing, emit, alone=alone)
    try:
        for step in (
            proof.say_what_is_shared,
            proof.start,
            proof.listening,
            proof.connect,
            proof.kill_mid_connection,
        ):
            ended = step()
            if ended is not None:
                return ended
        return proof.restart()
    finally:
        if proof.client is not None:
            proof.client.close()
