"""The behaviour proof attacked by real hostile learner programs (issue 11's sandbox section).

Each test proves a hostile program exactly as `sockdojo run reuse-address` does (`prove()`, in a
private namespace: the driver inside, the program confined further by the launcher), then checks
both the program's own report and the target itself. The last test repeats the attacks with the
proof run by an unprivileged user (`nobody`, through `setpriv`), the route of a learner's laptop.
"""

from __future__ import annotations

import ctypes
import fcntl
import json
import os
import pty
import secrets
import shutil
import socket
import subprocess
import sys
import termios
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from sandbox import hostile
from sockdojo.challenges.reuse_address.proof import Timing, prove
from sockdojo.sandbox.isolation import Confinement, confinement

pytestmark = [pytest.mark.netns, pytest.mark.usefixtures("needs_netns", "needs_walls")]
FAST = Timing(listen=1.5, restart=3.0)
SRC = Path(__file__).resolve().parents[2] / "src"
HOSTILE = Path(hostile.__file__).resolve()
SYSTEM_PYTHON = "/usr/bin/python3"
QUOTA = 32 << 20  # Limits().disk_bytes (a literal, so that the test also runs on older code)


@pytest.fixture
def needs_walls() -> None:
    """These attacks only fail where the program gets its own root, PIDs and identity (the
    fallbacks have their own test, which checks that the run says what is shared)."""
    if confinement(False) is not Confinement.OWN_ROOT:
        pytest.skip("this machine allows the program no root, PIDs and identity of its own")


def attacked(program: bytes, name: str) -> str:
    """Prove `program`; it must end as a learner's crash (never "a problem on our side")."""
    result = prove(program, name=name, placement="private", timing=FAST)
    assert result.outcome == "exited", result
    tail = result.output_tail or ""
    assert "ATTACK" in tail, tail
    return tail


def test_it_cannot_type_into_the_learners_terminal(marked_name: str) -> None:
    master, slave = pty.openpty()
    try:
        tail = attacked(hostile.tiocsti(os.ttyname(slave)), marked_name)
        waiting = fcntl.ioctl(slave, termios.FIONREAD, b"\0\0\0\0")
        assert int.from_bytes(waiting, "little") == 0, "bytes were pushed into the terminal"
        assert "ATTACK tiocsti: blocked" in tail
    finally:
        os.close(master)
        os.close(slave)


def test_it_cannot_type_into_the_terminal_the_cli_runs_in(marked_name: str, tmp_path: Path) -> None:
    # The learner's situation: `sockdojo run reuse-address FILE` in a terminal that is its
    # controlling terminal (stdin, stdout and stderr), the program trying to type into it.
    master, slave = pty.openpty()
    path = tmp_path / marked_name
    path.write_bytes(hostile.tiocsti(os.ttyname(slave)))

    def take_terminal() -> None:
        fcntl.ioctl(0, termios.TIOCSCTTY, 0)

    try:
        completed = subprocess.run(
            [sys.executable, "-m", "sockdojo", "run", "reuse-address", str(path), "--json"],
            stdin=slave,
            stdout=subprocess.PIPE,
            stderr=slave,
            start_new_session=True,
            preexec_fn=take_terminal,  # its own terminal, in the child, before exec
            timeout=60,
            check=False,
        )
        waiting = fcntl.ioctl(slave, termios.FIONREAD, b"\0\0\0\0")
    finally:
        os.close(master)
        os.close(slave)
    assert int.from_bytes(waiting, "little") == 0, "bytes were pushed into the terminal"
    proof = json.loads(completed.stdout)["proof"]
    assert "ATTACK tiocsti: blocked" in (proof["output_tail"] or ""), proof


def test_it_cannot_join_the_network_of_the_cli(marked_name: str) -> None:
    with socket.socket() as service:
        service.bind(("127.0.0.1", 0))
        service.listen()
        service.setblocking(False)
        tail = attacked(hostile.join_network(os.getpid(), service.getsockname()[1]), marked_name)
        with pytest.raises(BlockingIOError):
            service.accept()
    assert "ATTACK setns: blocked" in tail


def test_it_cannot_write_the_memory_of_the_cli(marked_name: str) -> None:
    marker = ctypes.create_string_buffer(b"INTACT!!", 8)
    tail = attacked(hostile.write_memory(os.getpid(), ctypes.addressof(marker)), marked_name)
    assert marker.raw == b"INTACT!!"
    assert "ATTACK mem: blocked" in tail


@pytest.fixture
def session_sockets() -> Iterator[tuple[list[str], list[socket.socket]]]:
    """A tmux-like socket in /tmp and an abstract one, as a learner's desktop session has."""
    directory = Path(f"/tmp/sockdojo-tmux-{secrets.token_hex(4)}")
    directory.mkdir(mode=0o700)
    listeners = []
    paths = [str(directory / "default"), f"\0sockdojo-session-{secrets.token_hex(4)}"]
    try:
        for path in paths:
            listener = socket.socket(socket.AF_UNIX)
            listener.bind(path)
            listener.listen()
            listener.setblocking(False)
            listeners.append(listener)
        yield paths, listeners
    finally:
        for listener in listeners:
            listener.close()
        shutil.rmtree(directory)


def test_it_cannot_reach_the_sessions_unix_sockets(
    marked_name: str, session_sockets: tuple[list[str], list[socket.socket]]
) -> None:
    paths, listeners = session_sockets
    tail = attacked(hostile.unix_sockets(paths), marked_name)
    for listener in listeners:
        with pytest.raises(BlockingIOError):
            listener.accept()
    assert "ATTACK unix: blocked" in tail


def test_it_sees_neither_the_data_directory_nor_home_and_writes_nowhere_else(
    marked_name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = tmp_path / "home"
    data.mkdir()
    (data / "flag-secret").write_text("the-flag-secret\n")
    monkeypatch.setenv("SOCKDOJO_HOME", str(data))
    in_home = Path.home() / f".sockdojo-test-{secrets.token_hex(4)}"
    in_home.write_text("a-file-in-home\n")
    token = secrets.token_hex(4)
    escapes = [f"/tmp/sockdojo-escape-{token}", f"/var/tmp/sockdojo-escape-{token}"]
    escapes += [f"/dev/shm/sockdojo-escape-{token}", str(Path.home() / f"sockdojo-{token}")]
    try:
        program = hostile.files([str(data / "flag-secret"), str(in_home)], escapes)
        tail = attacked(program, marked_name)
    finally:
        in_home.unlink()
        left = [path for path in escapes if os.path.exists(path)]
        for path in left:
            os.unlink(path)
    assert "ATTACK files: blocked" in tail
    assert not left


def test_its_whole_directory_has_a_quota(marked_name: str) -> None:
    # Each file stays under the per-file limit (8 MiB); together they would be 192 MiB.
    tail = attacked(hostile.fill_disk(4 << 20, 48), marked_name)
    written = int(tail.split("ATTACK disk: wrote ")[1].split()[0])
    assert 0 < written <= QUOTA


@pytest.mark.parametrize(("reuse", "outcome"), [(True, "bound"), (False, "address-in-use")])
def test_attacks_on_the_driver_change_nothing(reuse: bool, outcome: str, marked_name: str) -> None:
    # Signals to PID 1 and its parent, ptrace, and a fake passing result written to every pipe:
    # the proof still ends as the program deserves, never as "a problem on our side".
    result = prove(
        hostile.attack_driver(reuse=reuse), name=marked_name, placement="private", timing=FAST
    )
    assert result.outcome == outcome, result
    assert result.time_wait is True


def test_attacks_on_the_driver_never_earn_a_flag_from_the_analysis_alone(
    marked_name: str, tmp_path: Path, cli: Callable[..., subprocess.CompletedProcess[str]]
) -> None:
    # Right as written, so the analysis passes it; at run time it attacks the driver and quits
    # before listening. Were the proof to end as "a problem on our side", the verdict would
    # rest on the analysis alone and hand out a flag.
    path = tmp_path / marked_name
    path.write_bytes(hostile.attack_then_quit())
    completed = cli("run", "reuse-address", str(path), "--json", timeout=60)
    document = json.loads(completed.stdout)
    assert document["analysis"]["ok"] is True
    assert document["proof"]["outcome"] == "exited", document["proof"]
    assert completed.returncode == 1
    assert "flag" not in document


def test_a_daemon_it_leaves_dies_with_the_proof(marked_name: str) -> None:
    result = prove(hostile.leave_daemon(), name=marked_name, placement="private", timing=FAST)
    assert result.outcome == "bound"
    # `marked_name`: no process mentioning the program is left.


def _nobody_can_run_the_proof() -> str | None:
    if os.geteuid() != 0:
        return "needs root to become nobody"
    if shutil.which("setpriv") is None or not os.access(SYSTEM_PYTHON, os.X_OK):
        return "needs setpriv and a system Python"
    check = subprocess.run(
        [*NOBODY, SYSTEM_PYTHON, "-c", "import sys; assert sys.version_info >= (3, 11)"],
        capture_output=True,
        check=False,
    )
    return None if check.returncode == 0 else "the system Python is older than 3.11"


NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--"]


def _prove_as_nobody(
    program: bytes, name: str, *, pass_fds: tuple[int, ...] = ()
) -> dict[str, object]:
    completed = subprocess.run(
        [*NOBODY, SYSTEM_PYTHON, "-s", "-B", str(HOSTILE)],
        pass_fds=pass_fds,
        input=json.dumps({"program": program.decode(), "name": name}),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(SRC), "HOME": "/nonexistent"},
        cwd="/",
    )
    assert completed.returncode == 0, completed.stderr
    report: dict[str, object] = json.loads(completed.stdout)
    return report


def test_unprivileged_the_same_attacks_fail(marked_name: str) -> None:
    why = _nobody_can_run_the_proof()
    if why:
        pytest.skip(why)
    # The learner's own things: their data directory, a session socket, their terminal (the
    # CLI stand-in holds it open), all theirs (nobody's here) so that only the sandbox stops it.
    data = Path(f"/tmp/sockdojo-nobody-{secrets.token_hex(4)}")
    data.mkdir(mode=0o700)
    secret = data / "flag-secret"
    secret.write_text("the-flag-secret\n")
    session = socket.socket(socket.AF_UNIX)
    session.bind(str(data / "tmux-default"))
    session.listen()
    session.setblocking(False)
    for path in (data, secret, data / "tmux-default"):
        os.chown(path, 65534, 65534)
    escape = data / "escaped"
    master, slave = pty.openpty()
    os.fchown(slave, 65534, 65534)
    try:
        files = _prove_as_nobody(hostile.files([str(secret)], [str(escape)]), marked_name)
        memory = _prove_as_nobody(hostile.write_memory("{CLI_PID}", "{MARKER}"), marked_name)
        disk = _prove_as_nobody(hostile.fill_disk(4 << 20, 48), marked_name)
        unix = _prove_as_nobody(hostile.unix_sockets([str(data / "tmux-default")]), marked_name)
        tty = os.ttyname(slave)
        typed = _prove_as_nobody(hostile.tiocsti(tty), marked_name, pass_fds=(slave,))
        driver = _prove_as_nobody(hostile.attack_driver(reuse=False), marked_name)
        assert not escape.exists()
        with pytest.raises(BlockingIOError):
            session.accept()
        waiting = fcntl.ioctl(slave, termios.FIONREAD, b"\0\0\0\0")
        assert int.from_bytes(waiting, "little") == 0, "bytes were pushed into the terminal"
    finally:
        session.close()
        os.close(master)
        os.close(slave)
        shutil.rmtree(data)
    reports = {"files": files, "mem": memory, "unix": unix, "tiocsti": typed}
    for name, report in reports.items():
        assert report["outcome"] == "exited", report
        assert f"ATTACK {name}: blocked" in str(report["output_tail"]), report
    assert memory["marker"] == "INTACT!!"
    written = int(str(disk["output_tail"]).split("ATTACK disk: wrote ")[1].split()[0])
    assert 0 < written <= QUOTA
    assert driver["outcome"] == "address-in-use", driver
    assert "user namespace" in str(driver["isolation"])
