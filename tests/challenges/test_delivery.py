"""`delivery.deliver` against in-process peers on loopback: every ending is a record."""

from __future__ import annotations

import socket
import struct
import threading
import time
from collections.abc import Callable, Iterator

import pytest

from sockdojo.challenges.delivery import deliver
from sockdojo.challenges.records import Delivery, End
from sockdojo.net import kernel_view
from sockdojo.net.transcript import Transcript

PAYLOAD = b"sockdojo{AQACAAAAAAHGYDct1elHym7VPcHnNdFE}\n"
needs_kernel = pytest.mark.skipif(kernel_view.tcp_sockets() is None, reason="needs Linux sockets")


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    yield sock
    sock.close()


def serve_once(
    listener: socket.socket, behave: Callable[[socket.socket], object]
) -> threading.Thread:
    def run() -> None:
        conn, _ = listener.accept()
        with conn:
            behave(conn)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def read_all(conn: socket.socket) -> None:
    while conn.recv(1024):
        pass


def reset(conn: socket.socket) -> None:
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


def talk(listener: socket.socket, behave: Callable[[socket.socket], object] | None) -> Delivery:
    if behave is not None:
        thread = serve_once(listener, behave)
    sock = socket.create_connection(listener.getsockname(), timeout=5)
    with sock:
        delivery = deliver(sock, PAYLOAD, Transcript(), wait=1.0)
    if behave is not None:
        thread.join(5)
    return delivery


def test_a_peer_that_reads_everything(listener: socket.socket) -> None:
    delivery = talk(listener, read_all)
    assert delivery.end is End.CLOSED
    assert delivery.read == len(PAYLOAD)


def test_a_peer_that_resets_at_once(listener: socket.socket) -> None:
    def reset_on_first_byte(conn: socket.socket) -> None:
        conn.recv(1)  # after connect() has returned on our side, or it sees the reset itself
        reset(conn)

    delivery = talk(listener, reset_on_first_byte)
    assert delivery.end is End.RESET


def test_a_peer_that_half_closes_and_then_reads(listener: socket.socket) -> None:
    def half(conn: socket.socket) -> None:
        conn.shutdown(socket.SHUT_WR)
        read_all(conn)

    assert talk(listener, half).end is End.CLOSED


@needs_kernel
@pytest.mark.parametrize("late", [0.0, 0.05, 0.3])
def test_a_peer_that_ends_its_side_then_closes_without_reading(
    listener: socket.socket, late: float
) -> None:
    # Our end of stream waits for the kernel to show our bytes read, so the server's socket is
    # still there, holding them, when it closes: a reset. Before, at 50 ms, this was CLOSED.
    def half_then_close(conn: socket.socket) -> None:
        conn.shutdown(socket.SHUT_WR)
        time.sleep(late)

    delivery = talk(listener, half_then_close)
    assert delivery.end is End.RESET
    if late:  # else the reset may come before any look we keep: nothing seen, which is true
        assert delivery.unread == len(PAYLOAD)
        assert delivery.accepted is True


@needs_kernel
def test_a_peer_that_ends_its_side_and_never_reads(listener: socket.socket) -> None:
    done = threading.Event()

    def half_then_wait(conn: socket.socket) -> None:
        conn.shutdown(socket.SHUT_WR)
        done.wait(3)

    transcript = Transcript()
    thread = serve_once(listener, half_then_wait)
    with socket.create_connection(listener.getsockname(), timeout=5) as sock:
        delivery = deliver(sock, PAYLOAD, transcript, wait=0.5)
    done.set()
    thread.join(5)
    assert delivery.end is End.OPEN
    assert delivery.unread == len(PAYLOAD)
    assert "closed its side without reading" in "\n".join(transcript.lines)


@needs_kernel
def test_a_peer_that_never_reads(listener: socket.socket) -> None:
    done = threading.Event()
    delivery = talk(listener, lambda _conn: done.wait(3))
    done.set()
    assert delivery.end is End.OPEN
    assert delivery.accepted is True
    assert delivery.unread == len(PAYLOAD)


@needs_kernel
def test_a_connection_never_accepted(listener: socket.socket) -> None:
    delivery = talk(listener, None)
    assert delivery.end is End.OPEN
    assert delivery.accepted is False
    assert delivery.unread == len(PAYLOAD)


@needs_kernel
def test_a_peer_that_reads_a_few_bytes_and_waits(listener: socket.socket) -> None:
    done = threading.Event()

    def few(conn: socket.socket) -> None:
        conn.recv(10)
        done.wait(3)

    delivery = talk(listener, few)
    done.set()
    assert delivery.end is End.OPEN
    assert delivery.read == 10
