"""The `server` checker against real learner servers and tools on free ports."""

from __future__ import annotations

import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Callable
from typing import ParamSpec

import pytest

from sockdojo.challenges import observe
from sockdojo.challenges.server import check_server
from sockdojo.challenges.server_judge import Address
from sockdojo.net import kernel_view
from sockdojo.net.connect import connect_with_retry
from sockdojo.net.transcript import Transcript
from support import Processes, wait_listening_quietly

P = ParamSpec("P")
FLAG = b"sockdojo{AQACAAAAAAHGYDct1elHym7VPcHnNdFE}\n"
needs_proc = pytest.mark.skipif(kernel_view.tcp_sockets() is None, reason="needs /proc/net/tcp")


def check(port: int) -> tuple[bool, str | None, Transcript]:
    transcript = Transcript()
    result = check_server("127.0.0.1", port, lambda: FLAG, "sockdojo", transcript)
    return result.passed, result.diagnosis.code if result.diagnosis else None, transcript


def output_of(processes: Processes, process: subprocess.Popen[str]) -> str:
    return processes.stop(process, timeout=5)


def test_seed_server_prints_the_flag(processes: Processes, port: int) -> None:
    server = processes.learner("seed_server.py", str(port))
    wait_listening_quietly(port)
    passed, code, transcript = check(port)
    assert (passed, code) == (True, None)
    assert FLAG.decode().strip() in output_of(processes, server)
    # The transcript never shows the flag: the learner must get it from their own server.
    assert FLAG.strip().decode() not in "\n".join(transcript.lines)


@pytest.mark.skipif(shutil.which("nc") is None, reason="needs netcat-openbsd")
def test_netcat_listener_receives_the_flag(processes: Processes, port: int) -> None:
    server = processes.start(["nc", "-l", "127.0.0.1", str(port)])
    wait_listening_quietly(port)
    assert check(port)[:2] == (True, None)
    assert FLAG.decode().strip() in output_of(processes, server)


def test_nothing_listening(port: int) -> None:
    started = time.monotonic()
    passed, code, _ = check(port)
    assert (passed, code) == (False, "nothing-listening")
    assert time.monotonic() - started < 10


@needs_proc
def test_ipv6_only_listener_is_diagnosed(processes: Processes, port: int) -> None:
    if not socket.has_ipv6:
        pytest.skip("no IPv6 on this machine")
    processes.learner("ipv6_only_server.py", str(port))
    wait_listening_quietly(port, host="::1")
    assert check(port)[:2] == (False, "listening-ipv6-only")


@needs_proc
def test_listener_on_another_loopback_address(processes: Processes, port: int) -> None:
    server = processes.start(["socat", f"TCP-LISTEN:{port},bind=127.0.0.2,reuseaddr", "-"])
    wait_listening_quietly(port, host="127.0.0.2")
    assert check(port)[:2] == (False, "listening-elsewhere")
    processes.stop(server)


@needs_proc
def test_never_accepts(processes: Processes, port: int) -> None:
    processes.learner("never_accepts.py", str(port))
    wait_listening_quietly(port)
    assert check(port)[:2] == (False, "never-accepted")


@needs_proc
def test_never_reads(processes: Processes, port: int) -> None:
    processes.learner("never_reads.py", str(port))
    wait_listening_quietly(port)
    assert check(port)[:2] == (False, "never-read")


@needs_proc
def test_reads_sixteen_bytes_only(processes: Processes, port: int) -> None:
    processes.learner("reads_16.py", str(port))
    wait_listening_quietly(port)
    assert check(port)[:2] == (False, "partly-read")


def test_accepts_and_closes_without_reading(processes: Processes, port: int) -> None:
    processes.learner("accept_and_close.py", str(port))
    wait_listening_quietly(port)
    assert check(port)[:2] == (False, "closed-before-reading")


def test_our_own_client_challenge_on_the_port(processes: Processes, port: int) -> None:
    processes.sockdojo("run", "client", "--port", str(port))
    wait_listening_quietly(port)
    assert check(port)[:2] == (False, "own-server-running")


def test_our_own_eight_ball_on_the_port(processes: Processes, port: int) -> None:
    processes.sockdojo("run", "eight-ball", "--port", str(port))
    wait_listening_quietly(port)
    assert check(port)[:2] == (False, "own-server-running")


# --- between bind() and listen() -----------------------------------------------------------


@needs_proc
def test_a_server_between_bind_and_listen_gets_a_moment_more(
    port: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Bound when our tries run out, listening a moment later: the check waits for it (the
    # wait widened here, and the tries cut short, so that the listen() lands inside it).
    monkeypatch.setattr(observe, "BIND_TO_LISTEN", 10.0)
    with socket.socket() as server:
        server.bind(("127.0.0.1", port))
        late = threading.Timer(0.3, server.listen)
        late.start()
        try:
            attempt, sock = observe.connect(1, Address("127.0.0.1", port), 0.05, Transcript())
        finally:
            late.join()
        assert sock is not None, attempt
        sock.close()


@needs_proc
def test_a_listen_that_lands_after_the_last_try_is_connected_to(
    port: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The worst moment: listen() between our last refused try and our look at the port. The
    # port is then in use, so nothing is "bound without listening", and yet the server is up.
    server = socket.socket()
    server.bind(("127.0.0.1", port))

    def then_listening(connect: Callable[P, socket.socket]) -> Callable[P, socket.socket]:
        def refused_then_listening(*args: P.args, **kwargs: P.kwargs) -> socket.socket:
            monkeypatch.undo()
            try:
                return connect(*args, **kwargs)
            finally:
                server.listen()

        return refused_then_listening

    monkeypatch.setattr(observe, "connect_with_retry", then_listening(connect_with_retry))
    with server:
        attempt, sock = observe.connect(1, Address("127.0.0.1", port), 0.05, Transcript())
        assert sock is not None, attempt
        sock.close()
