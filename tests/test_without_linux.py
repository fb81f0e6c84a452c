"""The learner CLI where learners are: the Linux-only parts forced off on this machine.

macOS and Windows have no netlink sock_diag and no /proc (so no kernel view of the learner's
sockets), no network, PID or mount namespaces, and Windows no uvloop. Here each is switched off
the way those systems lack it, and every run must still end in a verdict, saying what it could
not see.
"""

from __future__ import annotations

import json
import socket
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from sockdojo.challenges import serving
from sockdojo.challenges.reuse_address import run_reuse_address
from sockdojo.challenges.reuse_address.proof import HOST_SHARES, Timing
from sockdojo.challenges.server import check_server
from sockdojo.challenges.server_loop import check_server_loop
from sockdojo.net import kernel_view
from sockdojo.net.transcript import Transcript
from sockdojo.sandbox import Limits, isolation
from support import Processes, free_port, recv_all, wait_listening_quietly

FLAG = b"sockdojo{AQACAAAAAAHGYDct1elHym7VPcHnNdFE}\n"


def blind(monkeypatch: pytest.MonkeyPatch) -> None:
    """No sock_diag, no /proc/net/tcp, no /proc/<pid>/fd: what macOS and Windows give us.

    Switched off only once the test's learner server listens (waiting for it uses the kernel's
    view, which is the test's and not the checker's)."""
    monkeypatch.setattr(kernel_view, "_sock_diag", lambda port, states: None)
    monkeypatch.setattr(kernel_view, "_FILES", (Path("/nonexistent/tcp"),))
    monkeypatch.setattr(kernel_view, "owners", lambda inodes: {})
    monkeypatch.setattr(kernel_view, "_seen", False)  # as in a process that never saw sockets
    assert kernel_view.tcp_sockets() is None
    assert not kernel_view.sees_sockets()


@pytest.fixture
def no_kernel_view(monkeypatch: pytest.MonkeyPatch) -> None:
    blind(monkeypatch)


@pytest.fixture
def not_linux(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The sandbox's probes as on macOS: no namespaces of any kind."""
    monkeypatch.setattr(sys, "platform", "darwin")
    isolation.private_network.cache_clear()
    isolation.confinement.cache_clear()
    yield
    isolation.private_network.cache_clear()
    isolation.confinement.cache_clear()


def check(port: int) -> tuple[bool, str | None, list[str]]:
    result = check_server("127.0.0.1", port, lambda: FLAG, "sockdojo", Transcript())
    return result.passed, result.diagnosis.code if result.diagnosis else None, result.notes


def test_the_server_checker_still_judges(
    processes: Processes, port: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = processes.learner("seed_server.py", str(port))
    other = free_port()
    reset = processes.learner("misbehaving_server.py", "reset", str(other))
    wait_listening_quietly(port)
    wait_listening_quietly(other)
    blind(monkeypatch)
    assert check(free_port())[:2] == (False, "nothing-listening")
    assert check(port)[0]
    assert FLAG.decode().strip() in processes.stop(server)
    assert check(other)[:2] == (False, "closed-before-reading")
    processes.stop(reset)


def test_a_server_that_never_reads_passes_with_a_note_on_what_we_could_not_see(
    processes: Processes, port: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    processes.learner("never_reads.py", str(port))
    wait_listening_quietly(port)
    blind(monkeypatch)
    passed, _, notes = check(port)
    assert passed  # nothing on the wire tells a server that never reads from one that did
    assert any("no kernel view" in note for note in notes)


def test_the_server_loop_checker_still_judges(
    processes: Processes, port: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = processes.learner("loop_server.py", str(port))
    one_shot = free_port()
    processes.learner("seed_server.py", str(one_shot))
    wait_listening_quietly(port)
    wait_listening_quietly(one_shot)
    blind(monkeypatch)
    result = check_server_loop("127.0.0.1", port, lambda: FLAG, "sockdojo", Transcript())
    assert result.passed
    assert any("one listening socket" in note for note in result.notes)
    processes.stop(server)
    result = check_server_loop("127.0.0.1", one_shot, lambda: FLAG, "sockdojo", Transcript())
    assert result.diagnosis is not None
    assert result.diagnosis.code in ("stopped-after-first", "closed-before-reading")


def test_our_servers_run_on_asyncio_alone(monkeypatch: pytest.MonkeyPatch, port: int) -> None:
    """No uvloop (Windows): the client challenge still serves its flag."""
    import threading

    monkeypatch.setattr(serving, "_fast_loop_factory", lambda: None)
    from sockdojo.challenges.client import ClientChallengeProtocol
    from sockdojo.net.accept_loop import listening_socket

    sock = listening_socket("127.0.0.1", port)
    lines: list[str] = []
    done = threading.Event()

    def run() -> None:
        serving.serve(
            sock,
            lambda _peer: ClientChallengeProtocol(b"sockdojo"),
            lines.append,
            flag=lambda: FLAG,
            once=True,
            udp_hint=False,
        )
        done.set()

    threading.Thread(target=run, daemon=True).start()
    with socket.create_connection(("127.0.0.1", port), timeout=10) as client:
        client.sendall(b"hi\n")
        got = recv_all(client)
    assert got == FLAG
    assert done.wait(10)  # --once: it stopped after the flag was read


@pytest.mark.usefixtures("not_linux", "no_kernel_view")
def test_the_behaviour_proof_says_what_it_could_not_isolate(tmp_path: Path) -> None:
    port = free_port()
    program = tmp_path / "server.py"
    program.write_text(
        "import socket\n"
        "s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)\n"
        "s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
        f"s.bind(('127.0.0.1', {port}))\n"
        "s.listen()\n"
        "while True:\n"
        "    conn, addr = s.accept()\n"
        "    conn.close()\n"
    )
    lines: list[str] = []
    code = run_reuse_address(
        program,
        run_proof=True,
        as_json=True,
        mint_flag=lambda: FLAG.decode().strip(),
        echo=lines.append,
        port=port,
        timing=Timing(listen=3.0, restart=3.0),
    )
    document = json.loads(lines[0])
    assert code == 0, document
    proof = document["proof"]
    # No namespace: it ran on this machine's network, and the run says what it shared with us.
    assert proof["outcome"] == "bound"
    assert proof["isolation"] == "this machine's network"
    # The driver ran the program as the launching side found this (forced) machine allows, not
    # as its own probe of the real Linux would have (its own root: nothing shared but the
    # network), and looked for TIME_WAIT with no kernel view, as it must on macOS.
    kind = isolation.confinement(False)
    assert kind is not None and kind is not isolation.Confinement.OWN_ROOT
    shared = isolation.program_policy(
        Limits(), network=False, cgroup_procs=None, die_with_parent=True
    )
    assert shared is not None and shared.not_isolated()
    assert proof["not_isolated"] == [*shared.not_isolated(), HOST_SHARES], proof
    assert proof["time_wait"] is None, proof
