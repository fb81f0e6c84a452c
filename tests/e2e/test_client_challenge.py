"""`sockdojo run client` as a learner meets it: a real process, real tools, real flags."""

from __future__ import annotations

import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Callable

import pytest

from support import Processes, recv_all, wait_listening_quietly

Cli = Callable[..., subprocess.CompletedProcess[str]]


def start_client_challenge(processes: Processes, port: int, *extra: str) -> subprocess.Popen[str]:
    process = processes.sockdojo("run", "client", "--port", str(port), *extra)
    wait_listening_quietly(port)
    return process


@pytest.mark.skipif(shutil.which("nc") is None, reason="needs netcat-openbsd")
def test_netcat_gets_the_flag_and_ends_by_itself(processes: Processes, port: int, cli: Cli) -> None:
    challenge = start_client_challenge(processes, port, "--once")
    nc = subprocess.run(
        ["nc", "-N", "127.0.0.1", str(port)],
        input="hi\n",
        capture_output=True,
        text=True,
        timeout=10,
        check=False,
    )
    flag = nc.stdout.strip()
    assert flag.startswith("sockdojo{")
    assert challenge.wait(timeout=10) == 0  # --once: exits after the first flag
    console = challenge.stdout.read() if challenge.stdout else ""
    assert "connected" in console
    assert "sent the flag" in console
    submitted = cli("submit", flag)
    assert submitted.returncode == 0, submitted.stdout


def test_seed_client_script_works(processes: Processes, port: int) -> None:
    start_client_challenge(processes, port)
    learner = processes.learner("seed_client.py", str(port))
    output, _ = learner.communicate(timeout=10)
    assert output.startswith("sockdojo{")


def test_silent_client_gets_a_hint_not_the_flag_and_may_still_send(
    processes: Processes, port: int
) -> None:
    challenge = start_client_challenge(processes, port)
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        started = time.monotonic()
        hint = sock.recv(4096)
        assert time.monotonic() - started < 6
        assert b"send" in hint
        assert b"sockdojo{" not in hint
        sock.sendall(b"sorry")
        assert recv_all(sock).startswith(b"sockdojo{")
    assert "hint" in processes.stop(challenge)


def test_many_clients_at_once(processes: Processes, port: int) -> None:
    start_client_challenge(processes, port)
    flags: list[bytes] = []

    def one() -> None:
        with socket.create_connection(("127.0.0.1", port), timeout=20) as sock:
            sock.sendall(b"hi")
            flags.append(recv_all(sock))

    # Several silent clients hold connections open while the others are served.
    idle = [socket.create_connection(("127.0.0.1", port)) for _ in range(50)]
    threads = [threading.Thread(target=one) for _ in range(100)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    for sock in idle:
        sock.close()
    assert len(flags) == 100
    assert len(set(flags)) == 1
    assert flags[0].startswith(b"sockdojo{")


def test_udp_gets_a_hint_that_this_is_tcp(processes: Processes, port: int) -> None:
    start_client_challenge(processes, port)
    # The UDP watcher starts just after the TCP listener; datagrams sent before it are lost,
    # as UDP datagrams are, so send again a few times like a learner would.
    answer = b""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
        udp.settimeout(0.5)
        for _ in range(20):
            udp.sendto(b"hi", ("127.0.0.1", port))
            try:
                answer, _ = udp.recvfrom(4096)
                break
            except TimeoutError:
                continue
    assert b"SOCK_STREAM" in answer


def test_port_in_use_is_diagnosed(processes: Processes, port: int, cli: Cli) -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", port))
        squatter.listen()
        result = cli("run", "client", "--port", str(port))
    assert result.returncode == 1
    assert "already in use" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr


def test_ctrl_c_stops_cleanly(processes: Processes, port: int) -> None:
    challenge = start_client_challenge(processes, port)
    output = processes.stop(challenge)
    assert challenge.returncode == 0
    assert "Traceback" not in output
    assert "Stopped after 0 connections." in output
