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


def one_shot_runs(processes: Processes, port: int, *how: str) -> list[tuple[bool, str | None, str]]:
    """Three runs of the `server` checker against a fresh one-shot server each: the verdict
    and what the server printed (it ends by itself)."""
    runs = []
    for _ in range(3):
        server = processes.learner("hostile_server.py", how[0], str(port), *how[1:])
        wait_listening_quietly(port)
        verdict = server_verdict(port)
        printed, _ = server.communicate(timeout=10)
        runs.append((*verdict, printed))
    return runs


@needs_kernel
@pytest.mark.parametrize("mode", ["lowat-select", "peek-waitall"])
def test_a_server_that_consumes_nothing_before_our_end_of_stream_passes(
    processes: Processes, port: int, mode: str
) -> None:
    # It takes the bytes out of its socket only once our end of stream has come (SO_RCVLOWAT
    # above the flag's size and select(); a peek that waits for the end), then reads it all.
    # Holding our end of stream until the kernel shows the bytes read left both waiting: it
    # was told never-read, with the flag printed in its terminal once we gave up.
    for passed, code, printed in one_shot_runs(processes, port, mode):
        assert (passed, code) == (True, None)
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
def test_a_one_shot_server_that_accepted_late_fails_with_either_story(
    processes: Processes, port: int
) -> None:
    # It accepts 50 ms after we connected, closes its listener (it serves one client), reads
    # five bytes and resets. It did accept, but our last look saw our connection queued, and
    # after the reset nothing tells the two apart (the README's "Verdicts under any timing"):
    # it fails, told one of the two stories, and `listener-closed-before-accept` names the
    # other one too.
    for passed, code, _ in one_shot_runs(
        processes, port, "late-accept-shut-listener-few-reset", "50"
    ):
        assert not passed
        assert code in ("closed-before-reading", "listener-closed-before-accept")


@needs_kernel
@pytest.mark.parametrize("late", ["5", "20", "100"])
def test_a_server_that_ends_its_side_a_moment_after_accepting_and_never_reads_fails(
    processes: Processes, port: int, late: str
) -> None:
    # Guards any change to when our end of stream goes: ended first, ours reaches its socket
    # established (close-wait), its later shutdown(SHUT_WR) is acknowledged, the socket is
    # closed in the kernel with our bytes in it and its close() sends no reset. Before
    # c94014b this passed at every delay; so does ending ours 10 ms after sending (tried).
    runs = one_shot_runs(processes, port, "late-half-close", late)
    assert [run[:2] for run in runs] == [(False, "closed-before-reading")] * 3
