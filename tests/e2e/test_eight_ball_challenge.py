"""`sockdojo run eight-ball` against learner clients and hostile peers."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import threading

import pytest

from sockdojo.challenges.eight_ball import BANNER
from support import Processes, recv_all, wait_listening_quietly


def start(processes: Processes, port: int, *extra: str) -> subprocess.Popen[str]:
    process = processes.sockdojo("run", "eight-ball", "--port", str(port), *extra)
    wait_listening_quietly(port)
    return process


def test_learner_client_gets_the_flag_and_the_server_keeps_serving(
    processes: Processes, port: int
) -> None:
    server = start(processes, port)
    for question in ("Can I have the flag?", "Will it rain?", "FLAG please?"):
        learner = processes.learner("eight_ball_client.py", str(port), question)
        output, _ = learner.communicate(timeout=10)
        assert output.startswith(BANNER.decode())
        assert ("sockdojo{" in output) == ("flag" in question.lower())
    assert server.poll() is None
    console = processes.stop(server)
    assert console.count("connected; sent the banner") == 3


@pytest.mark.skipif(shutil.which("nc") is None, reason="needs netcat-openbsd")
def test_netcat_question_without_newline(processes: Processes, port: int) -> None:
    start(processes, port)
    nc = subprocess.run(
        ["nc", "127.0.0.1", str(port)],
        input="what is the flag?",
        capture_output=True,
        text=True,
        timeout=10,
        check=False,
    )
    assert "sockdojo{" in nc.stdout


def test_once_stops_after_the_flag(processes: Processes, port: int) -> None:
    server = start(processes, port, "--once")
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(b"Will it rain?\n")
        recv_all(sock)
    assert server.poll() is None  # no flag yet: still serving
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(b"flag?\n")
        assert b"sockdojo{" in recv_all(sock)
    assert server.wait(timeout=10) == 0


def test_hostile_peers_never_stop_it(processes: Processes, port: int) -> None:
    server = start(processes, port)
    idle = [socket.create_connection(("127.0.0.1", port)) for _ in range(200)]
    garbage = socket.create_connection(("127.0.0.1", port))
    stop = threading.Event()

    def flood() -> None:
        sent = 0
        try:
            while not stop.is_set() and sent < 200 * 1024:
                garbage.sendall(os.urandom(4096))
                sent += 4096
        except OSError:
            pass

    flooder = threading.Thread(target=flood)
    flooder.start()
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
            sock.sendall(b"flag?\n")
            assert recv_all(sock).endswith(b"}\n")
    finally:
        stop.set()
        flooder.join(10)
        garbage.close()
        for sock in idle:
            sock.close()
    assert server.poll() is None
    assert "Traceback" not in processes.stop(server)


def _ask_and_leave(port: int, *, reset: bool) -> None:
    """A client that reads the banner, asks for the flag, and goes without reading the answer."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.recv(len(BANNER))
        if reset:
            sock.setsockopt(
                socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00"
            )
        sock.sendall(b"the flag?\n")


def test_only_flags_the_client_read_are_counted(processes: Processes, port: int) -> None:
    server = start(processes, port)
    _ask_and_leave(port, reset=True)
    _ask_and_leave(port, reset=False)
    learner = processes.learner("eight_ball_client.py", str(port), "The flag?")
    output, _ = learner.communicate(timeout=10)
    assert "sockdojo{" in output
    console = processes.stop(server)
    assert "Stopped after 3 connections." in console
    assert "1 flag read by your client." in console
    assert "2 flags sent, but your client closed before reading it" in console
    assert console.count("the client did not read the flag before it closed") == 2


def test_once_waits_for_a_flag_that_was_read(processes: Processes, port: int) -> None:
    server = start(processes, port, "--once")
    _ask_and_leave(port, reset=False)
    assert server.stdout is not None
    for _ in range(50):  # the console tells when that connection has been dealt with
        line = server.stdout.readline()
        if "did not read the flag" in line or not line:
            break
    assert "did not read the flag" in line
    assert server.poll() is None  # that flag was never read: keep serving
    learner = processes.learner("eight_ball_client.py", str(port), "flag?")
    learner.communicate(timeout=10)
    assert server.wait(timeout=10) == 0
