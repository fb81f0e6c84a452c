"""The shared accept loop under real sockets on loopback, including hostile peers."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import struct
import threading
import time
from collections.abc import Callable, Iterator

import pytest

from sockdojo.challenges.client import HINT, ClientChallengeProtocol
from sockdojo.challenges.eight_ball import BANNER, EightBallProtocol
from sockdojo.net import accept_loop
from sockdojo.net.accept_loop import AcceptLoop, Peer, listening_socket, raise_open_file_limit
from sockdojo.net.protocol import ServerProtocol

FLAG = b"sockdojo{in-process}\n"
PREFIX = b"sockdojo"


class RunningLoop:
    def __init__(
        self, factory: Callable[[Peer], ServerProtocol], *, max_connections: int = 4096
    ) -> None:
        self.sock = listening_socket("127.0.0.1", 0)
        self.port = int(self.sock.getsockname()[1])
        self.notes: list[str] = []
        self._loop = asyncio.new_event_loop()
        self._accept: AcceptLoop | None = None
        ready = threading.Event()

        def main() -> None:
            asyncio.set_event_loop(self._loop)
            self._accept = AcceptLoop(
                self.sock,
                factory,
                lambda p, t: self.notes.append(f"{p} {t}"),
                flag=lambda: FLAG,
                max_connections=max_connections,
            )
            ready.set()
            self._loop.run_until_complete(self._accept.serve())

        self._thread = threading.Thread(target=main, daemon=True)
        self._thread.start()
        ready.wait(5)

    def flag_counts(self, within: float = 10.0) -> tuple[int, int]:
        """(flags read, flags left unread) once the loop has counted one (bounded wait)."""
        assert self._accept is not None
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            counts = (self._accept.flags_delivered, self._accept.flags_unread)
            if any(counts):
                return counts
            time.sleep(0.01)
        return self._accept.flags_delivered, self._accept.flags_unread

    def stop(self) -> None:
        assert self._accept is not None
        self._loop.call_soon_threadsafe(self._accept.stop)
        self._thread.join(10)
        self.sock.close()


@pytest.fixture
def client_server() -> Iterator[RunningLoop]:
    running = RunningLoop(
        lambda _p: ClientChallengeProtocol(PREFIX, hint_after=0.3, give_up_after=2)
    )
    yield running
    running.stop()


@pytest.fixture
def eight_ball_server() -> Iterator[RunningLoop]:
    running = RunningLoop(lambda _p: EightBallProtocol(PREFIX))
    yield running
    running.stop()


def connect(port: int) -> socket.socket:
    return socket.create_connection(("127.0.0.1", port), timeout=10)


def read_to_end(sock: socket.socket, limit: int = 1 << 20) -> bytes:
    data = b""
    while len(data) < limit:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    return data


def test_listening_socket_sets_reuseaddr() -> None:
    with listening_socket("127.0.0.1", 0) as sock:
        assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR) == 1


def test_flag_then_close(client_server: RunningLoop) -> None:
    with connect(client_server.port) as sock:
        sock.sendall(b"hi")
        assert read_to_end(sock) == FLAG


def test_silent_client_gets_the_hint_then_the_flag(client_server: RunningLoop) -> None:
    with connect(client_server.port) as sock:
        assert sock.recv(1024) == HINT
        sock.sendall(b"ok")
        assert read_to_end(sock) == FLAG


def test_flag_survives_a_client_that_keeps_sending(client_server: RunningLoop) -> None:
    # Unread input at close() would make the kernel reset the connection and destroy the flag:
    # the loop drains before it closes.
    with connect(client_server.port) as sock:
        sock.sendall(b"x" * 100)
        time.sleep(0.05)
        sock.sendall(b"y" * 5000)
        assert read_to_end(sock) == FLAG


def test_flood_is_bounded_and_the_server_keeps_serving(client_server: RunningLoop) -> None:
    with connect(client_server.port) as flood:
        flood.settimeout(10)
        sent = 0
        got = b""
        try:
            while sent < 8 * 1024 * 1024:
                flood.sendall(b"\0" * 65536)
                sent += 65536
        except OSError:
            pass
        with contextlib.suppress(OSError):
            got = read_to_end(flood)
        assert got in (b"", FLAG) or got.startswith(FLAG[:5])
    with connect(client_server.port) as sock:
        sock.sendall(b"hi")
        assert read_to_end(sock) == FLAG


def test_resets_do_not_disturb_other_clients(client_server: RunningLoop) -> None:
    for _ in range(20):
        rude = connect(client_server.port)
        rude.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        rude.close()
    with connect(client_server.port) as sock:
        sock.sendall(b"hi")
        assert read_to_end(sock) == FLAG


def test_eight_ball_survives_random_garbage(eight_ball_server: RunningLoop) -> None:
    with connect(eight_ball_server.port) as sock:
        assert sock.recv(len(BANNER)) == BANNER
        # The 8-ball may answer and close before all of it is sent.
        with contextlib.suppress(OSError):
            sock.sendall(os.urandom(200 * 1024))
        with contextlib.suppress(ConnectionResetError):
            read_to_end(sock)
    assert ask(eight_ball_server.port, b"flag\n").endswith(FLAG)


def ask(port: int, question: bytes) -> bytes:
    with connect(port) as sock:
        sock.sendall(question)
        return read_to_end(sock)


def test_many_idle_connections_do_not_block_a_real_client(eight_ball_server: RunningLoop) -> None:
    raise_open_file_limit()
    idle = [connect(eight_ball_server.port) for _ in range(300)]
    try:
        started = time.monotonic()
        assert ask(eight_ball_server.port, b"flag?\n") == BANNER + FLAG
        assert time.monotonic() - started < 5
    finally:
        for sock in idle:
            sock.close()


def test_hundreds_of_simultaneous_clients_are_all_served(eight_ball_server: RunningLoop) -> None:
    raise_open_file_limit()

    async def one(i: int) -> bytes:
        reader, writer = await asyncio.open_connection("127.0.0.1", eight_ball_server.port)
        await reader.readexactly(len(BANNER))
        writer.write(b"flag?\n" if i % 2 else b"Will it work?\n")
        await writer.drain()
        answer = await reader.read()
        writer.close()
        return answer

    async def main() -> list[bytes]:
        return await asyncio.wait_for(asyncio.gather(*(one(i) for i in range(500))), 60)

    answers = asyncio.run(main())
    assert len(answers) == 500
    assert sum(answer == FLAG for answer in answers) == 250
    assert all(answer.endswith(b"\n") and answer for answer in answers)


def test_eight_ball_answers_a_question_without_newline_after_a_pause(
    eight_ball_server: RunningLoop,
) -> None:
    with connect(eight_ball_server.port) as sock:
        sock.recv(len(BANNER))
        started = time.monotonic()
        sock.sendall(b"the flag, please")
        assert read_to_end(sock) == FLAG
        assert time.monotonic() - started < 2


def test_client_that_closes_before_the_answer_is_noted(eight_ball_server: RunningLoop) -> None:
    with connect(eight_ball_server.port) as sock:
        sock.recv(len(BANNER))
        sock.sendall(b"flag?\n")
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and not any("hung up" in n for n in eight_ball_server.notes):
        time.sleep(0.02)
    assert any("hung up before reading the answer" in n for n in eight_ball_server.notes)


def test_half_close_is_not_mistaken_for_hanging_up(eight_ball_server: RunningLoop) -> None:
    with connect(eight_ball_server.port) as sock:
        sock.recv(len(BANNER))
        sock.sendall(b"flag?\n")
        sock.shutdown(socket.SHUT_WR)
        assert read_to_end(sock) == FLAG
    time.sleep(0.2)
    assert not any("hung up" in n for n in eight_ball_server.notes)


def test_when_full_the_longest_silent_connection_makes_room() -> None:
    running = RunningLoop(lambda _p: ClientChallengeProtocol(PREFIX), max_connections=20)
    idle = []
    try:
        talker = connect(running.port)
        talker.sendall(b"")  # connected, has not spoken yet either
        for _ in range(20):
            idle.append(connect(running.port))
        # Every slot is taken by connections that never said a word. A real client is served
        # at once all the same: the oldest silent one is closed to make room.
        with connect(running.port) as real:
            real.sendall(b"hi\n")
            assert read_to_end(real) == FLAG
        evicted = [n for n in running.notes if "of silence to make room" in n]
        assert evicted, running.notes
        assert evicted[0].startswith("#1 ")  # the longest silent, first
        talker.settimeout(5)
        assert talker.recv(100) == b""  # it was the one closed
    finally:
        for sock in idle:
            sock.close()
        running.stop()


def test_the_flag_is_minted_once_and_only_when_a_client_earns_it() -> None:
    asked: list[int] = []

    def flag() -> bytes:
        asked.append(1)
        return FLAG

    sock = listening_socket("127.0.0.1", 0)
    port = int(sock.getsockname()[1])
    notes: list[str] = []
    loop = asyncio.new_event_loop()
    accept = AcceptLoop(
        sock, lambda _p: ClientChallengeProtocol(PREFIX), lambda p, t: notes.append(t), flag=flag
    )
    thread = threading.Thread(target=lambda: loop.run_until_complete(accept.serve()), daemon=True)
    thread.start()
    try:
        with connect(port) as silent:
            silent.shutdown(socket.SHUT_WR)  # says nothing and leaves: earns nothing
            assert read_to_end(silent) == b""
        assert asked == []
        for _ in range(3):
            with connect(port) as client:
                client.sendall(b"hi")
                assert read_to_end(client) == FLAG
        assert asked == [1]  # the same flag for every client of this run
    finally:
        loop.call_soon_threadsafe(accept.stop)
        thread.join(10)
        sock.close()


def test_a_client_busy_for_a_while_before_it_reads_the_flag_has_it_counted(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A learner's client that sends, then does something else for a while (a loaded machine,
    # a print, a sleep) before its recv() still has the flag waiting when the loop's drain of
    # its input ends. It did not close before reading: once it reads, the flag counts as read.
    # Made to happen every time: the client reads only once the loop has seen the flag unread.
    seen_unread = threading.Event()
    kernel_says = accept_loop._client_read_everything

    def watched(writer: asyncio.StreamWriter) -> bool | None:
        answer = kernel_says(writer)
        if answer is False:
            seen_unread.set()
        return answer

    monkeypatch.setattr(accept_loop, "_client_read_everything", watched)
    monkeypatch.setattr(accept_loop, "DRAIN_SECONDS", 0.05)  # the drain's length is not the point
    running = RunningLoop(lambda _p: ClientChallengeProtocol(PREFIX))
    try:
        with connect(running.port) as sock:
            sock.sendall(b"hi")
            assert seen_unread.wait(10), "the loop never looked at the client's unread flag"
            assert read_to_end(sock) == FLAG
        assert running.flag_counts() == (1, 0), running.notes
        assert not any("did not read the flag" in note for note in running.notes)
    finally:
        running.stop()


def test_a_client_that_stays_open_and_never_reads_the_flag_is_not_waited_for_ever(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(accept_loop, "DRAIN_SECONDS", 0.05)
    monkeypatch.setattr(accept_loop, "FLAG_READ_SECONDS", 0.2)
    running = RunningLoop(lambda _p: ClientChallengeProtocol(PREFIX))
    try:
        with connect(running.port) as sock:
            sock.sendall(b"hi")
            assert running.flag_counts() == (0, 1), running.notes
    finally:
        running.stop()
