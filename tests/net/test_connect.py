from __future__ import annotations

import socket
import threading
import time

import pytest

from sockdojo.net.connect import Connect, ConnectFailure, ConnectStats, connect_with_retry


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_refusal_is_retried_briefly_then_reported() -> None:
    port = free_port()
    started = time.monotonic()
    with pytest.raises(ConnectFailure) as failure:
        connect_with_retry("127.0.0.1", port, window=0.3)
    assert failure.value.kind is Connect.REFUSED
    assert failure.value.attempts > 1
    assert time.monotonic() - started < 1.5


def test_a_server_that_starts_late_is_reached() -> None:
    port = free_port()
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)

    def start_later() -> None:
        time.sleep(0.2)
        listener.bind(("127.0.0.1", port))
        listener.listen()

    thread = threading.Thread(target=start_later)
    thread.start()
    stats = ConnectStats()
    try:
        with connect_with_retry("127.0.0.1", port, window=3, stats=stats):
            pass
        assert stats.attempts > 1
    finally:
        thread.join()
        listener.close()


def test_attempts_are_bounded_in_count() -> None:
    with pytest.raises(ConnectFailure) as failure:
        connect_with_retry("127.0.0.1", free_port(), window=60, interval=0.001, max_attempts=3)
    assert failure.value.attempts == 3
