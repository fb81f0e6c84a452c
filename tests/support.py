"""Helpers shared by the tests: free ports, waiting for listeners, real processes."""

from __future__ import annotations

import contextlib
import os
import select
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar, Literal, TypedDict, TypeVar, Unpack

if TYPE_CHECKING:
    import click.testing

T = TypeVar("T")

LEARNERS = Path(__file__).parent / "learners"


def free_port() -> int:
    """A TCP port nobody listens on right now (tests never use the fixed 1337)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def burst(count: int, work: Callable[[int], T], timeout: float = 120.0) -> list[T]:
    """`work(0)` … `work(count - 1)` on as many threads, released together by one barrier.

    The answers in order of the numbers; an exception in any of them fails the test.
    """
    barrier = threading.Barrier(count)
    answers: dict[int, T] = {}
    errors: list[BaseException] = []
    lock = threading.Lock()

    def run(number: int) -> None:
        try:
            barrier.wait(timeout=30)
            answer = work(number)
        except BaseException as error:  # handed to the test, which fails with it
            with lock:
                errors.append(error)
            return
        with lock:
            answers[number] = answer

    threads = [threading.Thread(target=run, args=(n,), daemon=True) for n in range(count)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + timeout
    for thread in threads:
        thread.join(timeout=max(0.0, deadline - time.monotonic()))
    if errors:
        raise errors[0]
    assert len(answers) == count, f"{count - len(answers)} of {count} did not finish in time"
    return [answers[n] for n in range(count)]


def wait_listening(port: int, host: str = "127.0.0.1", timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=0.2):
            return
        time.sleep(0.02)
    raise AssertionError(f"nothing started listening on {host}:{port} within {timeout} s")


def wait_listening_quietly(port: int, host: str = "127.0.0.1", timeout: float = 10.0) -> None:
    """Wait for a listener without connecting to it (a connection would be a learner's turn)."""
    from sockdojo.net import kernel_view

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if kernel_view.listener_for(host, port) is not None:
            return
        time.sleep(0.02)
    raise AssertionError(f"nothing started listening on {host}:{port} within {timeout} s")


def sockdojo_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "sockdojo", *args]


def run_sockdojo(
    *args: str,
    input: str | None = None,
    timeout: float = 30,
    env: dict[str, str] | None = None,
    within: list[str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """The real `sockdojo` command, run to completion (no terminal, stdin closed unless given).

    `within`: the command that runs it elsewhere (`ip netns exec NAME`)."""
    return subprocess.run(
        [*(within or []), *sockdojo_command(*args)],
        capture_output=True,
        text=True,
        timeout=timeout,
        input=input,
        stdin=None if input is not None else subprocess.DEVNULL,
        env=env,
        check=False,
    )


def in_process(*args: str, input: str | None = None) -> click.testing.Result:
    """The `sockdojo` command run inside this process (Click's CliRunner): the same code as
    `run_sockdojo`, without a second of interpreter start-up. For what needs no process of its
    own (no terminal, no signals, no second program)."""
    from click.testing import CliRunner

    from sockdojo.cli.main import cli

    return CliRunner().invoke(cli, list(args), input=input, catch_exceptions=False)


class PopenOptions(TypedDict, total=False):
    """What a test may change in how its background process starts."""

    env: Mapping[str, str] | None
    umask: int
    preexec_fn: Callable[[], object] | None


class PopenDefaults(TypedDict):
    """How every background process of a test starts (`Processes.DEFAULTS`)."""

    stdin: int
    stdout: int
    stderr: int
    text: Literal[True]
    start_new_session: bool


class Processes:
    """Background processes started by a test, each in its own group, all killed afterwards."""

    # How a test's background process runs: no input, its output and errors in one text pipe,
    # a session of its own (so that its whole group can be killed).
    DEFAULTS: ClassVar[PopenDefaults] = {
        "stdin": subprocess.DEVNULL,
        "stdout": subprocess.PIPE,
        "stderr": subprocess.STDOUT,
        "text": True,
        "start_new_session": True,
    }

    def __init__(self) -> None:
        self.started: list[subprocess.Popen[str]] = []

    def start(self, command: list[str], **options: Unpack[PopenOptions]) -> subprocess.Popen[str]:
        process = subprocess.Popen(command, **self.DEFAULTS, **options)
        self.started.append(process)
        return process

    def learner(self, script: str, *args: str) -> subprocess.Popen[str]:
        return self.start([sys.executable, "-u", str(LEARNERS / script), *args])

    def sockdojo(self, *args: str) -> subprocess.Popen[str]:
        return self.start([sys.executable, "-u", "-m", "sockdojo", *args])

    def output_until(self, process: subprocess.Popen[str], marker: str, timeout: float = 10) -> str:
        """What the process printed, read until `marker` shows (or `timeout`, or its end); then
        stopped, and the rest of what it printed added. For servers whose children print
        after the client already has its answer (socat's forks)."""
        assert process.stdout is not None
        descriptor = process.stdout.fileno()
        got = b""
        deadline = time.monotonic() + timeout
        while marker.encode() not in got and time.monotonic() < deadline:
            ready, _, _ = select.select([descriptor], [], [], 0.1)
            if ready:
                chunk = os.read(descriptor, 65536)
                if not chunk:
                    break
                got += chunk
        return got.decode(errors="replace") + self.stop(process)

    def stop(
        self, process: subprocess.Popen[str], timeout: float = 10, *, how: int = signal.SIGINT
    ) -> str:
        """Ctrl-C the process (as a learner would) and return everything it printed.

        A shell loop can start its next round as the Ctrl-C arrives and carry on (until the
        timeout): stop those with `how=signal.SIGKILL`."""
        if process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, how)
        try:
            output, _ = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            output, _ = process.communicate()
        return output or ""

    def cleanup(self) -> None:
        for process in self.started:
            if process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    process.communicate(timeout=5)


def serve_dojo(
    processes: Processes, *extra: str, **popen: Unpack[PopenOptions]
) -> tuple[subprocess.Popen[str], str]:
    """Start `sockdojo serve` on a free port; its process and base URL once it answers."""
    import httpx

    port = free_port()
    process = processes.start(
        [sys.executable, "-u", "-m", "sockdojo", "serve", "--port", str(port), *extra], **popen
    )
    base = f"http://127.0.0.1:{port}"
    import api_contract  # the web stack: only for the tests that serve a dojo

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.HTTPError):
            if api_contract.get(base + "/api/v1/modules", timeout=5).status_code == 200:
                return process, base
        if process.poll() is not None:
            raise AssertionError(f"sockdojo serve stopped: {process.communicate()[0]}")
        time.sleep(0.05)
    raise AssertionError("sockdojo serve did not answer within 60 s")


def recv_all(sock: socket.socket, limit: int = 1 << 20, timeout: float = 10.0) -> bytes:
    """Read until the peer closes (bounded), like a careful learner's client."""
    sock.settimeout(timeout)
    data = bytearray()
    while len(data) < limit:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    return bytes(data)


def processes_mentioning(marker: str) -> list[int]:
    """PIDs whose command line contains `marker` (visible across PID namespaces from here)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                if marker.encode() in f.read():
                    found.append(int(entry))
        except OSError:
            continue
    return found


def flag_from_client_challenge(processes: Processes, account: str, port: int | None = None) -> str:
    """The flag `sockdojo --account ACCOUNT run client` hands a client that says hello."""
    port = port or free_port()
    challenge = processes.sockdojo(
        "--account", account, "run", "client", "--port", str(port), "--once"
    )
    wait_listening_quietly(port)
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(b"hello\n")
        flag = recv_all(sock).decode().strip()
    assert challenge.wait(timeout=10) == 0
    return flag
