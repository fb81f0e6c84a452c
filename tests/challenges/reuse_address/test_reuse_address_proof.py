"""The behaviour proof, for real: learner programs run, are killed mid-connection, restart.

Inside a private network namespace the programs use 127.0.0.1:1337 as written (the namespace
has its own port space). On the host, programs are rewritten to a free port: never 1337 there.
"""

from __future__ import annotations

import socket
from collections.abc import Callable

import pytest

from challenges.reuse_address.corpus_cases import CASES, CORPUS, Case
from sockdojo.challenges.reuse_address import proof as proof_module
from sockdojo.challenges.reuse_address.port_state import port_busy
from sockdojo.challenges.reuse_address.proof import Placement, prove
from sockdojo.challenges.reuse_address.proof_protocol import Outcome, ProofResult, Step, Timing
from sockdojo.challenges.reuse_address.proof_steps import address_in_use_line
from sockdojo.sandbox import private_network

PROVED = [case for case in CASES if "proof" in case]
FAST = Timing(listen=1.5, restart=3.0)
ERRNO_98 = "OSError: [Errno 98] Address already in use"


@pytest.mark.netns
@pytest.mark.usefixtures("needs_netns")
@pytest.mark.parametrize("case", PROVED, ids=[c["file"] for c in PROVED])
def test_corpus_program_in_a_private_namespace(
    case: Case, marked_name: str, no_sandbox_litter: Callable[[], None]
) -> None:
    steps: list[Step] = []
    result = prove(
        (CORPUS / case["file"]).read_bytes(),
        name=marked_name,
        placement="private",
        timing=FAST,
        on_step=steps.append,
    )
    assert result.outcome == case["proof"], result
    assert "namespace" in (result.isolation or "")
    names = [s.name for s in steps]
    if result.outcome == "bound":
        assert names[-4:] == ["killed", "time-wait", "restarted", "bound"]
        assert result.time_wait is True
    if result.outcome == "address-in-use":
        assert result.error_line == ERRNO_98  # the program's own line, shown as it is
        assert steps[-1].detail == ERRNO_98
        assert result.time_wait is True
    if case["file"] == "other_port.py":
        assert result.elsewhere == ["127.0.0.1:8080"]
    if case["file"] == "client_only.py":
        assert "ConnectionRefusedError" in (result.error_line or "")


@pytest.mark.netns
@pytest.mark.usefixtures("needs_netns")
def test_time_wait_is_left_every_time(marked_name: str) -> None:
    program = (CORPUS / "ok_basic.py").read_bytes()
    for _ in range(3):
        result = prove(program, name=marked_name, placement="private", timing=FAST)
        assert (result.outcome, result.time_wait, result.accepted) == ("bound", True, True)


@pytest.mark.netns
@pytest.mark.usefixtures("needs_netns")
def test_a_server_that_never_accepts_proves_less(marked_name: str) -> None:
    program = b"import socket\ns = socket.socket()\ns.bind(('127.0.0.1', 1337))\ns.listen()\n"
    program += b"import time\ntime.sleep(60)\n"
    steps: list[Step] = []
    result = prove(
        program, name=marked_name, placement="private", timing=FAST, on_step=steps.append
    )
    # Killing a listener with an unaccepted connection resets it: no TIME_WAIT, so even a
    # program without SO_REUSEADDR restarts. The proof says so instead of pretending.
    assert result.outcome == "bound"
    assert result.accepted is False
    assert result.time_wait is False
    assert "no-time-wait" in [s.name for s in steps]


def on_port(name: str, port: int) -> bytes:
    return (CORPUS / name).read_bytes().replace(b"1337", str(port).encode())


def on_host(
    program: str, port: int, name: str, on_step: Callable[[Step], None] | None = None
) -> ProofResult:
    """A corpus program proved on this machine, rewritten to a free port (never 1337 here)."""
    source = on_port(program, port)
    return prove(source, name=name, port=port, placement="host", timing=FAST, on_step=on_step)


def test_on_the_host_a_correct_server_restarts(free_port: int, marked_name: str) -> None:
    result = on_host("ok_basic.py", free_port, marked_name)
    assert result.outcome == "bound"
    assert result.isolation == "this machine's network"
    assert result.time_wait is True


def test_on_the_host_a_missing_option_shows_errno_98(free_port: int, marked_name: str) -> None:
    result = on_host("missing_option.py", free_port, marked_name)
    assert result.outcome == "address-in-use"
    assert result.error_line == ERRNO_98
    # The port stays in TIME_WAIT on the host now: the next run says so, and a program
    # without the option then dies on its very first start, with the same line.
    steps: list[Step] = []
    again = on_host("missing_option.py", free_port, marked_name, on_step=steps.append)
    assert again.outcome == "address-in-use"
    assert "TIME_WAIT" in steps[0].text
    assert steps[-1].name == "died"


def test_on_the_host_a_busy_port_skips_the_proof(free_port: int, marked_name: str) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", free_port))
        taken.listen()
        assert port_busy(free_port) is not None
        result = prove(b"print('hi')\n", name=marked_name, port=free_port, placement="host")
    assert result.outcome == "skipped"
    assert not result.ran
    assert "Stop whatever uses the port" in (result.reason or "")


def test_on_the_host_a_fork_bomb_is_contained(free_port: int, marked_name: str) -> None:
    result = on_host("fork_bomb.py", free_port, marked_name)
    assert result.outcome == "no-listen"
    # `marked_name` then checks that not one of its processes is left.


@pytest.mark.parametrize("placement", ["private", "host"])
def test_ctrl_c_mid_proof_leaves_nothing(
    placement: Placement, free_port: int, marked_name: str, no_sandbox_litter: Callable[[], None]
) -> None:
    if placement == "private" and private_network() is None:
        pytest.skip("this machine allows no private network namespace")
    port = 1337 if placement == "private" else free_port

    def interrupt(step: Step) -> None:
        if step.name == "listening":
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        prove(
            on_port("ok_basic.py", port),
            name=marked_name,
            port=port,
            placement=placement,
            timing=FAST,
            on_step=interrupt,
        )
    no_sandbox_litter()


def test_private_is_refused_plainly_where_impossible(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(proof_module, "private_network", lambda: None)
    result = prove(b"pass\n", name="x.py", placement="private")
    assert result.outcome == "skipped"


def test_the_error_line_is_the_programs_own() -> None:
    stderr = (
        "Traceback (most recent call last):\n"
        '  File "/tmp/x/server.py", line 4, in <module>\n'
        "    s.bind(('127.0.0.1', 1337))\n"
        "OSError: [Errno 98] Address already in use\n"
    )
    assert address_in_use_line(stderr) == ERRNO_98
    assert address_in_use_line("", "could not start: Address already in use\n") == (
        "could not start: Address already in use"
    )
    assert address_in_use_line("ValueError: nope\n") is None


def test_results_survive_the_trip_through_json() -> None:
    result = ProofResult(
        Outcome.ADDRESS_IN_USE,
        isolation="x",
        steps=[Step("died", "it died:", ERRNO_98)],
        error_line=ERRNO_98,
    )
    assert ProofResult.from_dict(result.as_dict()) == result
