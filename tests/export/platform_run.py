"""Run an exported challenge the way pwn.college does, on this machine (see workspace.py)."""

from __future__ import annotations

import json
import os
import pwd
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

WORKSPACE = Path(__file__).parent / "workspace.py"
LEARNERS = Path(__file__).parents[1] / "learners"
OWN_LEARNERS = Path(__file__).parent / "learners"


def learner_uid() -> int:
    """An unprivileged uid that no account on this machine has (the platform's is 1000)."""
    for uid in range(61337, 61437):
        try:
            pwd.getpwuid(uid)
        except KeyError:
            return uid
    raise AssertionError("no free uid between 61337 and 61436")


def need_root_namespaces() -> None:
    if os.geteuid() != 0:
        pytest.skip("the platform's set-up (a root-only /flag, a suid run) needs root")


def ensure_mountpoints() -> None:
    """/challenge and /flag must exist for the namespace's bind mounts to land on: an empty
    folder and an empty root-only file, left in place (the mounts never reach this machine)."""
    Path("/challenge").mkdir(mode=0o755, exist_ok=True)
    flag = Path("/flag")
    if not flag.exists():
        flag.touch(mode=0o400)


@dataclass
class Outcome:
    code: int | None
    output: str
    learner_code: int | None = None
    learner_output: str = ""


def run_in_workspace(
    challenge_folder: Path,
    flag: str,
    run_args: list[str],
    *,
    learner: tuple[str, list[str], bool] | None = None,
    files: dict[str, str] | None = None,
    launch: str = "exec-suid",
    timeout: float = 40,
) -> Outcome:
    """`/challenge/run RUN_ARGS` in a fresh workspace; `learner`: (program, args, starts first)."""
    need_root_namespaces()
    ensure_mountpoints()
    spec: dict[str, object] = {
        "challenge_folder": str(challenge_folder),
        "flag": flag,
        "learner_uid": learner_uid(),
        "run_args": run_args,
        "files": files or {},
        "launch": launch,
        "timeout": timeout,
    }
    if learner is not None:
        program, args, first = learner
        path = OWN_LEARNERS / program if (OWN_LEARNERS / program).exists() else LEARNERS / program
        spec["learner"] = {"program": str(path), "args": args, "first": first}
    completed = subprocess.run(
        ["unshare", "--mount", "--propagation", "private", "--net", "--",
         sys.executable, str(WORKSPACE), json.dumps(spec)],
        capture_output=True,
        text=True,
        timeout=3 * timeout + 30,
    )  # fmt: skip
    assert completed.returncode == 0, completed.stderr
    result = json.loads(completed.stdout)
    run = result["run"]
    assert not run["timed_out"], run["output"]
    outcome = Outcome(run["code"], run["output"])
    if "learner" in result:
        outcome.learner_code = result["learner"]["code"]
        outcome.learner_output = result["learner"]["output"]
    return outcome
