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

Where it runs: `prove()` (here, in the checker's process: the launching side) starts `driver` (a
small `python -m` program, running the steps of `proof_steps`) inside a private network and PID
namespace when the machine allows, and reads its steps as the JSON lines of `proof_protocol`.
The driver, not the checker, connects to the program: a socket lives in the network namespace
of the process that creates it, and only a process inside the namespace reaches the program's
127.0.0.1. Running the whole driver inside (rather than `nsenter` into a
namespace held open by something else) also means the namespace, its TIME_WAIT and every process
in it vanish when the driver ends, however it ends. Without namespaces the driver runs on the
host network, and only when the port is free. The driver confines the program further (its own
PID namespace and root file system, `nobody`): see `sockdojo.sandbox`.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import IO, Literal

from sockdojo.challenges.reuse_address.port_state import HOST, TIME_WAIT, local_states, port_busy
from sockdojo.challenges.reuse_address.proof_protocol import (
    Outcome,
    ProofResult,
    Step,
    Timing,
    read_line,
)
from sockdojo.challenges.reuse_address.proof_steps import last_line
from sockdojo.net import kernel_view
from sockdojo.sandbox import Limits, PidsCgroup, PrivateNetwork, private_network
from sockdojo.sandbox.isolation import confinement

__all__ = ["Outcome", "Placement", "ProofResult", "Step", "Timing", "proof_limits", "prove"]

# Where the proof may run: "private" only in a namespace of its own, "host" only on this
# machine's network, "auto" the first where possible.
Placement = Literal["auto", "private", "host"]
HOST_NETWORK = "this machine's network"
HOST_SHARES = "it shares this machine's network (its services on 127.0.0.1, abstract Unix sockets)"


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
    placement: Placement = "auto",
    timing: Timing | None = None,
    on_step: Callable[[Step], None] | None = None,
) -> ProofResult:
    """Run the proof and return what happened. Never leaves a process behind."""
    timing = timing or Timing()
    chosen = private_network() if placement in ("auto", "private") else None
    refused = _refused(chosen, placement, port)
    if refused is not None:
        return refused
    where = chosen.description if chosen is not None else HOST_NETWORK
    if on_step is not None:
        on_step(Step("isolation", _where_text(chosen, port)))
    limits = proof_limits(timing)
    with tempfile.TemporaryDirectory(prefix="sockdojo-proof-") as workdir:
        cgroup = PidsCgroup.create(limits.processes) if os.geteuid() == 0 else None
        try:
            argv = _driver_argv(name, port, workdir, timing, limits)
            if cgroup is not None:
                argv += ["--cgroup", str(cgroup.path)]
            if chosen is not None and chosen.pid_namespace:
                argv.append("--namespace-init")
            if chosen is None:
                argv.append("--host")
                kind = confinement(False)
                if kind is not None:
                    argv += ["--confinement", kind.name]
            if not kernel_view.sees_sockets():
                argv.append("--no-kernel-view")
            command = chosen.command(argv) if chosen is not None else argv
            result = _run_driver(command, program, workdir, timing, on_step, host=chosen is None)
            result.isolation = where  # the driver only knows the network it is in, not why
            if chosen is None and result.ran:
                result.not_isolated.append(HOST_SHARES)
            return result
        finally:
            if cgroup is not None:
                cgroup.remove()


def _refused(chosen: PrivateNetwork | None, placement: Placement, port: int) -> ProofResult | None:
    """Why the proof cannot run here at all, or None."""
    if chosen is None and placement == "private":
        return ProofResult(Outcome.SKIPPED, reason="this machine does not allow a private network")
    busy = port_busy(port) if chosen is None else None
    if busy:
        return ProofResult(
            Outcome.SKIPPED,
            isolation=HOST_NETWORK,
            reason=(
                f"{busy} on this machine, and this machine allows no private network "
                "namespace to run your program in. Stop whatever uses the port and run the "
                "check again"
            ),
        )
    return None


def _where_text(chosen: PrivateNetwork | None, port: int) -> str:
    if chosen is not None:
        return f"running it in a {chosen.description}, with a {HOST}:{port} of its own"
    lingering = TIME_WAIT in (local_states(port) or [])
    state = "free, though still in TIME_WAIT from an earlier run" if lingering else "free"
    return f"running it on {HOST_NETWORK} (no private namespace here; {HOST}:{port} is {state})"


def _driver_argv(name: str, port: int, workdir: str, timing: Timing, limits: Limits) -> list[str]:
    return [
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
        return ProofResult(Outcome.ERROR, reason=f"could not start the proof: {error}")
    groups: list[int] = []
    try:
        assert driver.stdin is not None
        assert driver.stdout is not None
        assert driver.stderr is not None
        errors: list[bytes] = []
        stderr = driver.stderr
        stderr_reader = threading.Thread(
            target=lambda: errors.append(stderr.read(65536)), daemon=True
        )
        stderr_reader.start()
        with contextlib.suppress(BrokenPipeError):
            driver.stdin.write(program)
        with contextlib.suppress(BrokenPipeError):
            driver.stdin.close()
        deadline = time.monotonic() + timing.total + 10.0
        result = _relay(driver.stdout, deadline, on_step, groups if host else None)
        if result is None and time.monotonic() >= deadline:
            return ProofResult(Outcome.ERROR, reason="the proof did not finish in time")
        driver.wait(timeout=5.0)
        if result is None:
            stderr_reader.join(1.0)
            tail = last_line(b"".join(errors).decode("utf-8", "replace")) or "no result"
            return ProofResult(Outcome.ERROR, reason=f"the proof stopped unexpectedly ({tail})")
        return result
    finally:
        _stop(driver, groups, host=host)


def _relay(
    stream: IO[bytes],
    deadline: float,
    on_step: Callable[[Step], None] | None,
    groups: list[int] | None,
) -> ProofResult | None:
    """Pass the driver's steps on as they come, note its process groups (`groups`, on the
    host), until its output ends or the deadline passes; its result, if it gave one."""
    lines: queue.Queue[bytes | None] = queue.Queue()
    threading.Thread(target=_read_lines, args=(stream, lines), daemon=True).start()
    result: ProofResult | None = None
    while (remaining := deadline - time.monotonic()) > 0:
        try:
            line = lines.get(timeout=remaining)
        except queue.Empty:
            continue
        if line is None:
            return result
        message = read_line(line)
        if message is None:
            continue
        if message.step is not None and on_step is not None:
            on_step(message.step)
        elif message.group is not None and groups is not None:
            groups.append(message.group)
        elif message.result is not None:
            result = message.result
    return None


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
        # In a PID namespace this is enough on its own: the launcher and the driver (PID 1) die,
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
