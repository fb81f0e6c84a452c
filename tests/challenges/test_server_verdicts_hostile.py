"""Learners' servers that read in odd ways (tests/learners/hostile_server.py), against the real
checkers: a server that reads the whole flag passes however it reads it, and one that did
accept our connection is never told it closed its listener before accepting."""

from __future__ import annotations

import pytest

from sockdojo.challenges.server import check_server
from sockdojo.challenges.server_loop import check_server_loop
from sockdojo.net import kernel_view
from sockdojo.net.transcript import Transcript
from support import Processes, wait_listening_quietly

FLAG = b"sockdojo{AQACAAAAAAHGYDct1elHym7VPcHnNdFE}\n"
LOOP_FLAG = b"sockdojo{AQADAAAAAAHGYDct1elHym7VPcHnNdFE}\n"
needs_kernel = pytest.mark.skipif(kernel_view.tcp_sockets() is None, reason="needs Linux sockets")


def server_verdict(port: int) -> tuple[bool, str | None]:
    result = check_server("127.0.0.1", port, lambda: FLAG, "sockdojo", Transcript())
    return result.passed, result.diagnosis.code if result.diagnosis else None


@needs_kernel
@pytest.mark.parametrize("mode", ["lowat-select", "peek-waitall"])
def test_a_server_that_consumes_nothing_before_our_end_of_stream_passes(
    processes: Processes, port: int, mode: str
) -> None:
    # It takes the bytes out of its socket only once our end of stream has come (SO_RCVLOWAT
    # above the flag's size and select(); a peek that waits for the end), then reads it all.
    # Holding our end of stream until the kernel shows the bytes read left both waiting: it
    # was told never-read, with the flag printed in its terminal once we gave up.
    for _ in range(3):
        server = processes.learner("hostile_server.py", mode, str(port))
        wait_listening_quietly(port)
        assert server_verdict(port) == (True, None)
        printed, _ = server.communicate(timeout=10)
        assert repr(FLAG) in printed


@needs_kernel
def test_a_loop_that_consumes_nothing_before_our_end_of_stream_passes(
    processes: Processes, port: int
) -> None:
    server = processes.learner("hostile_server.py", "lowat-select-loop", str(port))
    wait_listening_quietly(port)
    result = check_server_loop("127.0.0.1", port, lambda: LOOP_FLAG, "sockdojo", Transcript())
    assert result.passed, result.diagnosis
    assert repr(LOOP_FLAG) in processes.stop(server)


@needs_kernel
def test_a_one_shot_server_that_accepted_late_is_not_told_it_never_accepted(
    processes: Processes, port: int
) -> None:
    # It accepts 50 ms after we connected, closes its listener (it serves one client), reads
    # five bytes and resets. It did accept: closed-before-reading, not that its listener
    # closed with our connection still queued (our last look saw it queued, 10 ms before).
    for _ in range(3):
        server = processes.learner(
            "hostile_server.py", "late-accept-shut-listener-few-reset", str(port), "50"
        )
        wait_listening_quietly(port)
        assert server_verdict(port) == (False, "closed-before-reading")
        processes.stop(server)


@needs_kernel
@pytest.mark.parametrize("late", ["5", "20", "100"])
def test_a_server_that_ends_its_side_a_moment_after_accepting_and_never_reads_fails(
    processes: Processes, port: int, late: str
) -> None:
    # Guards any change to when our end of stream goes: ended first, ours reaches its socket
    # established (close-wait), its later shutdown(SHUT_WR) is acknowledged, the socket is
    # closed in the kernel with our bytes in it and its close() sends no reset. Before
    # c94014b this passed at every delay; so does ending ours 10 ms after sending (tried).
    for _ in range(3):
        server = processes.learner("hostile_server.py", "late-half-close", str(port), late)
        wait_listening_quietly(port)
        assert server_verdict(port) == (False, "closed-before-reading")
        server.wait(timeout=10)
