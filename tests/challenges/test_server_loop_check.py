"""The `server-loop` checker against right and wrong learner servers and real tools."""

from __future__ import annotations

import shutil
import time

import pytest

from sockdojo.challenges.server_loop import CONNECTIONS, check_server_loop
from sockdojo.net import kernel_view
from sockdojo.net.transcript import Transcript
from support import Processes, wait_listening_quietly

FLAG = b"sockdojo{AQADAAAAAAHGYDct1elHym7VPcHnNdFE}\n"
needs_proc = pytest.mark.skipif(kernel_view.tcp_sockets() is None, reason="needs /proc/net/tcp")


def check(port: int) -> tuple[bool, str | None, float]:
    started = time.monotonic()
    result = check_server_loop("127.0.0.1", port, lambda: FLAG, "sockdojo", Transcript())
    code = result.diagnosis.code if result.diagnosis else None
    return result.passed, code, time.monotonic() - started


def judged(processes: Processes, port: int, script: str) -> tuple[bool, str | None, str]:
    """The learner program `script` checked: passed, the diagnosis code, what it printed."""
    server = processes.learner(script, str(port))
    wait_listening_quietly(port)
    passed, code, _ = check(port)
    return passed, code, processes.stop(server)


@pytest.mark.parametrize(
    "script", ["loop_server.py", "loop_no_close.py", "socketserver_loop.py", "asyncio_loop.py"]
)
def test_correct_servers_pass_and_print_every_message(
    processes: Processes, port: int, script: str
) -> None:
    passed, code, printed = judged(processes, port, script)
    assert (passed, code) == (True, None)
    for number in range(1, CONNECTIONS):
        assert f"message {number} of {CONNECTIONS}" in printed
    assert FLAG.decode().strip() in printed


@pytest.mark.skipif(shutil.which("socat") is None, reason="needs socat")
def test_socat_fork_passes(processes: Processes, port: int) -> None:
    server = processes.start(["socat", f"TCP-LISTEN:{port},reuseaddr,fork,bind=127.0.0.1", "-"])
    wait_listening_quietly(port)
    assert check(port)[:2] == (True, None)
    # socat's fork prints what it read after we have our answer: wait for it (bounded).
    assert FLAG.decode().strip() in processes.output_until(server, FLAG.decode().strip())


@pytest.mark.parametrize("script", ["seed_server.py", "loop_closes_listener.py"])
def test_servers_that_stop_after_one_connection_never_get_the_flag(
    processes: Processes, port: int, script: str
) -> None:
    passed, code, printed = judged(processes, port, script)
    assert (passed, code) == (False, "stopped-after-first")
    assert FLAG.decode().strip() not in printed


def test_bind_inside_the_loop_is_not_one_server(processes: Processes, port: int) -> None:
    # Whether the second bind() dies with "Address already in use" depends on which side closed
    # first; either way the learner hears to create and bind once, before the loop.
    processes.learner("loop_bind_inside.py", str(port))
    wait_listening_quietly(port)
    passed, code, _ = check(port)
    assert not passed
    assert code in ("stopped-after-first", "restarted-listener")


@needs_proc
def test_reading_loop_that_never_ends(processes: Processes, port: int) -> None:
    processes.learner("loop_never_leaves_recv.py", str(port))
    wait_listening_quietly(port)
    assert check(port)[:2] == (False, "stuck-on-previous")


@pytest.mark.skipif(shutil.which("nc") is None, reason="needs netcat-openbsd")
def test_shell_loop_restarting_netcat_is_not_a_server_loop(processes: Processes, port: int) -> None:
    processes.start(["bash", "-c", f"for i in 1 2 3 4 5; do nc -l 127.0.0.1 {port}; done"])
    wait_listening_quietly(port)
    passed, code, _ = check(port)
    assert (passed, code) == (False, "restarted-listener")
