"""Every way a learner's server goes wrong ends in the right verdict, never a traceback.

Real learner programs (tests/learners/misbehaving_server.py) on free ports, with no sleeps to
make the races polite: they close the instant they accept, reset, die on the second
connection, bind without listening, listen on another port or speak UDP.
"""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from sockdojo.challenges import observe
from sockdojo.challenges import server as server_module
from sockdojo.challenges import server_loop as server_loop_module
from sockdojo.challenges.server import check_server
from sockdojo.challenges.server_loop import check_server_loop
from sockdojo.net import kernel_view
from sockdojo.net.transcript import Transcript
from support import LEARNERS, Processes, free_port, sockdojo_command, wait_listening_quietly

FLAG = b"sockdojo{AQACAAAAAAHGYDct1elHym7VPcHnNdFE}\n"
LOOP_FLAG = b"sockdojo{AQADAAAAAAHGYDct1elHym7VPcHnNdFE}\n"
needs_kernel = pytest.mark.skipif(kernel_view.tcp_sockets() is None, reason="needs Linux sockets")


def _two_free_ports_in_a_row() -> tuple[int, int]:
    """The challenge's port and the next one (a learner's typo: 1338 for 1337), both free."""
    for _ in range(50):
        port = free_port()
        if port < 65535 and _free(port + 1):
            return port, port + 1
    raise AssertionError("no two free ports in a row")


def _free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def misbehaving(processes: Processes, mode: str, port: int, *extra: str) -> subprocess.Popen[str]:
    return processes.learner("misbehaving_server.py", mode, str(port), *extra)


def server_code(port: int) -> tuple[bool, str | None, Transcript]:
    transcript = Transcript()
    result = check_server("127.0.0.1", port, lambda: FLAG, "sockdojo", transcript)
    return result.passed, result.diagnosis.code if result.diagnosis else None, transcript


def loop_code(port: int) -> tuple[bool, str | None, str]:
    transcript = Transcript()
    result = check_server_loop("127.0.0.1", port, lambda: LOOP_FLAG, "sockdojo", transcript)
    code = result.diagnosis.code if result.diagnosis else None
    return result.passed, code, result.diagnosis.saw if result.diagnosis else ""


@pytest.mark.parametrize("mode", ["close-at-once", "reset", "read-few"])
def test_servers_that_close_at_once_get_a_verdict_every_time(
    processes: Processes, port: int, mode: str
) -> None:
    for _ in range(10):
        server = misbehaving(processes, mode, port)
        wait_listening_quietly(port)
        assert server_code(port)[:2] == (False, "closed-before-reading")
        server.wait(timeout=10)


def test_recv_on_the_listening_socket(processes: Processes, port: int) -> None:
    for _ in range(5):
        server = misbehaving(processes, "recv-on-listener", port)
        wait_listening_quietly(port)
        passed, code, _ = server_code(port)
        assert not passed
        assert code in ("closed-before-reading", "listener-closed-before-accept")
        assert "Errno 107" in processes.stop(server)


def test_a_server_that_half_closes_first_passes(processes: Processes, port: int) -> None:
    server = misbehaving(processes, "half-close", port)
    wait_listening_quietly(port)
    assert server_code(port)[:2] == (True, None)
    printed, _ = server.communicate(timeout=10)  # it ends by itself once it has read it all
    assert FLAG.decode().strip() in printed


@needs_kernel
@pytest.mark.parametrize("late", ["0", "50", "300"])
def test_a_server_that_ends_its_side_first_and_never_reads_fails(
    processes: Processes, port: int, late: str
) -> None:
    # Once passed when its close came tens of milliseconds after our end of stream: the two
    # ends had crossed and the kernel no longer showed our bytes unread in its socket.
    for _ in range(3):
        server = misbehaving(processes, "half-close-late", port, late)
        wait_listening_quietly(port)
        assert server_code(port)[:2] == (False, "closed-before-reading")
        server.wait(timeout=10)
    loop = misbehaving(processes, "half-close-loop", port, late)
    wait_listening_quietly(port)
    passed, code, _ = loop_code(port)
    assert not passed and code == "closed-before-reading"
    processes.stop(loop)


def test_the_cli_never_prints_a_traceback(processes: Processes, port: int, home: object) -> None:
    for mode in ("close-at-once", "reset", "recv-on-listener"):
        misbehaving(processes, mode, port)
        wait_listening_quietly(port)
        run = subprocess.run(
            sockdojo_command("run", "server", "--port", str(port)),
            capture_output=True,
            text=True,
            timeout=30,
            stdin=subprocess.DEVNULL,
            check=False,
        )
        assert run.returncode == 1, run.stdout + run.stderr
        assert "Traceback" not in run.stdout + run.stderr
        assert "FAILED" in run.stdout


@needs_kernel
def test_bound_but_never_listening(processes: Processes, port: int) -> None:
    server = misbehaving(processes, "bind-only", port)
    assert server.stdout is not None
    assert server.stdout.readline().strip() == "bound"
    assert server_code(port)[:2] == (False, "not-listening")


def test_accept_without_listen_dies_and_the_diagnosis_says_why(
    processes: Processes, port: int
) -> None:
    server = misbehaving(processes, "bind-then-accept", port)
    printed, _ = server.communicate(timeout=10)
    assert "Errno 22" in printed  # it died at accept()
    transcript = Transcript()
    result = check_server("127.0.0.1", port, lambda: FLAG, "sockdojo", transcript)
    assert result.diagnosis is not None
    assert result.diagnosis.code == "nothing-listening"
    assert "Errno 22" in result.diagnosis.why and "listen()" in result.diagnosis.why


@needs_kernel
def test_a_server_on_another_port_is_named(processes: Processes) -> None:
    port, other = _two_free_ports_in_a_row()
    processes.learner("loop_server.py", str(other))
    wait_listening_quietly(other)
    result = check_server("127.0.0.1", port, lambda: FLAG, "sockdojo", Transcript())
    assert result.diagnosis is not None
    assert result.diagnosis.code == "listening-other-port"
    assert f"127.0.0.1:{other}" in result.diagnosis.saw


def test_a_udp_server_is_told_it_is_udp(processes: Processes, port: int) -> None:
    server = misbehaving(processes, "udp", port)
    assert server.stdout is not None
    assert server.stdout.readline().strip() == "udp"
    passed, code, _ = server_code(port)
    assert (passed, code) == (False, "udp-server")


def test_our_own_client_server_never_gets_the_flag(processes: Processes, port: int) -> None:
    ours = processes.sockdojo("run", "client", "--port", str(port))
    wait_listening_quietly(port)
    passed, code, _ = server_code(port)
    assert (passed, code) == (False, "own-server-running")
    console = processes.stop(ours)
    assert "sockdojo{" not in console
    assert FLAG.decode().strip()[9:] not in console


def test_a_peers_terminal_escapes_are_shown_escaped(processes: Processes, port: int) -> None:
    server = misbehaving(processes, "escapes", port)
    wait_listening_quietly(port)
    passed, _, transcript = server_code(port)
    assert passed
    shown = "\n".join(transcript.lines)
    assert "\x1b" not in shown and "\x07" not in shown and "\r" not in shown
    assert "\\x1b[2J" in shown
    processes.stop(server)


# --- server-loop -------------------------------------------------------------------------


@pytest.mark.skipif(shutil.which("nc") is None, reason="needs netcat-openbsd")
def test_a_shell_loop_of_netcat_never_gets_the_flag(processes: Processes, port: int) -> None:
    # Typed in a terminal, nc's stdin never ends; here it is closed, and nc may end the
    # connection at its end of input before it reads ours (a different verdict, rightly): -d,
    # nc reads no stdin, as with a terminal nobody types in.
    command = f"while true; do nc -d -l 127.0.0.1 {port}; done"
    loop = processes.start(["bash", "-c", command])
    wait_listening_quietly(port)
    for _ in range(3):
        passed, code, _ = loop_code(port)
        assert (passed, code) == (False, "restarted-listener")
        wait_listening_quietly(port)
    printed = processes.stop(loop, how=signal.SIGKILL)
    assert "sockdojo{" not in printed


@needs_kernel
@pytest.mark.skipif(shutil.which("nc") is None, reason="needs netcat-openbsd")
@pytest.mark.parametrize("challenge", ["server", "server-loop"])
def test_a_first_connection_queued_on_a_closing_netcat_is_made_again(
    processes: Processes, port: int, challenge: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # nc -l keeps its listener while it serves someone else and closes it, our connection still
    # queued, when that one ends: the next nc of the shell loop is the server to judge. Made
    # to happen here (a client holds the first nc); it also happens between two runs. The
    # windows for the next nc to listen are widened: this is about the retry, not their length.
    monkeypatch.setattr(server_module, "REPLACEMENT_WINDOW", 5.0)
    monkeypatch.setattr(server_loop_module, "NEXT_WINDOW", 5.0)
    loop = processes.start(["bash", "-c", f"while true; do nc -d -l 127.0.0.1 {port}; done"])
    wait_listening_quietly(port)
    flag = CountingFlag(FLAG if challenge == "server" else LOOP_FLAG)
    check = check_server if challenge == "server" else check_server_loop
    transcript = Transcript()
    with ThreadPoolExecutor(1) as pool:
        with socket.create_connection(("127.0.0.1", port)) as busy:
            busy.sendall(b"someone else\n")
            _wait_accepted(busy)  # the first nc has `busy`: ours will wait behind it
            judged = pool.submit(check, "127.0.0.1", port, flag, "sockdojo", transcript)
            _wait_accept_queue(port, queued=True)
        result = judged.result(timeout=60)
    assert observe.AGAIN_AFTER_RESTART in "\n".join(transcript.lines)
    printed = processes.stop(loop, how=signal.SIGKILL)
    if challenge == "server":
        assert result.passed and result.diagnosis is None
        assert FLAG.decode() in printed
        assert flag.asked == 1  # made again, the connection hands over the same flag
    else:
        assert result.diagnosis is not None and result.diagnosis.code == "restarted-listener"
        assert "message 1 of 3" in printed and "sockdojo{" not in printed
        assert flag.asked == 0


def _wait_accepted(sock: socket.socket) -> None:
    """Until the server has accepted `sock` (its end has a file: a non-zero inode; bounded)."""
    local, remote = sock.getsockname()[:2], sock.getpeername()[:2]
    for _ in range(500):
        peer = kernel_view.peer_of((local[0], local[1]), (remote[0], remote[1]))
        if peer is not None and peer.inode != 0:
            return
        time.sleep(0.01)
    raise AssertionError("the first nc never accepted its client")


def _wait_accept_queue(port: int, *, queued: bool) -> None:
    """Until a connection waits in the listener's accept queue, or none does (bounded)."""
    for _ in range(500):
        found = kernel_view.listener_for("127.0.0.1", port)
        if found is not None and (found.receive_queue > 0) == queued:
            return
        time.sleep(0.01)
    raise AssertionError(f"the accept queue never became {'non-' if queued else ''}empty")


@needs_kernel
def test_a_shell_loop_of_a_one_shot_server_is_not_a_loop(processes: Processes, port: int) -> None:
    script = LEARNERS / "misbehaving_server.py"
    loop = processes.start(
        ["bash", "-c", f"while true; do python3 -u {script} once {port}; sleep 0.01; done"]
    )
    wait_listening_quietly(port)
    for _ in range(5):
        passed, code, _ = loop_code(port)
        assert (passed, code) == (False, "restarted-listener")
        wait_listening_quietly(port)
    assert "sockdojo{" not in processes.stop(loop, how=signal.SIGKILL)


def test_a_loop_that_crashes_on_the_second_connection(processes: Processes, port: int) -> None:
    server = misbehaving(processes, "crash-on-second", port)
    wait_listening_quietly(port)
    passed, code, saw = loop_code(port)
    assert not passed
    # Whether we saw connection 2 accepted before the crash is a matter of microseconds; both
    # say the server stopped after the first connection and to look at its terminal.
    assert code in ("stopped-while-serving", "stopped-after-first")
    assert "crashed or exited" in saw
    assert "the learner's bug" in processes.stop(server)


def test_a_reset_as_we_connect_is_a_read_problem_not_a_restart(
    processes: Processes, port: int
) -> None:
    # The reset may come before connect() even returns: that try was no refusal, and the
    # server that reset it is the one that served connection 1, not a new one.
    for _ in range(10):
        server = misbehaving(processes, "read-then-reset", port)
        wait_listening_quietly(port)
        passed, code, _ = loop_code(port)
        assert (passed, code) == (False, "closed-before-reading")
        processes.stop(server)


def test_a_loop_that_closes_at_once_is_told_so(processes: Processes, port: int) -> None:
    misbehaving(processes, "close-at-once-loop", port)
    wait_listening_quietly(port)
    for _ in range(5):
        assert loop_code(port)[:2] == (False, "closed-before-reading")


# --- the flag is minted only when it is due ----------------------------------------------


class CountingFlag:
    """A flag source that counts how often it was asked: in class mode each ask is a mint."""

    def __init__(self, flag: bytes) -> None:
        self.flag = flag
        self.asked = 0

    def __call__(self) -> bytes:
        self.asked += 1
        return self.flag


def test_no_flag_is_minted_for_a_run_that_cannot_earn_it(processes: Processes, port: int) -> None:
    flag = CountingFlag(FLAG)
    assert not check_server("127.0.0.1", port, flag, "sockdojo", Transcript()).passed
    ours = processes.sockdojo("run", "client", "--port", str(port))
    wait_listening_quietly(port)
    assert not check_server("127.0.0.1", port, flag, "sockdojo", Transcript()).passed
    processes.stop(ours)
    assert flag.asked == 0
    processes.learner("seed_server.py", str(port))
    wait_listening_quietly(port)
    assert check_server("127.0.0.1", port, flag, "sockdojo", Transcript()).passed
    assert flag.asked == 1


@pytest.mark.skipif(shutil.which("nc") is None, reason="needs netcat-openbsd")
def test_a_shell_loop_never_makes_us_mint(processes: Processes, port: int) -> None:
    processes.start(["bash", "-c", f"while true; do nc -l 127.0.0.1 {port}; done"])
    wait_listening_quietly(port)
    flag = CountingFlag(LOOP_FLAG)
    assert not check_server_loop("127.0.0.1", port, flag, "sockdojo", Transcript()).passed
    assert flag.asked == 0
