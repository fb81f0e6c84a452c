"""Each server checker 25 times against learner servers that misbehave at random moments.

The randomized stress lives in bench/checker_stress.py (1,000 runs there, figures in the
README); the suite runs it at 25 runs per checker: no run may raise, give a wrong verdict, or
hand the flag to a server whose verdict is a failure.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench" / "checker_stress.py"


@pytest.mark.timeout(420)
def test_random_misbehaving_servers_per_checker_all_get_the_right_verdict() -> None:
    run = subprocess.run(
        [sys.executable, str(BENCH), "--runs", "25", "--jobs", "4", "--seed", "suite"],
        capture_output=True,
        text=True,
        timeout=400,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    report = run.stdout + run.stderr
    assert run.returncode == 0, report
    assert "server: 25 runs" in report and "server-loop: 25 runs" in report
    assert report.count("raised 0, wrong verdicts 0, flags leaked 0") == 2, report
    assert "Traceback" not in report
