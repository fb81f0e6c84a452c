"""The sandbox: limits hold, time is bounded, output is capped, nothing is left behind."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import textwrap
import time
from pathlib import Path

import pytest

from sockdojo.sandbox import (
    Limits,
    OutputCapture,
    PidsCgroup,
    Sandbox,
    SandboxError,
    describe_status,
    run_python,
)
from sockdojo.sandbox import process as process_module
from support import processes_mentioning


def program(text: str) -> bytes:
    return textwrap.dedent(text).encode()


# Double fork and setsid: the grandchild leaves the program's process group and session.
ESCAPING_GRANDCHILD = program(
    """
    import os, time
    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:
            time.sleep(60)
        os._exit(0)
    time.sleep(60)
    """
)


def test_a_program_runs_in_a_fresh_directory_with_little_around_it(marked_name: str) -> None:
    result = run_python(
        program(
            """
            import os, sys
            print(os.getcwd())
            print(sorted(os.environ))
            print(sys.flags.isolated, sys.flags.no_user_site)
            print(input())
            """
        ),
        name=marked_name,
    )
    lines = result.stdout.splitlines()
    workdir = Path(lines[0])
    assert workdir.name.startswith("sockdojo-sandbox-")
    assert not workdir.exists(), "the temporary directory is removed afterwards"
    assert lines[1] == str(sorted(["HOME", "LANG", "LC_ALL", "PATH", "TERM", "TMPDIR"]))
    assert lines[2] == "1 1"
    assert "EOFError" in result.stderr  # stdin is closed: input() ends at once
    assert result.returncode == 1
    assert result.description == "exited with status 1"


def test_the_program_keeps_its_own_file_name_for_tracebacks(marked_name: str) -> None:
    result = run_python(b"raise SystemExit(__file__)\n", name=f"../../{marked_name}")
    assert result.stderr.strip().endswith("/" + marked_name)


def test_the_wall_clock_stops_an_endless_loop(marked_name: str) -> None:
    result = run_python(
        b"while True:\n    pass\n",
        name=marked_name,
        limits=Limits(wall_seconds=1.0, cpu_seconds=30),
    )
    assert result.timed_out  # the CPU limit (30 s) did not stop it: the wall clock did
    assert result.description == "was stopped at its wall-clock limit"


def test_cpu_time_is_limited(marked_name: str) -> None:
    result = run_python(b"while True:\n    pass\n", name=marked_name, limits=Limits(cpu_seconds=1))
    assert result.returncode == -signal.SIGXCPU
    assert "CPU-time limit" in result.description


def test_memory_is_limited(marked_name: str) -> None:
    result = run_python(
        b"x = bytearray(2 << 30)\n", name=marked_name, limits=Limits(memory_bytes=512 << 20)
    )
    assert "MemoryError" in result.stderr


def test_file_size_is_limited(marked_name: str) -> None:
    result = run_python(
        b"open('big', 'wb').write(b'x' * (4 << 20))\n",
        name=marked_name,
        limits=Limits(file_size_bytes=1 << 20),
    )
    # Python ignores SIGXFSZ, so the write fails instead of the process being killed.
    assert "File too large" in result.stderr


def test_open_files_are_limited(marked_name: str) -> None:
    result = run_python(
        b"files = [open('/dev/null') for _ in range(500)]\n",
        name=marked_name,
        limits=Limits(open_files=32),
    )
    assert "Too many open files" in result.stderr


def test_a_fork_bomb_hits_the_process_limit_and_leaves_nothing(marked_name: str) -> None:
    result = run_python(
        program(
            """
            import os, time
            made = 0
            for _ in range(200):
                try:
                    if os.fork() == 0:
                        time.sleep(30)
                        os._exit(0)
                    made += 1
                except OSError:
                    break
            print(made, flush=True)
            time.sleep(30)
            """
        ),
        name=marked_name,
        limits=Limits(processes=16, wall_seconds=1.5),
    )
    made = int(result.stdout.split()[0])
    assert made < 16, "the process limit held"
    # `marked_name` checks that every one of those children is gone.


def test_output_floods_are_capped_but_drained(marked_name: str) -> None:
    result = run_python(
        b"import sys\nfor _ in range(200000):\n"
        b"    sys.stdout.write('x' * 99 + '\\n')\nprint('end')\n",
        name=marked_name,
        limits=Limits(output_bytes=4096),
    )
    assert result.returncode == 0, "draining kept the program from blocking on a full pipe"
    assert result.stdout_bytes == 200000 * 100 + 4
    assert result.stdout.startswith("x" * 99)
    assert result.stdout.rstrip().endswith("end")
    assert "bytes not kept" in result.stdout
    assert len(result.stdout) < 4096 + 100


def test_started_processes_can_be_killed_and_restarted(marked_name: str) -> None:
    with Sandbox(b"import time\ntime.sleep(60)\n", name=marked_name) as box:
        first = box.start()
        assert first.wait(0.3) is None
        box.kill_all()
        assert first.returncode == -signal.SIGKILL
        second = box.start()
        assert second.poll() is None
    assert second.returncode == -signal.SIGKILL, "closing the sandbox kills what runs"


def test_an_escaped_grandchild_dies_with_the_sandbox_when_contained(marked_name: str) -> None:
    with Sandbox(ESCAPING_GRANDCHILD, name=marked_name) as box:
        if os.geteuid() != 0 or not box.contains_forks or box._cgroup is None:
            pytest.skip("only a cgroup (root) or a PID namespace catches a setsid grandchild")
        box.start()
        assert _escaped(marked_name), "the grandchild never left the program's session"
    # `marked_name` finds the grandchild by its command line if it survived.


def _escaped(name: str, within: float = 10.0) -> bool:
    """Whether the program's processes come to span two sessions (bounded)."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        sessions = set()
        for pid in processes_mentioning(name):
            with contextlib.suppress(ProcessLookupError):
                sessions.add(os.getsid(pid))
        if len(sessions) >= 2:
            return True
        time.sleep(0.02)
    return False


@pytest.mark.netns
@pytest.mark.usefixtures("needs_netns")
def test_a_private_network_has_its_own_loopback_and_ports(marked_name: str) -> None:
    with socket.socket() as host_listener:
        host_listener.bind(("127.0.0.1", 0))
        host_listener.listen()
        host_port = host_listener.getsockname()[1]
        result = run_python(
            program(
                f"""
                import socket
                try:
                    socket.create_connection(("127.0.0.1", {host_port}), timeout=1)
                    print("reached the host")
                except OSError as error:
                    print("host unreachable:", type(error).__name__)
                with socket.socket() as s:
                    s.bind(("127.0.0.1", 1337))
                    s.listen()
                    with socket.create_connection(("127.0.0.1", 1337), timeout=1):
                        print("own loopback works")
                """
            ),
            name=marked_name,
            network="private",
        )
    assert "host unreachable: ConnectionRefusedError" in result.stdout
    assert "own loopback works" in result.stdout


@pytest.mark.netns
@pytest.mark.usefixtures("needs_netns")
def test_everything_in_a_private_namespace_dies_with_it(marked_name: str) -> None:
    escaping = ESCAPING_GRANDCHILD
    with Sandbox(escaping, name=marked_name, network="private", contain_forks=False) as box:
        box.start()
        time.sleep(0.3)
    # `marked_name`: the setsid grandchild is gone too, without any cgroup.


def test_private_network_refused_plainly_where_impossible(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(process_module, "program_policy", lambda *_, **__: None)
    with pytest.raises(SandboxError, match="private network"):
        run_python(b"pass\n", network="private")


def test_a_setup_failure_is_the_sandboxs_not_the_programs(marked_name: str) -> None:
    broken = PidsCgroup.existing(Path("/nonexistent/sockdojo-cgroup"))
    with Sandbox(b"print('never')\n", name=marked_name, cgroup=broken) as box:
        process = box.start()
        process.wait(5)
        process.finish()
        assert process.setup_error is not None
        assert "cgroup" in process.setup_error
        assert process.stdout.text() == ""


def test_a_pids_cgroup_is_created_and_removed() -> None:
    cgroup = PidsCgroup.create(8)
    if cgroup is None:
        pytest.skip("no writable pids cgroup here (not root, or no cgroup file system)")
    assert (cgroup.path / "pids.max").read_text().strip() == "8"
    cgroup.remove()
    assert not cgroup.path.exists()


def test_output_capture_keeps_head_and_tail() -> None:
    capture = OutputCapture(10)
    for chunk in (b"abc", b"defgh", b"ijklmnop", b"qrst"):
        capture.feed(chunk)
    assert capture.total == 20
    assert capture.truncated
    assert capture.text() == "abcde\n[... 10 bytes not kept ...]\npqrst"


@pytest.mark.parametrize(
    ("code", "timed_out", "text"),
    [
        (None, False, "is still running"),
        (0, False, "exited with status 0"),
        (-signal.SIGKILL, True, "was stopped at its wall-clock limit"),
        (-signal.SIGKILL, False, "was killed by SIGKILL"),
        (-signal.SIGXCPU, False, "was stopped by its CPU-time limit (SIGXCPU)"),
        (-200, False, "was killed by signal 200"),
    ],
)
def test_exit_descriptions(code: int | None, timed_out: bool, text: str) -> None:
    assert describe_status(code, timed_out=timed_out) == text
