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
