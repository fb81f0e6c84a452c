"""The exported challenges run as pwn.college runs them: /challenge/run as root (exec-suid) on
behalf of an unprivileged learner, a root-only /flag, port 1337 in a network of their own.

Each passes with the flag from /flag, fails with our diagnosis when the solution is wrong, and
never lets the learner's code read /flag.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from export.platform_run import run_in_workspace
from sockdojo.export.pwncollege import DojoExport
from support import Processes, free_port, sockdojo_command, wait_listening_quietly

pytestmark = pytest.mark.netns

# Any format: the platform's flags look like this, and the run must never parse them.
FLAG = "pwn.college{Xq3_nOt-a-SockDojo.Flag9}"
CORPUS = Path(__file__).parents[1] / "challenges" / "reuse_address" / "corpus"


def folder(exported: DojoExport, challenge_id: str) -> Path:
    return exported.root / "sockets" / challenge_id


@pytest.mark.parametrize(
    ("challenge_id", "learner", "run_args"),
    [
        ("client", ("seed_client.py", ["1337"], False), ["--once"]),
        ("eight-ball", ("eight_ball_client.py", ["1337", "The flag?"], False), ["--once"]),
        ("server", ("seed_server.py", ["1337"], True), []),
        ("server-loop", ("loop_server.py", ["1337"], True), []),
    ],
)  # fmt: skip
def test_each_network_challenge_passes_with_the_flag_from_slash_flag(
    exported: DojoExport,
    challenge_id: str,
    learner: tuple[str, list[str], bool],
    run_args: list[str],
) -> None:
    outcome = run_in_workspace(folder(exported, challenge_id), FLAG, run_args, learner=learner)
    assert outcome.code == 0, outcome.output
    # The learner's program printed the very flag of /flag (without the file's newline twice).
    assert FLAG in outcome.learner_output, outcome.learner_output
    assert "submit it in the flag box of this challenge's page" in outcome.output
    assert "sockdojo submit" not in outcome.output
    # Our side never prints a flag it hands out; its transcript blanks it out.
    assert FLAG not in outcome.output


def test_reuse_address_passes_and_hands_out_the_flag(exported: DojoExport) -> None:
    program = (CORPUS / "ok_basic.py").read_text()
    outcome = run_in_workspace(
        folder(exported, "reuse-address"), FLAG, ["server.py"], files={"server.py": program}
    )
    assert outcome.code == 0, outcome.output
    assert f"Your flag:\n{FLAG}\n" in outcome.output
    assert "the restarted program bound 127.0.0.1:1337" in outcome.output
    assert "Next: Submit it in the flag box of this challenge's page." in outcome.output
    assert "sockdojo submit" not in outcome.output


def test_a_server_that_stops_after_one_connection_fails_server_loop(
    exported: DojoExport,
) -> None:
    outcome = run_in_workspace(
        folder(exported, "server-loop"), FLAG, [], learner=("seed_server.py", ["1337"], True)
    )
    assert outcome.code == 1, outcome.output
    # Refused, or dropped from the queue of the listener that was closing: by a hair.
    verdict = outcome.output.split("FAILED", 1)[1]
    assert "Connection 2 was" in verdict and "stopped (it crashed or exited)" in verdict
    assert FLAG not in outcome.output


def _same_up_to_port_and_timing(text: str, port: int) -> str:
    text = text.replace(f"127.0.0.1:{port}", "127.0.0.1:PORT")
    return re.sub(r"after \d+ attempt\(s\) in \d+\.\d+ s", "after N attempt(s) in T s", text)


def test_the_transcript_and_diagnosis_are_those_of_sockdojo_run(
    exported: DojoExport, tmp_path: Path
) -> None:
    """The same learner's server, once under `sockdojo run` and once under /challenge/run."""
    port = free_port()
    processes = Processes()
    try:
        # A server that accepts and never reads: a failure whose transcript does not depend on
        # timing (a one-shot server's second connection is refused or dropped, by chance).
        processes.learner("never_reads.py", str(port))
        wait_listening_quietly(port)
        ours = subprocess.run(
            sockdojo_command("--account", "ada", "run", "server-loop", "--port", str(port)),
            capture_output=True,
            text=True,
            timeout=60,
            env={"SOCKDOJO_HOME": str(tmp_path), "PATH": "/usr/bin:/bin", "NO_COLOR": "1"},
        )
    finally:
        processes.cleanup()
    exported_run = run_in_workspace(
        folder(exported, "server-loop"), FLAG, [], learner=("never_reads.py", ["1337"], True)
    )
    assert (ours.returncode, exported_run.code) == (1, 1)
    assert _same_up_to_port_and_timing(exported_run.output, 1337) == _same_up_to_port_and_timing(
        ours.stdout, port
    )


def test_nothing_listening_fails_server_with_our_diagnosis(exported: DojoExport) -> None:
    outcome = run_in_workspace(folder(exported, "server"), FLAG, [])
    assert outcome.code == 1, outcome.output
    after = outcome.output.split("FAILED", 1)[1]
    assert "1337" in after
    assert "Why:" in after
    assert "Next:" in after


def test_reuse_address_without_the_option_shows_the_error(exported: DojoExport) -> None:
    program = (CORPUS / "missing_option.py").read_text()
    outcome = run_in_workspace(
        folder(exported, "reuse-address"), FLAG, ["server.py"], files={"server.py": program}
    )
    assert outcome.code == 1, outcome.output
    assert "option-missing" in outcome.output
    assert "Address already in use" in outcome.output
    assert FLAG not in outcome.output


def test_the_learners_program_cannot_read_the_flag(exported: DojoExport) -> None:
    hostile = (Path(__file__).parent / "learners" / "reads_flag_server.py").read_text()
    outcome = run_in_workspace(
        folder(exported, "reuse-address"), FLAG, ["server.py"], files={"server.py": hostile}
    )
    assert outcome.code == 1, outcome.output
    # Refused, or (in the proof's own root file system) not even there.
    assert any(
        f"opening /flag: {error}" in outcome.output
        for error in ("PermissionError", "FileNotFoundError")
    ), outcome.output
    assert FLAG not in outcome.output
    assert "Xq3" not in outcome.output


def test_the_learner_cannot_have_slash_flag_analysed(exported: DojoExport) -> None:
    # The analysis quotes the source it reads: as root, it would quote /flag.
    outcome = run_in_workspace(folder(exported, "reuse-address"), FLAG, ["/flag"])
    assert outcome.code == 2, outcome.output
    assert "cannot read it" in outcome.output
    assert "Xq3" not in outcome.output


def test_a_usage_error_is_exit_2(exported: DojoExport) -> None:
    outcome = run_in_workspace(folder(exported, "client"), FLAG, ["--no-run"])
    assert outcome.code == 2
    assert "/challenge/run" in outcome.output


def test_without_exec_suid_the_run_says_it_cannot_read_the_flag(exported: DojoExport) -> None:
    outcome = run_in_workspace(folder(exported, "client"), FLAG, ["--once"], launch="learner")
    assert outcome.code == 2, outcome.output
    assert "Cannot read the flag file /flag" in outcome.output
    assert "Traceback" not in outcome.output


def test_started_by_root_with_no_learner_to_become_it_runs_nothing(exported: DojoExport) -> None:
    # A real uid of root leaves no learner to drop to, short of the platform's `hacker` user
    # (which this machine does not have): the learner's program must not run as root.
    if _has_user("hacker"):
        pytest.skip("this machine has a 'hacker' user, whom the run would become")
    hostile = (Path(__file__).parent / "learners" / "reads_flag_server.py").read_text()
    outcome = run_in_workspace(
        folder(exported, "reuse-address"), FLAG, ["server.py"], files={"server.py": hostile},
        launch="root",
    )  # fmt: skip
    assert outcome.code == 2, outcome.output
    assert "started by root and there is no 'hacker' user" in outcome.output
    assert "Checking" not in outcome.output
    assert "Xq3" not in outcome.output


def _has_user(name: str) -> bool:
    import pwd

    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


def test_the_learner_cannot_pry_the_flag_out_of_the_running_challenge(
    exported: DojoExport,
) -> None:
    # The run holds the flag in memory while it serves, as the learner's uid: dropping from
    # root leaves it non-dumpable, so the learner can neither ptrace it nor open its memory.
    outcome = run_in_workspace(
        folder(exported, "client"), FLAG, ["--once"],
        learner=("pries_at_the_run.py", ["1337"], False),
    )  # fmt: skip
    assert outcome.code == 0, outcome.output
    lines = outcome.learner_output.splitlines()
    # At least this run; another test's run may serve at the same moment (pytest-xdist), and
    # every run found must refuse both ways in.
    found = int(next(line for line in lines if line.startswith("found ")).split()[1])
    assert found >= 1, lines
    assert lines.count("mem: PermissionError") == found, lines
    assert lines.count("environ: PermissionError") == found, lines
    assert not any(line.endswith(": opened") for line in lines), lines
    assert lines[-1] == FLAG  # and then it got its flag the honest way
